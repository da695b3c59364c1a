"""Constrained value types shared by the inventory models.

Each check raises ``ValueError`` with an example of what is expected; the loader turns that into a
``FILE:LINE`` message. Strings that can reach a device CLI or a config file are :data:`SafeText`:
one line of printable text of bounded length without template syntax, because a newline would start
a new command on the device and ``{{ ... }}`` must never be evaluated by Jinja2 or Ansible.

Addresses are written in dotted form only: YAML reads ``address: 170530826`` as an integer, which
``ipaddress`` would silently accept as 10.42.24.10.
"""

from __future__ import annotations

import ipaddress
import math
import re
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SECRET_REF = re.compile(r"^vault:[a-z][a-z0-9_]{0,63}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_INTERFACE = re.compile(r"^[A-Za-z][A-Za-z0-9/.:-]{0,63}$")
_TEMPLATE = re.compile(r"\{[{%#]")
_PATH_COMPONENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_LOCALE = re.compile(r"^(?:[a-z]{2,3}_[A-Z]{2}(?:\.[A-Za-z0-9-]{1,16})?(?:@[a-z]{1,16})?|C|C\.UTF-8|POSIX)$")
_ZONE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]{0,31}(?:/[A-Za-z0-9][A-Za-z0-9_+-]{0,31}){0,2}$")

#: Longest free text by default (names, comments, locations...); fields that need more say so.
MAX_TEXT = 255
#: ``description`` of an interface: the IOS limit (FRR takes more, IOS is the narrower platform).
MAX_INTERFACE_DESCRIPTION = 240
#: ``neighbor X description`` of IOS and FRR; static route descriptions are kept to the same length.
MAX_ROUTE_DESCRIPTION = 80
#: The login banner of a device.
MAX_BANNER = 1000
#: One line of ``authorized_keys`` (an 8192-bit RSA key with comment is about 1,500 characters).
MAX_SSH_KEY = 4096
#: A string inside free-form policies (URLs, lists of URLs); also the browser home page.
MAX_POLICY_TEXT = 2048
#: Numbers inside free-form policies are written to JSON: stay within what every JSON reader keeps exact.
MAX_POLICY_INT = 2**53 - 1
#: Whole numbers of office policies: LibreOffice ``int`` properties are 32-bit.
MIN_OFFICE_INT, MAX_OFFICE_INT = -(2**31), 2**31 - 1
#: Root under which the fileserver role creates share directories (their parents are made root:root 0755).
SHARES_ROOT = "/srv/shares"
#: Every authority's vault files live below this directory of the inventory.
VAULT_DIR = "vault"
#: Names that ``zoneinfo.available_timezones()`` may list but that are not time zones of their own.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def check_safe_text(value: str, max_length: int = MAX_TEXT) -> str:
    """One line of printable text, at most *max_length* characters, without template syntax.

    Control characters (newline, escape, DEL...) could inject device commands; ``{{``, ``{%`` and
    ``{#`` would be evaluated if the text ever reached Jinja2 or Ansible unmarked.

    >>> check_safe_text("Bürgerbüro Rathaus")
    'Bürgerbüro Rathaus'
    >>> check_safe_text("{{ lookup('pipe', 'id') }}")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: contains template syntax '{{'; inventory text is data, never a template: ...
    """
    if len(value) > max_length:
        raise ValueError(
            f"is {len(value)} characters long, more than the {max_length} allowed here; shorten it"
        )
    for char in value:
        if not char.isprintable():
            raise ValueError(
                f"contains the control character {char!r}; only one line of printable text is allowed "
                "(it would inject commands into a device CLI or config file)"
            )
    template = _TEMPLATE.search(value)
    if template:
        raise ValueError(
            f"contains template syntax '{template.group()}'; inventory text is data, never a template: "
            "remove the braces"
        )
    return value


