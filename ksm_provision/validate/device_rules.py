"""Rules about what a platform's device can be given: whatever rendering cannot produce is refused here.

Cisco IOS switches: the ``model:`` must be one whose front-panel ports ksm knows (unused ports are
shut and parked, so the port table is needed), every listed port must exist on that model, and the
effective time zone must have an IOS ``clock`` form. The provider's native and parking VLANs must
be usable on every switch: distinct, not VLAN 1, in no authority's VLAN range.
"""

from __future__ import annotations

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import DeviceRollback, NetworkDevice, Platform, Site
from ksm_provision.network.capabilities import SWITCH_MODELS, model_ports
from ksm_provision.network.platforms import canonical_interface
from ksm_provision.network.switch_context import IOS_CLOCKS, ios_clock
from ksm_provision.validate.view import AuthorityView, provider_problem


def _known_models() -> str:
    return ", ".join(sorted(SWITCH_MODELS))


def switch_model(view: AuthorityView, i: int, device: NetworkDevice) -> list[Problem]:
    """A known model (when given) and only ports that model has."""
    what = f"device '{device.hostname}'"
    if not device.model:
        return []
    ports = model_ports(device.model)
    if ports is None:
        return [
            view.problem(
                ("network_devices", i, "model"),
                f"{what}: unknown switch model '{device.model}'; its ports cannot be rendered",
                f"use one of: {_known_models()}",
            )
        ]
    problems = []
    known = set(ports)
    for j, iface in enumerate(device.interfaces):
        if iface.name not in known and canonical_interface(iface.name) is None:
            problems.append(
                view.problem(
                    ("network_devices", i, "interfaces", j, "name"),
                    f"{what}: a {device.model} has no port '{iface.name}'",
                    f"its ports are {ports[0]}..{ports[-1]} (stack member 1)",
                )
            )
    return problems


def interface_names(view: AuthorityView, i: int, device: NetworkDevice) -> list[Problem]:
    """IOS interface names written out in full, as ``show running-config`` prints them.

    An abbreviation (``Gi1/0/1``) would never match the device's ``interface GigabitEthernet1/0/1``:
    ksm would plan the port anew on every run.
    """
    problems = []
    for j, iface in enumerate(device.interfaces):
        full = canonical_interface(iface.name)
        if full is not None:
            problems.append(
                view.problem(
                    ("network_devices", i, "interfaces", j, "name"),
                    f"device '{device.hostname}': interface name '{iface.name}' is an abbreviation",
                    f"write it out as the device shows it: name: {full}",
                )
            )
    return problems


def connection(view: AuthorityView, i: int, device: NetworkDevice) -> list[Problem]:
    """A device's ``connection:`` fits its platform and makes sense on its own."""
    conn = device.connection
    where = ("network_devices", i, "connection")
    problems = []
    if device.platform is Platform.FRR and conn.rollback is DeviceRollback.CONFIGURE_REPLACE:
        problems.append(
            view.problem(
                (*where, "rollback"),
                f"device '{device.hostname}': FRRouting has no `configure replace`",
                "use rollback: remediation or auto (FRR is always rolled back by reverse remediation)",
            )
        )
    jump = conn.jump_host
    target = conn.host or device.management.address
    if jump is not None and str(jump.host) == str(target) and jump.port == conn.port:
        problems.append(
            view.problem(
                (*where, "jump_host", "host"),
                f"device '{device.hostname}': the jump host is the device itself ({jump.host}:{jump.port})",
                "name the SSH jump host in front of the management network, or drop jump_host",
            )
        )
    timeouts = conn.timeouts
    if timeouts.keepalive and timeouts.command and timeouts.keepalive * 2 > timeouts.command:
        problems.append(
            view.problem(
                (*where, "timeouts", "keepalive"),
                f"device '{device.hostname}': keepalive {timeouts.keepalive:g} s notices a dead session only "
                f"after ~{timeouts.keepalive * 2:g} s, later than the command timeout {timeouts.command:g} s",
                "use a keepalive of at most half the command timeout, e.g. keepalive: 5, command: 30",
            )
        )
    return problems


