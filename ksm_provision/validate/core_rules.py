"""Rules about the provider core: the core routers of ksm.yml and the authorities' links to them.

A core router's links are derived, not listed (:mod:`ksm_provision.network.core`): a BGP neighbour
in the provider's AS on an authority's FRR router is a link when it is the first usable address of
a /30 of a core router's ``transfer`` range and the router holds the second on a routed interface.
These rules make every such neighbour a proper link, so none silently drops out of the core's
configuration, and keep the core routers themselves consistent:

- ksm.yml: each transfer range lies inside ``address_plan.core``, holds at least one /30 and
  overlaps no other core router's; hostnames and router ids are unique; the platform has a core
  template (frr);
- authority files: a neighbour in the provider's AS on a connected subnet lies in a transfer range
  and takes the core's end of a /30 whose other end is the router's interface; the router's
  router id differs from its core peer's (FRR refuses a session between equal ids).

Not checked here, because other rules already report it: a neighbour on no connected subnet
(intent and tenant rules), a neighbour that is an authority's own device (``bgp_sessions``), and
two authorities on the same transfer /30 (the tenant rule on core links, plus duplicate addresses).
Without any core router in ksm.yml the provider has not described its core and the link rules are
skipped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import CoreRouter, Platform
from ksm_provision.network.core import (
    CORE_ROLE,
    TRANSFER_PREFIX,
    CorePeering,
    core_links,
    core_peerings,
    next_free_transfer,
    transfer_ends,
)
from ksm_provision.validate.cross_rules import involves
from ksm_provision.validate.intent_rules import interface_owners
from ksm_provision.validate.spans import Span, find_overlaps, net_bounds
from ksm_provision.validate.view import AuthorityView, duplicates, provider_problem

CoreRule = Callable[[Inventory, list[AuthorityView]], list[Problem]]


Loc = tuple[str | int, ...]


def _where(index: int, *rest: str) -> Loc:
    return ("core_routers", index, *rest)


def _line(inventory: Inventory, index: int, *rest: str) -> int:
    return inventory.provider_source.line_of(_where(index, *rest))


# --------------------------------------------------------------------------- ksm.yml


def transfer_ranges(inventory: Inventory, _views: list[AuthorityView]) -> list[Problem]:
    """Each transfer range lies in the provider core, holds a /30, and overlaps no other one."""
    core = inventory.provider.address_plan.core
    core_line = inventory.provider_source.line_of(("address_plan", "core"))
    problems: list[Problem] = []
    spans: list[Span] = []
    for i, router in enumerate(inventory.provider.core_routers):
        what = f"core router '{router.hostname}': transfer range {router.transfer}"
        loc = _where(i, "transfer")
        if not router.transfer.subnet_of(core):
            problems.append(
                provider_problem(
                    inventory,
                    loc,
                    f"{what} lies outside the provider core {core} (line {core_line})",
                    f"take the transfer networks from address_plan.core, e.g. a /22 of {core}",
                )
            )
        if router.transfer.prefixlen > TRANSFER_PREFIX:
            problems.append(
                provider_problem(
                    inventory,
                    loc,
                    f"{what} cannot hold one /30 transfer network",
                    "give it at least a /30; a /22 holds 256 links",
                )
            )
        label = f"the transfer range {router.transfer} of core router '{router.hostname}'"
        spans.append(
            Span(
                *net_bounds(router.transfer),
                label,
                inventory.provider_source.file,
                _line(inventory, i, "transfer"),
            )
        )
    for span, other in find_overlaps(spans):
        problems.append(
            Problem(
                span.file,
                span.line,
                f"{span.label} overlaps {other.label} (line {other.line})",
                "give each core router a range of its own",
            )
        )
    return problems


def unique_core_routers(inventory: Inventory, _views: list[AuthorityView]) -> list[Problem]:
    """Core router hostnames and router ids are unique; each platform has a core template."""
    routers = inventory.provider.core_routers
    problems: list[Problem] = []
    keys = [(r.hostname, _where(i, "hostname")) for i, r in enumerate(routers)]
    for hostname, loc, first in duplicates(keys):
        problems.append(
            provider_problem(
                inventory,
                loc,
                f"core router hostname '{hostname}' is listed twice (first on line "
                f"{inventory.provider_source.line_of(first)})",
                "give each core router its own hostname",
            )
        )
    ids = [(str(r.router_id), _where(i, "router_id")) for i, r in enumerate(routers)]
    for router_id, loc, first in duplicates(ids):
        problems.append(
            provider_problem(
                inventory,
                loc,
                f"core router router_id {router_id} is also the router_id on line "
                f"{inventory.provider_source.line_of(first)}",
                "BGP tells routers apart by their router id: give each core router its own",
            )
        )
    for i, router in enumerate(routers):
        if router.platform is not Platform.FRR:
            problems.append(
                provider_problem(
                    inventory,
                    _where(i, "platform"),
                    f"core router '{router.hostname}': platform '{router.platform}' has no core template",
                    f"core routers are rendered from templates/frr/{CORE_ROLE}.j2: use platform: frr",
                )
            )
    return problems


# --------------------------------------------------------------------------- links


def link_example(inventory: Inventory) -> str:
    """A free transfer /30 as a hint, e.g. 'neighbour 10.40.100.1 with the interface at 10.40.100.2/30'."""
    found = next_free_transfer(inventory)
    if found is None:
        return "every transfer range is full: add a core router or enlarge a transfer range in ksm.yml"
    router, network = found
    core_side, authority_side = transfer_ends(network)
    return (
        f"take a free /30 of core router '{router.hostname}', e.g. the neighbour {core_side} with the "
        f"router's interface at {authority_side}/{TRANSFER_PREFIX}"
    )


def peering_problem(inventory: Inventory, view: AuthorityView, peering: CorePeering) -> Problem | None:
    what = (
        f"device '{peering.device.hostname}' BGP neighbour {peering.neighbour.address} "
        f"(AS {peering.neighbour.remote_as}, the provider core)"
    )
    loc = (*peering.neighbour_loc, "address")
    if peering.core is None:
        ranges = ", ".join(f"{r.transfer} of '{r.hostname}'" for r in inventory.provider.core_routers)
        return view.problem(
            loc,
            f"{what} lies in no transfer range of the core routers ({ranges}), so no core router peers back",
            link_example(inventory),
        )
    fault = peering.fault()
    if fault is None:
        return None
    assert peering.interface is not None  # fault() is None without a connected interface
    address = peering.interface[1].address
    assert address is not None
    if address.network.prefixlen != TRANSFER_PREFIX or not address.network.subnet_of(
        peering.core[1].transfer
    ):
        hint = link_example(inventory)
    else:
        core_side, authority_side = transfer_ends(address.network)
        hint = (
            f"write the neighbour as {core_side} and give interface '{peering.interface[1].name}' "
            f"{authority_side}/{TRANSFER_PREFIX}; the core router's end is derived from them"
        )
    return view.problem(loc, f"{what} {fault}", hint)


def transfer_links(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every BGP neighbour in the provider's AS on a connected subnet is a proper transfer link."""
    if not inventory.provider.core_routers:
        return []
    by_aid = {view.aid: view for view in views}
    owners = interface_owners(views)
    problems: list[Problem] = []
    for peering in core_peerings(inventory):
        view = by_aid.get(peering.authority)
        if view is None or peering.interface is None or int(peering.neighbour.address) in owners:
            continue
        problem = peering_problem(inventory, view, peering)
        if problem is not None:
            problems.append(problem)
    return problems


