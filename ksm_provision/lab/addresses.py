"""Loopback addresses of lab nodes: the lab never uses anything outside 127.0.0.0/8.

Plan (instance 0): hosts ``127.100.<authority-index>.<n>``, routers ``127.101.<a>.<n>``, switches
``127.102.<a>.<n>``, routers' Linux sides (gateways) ``127.103.<a>.<n>`` (the *n* of their router).
A second lab on the same machine (instance *k*, e.g. the test suite's) adds
``10 * k`` to the second octet, so two labs never share an address.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from ksm_provision.errors import LabError

LOOPBACK = IPv4Network("127.0.0.0/8")
KIND_OCTET: dict[str, int] = {"host": 100, "router": 101, "switch": 102, "gateway": 103}
MAX_INSTANCE = 15


def assert_loopback(address: str) -> IPv4Address:
    """Parse *address* and refuse anything outside 127.0.0.0/8.

    >>> str(assert_loopback("127.100.1.2"))
    '127.100.1.2'
    >>> assert_loopback("10.0.0.1")
    Traceback (most recent call last):
    ...
    ksm_provision.errors.LabError: lab address 10.0.0.1 is outside 127.0.0.0/8 — ...
    """
    try:
        parsed = IPv4Address(address)
    except ValueError as exc:
        raise LabError(f"lab address {address!r} is not an IPv4 address", hint="e.g. 127.100.1.1") from exc
    if parsed not in LOOPBACK:
        raise LabError(
            f"lab address {address} is outside 127.0.0.0/8",
            hint="the lab twin only ever uses loopback addresses, e.g. 127.100.1.1",
        )
    return parsed


def node_address(kind: str, authority_index: int, n: int, instance: int = 0) -> str:
    """Address of the *n*-th node (1-based) of *kind* for the authority at *authority_index* (1-based).

    >>> node_address("router", 2, 3)
    '127.101.2.3'
    >>> node_address("host", 1, 1, instance=9)
    '127.190.1.1'
    """
    if kind not in KIND_OCTET:
        raise LabError(f"unknown lab node kind {kind!r}", hint=f"one of {', '.join(KIND_OCTET)}")
    if not 0 <= instance <= MAX_INSTANCE:
        raise LabError(f"lab instance {instance} is out of range", hint=f"use 0..{MAX_INSTANCE}")
    if not 1 <= authority_index <= 254:
        raise LabError(f"authority index {authority_index} is out of range 1..254")
    if not 1 <= n <= 254:
        raise LabError(
            f"too many {kind} nodes for one authority ({n})", hint="the lab holds at most 254 per kind"
        )
    address = f"127.{KIND_OCTET[kind] + 10 * instance}.{authority_index}.{n}"
    assert_loopback(address)
    return address
