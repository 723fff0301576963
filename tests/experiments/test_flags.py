"""experiments/flags.py: the command line that regenerates a page."""

import argparse

from flags import command


def test_command_spells_out_repeatable_options():
    args = argparse.Namespace(n=2, variant=["a/final", "b/final"], extra=[], cache="")
    assert command("x", args) == "python experiments/x.py --n 2 --variant a/final --variant b/final --cache ''"
