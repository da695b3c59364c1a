"""A device's reviewed remediation (from a plan file) and how a live remediation differs from it.

``ksm apply PLAN`` sends a device exactly the lines the plan recorded, or nothing. The lines are
compared as the plan shows them (redacted) and, for what redaction hides, by a keyed digest of the
unredacted lines (:mod:`ksm_provision.digests`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ksm_provision.results import FrozenResult

#: Lines shown per direction in a difference; the count says how many there are in all.
SHOWN_LINES = 5


class ReviewedRemediation(FrozenResult):
    """The remediation a plan file recorded for one device: redacted lines and their keyed digest."""

    lines: tuple[str, ...] = ()
    digest: str = ""


def _shown(lines: list[str]) -> str:
    text = ", ".join(repr(line) for line in lines[:SHOWN_LINES])
    return text + (f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else "")


def remediation_difference(reviewed: ReviewedRemediation, lines: Sequence[str], digest: str) -> list[str]:
    """What differs between the reviewed remediation and *lines* (redacted) with *digest*; [] if nothing.

    >>> plan = ReviewedRemediation(lines=("interface lo", "description x", "exit"), digest="d1")
    >>> remediation_difference(plan, ["interface lo", "description x", "exit"], "d1")
    []
    >>> remediation_difference(plan, [*plan.lines, "no ip route 192.0.2.0/24 Null0"], "d2")
    ["would now also send 1 line(s): 'no ip route 192.0.2.0/24 Null0'"]
    >>> remediation_difference(plan, [], "")
    ["would no longer send 3 line(s): 'interface lo', 'description x', 'exit'"]
    """
    now = tuple(lines)
    if now == reviewed.lines:
        if not now or digest == reviewed.digest:
            return []
        return ["a line with a secret differs from the reviewed one (the value is not shown)"]
    extra, missing = Counter(now) - Counter(reviewed.lines), Counter(reviewed.lines) - Counter(now)
    found = []
    if extra:
        shown = _shown([line for line in dict.fromkeys(now) if extra[line]])
        found.append(f"would now also send {extra.total()} line(s): {shown}")
    if missing:
        shown = _shown([line for line in dict.fromkeys(reviewed.lines) if missing[line]])
        found.append(f"would no longer send {missing.total()} line(s): {shown}")
    if not found:
        found.append("would send the reviewed lines in another order")
    return found
