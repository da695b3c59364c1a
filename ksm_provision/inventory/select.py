"""Picking hosts and devices by name: the ``--limit`` patterns of every command and stage."""

from __future__ import annotations

import fnmatch


def matches(name: str, limit: str | None) -> bool:
    """``--limit`` takes comma-separated shell patterns, e.g. ``sn-rh-*,lup-pch-fs01``.

    >>> matches("sn-rh-fs01", "sn-rh-*,lup-pch-fs01"), matches("sn-rh-fs01", "lup-*"), matches("x", None)
    (True, False, True)
    """
    return limit is None or any(fnmatch.fnmatchcase(name, p.strip()) for p in limit.split(","))
