"""What each device template can express: the one table validate and render both read.

Pure data on top of the inventory models (no Jinja2, hier_config or Netmiko), so ``ksm validate``
can report with file and line what rendering would refuse or silently drop, and rendering keeps
refusing it as a safety net.
"""

from __future__ import annotations

from dataclasses import dataclass

from ksm_provision.inventory.models import DeviceRole, InterfaceMode, Platform


@dataclass(frozen=True)
class RoleSupport:
    """What the template ``templates/<platform>/<role>.j2`` configures."""

    #: Interface modes the template renders; any other mode is refused.
    modes: frozenset[InterfaceMode]
    #: Whether ``routing:`` (static routes, BGP, advertisements, OSPF area) and ``ospf: true`` on
    #: interfaces are rendered; a switch template has no place for them.
    routing: bool
    #: Whether the template gives the management address an interface of its own (a switch's
    #: management SVI); without one, the management address must be one of the device's interfaces.
    management_interface: bool


SWITCH = RoleSupport(
    modes=frozenset({InterfaceMode.ACCESS, InterfaceMode.TRUNK}), routing=False, management_interface=True
)
ROUTER = RoleSupport(modes=frozenset({InterfaceMode.ROUTED}), routing=True, management_interface=False)

#: (platform, role) -> what its template supports; a pair missing here has no template.
SUPPORTED: dict[tuple[Platform, DeviceRole], RoleSupport] = {
    (Platform.CISCO_IOS, DeviceRole.ACCESS_SWITCH): SWITCH,
    (Platform.CISCO_IOS, DeviceRole.CORE_SWITCH): SWITCH,
    (Platform.FRR, DeviceRole.ROUTER): ROUTER,
}


def support(platform: Platform, role: DeviceRole) -> RoleSupport | None:
    """What a (platform, role) device can be configured with, or None when nothing renders it.

    >>> router = support(Platform.FRR, DeviceRole.ROUTER)
    >>> [m.value for m in router.modes] if router else None, support(Platform.FRR, DeviceRole.CORE_SWITCH)
    (['routed'], None)
    """
    return SUPPORTED.get((platform, role))


def roles_of(platform: Platform) -> list[str]:
    """The roles *platform* has templates for, e.g. ['access_switch', 'core_switch'] for cisco_ios."""
    return [role.value for (p, role) in SUPPORTED if p is platform]


def modes_text(modes: frozenset[InterfaceMode]) -> str:
    """``mode: access`` or ``mode: trunk`` style text for hints.

    >>> modes_text(frozenset({InterfaceMode.TRUNK, InterfaceMode.ACCESS}))
    '`mode: access` or `mode: trunk`'
    """
    return " or ".join(f"`mode: {m.value}`" for m in sorted(modes))
