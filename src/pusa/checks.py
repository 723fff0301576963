"""Checking user numbers: finite, of the right kind, within both bounds; one-line ValueErrors naming the field.

Shared by the request path (``pusa.request``) and long video (``pusa.long``); imports nothing of pusa.
"""

from __future__ import annotations

import math
from typing import Any


def number(name: str, value: float, low: float, high: float, low_open: bool = False) -> float:
    """``value`` as a float, finite and within [low, high] (or (low, high]); a ValueError naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < low or x > high or (low_open and x == low):
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} {value!r}: must be a finite number in {bounds}")
    return x


def whole(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as a whole number (not a bool) within [low, high]; a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} {value}: must be in {low}–{high}")
    return value
