"""Rules across authorities: address plan, overlaps, unique names and addresses, shared sites and services.

Every rule is a pure function ``(Inventory, list[AuthorityView]) -> list[Problem]`` and runs in
O(n log n) over the whole estate: dictionaries for names, sorted integer intervals for addresses.
"""

from __future__ import annotations

from collections.abc import Callable

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import ServerRole
from ksm_provision.inventory.source import Loc
from ksm_provision.validate.authority_rules import choices
from ksm_provision.validate.spans import Span, find_overlaps, net_bounds
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
            )
        )
    return problems


def networks_in_blocks(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every network of an authority lies inside its block of the address plan."""
    problems: list[Problem] = []
    for view in views:
        if view.block is None:
            continue  # reported by address_plan
        low, high = net_bounds(view.block.block)
        for net in view.networks.values():
            start, end = net.bounds
            if not (low <= start and end <= high):
                prefix = max(net.model.subnet.prefixlen, view.block.block.prefixlen)
                example = f"{view.block.block.network_address}/{prefix}"
                problems.append(
                    view.problem(
                        ("networks", net.index, "subnet"),
                        f"network '{net.model.id}' ({net.model.subnet}) lies outside the authority's block "
                        f"{view.block.block} of the address plan",
                        f"use a subnet of {view.block.block}, e.g. {example}",
                    )
                )
    return problems


def subnet_overlaps(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """No two networks overlap, within one authority or across authorities."""
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
    return [
        Problem(
            span.file,
            span.line,
            f"{span.label} overlaps {other.label} ({other.where})",
            "subnets must not overlap, within an authority or across authorities; use a free part of "
            "the block",
        )
        for span, other in find_overlaps(spans)
    ]


def unique_hostnames(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Host names (clients, range members, servers, devices) are unique across all authorities."""
    seen: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    hint = (
        "host names must be unique across all authorities; start them with the authority, "
        "e.g. 'lup-pch-ws001'"
    )

    def claim(name: str, label: str, where: str) -> tuple[str, str] | None:
        first = seen.get(name)
        if first is None:
            seen[name] = (label, where)
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
            first = claim(name, f"{kind} '{name}'", view.where(loc))
            if first is not None:
                problems.append(
                    view.problem(loc, f"host name '{name}' is already used by {first[0]} ({first[1]})", hint)
                )
        for i, entry in enumerate(a.client_ranges):
            loc = ("client_ranges", i, "hostname_pattern")
            label, where = f"client range '{entry.name}'", view.where(loc)
            pattern = entry.hostname_pattern
            clashes = [
                (name, first)
                for name in (pattern.format(index=n) for n in range(entry.start, entry.start + entry.count))
                if (first := claim(name, label, where)) is not None
            ]
            if clashes:
                name, first = clashes[0]
                more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
                problems.append(
                    view.problem(
                        loc,
                        f"{label} produces host name '{name}'{more}, already used by {first[0]} ({first[1]})",
                        hint,
                    )
                )
    return problems


def unique_addresses(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Host, gateway and management addresses are unique across all authorities.

    A device's management address may be its management network's gateway (the router itself), once.
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
    hint = "every address may be used once across all authorities; pick a free one"
    problems: list[Problem] = []
    for span, other in find_overlaps(spans):
        problems.append(Problem(span.file, span.line, overlap_message(span, other), hint))
    return problems


def overlap_message(span: Span, other: Span) -> str:
    """Describe an address clash between two entries, naming where the other one is."""
    if span.start == span.end and other.start == other.end:
        return f"{span.label}: address {span.describe()} is already used by {other.label} ({other.where})"
    if span.start == span.end:
        inside = f"{other.label} ({other.describe()}, {other.where})"
        return f"{span.label}: address {span.describe()} lies inside {inside}"
    what = f"address {other.describe()}" if other.start == other.end else other.describe()
    return f"{span.label} ({span.describe()}) overlaps {other.label} ({what}, {other.where})"


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
                    view.problem(
                        loc,
                        f"network '{net.model.id}': VLAN {net.model.vlan} clashes at shared site "
                        f"'{shared_site}' "
                        f"with network '{first[2]}' of '{first[0]}' ({first[3]})",
                        "authorities at a shared site need distinct VLAN ids; take one from your own "
                        "VLAN range",
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


def unique_asns(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """Every authority has its own BGP AS number, different from the provider's."""
    provider_asn = inventory.provider.provider.bgp_asn
    seen: dict[int, str] = {provider_asn: f"the provider ({inventory.provider_source.file})"}
    problems: list[Problem] = []
    for view in views:
        asn = view.model.authority.bgp_asn
        loc: Loc = ("authority", "bgp_asn")
        first = seen.get(asn)
        if first is None:
            seen[asn] = f"'{view.aid}' ({view.where(loc)})"
        else:
            problems.append(
                view.problem(
                    loc,
                    f"BGP AS number {asn} is already used by {first}",
                    f"use a private AS number of its own, e.g. {max(seen) + 1}",
                )
            )
    return problems


RULES: tuple[CrossRule, ...] = (
    address_plan,
    networks_in_blocks,
    subnet_overlaps,
    unique_hostnames,
    unique_addresses,
    shared_site_vlans,
    shared_services,
    unique_asns,
)


def check_across(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(inventory, views)]