def check_safe_tree(value: object) -> object:
    """Every string in a nested structure of mappings and lists (keys too) is :func:`check_safe_text`.

    Strings may be up to :data:`MAX_POLICY_TEXT` long; numbers must be finite and JSON-exact.

    >>> check_safe_tree({"Homepage": {"URL": "https://intranet/", "Locked": True}})
    {'Homepage': {'URL': 'https://intranet/', 'Locked': True}}
    """
    if isinstance(value, str):
        check_safe_text(value, MAX_POLICY_TEXT)
    elif isinstance(value, int | float):
        _check_policy_number(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_safe_tree(key)
            check_safe_tree(item)
    elif isinstance(value, list):
        for item in value:
            check_safe_tree(item)
    return value


def _check_policy_number(value: float) -> None:
    """A number in a policy tree: finite and JSON-exact (booleans are numbers to Python, and fine)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > MAX_POLICY_INT:
        raise ValueError(f"the number {value} is too large; at most {MAX_POLICY_INT} in either direction")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number; JSON has no NaN or infinity, write a number")


def check_policy_value(value: str | bool | int) -> str | bool | int:
    """An office policy value: safe text, a boolean, or a 32-bit whole number (LibreOffice ``int``).

    >>> check_policy_value(3), check_policy_value(True), check_policy_value("odf")
    (3, True, 'odf')
    """
    if isinstance(value, str):
        return check_safe_text(value)
    if not isinstance(value, bool) and not MIN_OFFICE_INT <= value <= MAX_OFFICE_INT:
        raise ValueError(
            f"the number {value} is out of range; office settings take {MIN_OFFICE_INT} to {MAX_OFFICE_INT}"
        )
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
    """A unicast, non-zero MAC address, normalised to lower case with colons.

    >>> check_mac("52-54-00-AB-CD-EF")
    '52:54:00:ab:cd:ef'
    >>> check_mac("01:00:5e:00:00:01")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: '01:00:5e:00:00:01' is a multicast address ...
    """
    normalised = value.lower().replace("-", ":")
    if not _MAC.match(normalised):
        raise ValueError(f"'{value}' is not a MAC address; e.g. '02:00:0a:14:0a:0b'")
    if normalised == "00:00:00:00:00:00":
        raise ValueError(
            f"'{value}' is the all-zero MAC address; write the host's own, e.g. '52:54:00:ab:cd:ef'"
        )
    if normalised == "ff:ff:ff:ff:ff:ff":
        raise ValueError(
            f"'{value}' is the broadcast MAC address; write the host's own, e.g. '52:54:00:ab:cd:ef'"
        )
    if int(normalised[:2], 16) & 1:
        raise ValueError(
            f"'{value}' is a multicast address (lowest bit of the first octet set); a host needs a unicast "
            "MAC, e.g. '52:54:00:ab:cd:ef'"
        )
    return normalised


def check_interface_name(value: str) -> str:
    if not _INTERFACE.match(value):
        raise ValueError(f"'{value}' is not an interface name; e.g. 'GigabitEthernet1/0/1' or 'eth1'")
    return value


def _path_components(value: str, absolute: bool) -> list[str] | None:
    """The components of a normalised path (no '.', '..', '//', trailing '/' or hidden names), or None."""
    if len(value) > MAX_TEXT or value.startswith("/") != absolute:
        return None
    parts = value.removeprefix("/").split("/")
    return parts if all(_PATH_COMPONENT.match(part) for part in parts) else None


def check_vault_file(value: str) -> str:
    """A relative path below ``vault/`` of the inventory, normalised.

    Which authority may use which file is an authority rule (it needs the authority's id).

    >>> check_vault_file("vault/lup.yml")
    'vault/lup.yml'
    >>> check_vault_file("vault/../../etc/shadow")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: 'vault/../../etc/shadow' is not a vault file of the inventory; ...
    """
    parts = _path_components(value, absolute=False)
    if parts is None or len(parts) < 2 or parts[0] != VAULT_DIR or not parts[-1].endswith((".yml", ".yaml")):
        raise ValueError(
            f"'{value}' is not a vault file of the inventory; write {VAULT_DIR}/<authority id>.yml, "
            f"e.g. '{VAULT_DIR}/lup.yml' (relative, no '..', '.' or '//')"
        )
    return value


def check_share_path(value: str) -> str:
    """A normalised absolute path below :data:`SHARES_ROOT`.

    >>> check_share_path("/srv/shares/bauamt")
    '/srv/shares/bauamt'
    >>> check_share_path("/srv/shares/../../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: '/srv/shares/../../etc' is not a share directory below /srv/shares; ...
    """
    parts = _path_components(value, absolute=True)
    root = SHARES_ROOT.removeprefix("/").split("/")
    if parts is None or len(parts) <= len(root) or parts[: len(root)] != root:
        raise ValueError(
            f"'{value}' is not a share directory below {SHARES_ROOT}; write a normalised path "
            f"(no '..', '.' or '//'), e.g. '{SHARES_ROOT}/bauamt'"
        )
    return value


@cache
def time_zones() -> frozenset[str]:
    """The zones of the tz database on this machine (empty when it has none)."""
    return frozenset(zoneinfo.available_timezones() - _NOT_ZONES)


def check_timezone(value: str) -> str:
    """A zone of the tz database, e.g. ``Europe/Berlin``; never a path.

    Where the machine has no tz database, the form is checked instead (still no path can pass).

    >>> check_timezone("Europe/Berlin")
    'Europe/Berlin'
    """
    known = time_zones()
    if (value not in known if known else not _ZONE_FORM.match(value)) or value in _NOT_ZONES:
        raise ValueError(f"'{value}' is not a time zone of the tz database; e.g. 'Europe/Berlin' or 'UTC'")
    return value


def check_locale(value: str) -> str:
    """A locale name such as ``de_DE.UTF-8``, or ``C``, ``C.UTF-8``, ``POSIX``.

    >>> check_locale("de_DE.UTF-8")
    'de_DE.UTF-8'
    """
    if not _LOCALE.match(value):
        raise ValueError(f"'{value}' is not a locale name; e.g. 'de_DE.UTF-8' or 'C.UTF-8'")
    return value


def _coerce_str(value: object) -> object:
    """Numbers are fine where text is expected (an AGS key written unquoted); booleans are not."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _text(max_length: int) -> Callable[[object], object]:
    """Before validation: coerce numbers, refuse overlong text before anything else looks at it."""

    def before(value: object) -> object:
        value = _coerce_str(value)
        if isinstance(value, str) and len(value) > max_length:
            check_safe_text(value, max_length)  # raises the length message
        return value

    return before


def _text_check(max_length: int) -> Callable[[str], str]:
    """After validation: the whole :func:`check_safe_text` on whatever became text."""

    def after(value: str) -> str:
        return check_safe_text(value, max_length)

    return after


def _dotted(kind: type[object], example: str) -> Callable[[object], object]:
    """Before validation: an address must be written as text (YAML reads 170530826 as a number)."""

    def before(value: object) -> object:
        if isinstance(value, (str, kind)):
            return value
        what = "a number" if isinstance(value, int | float) and not isinstance(value, bool) else "not text"
        raise ValueError(f"{value!r} is {what}, not an address; write it as a dotted address, e.g. {example}")

    return before


SafeText = Annotated[
    str, BeforeValidator(_text(MAX_TEXT)), Field(max_length=MAX_TEXT), AfterValidator(_text_check(MAX_TEXT))
]
InterfaceDescription = Annotated[
    str,
    BeforeValidator(_text(MAX_INTERFACE_DESCRIPTION)),
    Field(max_length=MAX_INTERFACE_DESCRIPTION),
    AfterValidator(_text_check(MAX_INTERFACE_DESCRIPTION)),
]
RouteDescription = Annotated[
    str,
    BeforeValidator(_text(MAX_ROUTE_DESCRIPTION)),
    Field(max_length=MAX_ROUTE_DESCRIPTION),
    AfterValidator(_text_check(MAX_ROUTE_DESCRIPTION)),
]
BannerText = Annotated[
    str,
    BeforeValidator(_text(MAX_BANNER)),
    Field(max_length=MAX_BANNER),
    AfterValidator(_text_check(MAX_BANNER)),
]
SshKey = Annotated[
    str,
    BeforeValidator(_text(MAX_SSH_KEY)),
    Field(max_length=MAX_SSH_KEY),
    AfterValidator(_text_check(MAX_SSH_KEY)),
]
PolicyText = Annotated[
    str,
    BeforeValidator(_text(MAX_POLICY_TEXT)),
    Field(max_length=MAX_POLICY_TEXT),
    AfterValidator(_text_check(MAX_POLICY_TEXT)),
]
#: Free-form structured data that ends up in a config file (e.g. browser policies): every string checked.
SafeTree = Annotated[object, AfterValidator(check_safe_tree)]
#: Keys of policy mappings written into config files, e.g. ``DisableTelemetry``.
PolicyKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
#: A value of office policies: text, true/false or a 32-bit whole number.
PolicyValue = Annotated[str | bool | int, AfterValidator(check_policy_value)]
Hostname = Annotated[str, AfterValidator(check_hostname)]
Identifier = Annotated[str, AfterValidator(check_identifier)]
SecretRef = Annotated[str, AfterValidator(check_secret_ref)]
MacAddress = Annotated[str, AfterValidator(check_mac)]
InterfaceName = Annotated[str, AfterValidator(check_interface_name)]
# The checks give the messages; the patterns below only inform editors through the JSON Schema.
VaultFile = Annotated[
    str,
    AfterValidator(check_vault_file),
    Field(json_schema_extra={"pattern": rf"^{VAULT_DIR}(/{_PATH_COMPONENT.pattern[1:-1]})+\.ya?ml$"}),
]
SharePath = Annotated[
    str,
    AfterValidator(check_share_path),
    Field(json_schema_extra={"pattern": rf"^{SHARES_ROOT}(/{_PATH_COMPONENT.pattern[1:-1]})+$"}),
]
TimeZone = Annotated[
    str, AfterValidator(check_timezone), Field(json_schema_extra={"pattern": _ZONE_FORM.pattern})
]
Locale = Annotated[str, AfterValidator(check_locale), Field(json_schema_extra={"pattern": _LOCALE.pattern})]
VlanId = Annotated[int, Field(ge=1, le=4094)]
Port = Annotated[int, Field(ge=1, le=65535)]
Asn = Annotated[int, Field(ge=1, le=4294967295)]
#: An OSPF area id as a number (0 is the backbone); 32 bits, like the dotted form.
OspfArea = Annotated[int, Field(ge=0, le=4294967295)]
IPv4 = Annotated[ipaddress.IPv4Address, BeforeValidator(_dotted(ipaddress.IPv4Address, "10.42.24.10"))]
IPv4Net = Annotated[ipaddress.IPv4Network, BeforeValidator(_dotted(ipaddress.IPv4Network, "10.42.24.0/24"))]
IPv4If = Annotated[
    ipaddress.IPv4Interface, BeforeValidator(_dotted(ipaddress.IPv4Interface, "10.42.255.1/30"))
]
