"""One table of platforms: ksm platform <-> Netmiko device_type <-> hier_config driver.

hier_config 3.7 has no FRRouting platform; ksm's FRR driver derives from its Cisco IOS rules
(:mod:`ksm_provision.network.drivers`). Netmiko has no FRR driver either; ``vtysh`` behind SSH
speaks the IOS dialect that Netmiko's ``cisco_ios`` driver expects (modes, prompts, paging).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from hier_config import HConfig
from hier_config.child import HConfigChild
from hier_config.models import Platform as HierPlatform
from hier_config.platforms.driver_base import HConfigDriverBase

from ksm_provision.errors import UsageError
from ksm_provision.inventory.models import Platform
from ksm_provision.network.drivers import KsmCiscoIOSDriver, KsmFRRDriver


class RollbackMethod(StrEnum):
    #: Copy the running config to flash before the push; ``configure replace`` it back.
    CONFIGURE_REPLACE = "configure_replace"
    #: Keep the running config as text; push hier_config's remediation from current back to it.
    REMEDIATION = "remediation"


#: A physical port's name (one-, two- or three-part number), as ``show running-config`` prints it.
PHYSICAL_PORT = (
    r"(?:(?:Fast|Gigabit|TwoGigabit|FiveGigabit|TenGigabit|FortyGigabit|AppGigabit)?Ethernet"
    r"|TwentyFiveGigE|FiftyGigE|HundredGigE|TwoHundredGigE|FourHundredGigE)\d+(?:/\d+){0,2}"
)
#: Lines the device prints when it refuses a configuration command (kept for callers of Netmiko's
#: ``error_pattern``; ksm itself checks each command's reply with :func:`refusal`).
ERROR_PATTERN = (
    r"(?im)^\s*(%(?!\s*(?:Warning|Access VLAN does not exist|Applying VLAN changes|[A-Z0-9_]+-\d-))"
    r"|No such command|Unknown command|Invalid\b|Incomplete\b|Ambiguous\b|Error:|Command rejected"
    r"|Command authorization failed)"
)
_REFUSAL = re.compile(ERROR_PATTERN)


def refusal(reply: str) -> str | None:
    """The device's own words when *reply* (what a command printed, without its echo) refuses it.

    Every IOS ``%`` message counts (``% Invalid input``, ``% Incomplete command.``, ``% Ambiguous
    command``, ``%Default VLAN 1 may not be deleted.``, FRR's ``% Unknown command``) except the
    informational ones (``%Warning``, ``% Access VLAN does not exist. Creating vlan 10``, syslog
    lines such as ``%SYS-5-CONFIG_I``); so do lines that start with ``No such command``, ``Invalid``,
    ``Incomplete``, ``Ambiguous``, ``Unknown command`` or ``Error:`` (other vendors' IOS-style CLIs).

    >>> print(refusal("        ^\\n% Invalid input detected at '^' marker.\\n"))
    ^
    % Invalid input detected at '^' marker.
    >>> refusal("No such command 'line'"), refusal("% Access VLAN does not exist. Creating vlan 10")
    ("No such command 'line'", None)
    """
    lines = [line.strip() for line in reply.replace("\r", "").split("\n")]
    first = next((i for i, line in enumerate(lines) if _REFUSAL.match(line)), None)
    if first is None:
        return None
    start = first - 1 if first and lines[first - 1] == "^" else first  # keep IOS's ^ marker line
    return "\n".join(line for line in lines[start:] if line)


@dataclass(frozen=True)
class PlatformInfo:
    platform: Platform
    netmiko_device_type: str
    #: The hier_config platform whose rules the driver builds on.
    hier_platform: HierPlatform
    driver_factory: Callable[[], HConfigDriverBase]
    ansible_network_os: str
    rollback: RollbackMethod
    running_config_command: str = "show running-config"
    save_command: str = "write memory"
    #: Interfaces the device always has: when the inventory does not mention one it is reset to
    #: ``default_port_config`` rather than removed (a physical port cannot be deleted).
    fixed_interface_re: re.Pattern[str] | None = None
    default_port_config: tuple[str, ...] = ()
    #: Interfaces that exist outside the configuration (kernel links): never ``no interface``.
    interfaces_are_fixed: bool = False
    #: Objects the device always has and ksm never removes or resets when the inventory does not
    #: mention them (IOS: the default VLANs 1 and 1002-1005, the management ports, the console and
    #: vty lines — ``no line con 0`` is refused): the intended
    #: config takes them over from the running config as they are (:func:`keep_permanent`).
    permanent_re: re.Pattern[str] | None = None
    #: Children that make an interface a management port (kept as it is, like *permanent_re*).
    management_port_re: re.Pattern[str] | None = None

    def driver(self) -> HConfigDriverBase:
        """The platform's hier_config driver (rules only, no state: one shared instance)."""
        return _driver(self.driver_factory)


@functools.cache
def _driver(factory: Callable[[], HConfigDriverBase]) -> HConfigDriverBase:
    return factory()


PLATFORMS: dict[Platform, PlatformInfo] = {
    Platform.CISCO_IOS: PlatformInfo(
        platform=Platform.CISCO_IOS,
        netmiko_device_type="cisco_ios",
        hier_platform=HierPlatform.CISCO_IOS,
        driver_factory=KsmCiscoIOSDriver,
        ansible_network_os="cisco.ios.ios",
        rollback=RollbackMethod.CONFIGURE_REPLACE,
        # Physical ports in every IOS form: Ethernet0, FastEthernet0/1, GigabitEthernet1/0/1, ...
        fixed_interface_re=re.compile(rf"^interface {PHYSICAL_PORT}$"),
        default_port_config=("shutdown",),
        permanent_re=re.compile(
            r"^(vlan (1|100[2-5])|interface (GigabitEthernet0/0|FastEthernet0|AppGigabitEthernet\S+)"
            r"|line (con|aux|vty) \d+( \d+)?)$"
        ),
        management_port_re=re.compile(r"^(ip )?vrf forwarding (Mgmt-vrf|Mgmt-intf)$"),
    ),
    Platform.FRR: PlatformInfo(
        platform=Platform.FRR,
        netmiko_device_type="cisco_ios",
        hier_platform=HierPlatform.CISCO_IOS,
        driver_factory=KsmFRRDriver,
        ansible_network_os="frr.frr.frr",
        rollback=RollbackMethod.REMEDIATION,
        fixed_interface_re=re.compile(r"^interface \S+$"),
        interfaces_are_fixed=True,
    ),
}


def keep_permanent(info: PlatformInfo, running: HConfig, intended: HConfig) -> HConfig:
    """*intended* plus every permanent object of *running* it does not mention, copied as it is.

    So hier_config never plans ``no vlan 1`` or resets a management port (see
    :attr:`PlatformInfo.permanent_re`); an object the inventory does configure is left to it.
    *intended* itself is not changed.
    """
    kept = [
        child
        for child in running.children
        if _permanent(info, child) and intended.get_child(equals=child.text) is None
    ]
    if not kept:
        return intended
    completed = intended.deep_copy()
    for child in kept:
        completed.add_deep_copy_of(child)
    return completed


def _permanent(info: PlatformInfo, child: HConfigChild) -> bool:
    if info.permanent_re is not None and info.permanent_re.match(child.text):
        return True
    mgmt = info.management_port_re
    return (
        mgmt is not None
        and child.text.startswith("interface ")
        and any(mgmt.match(c.text) for c in child.children)
    )


#: IOS interface types and their abbreviations (the longest abbreviation first where they share
#: a prefix). A name in the inventory is written out in full, as ``show running-config`` shows it.
_IOS_TYPES: tuple[tuple[str, str], ...] = (
    ("TwentyFiveGigE", "Twe"),
    ("TwoGigabitEthernet", "Tw"),
    ("TenGigabitEthernet", "Te"),
    ("FiveGigabitEthernet", "Fi"),
    ("FortyGigabitEthernet", "Fo"),
    ("HundredGigE", "Hu"),
    ("AppGigabitEthernet", "Ap"),
    ("GigabitEthernet", "Gi"),
    ("FastEthernet", "Fa"),
    ("Ethernet", "Et"),
    ("Port-channel", "Po"),
    ("Loopback", "Lo"),
    ("Vlan", "Vl"),
)
_IOS_NAME = re.compile(r"^([A-Za-z-]+?)\s*(\d+(?:/\d+){0,2}(?:\.\d+)?)$")


@functools.cache  # a few hundred distinct names at most, looked up once per port of every switch
def canonical_interface(name: str) -> str | None:
    """The full IOS name of an abbreviated interface name (``Gi1/0/1``); None if not one.

    >>> canonical_interface("Gi1/0/1"), canonical_interface("fa0/1"), canonical_interface("Te1/1/1")
    ('GigabitEthernet1/0/1', 'FastEthernet0/1', 'TenGigabitEthernet1/1/1')
    >>> canonical_interface("vlan111"), canonical_interface("GigabitEthernet1/0/1"), canonical_interface("x1")
    ('Vlan111', None, None)
    """
    match = _IOS_NAME.match(name)
    if match is None:
        return None
    word, number = match.groups()
    lowered = word.lower()
    for full, short in _IOS_TYPES:
        if word == full:
            return None
        if (
            len(lowered) >= len(short)
            and full.lower().startswith(lowered)
            and lowered.startswith(short.lower())
        ):
            return f"{full}{number}"
    return None


def is_physical_port(name: str) -> bool:
    """Whether *name* is a physical port in any IOS form (never removed, reset when unused).

    >>> [is_physical_port(n) for n in ("Ethernet0", "FastEthernet0/1", "GigabitEthernet1/0/1", "Vlan10")]
    [True, True, True, False]
    """
    return re.fullmatch(PHYSICAL_PORT, name) is not None


_BANNER = re.compile(r"^(banner (?:login|motd|exec)) \^C(.*)\^C$")


def typed_command(info: PlatformInfo, line: str) -> str:
    """The command as typed: IOS shows a banner between ``^C`` (the ETX character) but takes it
    between any delimiter character that is not in the text.

    >>> typed_command(PLATFORMS[Platform.CISCO_IOS], "banner login ^CAuthorised use only^C")
    'banner login #Authorised use only#'
    """
    match = _BANNER.match(line) if info.platform is Platform.CISCO_IOS else None
    if match is None:
        return line
    keyword, text = match.groups()
    delimiter = next((d for d in "#%~|@" if d not in text), None)
    if delimiter is None:
        raise UsageError(f"the banner {text!r} uses every delimiter character #%~|@", "drop one of them")
    return f"{keyword} {delimiter}{text}{delimiter}"


def platform_info(platform: Platform | str) -> PlatformInfo:
    try:
        return PLATFORMS[Platform(platform)]
    except (ValueError, KeyError):
        raise UsageError(
            f"platform {platform!r} has no network support",
            f"supported platforms: {', '.join(p.value for p in PLATFORMS)}",
        ) from None
