"""Constrained value types shared by the inventory models.

Each check raises ``ValueError`` with an example of what is expected; the loader turns that into a
``FILE:LINE`` message. Strings that can reach a device CLI or a config file are :data:`SafeText`:
one line of printable text, because a newline would start a new command on the device.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SECRET_REF = re.compile(r"^vault:[a-z][a-z0-9_]{0,63}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_INTERFACE = re.compile(r"^[A-Za-z][A-Za-z0-9/.:-]{0,63}$")


def check_safe_text(value: str) -> str:
    """Refuse control characters (newline, escape, DEL...) that could inject device commands.

    >>> check_safe_text("Bürgerbüro Rathaus")
    'Bürgerbüro Rathaus'
    """
    for char in value:
        if not char.isprintable():
            raise ValueError(
                f"contains the control character {char!r}; only one line of printable text is allowed "
                "(it would inject commands into a device CLI or config file)"
            )
    return value


def check_safe_tree(value: object) -> object:
    """Every string in a nested structure of mappings and lists (keys too) is :func:`check_safe_text`.

    >>> check_safe_tree({"Homepage": {"URL": "https://intranet/", "Locked": True}})
    {'Homepage': {'URL': 'https://intranet/', 'Locked': True}}
    """
    if isinstance(value, str):
        check_safe_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_safe_tree(key)
            check_safe_tree(item)
    elif isinstance(value, list):
        for item in value:
            check_safe_tree(item)
    return value


def check_hostname(value: str) -> str:
    """RFC 1123 host name, lower case, e.g. ``sn-rh-fs01``."""
    labels = value.split(".")
    if len(value) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError(
            f"'{value}' is not a valid RFC 1123 host name; use lower-case letters, digits and hyphens, "
            "e.g. 'sn-rh-fs01'"
        )
    return value


def check_identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(
            f"'{value}' is not a valid id; use a lower-case letter then letters, digits or '-', "
            "at most 32 characters, e.g. 'lup' or 'pch-clients'"
        )
    return value


def check_secret_ref(value: str) -> str:
    if not _SECRET_REF.match(value):
        raise ValueError(
            "secrets are references into the authority's ansible-vault file, never values; "
            "write e.g. 'vault:network_enable_secret'"
        )
    return value


def check_mac(value: str) -> str:
    normalised = value.lower().replace("-", ":")
    if not _MAC.match(normalised):
        raise ValueError(f"'{value}' is not a MAC address; e.g. '02:00:0a:14:0a:0b'")
    return normalised


def check_interface_name(value: str) -> str:
    if not _INTERFACE.match(value):
        raise ValueError(f"'{value}' is not an interface name; e.g. 'GigabitEthernet1/0/1' or 'eth1'")
    return value


def _coerce_str(value: object) -> object:
    """Numbers are fine where text is expected (an AGS key written unquoted); booleans are not."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


SafeText = Annotated[str, BeforeValidator(_coerce_str), AfterValidator(check_safe_text)]
#: Free-form structured data that ends up in a config file (e.g. browser policies): every string checked.
SafeTree = Annotated[object, AfterValidator(check_safe_tree)]
#: Keys of policy mappings written into config files, e.g. ``DisableTelemetry``.
PolicyKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
Hostname = Annotated[str, AfterValidator(check_hostname)]
Identifier = Annotated[str, AfterValidator(check_identifier)]
SecretRef = Annotated[str, AfterValidator(check_secret_ref)]
MacAddress = Annotated[str, AfterValidator(check_mac)]
InterfaceName = Annotated[str, AfterValidator(check_interface_name)]
VlanId = Annotated[int, Field(ge=1, le=4094)]
Port = Annotated[int, Field(ge=1, le=65535)]
Asn = Annotated[int, Field(ge=1, le=4294967295)]
IPv4 = ipaddress.IPv4Address
IPv4Net = ipaddress.IPv4Network
IPv4If = ipaddress.IPv4Interface
