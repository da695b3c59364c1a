"""IOS knowledge as plain data: which stored line replaces which, and the canonical order.

A line's *key* decides replacement: storing ``hostname B`` replaces ``hostname A`` because both have
the key ``hostname``, while ``ntp server 10.0.0.1`` and ``ntp server 10.0.0.2`` have different keys
and coexist. ``no X`` removes the line whose key equals ``X``'s key.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from ksm_switchsim.grammar import vlan_list_to_ids

# (token prefix, number of leading tokens forming the key); the longest matching prefix wins and a
# line matching no prefix is its own key.
_KeyRule = tuple[tuple[str, ...], int]

_ROOT_KEYS: Final[tuple[_KeyRule, ...]] = (
    (("hostname",), 1),
    (("ip", "default-gateway"), 2),
    (("ip", "domain-name"), 2),
    (("ip", "domain", "name"), 3),
    (("ip", "ssh", "version"), 3),
    (("ip", "ssh", "time-out"), 3),
    (("ip", "ssh", "authentication-retries"), 3),
    (("ip", "ssh", "source-interface"), 3),
    (("ntp", "server"), 3),
    (("ntp", "source"), 2),
    (("logging", "host"), 3),
    (("logging", "trap"), 2),
    (("logging", "buffered"), 2),
    (("logging", "console"), 2),
    (("logging", "source-interface"), 2),
    (("snmp-server", "community"), 3),
    (("snmp-server", "host"), 3),
    (("snmp-server", "location"), 2),
    (("snmp-server", "group"), 4),
    (("aaa", "new-model"), 2),
    (("aaa", "session-id"), 2),
    (("spanning-tree", "extend", "system-id"), 3),
    (("snmp-server", "contact"), 2),
    (("username",), 2),
    (("enable", "secret"), 2),
    (("enable", "password"), 2),
    (("service", "timestamps", "debug"), 3),
    (("service", "timestamps", "log"), 3),
    (("spanning-tree", "mode"), 2),
    (("clock", "timezone"), 2),
    (("clock", "summer-time"), 2),
    (("vtp", "mode"), 2),
    (("vtp", "domain"), 2),
    (("banner", "motd"), 2),
    (("banner", "login"), 2),
    (("banner", "exec"), 2),
    (("aaa", "authentication", "login"), 4),
    (("aaa", "authentication", "enable"), 4),
    (("aaa", "authorization", "exec"), 4),
    (("aaa", "accounting", "exec"), 4),
)

_INTERFACE_KEYS: Final[tuple[_KeyRule, ...]] = (
    (("description",), 1),
    (("switchport", "access", "vlan"), 3),
    (("switchport", "mode"), 2),
    (("switchport", "trunk", "allowed", "vlan"), 4),
    (("switchport", "trunk", "native", "vlan"), 4),
    (("switchport", "trunk", "encapsulation"), 3),
    (("ip", "address"), 2),
    (("shutdown",), 1),
    (("spanning-tree", "portfast"), 2),
    (("spanning-tree", "bpduguard"), 2),
    (("spanning-tree", "guard"), 2),
    (("storm-control", "broadcast", "level"), 3),
)

_VLAN_KEYS: Final[tuple[_KeyRule, ...]] = ((("name",), 1),)

_LINE_KEYS: Final[tuple[_KeyRule, ...]] = (
    (("exec-timeout",), 1),
    (("login",), 1),
    (("password",), 1),
    (("transport", "input"), 2),
    (("transport", "output"), 2),
    (("privilege", "level"), 2),
)

_KEYS_BY_PARENT: Final[dict[str, tuple[_KeyRule, ...]]] = {
    "": _ROOT_KEYS,
    "interface": _INTERFACE_KEYS,
    "vlan": _VLAN_KEYS,
    "line": _LINE_KEYS,
}

#: Features that are on by default: IOS stores their ``no`` form, and the positive form removes it.
DEFAULT_ON: Final[frozenset[str]] = frozenset(
    {"ip http server", "ip http secure-server", "service pad", "ip domain-lookup", "ip domain lookup"}
)


#: Features that are off by default but whose ``no`` form IOS shows (``no service
#: password-encryption``, ``no aaa new-model`` in every factory-default capture).
SHOWN_WHEN_OFF: Final[frozenset[str]] = frozenset({"service password-encryption", "aaa new-model"})


def parent_kind(parent_text: str) -> str:
    """The first word of a section header ("" for the root), used to pick rules.

    >>> parent_kind("interface GigabitEthernet1/0/1")
    'interface'
    """
    return parent_text.split(" ", 1)[0] if parent_text else ""


def line_key(text: str, parent_text: str = "") -> str:
    """The replacement key of a stored line under the given parent section.

    >>> line_key("ntp server 10.0.0.1 prefer")
    'ntp server 10.0.0.1'
    >>> line_key("description uplink to core", "interface GigabitEthernet1/0/1")
    'description'
    >>> line_key("no ip http server")
    'ip http server'
    """
    tokens = text.split()
    if tokens and tokens[0] == "no":
        tokens = tokens[1:]
    best = 0
    key_len = len(tokens)
    for prefix, length in _KEYS_BY_PARENT.get(parent_kind(parent_text), ()):
        if len(prefix) > best and tuple(tokens[: len(prefix)]) == prefix:
            best, key_len = len(prefix), length
    return " ".join(tokens[:key_len])


# --- canonical order of the running-config -------------------------------------------------------

#: Rank of each top-level group, in IOS order. Groups are separated by "!" lines in the output.
_ROOT_RANKS: Final[tuple[tuple[str, int], ...]] = (
    # IOS 15.x Catalyst order, from public show running-config captures (tests/data/real_ios/):
    # service, hostname, boot markers, enable, username, aaa, clock, vtp, ip domain/name-server,
    # spanning-tree, vlan sections, ip ssh, interfaces, ip default-gateway/http/route, logging,
    # snmp-server, banner, line, ntp.
    ("service ", 0),
    ("no service ", 0),
    ("hostname ", 10),
    ("boot", 20),
    ("enable ", 24),
    ("username ", 26),
    ("aaa ", 30),
    ("no aaa ", 30),
    ("clock ", 40),
    ("vtp ", 45),
    ("ip domain", 50),
    ("no ip domain", 50),
    ("ip name-server ", 50),
    ("spanning-tree ", 55),
    ("no spanning-tree ", 55),
    ("vlan ", 80),
    ("ip ssh ", 85),
    ("interface ", 90),
    ("ip default-gateway ", 100),
    ("ip http ", 100),
    ("no ip http ", 100),
    ("ip route ", 100),
    ("logging ", 110),
    ("snmp-server ", 120),
    ("banner ", 130),
    ("line ", 140),
    ("ntp ", 150),
)
#: Groups rendered as blocks with a "!" after each block instead of one after the whole group.
BLOCK_GROUPS: Final[frozenset[int]] = frozenset({80, 90})
_UNKNOWN_RANK: Final = 145

_INTERFACE_CHILD_ORDER: Final[tuple[str, ...]] = (
    "description",
    "switchport access vlan",
    "switchport trunk encapsulation",
    "switchport trunk native vlan",
    "switchport trunk allowed vlan",
    "switchport mode",
    "switchport nonegotiate",
    "ip address",
    "no ip address",
    "shutdown",
    "storm-control",
    "spanning-tree portfast",
    "spanning-tree bpduguard",
    "spanning-tree guard",
)
_LINE_CHILD_ORDER: Final[tuple[str, ...]] = (
    "access-class",
    "exec-timeout",
    "privilege level",
    "logging synchronous",
    "password",
    "login",
    "transport input",
    "transport output",
)
_CHILD_ORDER_BY_PARENT: Final[dict[str, tuple[str, ...]]] = {
    "interface": _INTERFACE_CHILD_ORDER,
    "line": _LINE_CHILD_ORDER,
    "vlan": ("name",),
}

_PORT_RE: Final = re.compile(r"^([A-Za-z-]+)(\d+(?:/\d+)*)$")
_INTERFACE_TYPE_ORDER: Final[dict[str, int]] = {"GigabitEthernet": 0, "Port-channel": 1, "Vlan": 2}


def root_rank(text: str) -> int:
    """The group a top-level line belongs to (lower renders first)."""
    best_prefix = ""
    rank = _UNKNOWN_RANK
    for prefix, value in _ROOT_RANKS:
        if text.startswith(prefix) and len(prefix) > len(best_prefix):
            best_prefix, rank = prefix, value
    return rank


def interface_sort_key(name: str) -> tuple[int, tuple[int, ...], str]:
    """Physical ports in port order, then port-channels, then SVIs by VLAN id.

    >>> sorted(["Vlan10", "GigabitEthernet1/1/1", "GigabitEthernet1/0/10", "GigabitEthernet1/0/2"],
    ...        key=interface_sort_key)
    ['GigabitEthernet1/0/2', 'GigabitEthernet1/0/10', 'GigabitEthernet1/1/1', 'Vlan10']
    """
    match = _PORT_RE.match(name)
    if not match:
        return (len(_INTERFACE_TYPE_ORDER), (), name)
    kind, numbers = match.groups()
    order = _INTERFACE_TYPE_ORDER.get(kind, len(_INTERFACE_TYPE_ORDER))
    return (order, tuple(int(n) for n in numbers.split("/")), name)


def _line_sort_key(header: str) -> tuple[int, int]:
    # "line con 0" < "line vty 0 4" < "line vty 5 15"
    parts = header.split()
    kind_order = {"con": 0, "aux": 1, "vty": 2}.get(parts[1] if len(parts) > 1 else "", 3)
    first = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
    return (kind_order, first)


def _route_sort_key(text: str) -> tuple[int, int, str]:
    parts = text.split()
    try:
        return (int(ipaddress.IPv4Address(parts[2])), int(ipaddress.IPv4Address(parts[3])), text)
    except (IndexError, ValueError):
        return (1 << 33, 0, text)


def root_sort_key(text: str, insertion: int) -> tuple[int, int, tuple[object, ...]]:
    """Canonical position of a top-level line or section header.

    Within a group, lists the operator builds up (ntp servers, logging hosts, ...) keep the order in
    which they were configured, as IOS does; VLANs, interfaces, lines, routes and users are sorted.
    """
    rank = root_rank(text)
    detail: tuple[object, ...] = (insertion,)
    if text.startswith("vlan "):
        ids = vlan_list_to_ids(text.split(" ", 1)[1])
        detail = (min(ids) if ids else 0, insertion)
    elif text.startswith("interface "):
        detail = interface_sort_key(text.split(" ", 1)[1])
    elif text.startswith("line "):
        detail = _line_sort_key(text)
    elif text.startswith("ip route "):
        detail = _route_sort_key(text)
    elif text.startswith("username "):
        detail = (text,)
    return (rank, _subrank(text, rank), detail)


def _subrank(text: str, rank: int) -> int:
    """Order inside a group: IOS prints e.g. ``aaa new-model`` first and ``aaa session-id`` last."""
    if rank == 0:
        return -1 if text == "no service pad" else (1 if text.endswith("password-encryption") else 0)
    if text.startswith("spanning-tree "):
        return _stp_subrank(text)
    for prefix, subrank in _SUBRANKS:
        if text.startswith(prefix):
            return subrank
    return 0


_SUBRANKS: Final[tuple[tuple[str, int], ...]] = (
    ("ip route ", 2),
    ("ip http ", 1),
    ("no ip http ", 1),
    ("ip name-server ", 1),
    ("aaa session-id ", 2),
    ("aaa new-model", 0),
    ("no aaa new-model", 0),
    ("aaa ", 1),
)


def _stp_subrank(text: str) -> int:
    # "spanning-tree mode", then "extend system-id", then per-VLAN lines (as IOS prints them)
    for index, prefix in enumerate(("spanning-tree mode", "spanning-tree extend")):
        if text.startswith(prefix):
            return index
    return 2


def child_sort_key(text: str, parent_text: str, insertion: int) -> tuple[int, int]:
    """Canonical position of a child line inside its section."""
    order = _CHILD_ORDER_BY_PARENT.get(parent_kind(parent_text), ())
    for index, prefix in enumerate(order):
        if text == prefix or text.startswith(prefix + " "):
            return (index, insertion)
    return (len(order), insertion)
