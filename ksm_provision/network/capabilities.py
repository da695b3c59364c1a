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


# --------------------------------------------------------------------------- switch models


def _ports(prefix: str, last: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, last + 1))


#: Front-panel ports of each switch model ksm renders, as IOS-XE names them: stack member 1,
#: module 0 = the fixed downlinks, module 1 = the uplinks. Naming as in Cisco's hardware guides
#: (Catalyst 9200L: 24/48 x GigabitEthernet1/0/N plus the fixed 4x1G SFP uplinks of the "-4G"
#: SKUs, GigabitEthernet1/1/1-4; Catalyst 9300-48P with the C9300-NM-4G network module,
#: GigabitEthernet1/1/1-4) and as a real C9300's `show running-config` lists them (one
#: ``interface GigabitEthernet1/0/N`` block per port, configured or not). A model missing here
#: cannot be rendered: its unused ports could not be shut, so validate refuses it.
SWITCH_MODELS: dict[str, tuple[str, ...]] = {
    "C9300-48P": _ports("GigabitEthernet1/0/", 48) + _ports("GigabitEthernet1/1/", 4),
    "C9200L-48P": _ports("GigabitEthernet1/0/", 48) + _ports("GigabitEthernet1/1/", 4),
    "C9200L-48P-4G": _ports("GigabitEthernet1/0/", 48) + _ports("GigabitEthernet1/1/", 4),
    "C9200L-24P": _ports("GigabitEthernet1/0/", 24) + _ports("GigabitEthernet1/1/", 4),
    "C9200L-24P-4G": _ports("GigabitEthernet1/0/", 24) + _ports("GigabitEthernet1/1/", 4),
}


def model_ports(model: str) -> tuple[str, ...] | None:
    """The front-panel ports of a switch model, or None for a model ksm does not know.

    >>> ports = model_ports("C9200L-24P")
    >>> (len(ports), ports[0], ports[-1]) if ports else None
    (28, 'GigabitEthernet1/0/1', 'GigabitEthernet1/1/4')
    >>> model_ports("WS-C2960-24TT-L") is None
    True
    """
    return SWITCH_MODELS.get(model)
