"""Checking a ``--device`` value up front, before any model loads.

:func:`check_device` accepts ``auto``, ``cpu``, ``cuda``, ``cuda:N`` (and ``mps`` where torch has it) and
raises a one-line ValueError for anything else, or for a device this machine does not have.
"""

from __future__ import annotations

import re

__all__ = ["check_device"]

_DEVICE = re.compile(r"^(?P<kind>cpu|cuda|mps)(?::(?P<index>\d+))?$")


def check_device(name: str, flag: str = "--device") -> str:
    """The device string to use for ``name``: ``auto`` resolves to ``cuda`` when CUDA is available, else ``cpu``.

    Raises a ValueError naming ``flag`` and the value when it is not a device (``--device banana``) or names
    one this machine lacks (``--device cuda`` without CUDA, ``--device cuda:3`` on a one-GPU machine).
    """
    import torch

    spec = str(name).strip().lower()
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    m = _DEVICE.match(spec)
    if m is None:
        raise ValueError(f"{flag} {name}: not a device; use cpu, cuda or cuda:N (or auto)")
    kind, index = m["kind"], m["index"]
    if kind == "cpu":
        if index not in (None, "0"):
            raise ValueError(f"{flag} {name}: not a device; use cpu, cuda or cuda:N (or auto)")
        return "cpu"
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise ValueError(f"{flag} {name}: Apple MPS is not available on this machine; use {flag} cpu")
        return spec
    if not torch.cuda.is_available():
        raise ValueError(f"{flag} {name}: CUDA is not available on this machine; use {flag} cpu")
    count = torch.cuda.device_count()
    if index is not None and int(index) >= count:
        raise ValueError(f"{flag} {name}: this machine has {count} CUDA device{'s' if count != 1 else ''} "
                         f"(cuda:0{f'-cuda:{count - 1}' if count > 1 else ''}); pick one of them or use {flag} cpu")
    return spec