def switch_clock(view: AuthorityView, i: int, device: NetworkDevice) -> list[Problem]:
    """The effective time zone (provider < authority < site) has an IOS clock form."""
    site = next((s for s in view.model.sites if s.id == device.site), None)
    if site is None:
        return []  # reported by the authority rules
    zone = _site_zone(view, site)
    if zone is None or ios_clock(zone) is not None:
        return []
    return [
        view.problem(
            ("network_devices", i, "site"),
            f"device '{device.hostname}': time zone '{zone}' (effective at site '{site.id}') has no "
            "Cisco IOS `clock timezone`/`clock summer-time` form in ksm",
            f"use one of: {', '.join(sorted(IOS_CLOCKS))}; or set the site's `timezone:`",
        )
    ]


def _site_zone(view: AuthorityView, site: Site) -> str | None:
    """The effective time zone at *site* (provider < authority < site): the first set, top down."""
    for layer in (site.settings, view.model.settings, view.provider.defaults):
        if layer.timezone is not None:
            return str(layer.timezone)
    return None


def ios_devices(view: AuthorityView) -> list[Problem]:
    problems: list[Problem] = []
    for i, device in enumerate(view.model.network_devices):
        problems += connection(view, i, device)
        if device.platform is Platform.CISCO_IOS:
            problems += interface_names(view, i, device)
            problems += switch_model(view, i, device)
            problems += switch_clock(view, i, device)
    return problems


#: VLANs IOS reserves (default and legacy token ring/FDDI) or that do not exist.
_RESERVED_VLANS = frozenset({1, 1002, 1003, 1004, 1005})
MAX_VLAN = 4094


def free_switch_vlans(inventory: Inventory, count: int = 2) -> list[int]:
    """The highest *count* VLAN ids in no authority's range and not reserved: hint examples.

    >>> from types import SimpleNamespace as NS
    >>> plan = NS(authorities=[NS(vlans=(3990, 4093))], native_vlan=4094, parking_vlan=4094)
    >>> free_switch_vlans(NS(provider=NS(address_plan=plan)))
    [3989, 3988]
    """
    plan = inventory.provider.address_plan
    taken = set(_RESERVED_VLANS) | {plan.native_vlan, plan.parking_vlan}
    ranges = [block.vlans for block in plan.authorities]
    free = (
        vlan
        for vlan in range(MAX_VLAN, 1, -1)
        if vlan not in taken and not any(low <= vlan <= high for low, high in ranges)
    )
    return [vlan for _, vlan in zip(range(count), free, strict=False)]


def _examples(inventory: Inventory) -> str:
    free = free_switch_vlans(inventory)
    return " or ".join(str(v) for v in free) if free else "a VLAN outside the authorities' ranges"


def switch_vlans(inventory: Inventory) -> list[Problem]:
    """The native and parking VLANs are distinct, not 1, and outside every authority's range."""
    plan = inventory.provider.address_plan
    problems: list[Problem] = []
    if plan.native_vlan == plan.parking_vlan:
        problems.append(
            provider_problem(
                inventory,
                ("address_plan", "parking_vlan"),
                f"parking_vlan and native_vlan are both {plan.native_vlan}",
                f"use two VLANs no authority uses, e.g. {_examples(inventory)}",
            )
        )
    for key, vlan in (("native_vlan", plan.native_vlan), ("parking_vlan", plan.parking_vlan)):
        if vlan in _RESERVED_VLANS:
            problems.append(
                provider_problem(
                    inventory,
                    ("address_plan", key),
                    f"{key} is VLAN {vlan}, which IOS reserves (VLAN 1 is the default VLAN of every port)",
                    f"use a VLAN no authority uses, e.g. {_examples(inventory)}",
                )
            )
        for block in plan.authorities:
            low, high = block.vlans
            if low <= vlan <= high:
                problems.append(
                    provider_problem(
                        inventory,
                        ("address_plan", key),
                        f"{key} {vlan} lies in the VLAN range {low}-{high} of authority '{block.authority}'",
                        f"use a VLAN outside every authority's range, e.g. {_examples(inventory)}",
                    )
                )
    return problems


def check_devices(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every device-platform problem of the inventory (hook of :func:`validate_inventory`)."""
    problems = [p for view in views for p in ios_devices(view)]
    if any(d.platform is Platform.CISCO_IOS for v in views for d in v.model.network_devices):
        problems += switch_vlans(inventory)
    return problems