def shared_transfers(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """One link per transfer /30: two routers of one authority cannot both take its authority side.

    (Two authorities on one /30 are reported by the tenant rule on core links.)
    """
    by_aid = {view.aid: view for view in views}
    first: dict[ipaddress.IPv4Network, tuple[CorePeering, AuthorityView]] = {}
    problems: list[Problem] = []
    for peering in core_peerings(inventory):
        view = by_aid.get(peering.authority)
        if view is None or peering.interface is None or peering.core is None or peering.fault() is not None:
            continue
        j, iface = peering.interface
        assert iface.address is not None
        earlier = first.setdefault(iface.address.network, (peering, view))
        if earlier[0] is peering or earlier[0].authority != peering.authority:
            continue
        other = earlier[0]
        assert other.interface is not None
        loc = ("network_devices", peering.device_index, "interfaces", j, "address")
        other_loc = ("network_devices", other.device_index, "interfaces", other.interface[0], "address")
        problems.append(
            view.problem(
                loc,
                f"device '{peering.device.hostname}' interface '{iface.name}': the transfer network "
                f"{iface.address.network} is already the link of device '{other.device.hostname}' "
                f"(line {view.line(other_loc)}); the core has one neighbour per transfer /30",
                link_example(inventory),
            )
        )
    return problems


def effective_router_id(
    view: AuthorityView, device_index: int
) -> tuple[ipaddress.IPv4Address, tuple[str | int, ...]]:
    """The router id FRR runs with (as rendered: routing.router_id, else the management address)."""
    device = view.model.network_devices[device_index]
    if device.routing is not None and device.routing.router_id is not None:
        return device.routing.router_id, ("network_devices", device_index, "routing", "router_id")
    return device.management.address, ("network_devices", device_index, "management", "address")


def peer_router_ids(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """An authority router's router id differs from that of the core router it peers with."""
    routers: dict[str, tuple[int, CoreRouter]] = {
        r.hostname: (i, r) for i, r in reversed(list(enumerate(inventory.provider.core_routers)))
    }
    linked = {
        (link.authority, link.router, link.core) for links in core_links(inventory).values() for link in links
    }
    by_aid = {view.aid: view for view in views}
    problems: list[Problem] = []
    for aid, hostname, core_name in sorted(linked):
        view = by_aid.get(aid)
        if view is None or hostname not in view.devices:
            continue
        index, core = routers[core_name]
        router_id, loc = effective_router_id(view, view.devices[hostname])
        if router_id != core.router_id:
            continue
        where = f"{inventory.provider_source.file}:{_line(inventory, index, 'router_id')}"
        problems.append(
            Problem(
                view.file,
                view.line(loc),
                f"device '{hostname}': router id {router_id} is the router_id of its BGP peer, core "
                f"router '{core_name}' ({where}); "
                "FRR refuses a session between equal router ids",
                "use an address of the own block as router_id, e.g. the router's management address",
                involves(aid),
            )
        )
    return problems


RULES: tuple[CoreRule, ...] = (
    transfer_ranges,
    unique_core_routers,
    transfer_links,
    shared_transfers,
    peer_router_ids,
)


def check_core(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every problem of the core routers and of the authorities' links to them."""
    return [problem for rule in RULES for problem in rule(inventory, views)]
