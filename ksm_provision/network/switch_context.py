"""IOS switch facts the templates print, in the exact form `show running-config` shows them.

Pure functions (no Jinja2, no inventory loading), shared by :mod:`intended` (what to render) and
:mod:`ksm_provision.validate.device_rules` (what cannot be rendered). Each format is calibrated
against real IOS / IOS-XE output, cited where it is defined; the switch simulator
(``tools/switchsim``) prints the same forms independently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ksm_provision.network.filters import vlan_list

TRUNK_ALLOWED = "switchport trunk allowed vlan"
TRUNK_ALLOWED_ADD = "switchport trunk allowed vlan add"

#: Longest line (with its one-space indent) IOS prints for a trunk's allowed-VLAN list before it
#: continues on a ``switchport trunk allowed vlan add`` line. Calibrated against a Catalyst 9000
#: IOS-XE `show running-config` quoted in github.com/YangModels/yang issue #1461:
#:   `` switchport trunk allowed vlan 11,12,14,15,22,23,101,168,169,171-173,175`` (72 characters)
#:   `` switchport trunk allowed vlan add 300-302,666,2010-2012``
#: i.e. the next element (``,300-302`` -> 80 characters) did not fit an 80-column line.
IOS_LINE_WIDTH = 79


def trunk_allowed_lines(ids: Iterable[int]) -> tuple[str, ...]:
    """A trunk's allowed VLANs as IOS prints them: one line, continued with ``add`` lines.

    >>> trunk_allowed_lines([110, 130, 190])
    ('switchport trunk allowed vlan 110,130,190',)
    >>> lines = trunk_allowed_lines(range(100, 400, 2))
    >>> lines[0]
    'switchport trunk allowed vlan 100,102,104,106,108,110,112,114,116,118,120,122'
    >>> lines[1]
    'switchport trunk allowed vlan add 124,126,128,130,132,134,136,138,140,142,144'
    >>> all(len(" " + line) <= IOS_LINE_WIDTH for line in lines), len(lines)
    (True, 14)
    """
    lines: list[str] = []
    prefix, parts = TRUNK_ALLOWED, list[str]()
    for part in vlan_list(ids).split(","):
        if parts and len(f" {prefix} {','.join([*parts, part])}") > IOS_LINE_WIDTH:
            lines.append(f"{prefix} {','.join(parts)}")
            prefix, parts = TRUNK_ALLOWED_ADD, []
        parts.append(part)
    lines.append(f"{prefix} {','.join(parts)}")
    return tuple(lines)


def stp_vlan_list(ids: Iterable[int]) -> str:
    """VLAN ids as IOS prints them in ``spanning-tree vlan ... priority``: every run of two or more
    consecutive ids as a range (unlike trunk lists, where a pair stays ``410,411``).

    Real output: ``spanning-tree vlan 1,100,410-411,501,777 priority 4096`` (Catalyst 3750, IOS
    15.0; github.com/robphoenix/diffios tests/conftest.py) and ``spanning-tree vlan 112-113
    priority 28672`` (IOSv-L2 15.2, github.com/V1RaJ97/OTUS-NE SPB-SW1).

    >>> stp_vlan_list([130, 110, 111, 190])
    '110-111,130,190'
    """
    return vlan_list(ids, shortest_range=2)


@dataclass(frozen=True)
class IosClock:
    """``clock timezone`` and, with daylight saving time, ``clock summer-time`` of an IANA zone."""

    timezone: str
    summer_time: str | None


_EU_RULE = "recurring last Sun Mar {start} last Sun Oct {end}"
#: IANA zone -> IOS clock lines. The EU rule (last Sunday of March / October, 01:00 UTC) in the
#: form a real switch stores it: ``clock timezone CET 1 0`` and ``clock summer-time CEST recurring
#: last Sun Mar 2:00 last Sun Oct 3:00`` (IOS 15.4 show running-config, netbraintech R1 sample
#: config; ``clock summer-time BST recurring last Sun Mar 2:00 last Sun Oct 2:00`` in the diffios
#: Catalyst 3750 config). A zone missing here is refused by validate on cisco_ios devices.
IOS_CLOCKS: dict[str, IosClock] = {
    "UTC": IosClock("clock timezone UTC 0 0", None),
    "Etc/UTC": IosClock("clock timezone UTC 0 0", None),
    "Europe/London": IosClock(
        "clock timezone GMT 0 0", "clock summer-time BST " + _EU_RULE.format(start="1:00", end="2:00")
    ),
    **{
        zone: IosClock(
            "clock timezone CET 1 0", "clock summer-time CEST " + _EU_RULE.format(start="2:00", end="3:00")
        )
        for zone in (
            "Europe/Berlin",
            "Europe/Amsterdam",
            "Europe/Brussels",
            "Europe/Copenhagen",
            "Europe/Luxembourg",
            "Europe/Paris",
            "Europe/Prague",
            "Europe/Vienna",
            "Europe/Warsaw",
            "Europe/Zurich",
        )
    },
}


def ios_clock(zone: str) -> IosClock | None:
    """The IOS clock lines of an IANA time zone, or None when ksm has no mapping for it.

    >>> berlin = ios_clock("Europe/Berlin")
    >>> berlin.timezone if berlin else None
    'clock timezone CET 1 0'
    >>> berlin.summer_time if berlin else None
    'clock summer-time CEST recurring last Sun Mar 2:00 last Sun Oct 3:00'
    >>> ios_clock("America/Chicago") is None
    True
    """
    return IOS_CLOCKS.get(zone)
