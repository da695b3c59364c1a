"""Address intervals as integers, and overlap detection in O(n log n).

``ipaddress`` objects are convenient but slow in bulk; the rules turn every address, range, pool
and subnet into an inclusive ``[start, end]`` pair of integers once and compare those.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive interval of IPv4 addresses, with the entry it came from."""

    start: int
    end: int
    label: str
    file: str
    line: int
    owner: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def describe(self) -> str:
        """The span as text: one address, or ``first–last``.

        >>> Span(167772161, 167772170, "x", "a.yml", 1).describe()
        '10.0.0.1–10.0.0.10'
        """
        if self.start == self.end:
            return ip_text(self.start)
        return f"{ip_text(self.start)}–{ip_text(self.end)}"


def ip_text(value: int) -> str:
    """Dotted quad of an integer address.

    >>> ip_text(167772161)
    '10.0.0.1'
    """
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def net_bounds(net: ipaddress.IPv4Network) -> tuple[int, int]:
    """First and last address of *net* as integers.

    >>> net_bounds(ipaddress.IPv4Network("10.0.0.0/30"))
    (167772160, 167772163)
    """
    start = int(net.network_address)
    return start, start + net.num_addresses - 1


def has_broadcast(prefixlen: int) -> bool:
    """/31 and /32 networks have no network or broadcast address (RFC 3021)."""
    return prefixlen < 31


def usable(value: int, bounds: tuple[int, int], prefixlen: int) -> bool:
    """Whether *value* is a host address of the network: inside it and not its network/broadcast address.

    >>> usable(167772161, (167772160, 167772163), 30), usable(167772163, (167772160, 167772163), 30)
    (True, False)
    """
    start, end = bounds
    if has_broadcast(prefixlen):
        return start < value < end
    return start <= value <= end


def example_host(net: ipaddress.IPv4Network) -> str:
    """A plausible host address of *net* for hints.

    >>> example_host(ipaddress.IPv4Network("10.41.0.0/22"))
    '10.41.0.10'
    """
    start, end = net_bounds(net)
    candidate = start + 10
    if candidate >= end:
        candidate = start + (1 if has_broadcast(net.prefixlen) else 0)
    return ip_text(candidate)


def find_overlaps(spans: Iterable[Span]) -> list[tuple[Span, Span]]:
    """Every span that overlaps an earlier one, paired with the earlier one; sorting makes it O(n log n).

    Spans are ordered by start (ties: shorter first, then the order given), and each span is compared
    with the one reaching furthest so far, so every conflicting span is reported exactly once.

    >>> a, b, c = Span(1, 10, "a", "f", 1), Span(5, 5, "b", "f", 2), Span(11, 12, "c", "f", 3)
    >>> [(x.label, y.label) for x, y in find_overlaps([a, b, c])]
    [('b', 'a')]
    """
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    found: list[tuple[Span, Span]] = []
    reach: Span | None = None
    for span in ordered:
        if reach is not None and span.start <= reach.end:
            found.append((span, reach))
        if reach is None or span.end > reach.end:
            reach = span
    return found


def relation(start: int, end: int, other: Span) -> str:
    """How the interval ``[start, end]`` relates to *other*, as words for a message.

    >>> other = Span(10, 20, "x", "f", 1)
    >>> [relation(*pair, other) for pair in ((10, 20), (12, 12), (0, 30), (15, 25))]
    ['is', 'lies inside', 'covers', 'overlaps']
    """
    if (start, end) == (other.start, other.end):
        return "is"
    if other.start <= start and end <= other.end:
        return "lies inside"
    if start <= other.start and other.end <= end:
        return "covers"
    return "overlaps"


class SpanIndex:
    """Spans sorted once, answering "which spans overlap ``[start, end]``?" in O(log n + k).

    Spans are ordered by start; a running maximum of their ends tells where a backwards walk from
    the last span starting at or before *end* can stop, even when the spans overlap each other.

    >>> index = SpanIndex([Span(0, 9, "a", "f", 1), Span(10, 19, "b", "f", 2), Span(20, 29, "c", "f", 3)])
    >>> [s.label for s in index.overlapping(5, 12)], [s.label for s in index.overlapping(30, 40)]
    (['b', 'a'], [])
    """

    def __init__(self, spans: Iterable[Span]) -> None:
        self._spans = sorted(spans, key=lambda s: (s.start, s.end))
        self._starts = [s.start for s in self._spans]
        self._reach: list[int] = []
        furthest = -1
        for span in self._spans:
            furthest = max(furthest, span.end)
            self._reach.append(furthest)

    def overlapping(self, start: int, end: int) -> Iterator[Span]:
        """Every span sharing an address with ``[start, end]``, latest start first."""
        i = bisect.bisect_right(self._starts, end) - 1
        while i >= 0 and self._reach[i] >= start:
            if self._spans[i].end >= start:
                yield self._spans[i]
            i -= 1
