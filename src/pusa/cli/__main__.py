"""``python -m pusa.cli``."""

from pusa.cli import main

main()
