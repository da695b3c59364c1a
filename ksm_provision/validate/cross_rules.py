"""Rules across authorities: address plan, overlaps, unique names and addresses, shared sites and services.

Every rule is a pure function ``(Inventory, list[AuthorityView]) -> list[Problem]`` and runs in
O(n log n) over the whole estate: dictionaries for names, sorted integer intervals for addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import InterfaceMode, ServerRole
from ksm_provision.inventory.source import Loc
from ksm_provision.validate.authority_rules import choices
from ksm_provision.validate.spans import Span, SpanIndex, find_overlaps, ip_text, net_bounds, relation
from ksm_provision.validate.view import AuthorityView, duplicates, provider_problem

CrossRule = Callable[[Inventory, list[AuthorityView]], list[Problem]]


def address_plan(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """One plan entry per authority file and vice versa; blocks disjoint from each other and the core."""
    plan = inventory.provider.address_plan
    problems: list[Problem] = []
    entries = [
        (b.authority, ("address_plan", "authorities", i, "authority")) for i, b in enumerate(plan.authorities)
    ]
    for aid, loc, first in duplicates(entries):
        problems.append(
            provider_problem(
                inventory,
                loc,
                f"address plan lists authority '{aid}' twice",
                "keep one entry per authority (the first is on line "
                f"{inventory.provider_source.line_of(first)})",
            )
        )
    for aid, loc in entries:
        if aid not in inventory.authorities:
            problems.append(
                provider_problem(
                    inventory,
                    loc,
                    f"address plan entry '{aid}' has no authority file {aid}.yml",
                    f"create {aid}.yml (e.g. `ksm onboard {aid} --name NAME`) or remove the entry",
                )
            )
    planned = {aid for aid, _ in entries}
    for view in views:
        if view.aid not in planned:
            problems.append(
                view.problem(
                    ("authority", "id"),
                    f"authority '{view.aid}' has no entry in the address plan of ksm.yml",
                    "add under address_plan.authorities, e.g. - "
                    f"{{authority: {view.aid}, block: 10.43.0.0/16, "
                    "vlans: [300, 399]}",
                )
            )
    source = inventory.provider_source
    spans = [
        Span(
            *net_bounds(plan.core),
            f"the provider core {plan.core}",
            source.file,
            source.line_of(("address_plan", "core")),
        )
    ]
    spans += [
        Span(
            *net_bounds(b.block),
            f"block {b.block} of '{b.authority}'",
            source.file,
            source.line_of(("address_plan", "authorities", i, "block")),
            b.authority,
        )
        for i, b in enumerate(plan.authorities)
    ]
    for span, other in find_overlaps(spans):
        problems.append(
            Problem(
                span.file,
                span.line,
                f"address plan: {span.label} overlaps {other.label} (line {other.line})",
                "blocks and the core must be disjoint; `ksm onboard` picks the next free block",
                involves(span.owner, other.owner),
            )
        )
    return problems


def involves(*authorities: str) -> frozenset[str]:
    """The authorities a problem concerns (empty names, e.g. of the provider, left out)."""
    return frozenset(a for a in authorities if a)


def plan_blocks(inventory: Inventory, views: Iterable[AuthorityView]) -> list[Span]:
    """Every block of the address plan as a span owned by its authority, labelled with both files.

    The label names the authority's file (when it has one) and the block's line in ksm.yml, so a
    message about reaching into the block tells where both sides are written down.
    """
    source = inventory.provider_source
    files = {view.aid: view.file for view in views}
    spans: list[Span] = []
    for i, b in enumerate(inventory.provider.address_plan.authorities):
        line = source.line_of(("address_plan", "authorities", i, "block"))
        where = f"address plan {source.file}:{line}"
        if b.authority in files:
            where = f"{files[b.authority]}, {where}"
        spans.append(
            Span(
                *net_bounds(b.block),
                f"the block {b.block} of '{b.authority}' ({where})",
                source.file,
                line,
                b.authority,
            )
        )
    return spans


def inside_own_block(span: Span, blocks: dict[str, tuple[int, int]]) -> bool:
    bounds = blocks.get(span.owner)
    return bounds is not None and bounds[0] <= span.start and span.end <= bounds[1]


def blamed(span: Span, other: Span, blocks: dict[str, tuple[int, int]]) -> tuple[Span, Span]:
    """The pair of a clash across authorities ordered (intruder, the one intruded on).

    Inside the own block an entry is where it belongs; when exactly one of the two lies outside its
    owner's block, that one reached into the other's and is the one to blame, whatever the file order.
    """
    if span.owner != other.owner and inside_own_block(span, blocks) and not inside_own_block(other, blocks):
        return other, span
    return span, other


def own_blocks(views: Iterable[AuthorityView]) -> dict[str, tuple[int, int]]:
    return {view.aid: net_bounds(view.block.block) for view in views if view.block is not None}


def networks_in_blocks(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every network of an authority lies inside its block of the address plan.

    A network that reaches into another authority's block says so, naming that authority's file.
    """
    problems: list[Problem] = []
    blocks = SpanIndex(plan_blocks(inventory, views))
    for view in views:
        if view.block is None:
            continue  # reported by address_plan
        low, high = net_bounds(view.block.block)
        for net in view.networks.values():
            start, end = net.bounds
            if not (low <= start and end <= high):
                prefix = max(net.model.subnet.prefixlen, view.block.block.prefixlen)
                example = f"{view.block.block.network_address}/{prefix}"
                foreign = [s for s in blocks.overlapping(start, end) if s.owner != view.aid]
                reach = ""
                if foreign:
                    reach = f"; it {relation(start, end, foreign[0])} {foreign[0].label}{more(foreign)}"
                problems.append(
                    Problem(
                        view.file,
                        view.line(("networks", net.index, "subnet")),
                        f"network '{net.model.id}' ({net.model.subnet}) lies outside the authority's block "
                        f"{view.block.block} of the address plan{reach}",
                        f"use a subnet of {view.block.block}, e.g. {example}",
                        involves(view.aid, *(s.owner for s in foreign)),
                    )
                )
    return problems


