"""Which stand-ins the lab twin runs for an inventory.

Hosts: one lab host per distinct (authority, server role set or client profile), i.e. per
``Host.group_key``; it *represents* every inventory host of that group. At most
``hosts_per_authority`` per authority, taken alternately from server groups and client groups (in
inventory order) so both kinds are covered; groups beyond the cap are reported as unrepresented.
Network devices: every one of the chosen authorities; platform ``frr`` becomes a router,
``cisco_ios`` a switch. Every FRR router also gets a gateway: a lab host for the router's Linux side
(nftables, DHCP relay) whose commands run in the router's network namespace.

Addresses come from :mod:`ksm_provision.lab.addresses`; the authority index is the authority's
position in the provider address plan, so it stays put when authorities are added.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence

from ksm_provision.errors import LabError
from ksm_provision.inventory.hosts import Host, HostKind
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import Platform
from ksm_provision.lab.addresses import node_address
from ksm_provision.lab.state import LabModel, LabNodeSpec, NodeKind
from ksm_provision.network.core import core_links
from ksm_provision.render.gateway_vars import GATEWAY_OS, is_gateway_device

#: The lab's stand-ins for the provider's own devices (the core routers) use this authority name and
#: the last authority index of the address plan.
PROVIDER = "provider"
PROVIDER_INDEX = 254
DEFAULT_HOSTS_PER_AUTHORITY = 8  # the samples have 7 kinds of host per authority
_LINUX_LINK = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_NODE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,40}[a-z0-9])?$")
_DEVICE_KIND = {Platform.FRR: NodeKind.ROUTER, Platform.CISCO_IOS: NodeKind.SWITCH}


class LabPlan(LabModel):
    specs: tuple[LabNodeSpec, ...]
    #: Inventory hosts without a stand-in because of the per-authority cap.
    unrepresented: tuple[str, ...] = ()


def authority_indexes(inventory: Inventory) -> dict[str, int]:
    """1-based index per authority: its place in the provider address plan, then the rest sorted."""
    planned = [b.authority for b in inventory.provider.address_plan.authorities]
    rest = sorted(a for a in inventory.authorities if a not in planned)
    return {authority: i for i, authority in enumerate([*planned, *rest], start=1)}


def node_name(hostname: str) -> str:
    """A lab node name (netns, FRR path space, user names) from an inventory host name.

    >>> node_name("lup-pch-fs01")
    'lup-pch-fs01'
    >>> node_name("fs01.sn.example")
    'fs01-sn-example'
    """
    name = re.sub(r"[^a-z0-9-]+", "-", hostname.lower()).strip("-")
    if _NODE_NAME.match(name):
        return name
    digest = hashlib.sha256(hostname.encode()).hexdigest()[:6]
    return f"{name[:35].strip('-')}-{digest}"


def _gateway_spec(router: LabNodeSpec, index: int, n: int, instance: int) -> LabNodeSpec:
    """The lab host of *router*'s Linux side: same host name, its own address, the router's netns."""
    return LabNodeSpec(
        name=node_name(f"{router.hostname}-gw"),
        kind=NodeKind.GATEWAY,
        authority=router.authority,
        address=node_address(NodeKind.GATEWAY.value, index, n, instance),
        port=router.port,
        represents=(router.hostname,),
        platform=GATEWAY_OS,
        hostname=router.hostname,
        router=router.name,
    )


def _host_groups(hosts: list[Host]) -> list[list[Host]]:
    """Groups of alike hosts, alternating server and client groups, each in inventory order."""
    groups: dict[str, list[Host]] = {}
    for host in hosts:
        groups.setdefault(host.group_key, []).append(host)
    servers = [g for g in groups.values() if g[0].kind is HostKind.SERVER]
    clients = [g for g in groups.values() if g[0].kind is HostKind.CLIENT]
    mixed = itertools.chain.from_iterable(itertools.zip_longest(servers, clients))
    return [g for g in mixed if g is not None]


def plan_lab(
    inventory: Inventory,
    authorities: Sequence[str] | None = None,
    *,
    hosts_per_authority: int = DEFAULT_HOSTS_PER_AUTHORITY,
    instance: int = 0,
    port: int = 22,
) -> LabPlan:
    """The lab nodes for *authorities* (default: every authority of *inventory*).

    *instance* shifts the addresses (see :mod:`ksm_provision.lab.addresses`); *port* is every
    node's SSH port.
    """
    if hosts_per_authority < 0:
        raise LabError(f"hosts per authority must be 0 or more, not {hosts_per_authority}")
    chosen = list(authorities) if authorities else list(inventory.authorities)
    unknown = [a for a in chosen if a not in inventory.authorities]
    if unknown:
        raise LabError(
            f"unknown authority '{unknown[0]}'",
            hint=f"known authorities: {', '.join(inventory.authorities) or 'none'}",
        )
    indexes = authority_indexes(inventory)
    specs: list[LabNodeSpec] = []
    unrepresented: list[str] = []
    for authority in chosen:
        index = indexes[authority]
        hosts = [h for h in inventory.hosts if h.authority == authority]
        groups = _host_groups(hosts)
        for n, group in enumerate(groups[:hosts_per_authority], start=1):
            first = group[0]
            specs.append(
                LabNodeSpec(
                    name=node_name(first.hostname),
                    kind=NodeKind.HOST,
                    authority=authority,
                    address=node_address("host", index, n, instance),
                    port=port,
                    represents=tuple(h.hostname for h in group),
                    platform=first.os,
                    hostname=first.hostname,
                )
            )
        unrepresented += [h.hostname for g in groups[hosts_per_authority:] for h in g]
        counters = {NodeKind.ROUTER: 0, NodeKind.SWITCH: 0}
        for device in (d for d in inventory.devices if d.authority == authority):
            kind = _DEVICE_KIND[device.model.platform]
            counters[kind] += 1
            interfaces: tuple[str, ...] = ()
            if kind is NodeKind.ROUTER:
                interfaces = tuple(i.name for i in device.model.interfaces)
                bad = [i for i in interfaces if not _LINUX_LINK.match(i)]
                if bad:
                    raise LabError(
                        f"{inventory.files.get(authority, authority)}: frr device {device.hostname} has "
                        f"interface {bad[0]!r}, which cannot be a Linux link in the lab",
                        hint="FRR interfaces are Linux names of at most 15 characters, e.g. eth1, vlan110",
                    )
            spec = LabNodeSpec(
                name=node_name(device.hostname),
                kind=kind,
                authority=authority,
                address=node_address(kind.value, index, counters[kind], instance),
                port=port,
                represents=(device.hostname,),
                platform=device.model.platform.value,
                model=device.model.model if kind is NodeKind.SWITCH else "",
                hostname=device.hostname,
                interfaces=interfaces,
            )
            specs.append(spec)
            if kind is NodeKind.ROUTER and is_gateway_device(device):
                specs.append(_gateway_spec(spec, index, counters[kind], instance))
    specs += _core_specs(inventory, set(chosen), instance, port)
    return LabPlan(specs=tuple(specs), unrepresented=tuple(unrepresented))


def _core_specs(inventory: Inventory, chosen: set[str], instance: int, port: int) -> list[LabNodeSpec]:
    """A lab router per provider core router that links to a chosen authority (configured by the lab
    from the rendered core config: ksm renders the core but does not push it)."""
    specs = []
    for n, (core, links) in enumerate(core_links(inventory).items(), start=1):
        if not any(link.authority in chosen for link in links):
            continue
        specs.append(
            LabNodeSpec(
                name=node_name(core),
                kind=NodeKind.ROUTER,
                authority=PROVIDER,
                address=node_address(NodeKind.ROUTER.value, PROVIDER_INDEX, n, instance),
                port=port,
                represents=(core,),
                platform=Platform.FRR.value,
                hostname=core,
                interfaces=tuple(link.interface for link in links),
            )
        )
    return specs
