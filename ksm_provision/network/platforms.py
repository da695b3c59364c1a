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


#: Lines the device prints when it refuses a configuration command.
ERROR_PATTERN = (
    r"% ?(Invalid|Unknown|Ambiguous|Incomplete|Error|Command incomplete)|%Error|\bnot successful\b"
)


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
        # Front-panel ports (stack member/module/port); management ports like Gi0/0 stay untouched.
        fixed_interface_re=re.compile(
            r"^interface (Fast|Gigabit|TwoGigabit|TenGigabit|TwentyFiveGig|FortyGigabit|HundredGig)"
            r"E(thernet)?"
            r"\d+/\d+/\d+$"
        ),
        default_port_config=("shutdown",),
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