def more(found: list[Span]) -> str:
    """`` and N more`` when a prefix reaches into more than one foreign span."""
    return f" (and {len(found) - 1} more)" if len(found) > 1 else ""


def subnet_overlaps(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """No two networks overlap, within one authority or across authorities.

    Across authorities the network outside its owner's block is blamed (see :func:`blamed`).
    """
    blocks = own_blocks(views)
    spans = [
        Span(
            *net.bounds,
            f"network '{net.model.id}' ({net.model.subnet}) of '{view.aid}'",
            view.file,
            view.line(("networks", net.index, "subnet")),
            view.aid,
        )
        for view in views
        for net in view.networks.values()
    ]
    problems: list[Problem] = []
    for pair in find_overlaps(spans):
        span, other = blamed(*pair, blocks)
        problems.append(
            Problem(
                span.file,
                span.line,
                f"{span.label} overlaps {other.label} ({other.where})",
                "subnets must not overlap, within an authority or across authorities; use a free part of "
                "the block",
                involves(span.owner, other.owner),
            )
        )
    return problems


@dataclass(frozen=True, slots=True)
class Claim:
    """The first holder of a name: what it is, where, and which authority."""

    label: str
    where: str
    owner: str

    def by(self, claimant: str) -> str:
        """``already used by X (where)`` in the same authority; across authorities the neutral ``also``.

        Which of two authority files comes first says nothing about who was there first, so a clash
        across authorities names the other authority and its file instead of blaming either side.
        """
        if claimant == self.owner:
            return f"already used by {self.label} ({self.where})"
        return f"also used by {self.label} of '{self.owner}' ({self.where})"


def unique_hostnames(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Host names (clients, range members, servers, devices) are unique across all authorities."""
    seen: dict[str, Claim] = {}
    problems: list[Problem] = []
    hint = (
        "host names must be unique across all authorities; start them with the authority, "
        "e.g. 'lup-pch-ws001'"
    )

    def claim(name: str, claimed: Claim) -> Claim | None:
        first = seen.get(name)
        if first is None:
            seen[name] = claimed
        return first

    for view in views:
        a = view.model
        singles: list[tuple[str, str, Loc]] = [
            (c.hostname, "client", ("clients", i, "hostname")) for i, c in enumerate(a.clients)
        ]
        singles += [(s.hostname, "server", ("servers", i, "hostname")) for i, s in enumerate(a.servers)]
        singles += [
            (d.hostname, "device", ("network_devices", i, "hostname"))
            for i, d in enumerate(a.network_devices)
        ]
        for name, kind, loc in singles:
            first = claim(name, Claim(f"{kind} '{name}'", view.where(loc), view.aid))
            if first is not None:
                problems.append(
                    Problem(
                        view.file,
                        view.line(loc),
                        f"host name '{name}' is {first.by(view.aid)}",
                        hint,
                        involves(view.aid, first.owner),
                    )
                )
        for i, entry in enumerate(a.client_ranges):
            loc = ("client_ranges", i, "hostname_pattern")
            label = f"client range '{entry.name}'"
            mine = Claim(label, view.where(loc), view.aid)
            pattern = entry.hostname_pattern
            clashes = [
                (name, first)
                for name in (pattern.format(index=n) for n in range(entry.start, entry.start + entry.count))
                if (first := claim(name, mine)) is not None
            ]
            if clashes:
                name, first = clashes[0]
                more_names = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
                problems.append(
                    Problem(
                        view.file,
                        view.line(loc),
                        f"{label} produces host name '{name}'{more_names}, {first.by(view.aid)}",
                        hint,
                        involves(view.aid, *(f.owner for _, f in clashes)),
                    )
                )
    return problems


def unique_addresses(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Host, gateway and management addresses are unique across all authorities.

    A device's management address may be its management network's gateway (the router itself), once.
    Across authorities the entry outside its owner's block is blamed (see :func:`blamed`).
    """
    spans: list[Span] = []
    for view in views:
        a = view.model
        gateways: dict[int, str] = {}
        for net in view.networks.values():
            gateway = int(net.model.gateway)
            gateways[gateway] = net.model.id
            spans.append(
                Span(
                    gateway,
                    gateway,
                    f"the gateway of network '{net.model.id}'",
                    view.file,
                    view.line(("networks", net.index, "gateway")),
                    view.aid,
                )
            )
        for i, c in enumerate(a.clients):
            value = int(c.address)
            spans.append(
                Span(
                    value,
                    value,
                    f"client '{c.hostname}'",
                    view.file,
                    view.line(("clients", i, "address")),
                    view.aid,
                )
            )
        for i, s in enumerate(a.servers):
            value = int(s.address)
            spans.append(
                Span(
                    value,
                    value,
                    f"server '{s.hostname}'",
                    view.file,
                    view.line(("servers", i, "address")),
                    view.aid,
                )
            )
        for i, r in enumerate(a.client_ranges):
            value = int(r.first_address)
            spans.append(
                Span(
                    value,
                    value + r.count - 1,
                    f"client range '{r.name}'",
                    view.file,
                    view.line(("client_ranges", i, "first_address")),
                    view.aid,
                )
            )
        for i, d in enumerate(a.network_devices):
            value = int(d.management.address)
            if gateways.get(value) == d.management.network:
                del gateways[value]  # the router's own gateway address: allowed once
                continue
            spans.append(
                Span(
                    value,
                    value,
                    f"device '{d.hostname}' management",
                    view.file,
                    view.line(("network_devices", i, "management", "address")),
                    view.aid,
                )
            )
    blocks = own_blocks(views)
    hint = "every address may be used once across all authorities; pick a free one"
    problems: list[Problem] = []
    for pair in find_overlaps(spans):
        span, other = blamed(*pair, blocks)
        problems.append(
            Problem(
                span.file, span.line, overlap_message(span, other), hint, involves(span.owner, other.owner)
            )
        )
    return problems


def overlap_message(span: Span, other: Span) -> str:
    """Describe an address clash between two entries, naming where the other one is."""
    owner = f" of '{other.owner}'" if other.owner and other.owner != span.owner else ""
    used = "already" if not owner else "also"
    if span.start == span.end and other.start == other.end:
        return (
            f"{span.label}: address {span.describe()} is {used} used by {other.label}{owner} ({other.where})"
        )
    if span.start == span.end:
        inside = f"{other.label}{owner} ({other.describe()}, {other.where})"
        return f"{span.label}: address {span.describe()} lies inside {inside}"
    what = f"address {other.describe()}" if other.start == other.end else other.describe()
    return f"{span.label} ({span.describe()}) overlaps {other.label}{owner} ({what}, {other.where})"


def shared_site_vlans(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Authorities at one shared site use distinct VLAN ids there."""
    seen: dict[tuple[str, int], tuple[str, str, str, str]] = {}
    problems: list[Problem] = []
    for view in views:
        shared = {s.id: s.shared_site for s in view.model.sites if s.shared_site is not None}
        for net in view.networks.values():
            shared_site = shared.get(net.model.site)
            if shared_site is None:
                continue
            loc: Loc = ("networks", net.index, "vlan")
            key = (shared_site, net.model.vlan)
            first = seen.get(key)
            if first is None:
                seen[key] = (view.aid, net.model.site, net.model.id, view.where(loc))
            elif first[:2] != (view.aid, net.model.site):
                problems.append(
                    Problem(
                        view.file,
                        view.line(loc),
                        f"network '{net.model.id}': VLAN {net.model.vlan} clashes at shared site "
                        f"'{shared_site}' "
                        f"with network '{first[2]}' of '{first[0]}' ({first[3]})",
                        "authorities at a shared site need distinct VLAN ids; take one from your own "
                        "VLAN range",
                        involves(view.aid, first[0]),
                    )
                )
    return problems


def shared_services(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Hosting authority and host exist (with role fachverfahren); consumers exist and consume the service."""
    provider = inventory.provider
    problems: list[Problem] = []
    by_id = {v.aid: v for v in views}
    ids = [(s.id, ("shared_services", i, "id")) for i, s in enumerate(provider.shared_services)]
    ids += [(s.id, ("shared_sites", i, "id")) for i, s in enumerate(provider.shared_sites)]
    for key, loc, first in duplicates(ids):
        problems.append(
            provider_problem(
                inventory,
                loc,
                f"duplicate id '{key}'",
                f"already used on line {inventory.provider_source.line_of(first)}; "
                f"give each shared service and shared site its own id, e.g. '{key}-2'",
            )
        )
    for i, service in enumerate(provider.shared_services):
        base: Loc = ("shared_services", i)
        host_view = by_id.get(service.hosted_by.authority)
        if host_view is None:
            problems.append(
                provider_problem(
                    inventory,
                    (*base, "hosted_by", "authority"),
                    f"shared service '{service.id}': unknown hosting authority "
                    f"'{service.hosted_by.authority}'",
                    choices(service.hosted_by.authority, by_id, "authorities"),
                )
            )
        else:
            servers = {s.hostname: s for s in host_view.model.servers}
            server = servers.get(service.hosted_by.host)
            if server is None:
                problems.append(
                    provider_problem(
                        inventory,
                        (*base, "hosted_by", "host"),
                        f"shared service '{service.id}': '{service.hosted_by.authority}' has no server "
                        f"'{service.hosted_by.host}'",
                        choices(service.hosted_by.host, servers, f"servers of {host_view.aid}"),
                    )
                )
            elif ServerRole.FACHVERFAHREN not in server.roles:
                problems.append(
                    provider_problem(
                        inventory,
                        (*base, "hosted_by", "host"),
                        f"shared service '{service.id}': server '{server.hostname}' lacks the role "
                        "'fachverfahren'",
                        f"add it in {host_view.file}, e.g. roles: [fachverfahren]",
                    )
                )
        for k, consumer in enumerate(service.consumers):
            loc = (*base, "consumers", k)
            consumer_view = by_id.get(consumer)
            if consumer_view is None:
                problems.append(
                    provider_problem(
                        inventory,
                        loc,
                        f"shared service '{service.id}': unknown consumer '{consumer}'",
                        choices(consumer, by_id, "authorities"),
                    )
                )
            elif service.id not in consumer_view.model.consumes:
                problems.append(
                    provider_problem(
                        inventory,
                        loc,
                        f"shared service '{service.id}' lists '{consumer}' as a consumer, but "
                        f"{consumer_view.file} "
                        "does not consume it",
                        f"add '{service.id}' to consumes: of {consumer}, or remove '{consumer}' from "
                        "consumers",
                    )
                )
    return problems


def unique_domains(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every authority has its own DNS domain (names would resolve in the wrong authority)."""
    seen: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for view in views:
        domain = view.model.authority.domain.lower()
        loc: Loc = ("authority", "domain")
        first = seen.setdefault(domain, (view.aid, view.where(loc)))
        if first[0] != view.aid:
            problems.append(
                Problem(
                    view.file,
                    view.line(loc),
                    f"DNS domain '{domain}' is also used by '{first[0]}' ({first[1]})",
                    f"every authority needs its own domain, e.g. {view.aid}.{parent_domain(domain)}",
                    involves(view.aid, first[0]),
                )
            )
    return problems


def parent_domain(domain: str) -> str:
    """The domain one level up, for examples: ``lup.ksm-mv.internal`` -> ``ksm-mv.internal``.

    >>> parent_domain("lup.ksm-mv.internal"), parent_domain("internal")
    ('ksm-mv.internal', 'internal')
    """
    return domain.partition(".")[2] or domain


def unique_asns(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every authority has its own BGP AS number, different from the provider's."""
    provider_asn = inventory.provider.provider.bgp_asn
    seen: dict[int, tuple[str, str]] = {
        provider_asn: ("", f"the provider ({inventory.provider_source.file})")
    }
    problems: list[Problem] = []
    for view in views:
        asn = view.model.authority.bgp_asn
        loc: Loc = ("authority", "bgp_asn")
        first = seen.get(asn)
        if first is None:
            seen[asn] = (view.aid, f"'{view.aid}' ({view.where(loc)})")
        else:
            used = "also" if first[0] else "already"
            problems.append(
                Problem(
                    view.file,
                    view.line(loc),
                    f"BGP AS number {asn} is {used} used by {first[1]}",
                    f"use a private AS number of its own, e.g. {max(seen) + 1}",
                    involves(view.aid, first[0]),
                )
            )
    return problems


# --------------------------------------------------------------------------- tenant boundaries

#: How a query treats the other authorities' core links: any shared address counts, only a link
#: that contains the whole query counts (a route to the core aggregate is fine, one into a link is
#: not), or links are left to the pairwise link check.
LinkMatch = Literal["overlap", "contain", "ignore"]


@dataclass(frozen=True)
class Territory:
    """Who owns which addresses: the blocks of the address plan and each authority's core links.

    A core link is a routed port of an authority's device whose address lies in the provider core
    (``address_plan.core``), e.g. ``wan0 10.40.101.2/30``; its subnet (clipped to the core) is the
    authority's, its other addresses are the provider's end of the link.
    """

    core: tuple[int, int]
    blocks: SpanIndex
    links: SpanIndex
    own_links: dict[str, list[Span]]
    asns: dict[int, tuple[str, str]]


def territory(inventory: Inventory, views: list[AuthorityView]) -> Territory:
    core = net_bounds(inventory.provider.address_plan.core)
    own_links: dict[str, list[Span]] = {}
    asns: dict[int, tuple[str, str]] = {}
    for view in views:
        asns.setdefault(view.model.authority.bgp_asn, (view.aid, view.where(("authority", "bgp_asn"))))
        for i, device in enumerate(view.model.network_devices):
            for j, iface in enumerate(device.interfaces):
                if iface.mode is not InterfaceMode.ROUTED or iface.address is None:
                    continue
                if not core[0] <= int(iface.address.ip) <= core[1]:
                    continue
                low, high = net_bounds(iface.address.network)
                loc: Loc = ("network_devices", i, "interfaces", j, "address")
                label = (
                    f"the core link {iface.address.network} of '{view.aid}' (device '{device.hostname}' "
                    f"interface '{iface.name}', {view.where(loc)})"
                )
                span = Span(max(low, core[0]), min(high, core[1]), label, view.file, view.line(loc), view.aid)
                own_links.setdefault(view.aid, []).append(span)
    links = SpanIndex(span for spans in own_links.values() for span in spans)
    return Territory(core, SpanIndex(plan_blocks(inventory, views)), links, own_links, asns)


@dataclass
class TenantCheck:
    """The boundary checks of one authority against the territory of all others."""

    view: AuthorityView
    land: Territory
    provider_asn: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def block(self) -> ipaddress.IPv4Network | None:
        return self.view.block.block if self.view.block is not None else None

    def foreign(self, start: int, end: int, links: LinkMatch) -> list[Span]:
        """Spans of other authorities that ``[start, end]`` reaches into, lowest first."""
        aid = self.view.aid
        found = [s for s in self.land.blocks.overlapping(start, end) if s.owner != aid]
        if links != "ignore":
            found += [
                s
                for s in self.land.links.overlapping(start, end)
                if s.owner != aid and (links == "overlap" or (s.start <= start and end <= s.end))
            ]
        return sorted(found, key=lambda s: (s.start, s.end, s.file, s.line))

    def in_block(self, start: int, end: int) -> bool:
        if self.block is None:
            return True  # no block: reported by address_plan; nothing to measure against
        low, high = net_bounds(self.block)
        return low <= start and end <= high

    def on_own_link(self, value: int) -> bool:
        return any(s.start <= value <= s.end for s in self.land.own_links.get(self.view.aid, []))

    def own_text(self) -> str:
        """The authority's own territory for messages: its block and its core links."""
        links = [f"{ip_text(s.start)}–{ip_text(s.end)}" for s in self.land.own_links.get(self.view.aid, [])]
        block = f"block {self.block}" if self.block is not None else "block"
        return f"its {block} and its links to the core ({', '.join(links) or 'none declared'})"

    def reach(self, loc: Loc, what: str, bounds: tuple[int, int], found: list[Span], hint: str) -> None:
        first = found[0]
        self.problems.append(
            Problem(
                self.view.file,
                self.view.line(loc),
                f"{what} {relation(*bounds, first)} {first.label}{more(found)}",
                hint,
                involves(self.view.aid, *(s.owner for s in found)),
            )
        )

    def outside(self, loc: Loc, message: str, hint: str) -> None:
        self.problems.append(
            Problem(self.view.file, self.view.line(loc), message, hint, involves(self.view.aid))
        )

    def run(self) -> list[Problem]:
        for i in range(len(self.view.model.network_devices)):
            self.routed_ports(i)
            self.management(i)
            self.routes(i)
            self.neighbours(i)
            self.advertisements(i)
        self.printers()
        self.hosts()
        return self.problems

    def routed_ports(self, i: int) -> None:
        """A routed port's subnet stays out of other blocks; core links of two authorities are disjoint."""
        device = self.view.model.network_devices[i]
        for j, iface in enumerate(device.interfaces):
            if iface.mode is not InterfaceMode.ROUTED or iface.address is None:
                continue
            loc: Loc = ("network_devices", i, "interfaces", j, "address")
            bounds = net_bounds(iface.address.network)
            here = (self.view.file, self.view.line(loc))
            found = self.foreign(*bounds, "ignore")
            found += [  # a clash of two core links is reported once, at the later of the two
                s
                for s in self.land.links.overlapping(*bounds)
                if s.owner != self.view.aid and (s.file, s.line) < here
            ]
            if found:
                self.reach(
                    loc,
                    f"device '{device.hostname}' interface '{iface.name}': address {iface.address}",
                    bounds,
                    found,
                    f"routed ports use {self.own_text()}; for a new link to the core take a free /30 of "
                    "the core",
                )

    def management(self, i: int) -> None:
        device = self.view.model.network_devices[i]
        value = int(device.management.address)
        found = self.foreign(value, value, "overlap")
        if found:
            self.reach(
                ("network_devices", i, "management", "address"),
                f"device '{device.hostname}' management address {device.management.address}",
                (value, value),
                found,
                "a device is managed in a management network of its own authority's block",
            )

    def routes(self, i: int) -> None:
        """Static prefixes lie in the own block or the core (or are the default route); next hops are own."""
        device = self.view.model.network_devices[i]
        if device.routing is None:
            return
        for k, route in enumerate(device.routing.static_routes):
            base: Loc = ("network_devices", i, "routing", "static_routes", k)
            what = f"device '{device.hostname}' static route {route.prefix}"
            bounds = net_bounds(route.prefix)
            if route.prefix.prefixlen > 0:
                found = self.foreign(*bounds, "contain")
                if found:
                    self.reach(
                        (*base, "prefix"),
                        what,
                        bounds,
                        found,
                        "other authorities are reached through the core (its default route); route "
                        "only prefixes of the own block or of the core, or remove the route",
                    )
                elif not (
                    self.in_block(*bounds) or self.land.core[0] <= bounds[0] <= bounds[1] <= self.land.core[1]
                ):
                    self.outside(
                        (*base, "prefix"),
                        f"{what} lies outside the authority's block {self.block} and the provider core",
                        "route only prefixes of the own block or of the core; everything else comes with "
                        "the default route, e.g. prefix: 0.0.0.0/0 with a next hop on the core link",
                    )
            hop = int(route.next_hop)
            found = self.foreign(hop, hop, "overlap")
            if found:
                self.reach(
                    (*base, "next_hop"),
                    f"{what}: next hop {route.next_hop}",
                    (hop, hop),
                    found,
                    f"a next hop lies in {self.own_text()}",
                )
            elif not (self.in_block(hop, hop) or self.on_own_link(hop)):
                self.outside(
                    (*base, "next_hop"),
                    f"{what}: next hop {route.next_hop} lies outside {self.own_text()}",
                    "use a router of the own block, or the core's end of the own core link",
                )

    def neighbours(self, i: int) -> None:
        """BGP neighbours are on the own core links (or own routers); never another authority's AS."""
        device = self.view.model.network_devices[i]
        if device.routing is None:
            return
        for k, neighbour in enumerate(device.routing.bgp_neighbors):
            base: Loc = ("network_devices", i, "routing", "bgp_neighbors", k)
            what = f"device '{device.hostname}' BGP neighbour {neighbour.address}"
            value = int(neighbour.address)
            hint = (
                f"peer with the provider core (AS {self.provider_asn}) at the core's end of the own core "
                "link, e.g. 10.40.101.1 for wan0 10.40.101.2/30"
            )
            found = self.foreign(value, value, "overlap")
            if found:
                self.reach((*base, "address"), what, (value, value), found, hint)
            elif not (self.in_block(value, value) or self.on_own_link(value)):
                self.outside((*base, "address"), f"{what} lies outside {self.own_text()}", hint)
            owner = self.land.asns.get(neighbour.remote_as)
            if owner is not None and owner[0] != self.view.aid:
                self.problems.append(
                    Problem(
                        self.view.file,
                        self.view.line((*base, "remote_as")),
                        f"{what}: remote AS {neighbour.remote_as} is the AS number of '{owner[0]}' "
                        f"({owner[1]})",
                        hint,
                        involves(self.view.aid, owner[0]),
                    )
                )

    def advertisements(self, i: int) -> None:
        """Only prefixes of the own block are advertised (each is also blackholed on the router)."""
        device = self.view.model.network_devices[i]
        if device.routing is None:
            return
        for k, prefix in enumerate(device.routing.advertise):
            loc: Loc = ("network_devices", i, "routing", "advertise", k)
            bounds = net_bounds(prefix)
            own = f"advertise: [{self.block}]" if self.block is not None else "a prefix of the own block"
            hint = (
                "an advertised prefix draws the core's traffic for it and is blackholed on this router; "
                f"advertise only the own block, e.g. {own}"
            )
            found = self.foreign(*bounds, "overlap")
            if found:
                self.reach(loc, f"device '{device.hostname}' advertises {prefix}, which", bounds, found, hint)
            elif not self.in_block(*bounds):
                self.outside(
                    loc,
                    f"device '{device.hostname}' advertises {prefix}, outside the authority's block "
                    f"{self.block}",
                    hint,
                )

    def printers(self) -> None:
        for i, site in enumerate(self.view.model.sites):
            for k, printer in enumerate(site.printers):
                loc: Loc = ("sites", i, "printers", k, "address")
                value = int(printer.address)
                what = f"site '{site.id}' printer '{printer.name}': address {printer.address}"
                hint = f"a printer takes an address of a printers network of its site, inside {self.block}"
                found = self.foreign(value, value, "overlap")
                if found:
                    self.reach(loc, what, (value, value), found, hint)
                elif not self.in_block(value, value):
                    self.outside(loc, f"{what} lies outside the authority's block {self.block}", hint)

    def hosts(self) -> None:
        """Clients, ranges and servers (their networks are checked by networks_in_blocks)."""
        a = self.view.model
        entries: list[tuple[Loc, str, tuple[int, int]]] = [
            (("clients", i, "address"), f"client '{c.hostname}': address {c.address}", (int(c.address),) * 2)
            for i, c in enumerate(a.clients)
        ]
        entries += [
            (("servers", i, "address"), f"server '{s.hostname}': address {s.address}", (int(s.address),) * 2)
            for i, s in enumerate(a.servers)
        ]
        entries += [
            (
                ("client_ranges", i, "first_address"),
                f"client range '{r.name}' ({r.first_address}–{ip_text(int(r.first_address) + r.count - 1)})",
                (int(r.first_address), int(r.first_address) + r.count - 1),
            )
            for i, r in enumerate(a.client_ranges)
        ]
        for loc, what, bounds in entries:
            found = self.foreign(*bounds, "overlap")
            if found:
                self.reach(loc, what, bounds, found, "hosts take addresses of their own authority's networks")


def tenant_boundaries(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Nothing of an authority reaches into another authority's block or core link.

    An authority's territory is its block of the address plan plus its core links (routed ports
    with an address of ``address_plan.core``). Everything its files configure stays there:

    - routed ports (their whole subnet) and management, printer, client and server addresses;
      two authorities' core links never overlap;
    - static routes: the prefix lies in the own block or in the core (reached over the core link),
      and never reaches into, overlaps or covers another block or lies inside another core link.
      The default route ``0.0.0.0/0`` is the one prefix allowed to cover other blocks: as a static
      route it only sends what is not more specific towards its next hop. Next hops lie in the own
      block or on an own core link;
    - BGP neighbours lie on an own core link (or in the own block) and never have another
      authority's AS number;
    - advertisements are prefixes of the own block only. An advertisement is also anchored by a
      blackhole route on the router, so one into another block would draw and drop that
      authority's traffic; the default route is never advertised (it covers every block).

    A reach into another authority names the offending line, the other authority's file and the
    block's line in ksm.yml (or the other core link's line), and involves both authorities.
    Every check is a lookup in :class:`SpanIndex` (O(log n) each, O(n log n) for the estate).
    """
    land = territory(inventory, views)
    provider_asn = inventory.provider.provider.bgp_asn
    return [p for view in views for p in TenantCheck(view, land, provider_asn).run()]


RULES: tuple[CrossRule, ...] = (
    address_plan,
    networks_in_blocks,
    subnet_overlaps,
    unique_hostnames,
    unique_addresses,
    shared_site_vlans,
    shared_services,
    unique_asns,
    unique_domains,
    tenant_boundaries,
)


def check_across(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(inventory, views)]
