"""Jinja2 filters for device templates: small pure functions, one subject each.

Every public function here is registered in :data:`ksm_provision.network.jinja_env.FILTERS` (a unit
test checks it). Each raises :class:`TemplateValueError` with an example of what it expects, which
the renderer turns into a message naming the device and the template.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPv4Like = ipaddress.IPv4Interface | ipaddress.IPv4Network | ipaddress.IPv4Address | str


class TemplateValueError(ValueError):
    """A value that a filter cannot turn into device syntax."""


def _network(value: IPv4Like | int) -> ipaddress.IPv4Network:
    if isinstance(value, bool):
        raise TemplateValueError(f"{value!r} is not a prefix; e.g. 24, '10.0.0.0/24' or '10.0.0.1/24'")
    if isinstance(value, int):
        if not 0 <= value <= 32:
            raise TemplateValueError(f"prefix length {value} is outside 0..32; e.g. 24")
        return ipaddress.IPv4Network(f"0.0.0.0/{value}")
    if isinstance(value, ipaddress.IPv4Interface):
        return value.network
    if isinstance(value, ipaddress.IPv4Network):
        return value
    try:
        return ipaddress.IPv4Interface(str(value)).network
    except ValueError:
        raise TemplateValueError(
            f"{value!r} is not an IPv4 prefix; e.g. '10.41.0.0/22' or '10.41.0.1/22'"
        ) from None


def vlan_list(ids: Iterable[int], shortest_range: int = 3) -> str:
    """Compress VLAN ids the way IOS prints them: ascending, runs of *shortest_range* or more ids as
    ranges (three in ``switchport trunk allowed vlan``, two in ``spanning-tree vlan``).

    >>> vlan_list([130, 110, 120, 121, 122, 111]), vlan_list([130, 110, 111], shortest_range=2)
    ('110,111,120-122,130', '110-111,130')
    >>> vlan_list([])
    Traceback (most recent call last):
    ...
    ksm_provision.network.filters.TemplateValueError: a list of VLAN ids is required, e.g. [10, 20, 30]
    """
    ordered = sorted(set(ids))
    if not ordered:
        raise TemplateValueError("a list of VLAN ids is required, e.g. [10, 20, 30]")
    for vlan in ordered:
        if isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094:
            raise TemplateValueError(f"VLAN id {vlan!r} is not in 1..4094; e.g. [10, 20, 30]")
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start + 1 >= shortest_range:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(v) for v in ordered[start : end + 1])
        start = end + 1
    return ",".join(parts)


def netmask(value: IPv4Like | int) -> str:
    """Dotted netmask of a prefix length, network or interface address.

    >>> netmask(22), netmask("10.41.15.11/24")
    ('255.255.252.0', '255.255.255.0')
    """
    return str(_network(value).netmask)


def wildcard(value: IPv4Like | int) -> str:
    """Wildcard (inverse) mask, as ACLs and OSPF ``network`` statements want it.

    >>> wildcard("10.41.0.0/22")
    '0.0.3.255'
    """
    return str(_network(value).hostmask)


def network_address(value: IPv4Like) -> str:
    """The network a prefix or interface address belongs to, in CIDR form.

    >>> network_address("10.41.0.1/22")
    '10.41.0.0/22'
    """
    return str(_network(value))


def ip_netmask(value: IPv4Like) -> str:
    """An interface address in IOS form: address, space, netmask.

    >>> ip_netmask("10.41.15.11/24")
    '10.41.15.11 255.255.255.0'
    """
    try:
        interface = ipaddress.IPv4Interface(str(value))
    except ValueError:
        raise TemplateValueError(f"{value!r} is not an interface address; e.g. '10.41.15.11/24'") from None
    return f"{interface.ip} {interface.netmask}"


def is_point_to_point(value: IPv4Like) -> bool:
    """A /30 or /31 transit link, where OSPF runs as point-to-point.

    >>> is_point_to_point("10.41.255.1/30"), is_point_to_point("10.41.0.1/22")
    (True, False)
    """
    return _network(value).prefixlen >= 30


def cli_word(value: object) -> str:
    """A value that must stay one CLI word (user names, keys): no space, no control character.

    >>> cli_word("ksm-monitoring")
    'ksm-monitoring'
    >>> cli_word("two words")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ksm_provision.network.filters.TemplateValueError: 'two words' must be one word without spaces, ...
    """
    text = str(value)
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        shown = "an empty value" if not text else repr(text)
        raise TemplateValueError(f"{shown} must be one word without spaces, e.g. 'ksm-monitoring'")
    return text


def ios_banner(text: str) -> str:
    """One-line banner text between ``^C`` delimiters, as IOS shows it.

    >>> ios_banner("Zugriff nur fuer Berechtigte")
    '^CZugriff nur fuer Berechtigte^C'
    """
    if "^C" in text or not text.strip():
        raise TemplateValueError(
            f"banner {text!r} must be non-empty and must not contain the delimiter '^C'; "
            "e.g. 'Zugriff nur fuer berechtigte Personen.'"
        )
    return f"^C{text}^C"


def ascii_text(text: str) -> str:
    """Transliterate German umlauts for CLIs that only take ASCII (descriptions, names).

    >>> ascii_text("Bürgerbüro Straße")
    'Buergerbuero Strasse'
    """
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
    converted = text.translate(table)
    return "".join(c if c.isascii() else "?" for c in converted)
