"""Rules about one authority file on its own (plus the provider facts it refers to).

Each rule is a small pure function ``AuthorityView -> list[Problem]``; :data:`RULES` lists them.
Messages read ``what is wrong`` and hints ``what is expected``, with an example.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from ksm_provision.errors import Problem
from ksm_provision.inventory.models import InterfaceMode, ServerRole
from ksm_provision.inventory.source import Loc
from ksm_provision.inventory.types import SHARES_ROOT, VAULT_DIR, check_hostname
from ksm_provision.validate.spans import example_host, has_broadcast, ip_text, net_bounds
from ksm_provision.validate.view import AuthorityView, NetInfo, duplicates

Rule = Callable[[AuthorityView], list[Problem]]

#: MACs of client range hosts: this prefix and the four octets of the address (see inventory.hosts).
#: Section names of smb.conf that are not shares.
RESERVED_SHARE_NAMES = frozenset({"global", "homes", "printers"})


def choices(wanted: str, known: Collection[str], what: str) -> str:
    """A hint naming the closest known value, or a few of the known ones.

    >>> choices("pchh", ["pch", "lwl"], "sites")
    "did you mean 'pch'?"
    >>> choices("x", [], "sites")
    'no sites are defined'
    """
    close = difflib.get_close_matches(wanted, list(known), n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    if not known:
        return f"no {what} are defined"
    shown = sorted(known)
    listed = ", ".join(shown[:6]) + (", ..." if len(shown) > 6 else "")
    return f"use one of the {what}: {listed}"


# --------------------------------------------------------------------------- entries as records


@dataclass(frozen=True, slots=True)
class HostEntry:
    """A client, client range or server entry: what the reference and address rules need."""

    label: str
    loc: Loc
    site: str
    network: str
    profile: str | None


def host_entries(view: AuthorityView) -> Iterator[HostEntry]:
    a = view.model
    for i, client in enumerate(a.clients):
        yield HostEntry(
            f"client '{client.hostname}'", ("clients", i), client.site, client.network, client.profile
        )
    for i, entry in enumerate(a.client_ranges):
        yield HostEntry(
            f"client range '{entry.name}'", ("client_ranges", i), entry.site, entry.network, entry.profile
        )
    for i, server in enumerate(a.servers):
        yield HostEntry(f"server '{server.hostname}'", ("servers", i), server.site, server.network, None)


def static_addresses(view: AuthorityView) -> Iterator[tuple[str, Loc, str, ipaddress.IPv4Address]]:
    """(label, loc of the address, network id, address) of every fixed host address of the file."""
    a = view.model
    for i, client in enumerate(a.clients):
        yield f"client '{client.hostname}'", ("clients", i, "address"), client.network, client.address
    for i, server in enumerate(a.servers):
        yield f"server '{server.hostname}'", ("servers", i, "address"), server.network, server.address
    for i, device in enumerate(a.network_devices):
        yield (
            f"device '{device.hostname}' management",
            ("network_devices", i, "management", "address"),
            device.management.network,
            device.management.address,
        )


def address_fault(value: int, net: NetInfo) -> str | None:
    """Why *value* cannot be a host address of *net* (e.g. "is outside 10.0.0.0/24"), or None when it can."""
    start, end = net.bounds
    subnet = net.model.subnet
    if not start <= value <= end:
        return f"is outside {subnet}"
    if has_broadcast(subnet.prefixlen) and value == start:
        return f"is the network address of {subnet}"
    if has_broadcast(subnet.prefixlen) and value == end:
        return f"is the broadcast address of {subnet}"
    return None


def address_hint(view: AuthorityView, net: NetInfo) -> str:
    return f"use a free host address of {net.model.subnet}, e.g. {free_example(view, net)}"


def free_example(view: AuthorityView, net: NetInfo) -> str:
    """A host address of *net* that nothing of the file uses (outside pool, ranges, hosts), for hints."""
    found = view.free_address(net.bounds, net.model.subnet.prefixlen)
    return ip_text(found) if found is not None else example_host(net.model.subnet)


# --------------------------------------------------------------------------- uniqueness


def unique_ids(view: AuthorityView) -> list[Problem]:
    a = view.model
    problems: list[Problem] = []
    checks: list[tuple[str, str, list[tuple[str, Loc]]]] = [
        ("site id", "sites", [(s.id, ("sites", i, "id")) for i, s in enumerate(a.sites)]),
        ("network id", "networks", [(n.id, ("networks", i, "id")) for i, n in enumerate(a.networks)]),
        (
            "client range name",
            "client ranges",
            [(r.name, ("client_ranges", i, "name")) for i, r in enumerate(a.client_ranges)],
        ),
        (
            "network name (VLAN name)",
            "networks",
            [(n.name, ("networks", i, "name")) for i, n in enumerate(a.networks)],
        ),
    ]
    for what, where, keys in checks:
        for key, loc, first in duplicates(keys):
            problems.append(
                view.problem(
                    loc,
                    f"duplicate {what} '{key}'",
                    f"already used on line {view.line(first)}; every one of the {where} needs its own, "
                    f"e.g. '{key}-2'",
                )
            )
    for i, device in enumerate(a.network_devices):
        names = [
            (iface.name, ("network_devices", i, "interfaces", j, "name"))
            for j, iface in enumerate(device.interfaces)
        ]
        for key, loc, first in duplicates(names):
            problems.append(
                view.problem(
                    loc,
                    f"device '{device.hostname}': duplicate interface '{key}'",
                    f"already defined on line {view.line(first)}; list each port once",
                )
            )
    return problems


# --------------------------------------------------------------------------- references


def site_refs(view: AuthorityView) -> list[Problem]:
    a = view.model
    refs: list[tuple[str, Loc, str]] = [
        (f"network '{n.id}'", ("networks", i, "site"), n.site) for i, n in enumerate(a.networks)
    ]
    refs += [(h.label, (*h.loc, "site"), h.site) for h in host_entries(view)]
    refs += [
        (f"device '{d.hostname}'", ("network_devices", i, "site"), d.site)
        for i, d in enumerate(a.network_devices)
    ]
    return [
        view.problem(loc, f"{label}: unknown site '{site}'", choices(site, view.sites, "sites of this file"))
        for label, loc, site in refs
        if site not in view.sites
    ]


def network_refs(view: AuthorityView) -> list[Problem]:
    """Hosts, device management, ports and DHCP servers name networks of this file (at the right site)."""
    problems = [
        view.problem(
            loc,
            f"{label}: unknown network '{network}'",
            choices(network, view.networks, "networks of this file"),
        )
        for label, loc, network in _network_references(view)
        if network not in view.networks
    ]
    return problems + _host_network_sites(view)


def _network_references(view: AuthorityView) -> Iterator[tuple[str, Loc, str]]:
    """Every place of the file that names a network: (what names it, where, which network)."""
    a = view.model
    for host in host_entries(view):
        yield host.label, (*host.loc, "network"), host.network
    for i, device in enumerate(a.network_devices):
        base: Loc = ("network_devices", i)
        yield (
            f"device '{device.hostname}' management",
            (*base, "management", "network"),
            device.management.network,
        )
        for j, iface in enumerate(device.interfaces):
            label = f"device '{device.hostname}' interface '{iface.name}'"
            if iface.network is not None:
                yield label, (*base, "interfaces", j, "network"), iface.network
            for k, network in enumerate(iface.networks):
                yield label, (*base, "interfaces", j, "networks", k), network
    for i, server in enumerate(a.servers):
        for k, network in enumerate(server.dhcp.serves if server.dhcp is not None else []):
            yield f"server '{server.hostname}' dhcp", ("servers", i, "dhcp", "serves", k), network


def _host_network_sites(view: AuthorityView) -> list[Problem]:
    """A host's network belongs to the host's site."""
    problems: list[Problem] = []
    for host in host_entries(view):
        net = view.networks.get(host.network)
        if net is not None and net.model.site != host.site and host.site in view.sites:
            problems.append(
                view.problem(
                    (*host.loc, "network"),
                    f"{host.label} is at site '{host.site}' but its network '{host.network}' belongs to site "
                    f"'{net.model.site}'",
                    f"use a network of site '{host.site}' or correct `site:`",
                )
            )
    return problems


def profile_refs(view: AuthorityView) -> list[Problem]:
    profiles = view.provider.client_profiles
    return [
        view.problem(
            (*h.loc, "profile"),
            f"{h.label}: unknown client profile '{h.profile}'",
            choices(h.profile, profiles, "client_profiles of ksm.yml"),
        )
        for h in host_entries(view)
        if h.profile is not None and h.profile not in profiles
    ]


def uplink_refs(view: AuthorityView) -> list[Problem]:
    """An uplink names a port of its own device and an existing port of a device of this authority."""
    devices = view.model.network_devices
    problems: list[Problem] = []
    for i, device in enumerate(devices):
        own_ports = {iface.name for iface in device.interfaces}
        for j, uplink in enumerate(device.uplinks):
            loc: Loc = ("network_devices", i, "uplinks", j)
            label = f"device '{device.hostname}' uplink"
            if uplink.interface not in own_ports:
                problems.append(
                    view.problem(
                        (*loc, "interface"),
                        f"{label}: interface '{uplink.interface}' is not defined on this device",
                        "add it under interfaces: or "
                        f"{choices(uplink.interface, own_ports, 'ports of the device')}",
                    )
                )
            peer_index = view.devices.get(uplink.peer)
            if peer_index is None:
                problems.append(
                    view.problem(
                        (*loc, "peer"),
                        f"{label}: unknown peer device '{uplink.peer}'",
                        "the peer must be a network device of this authority; "
                        + choices(uplink.peer, view.devices, "devices"),
                    )
                )
                continue
            peer_ports = {iface.name for iface in devices[peer_index].interfaces}
            if uplink.peer_interface not in peer_ports:
                problems.append(
                    view.problem(
                        (*loc, "peer_interface"),
                        f"{label}: peer '{uplink.peer}' has no interface '{uplink.peer_interface}'",
                        choices(uplink.peer_interface, peer_ports, f"ports of {uplink.peer}"),
                    )
                )
    return problems


def shared_site_refs(view: AuthorityView) -> list[Problem]:
    known = {s.id for s in view.provider.shared_sites}
    return [
        view.problem(
            ("sites", i, "shared_site"),
            f"site '{site.id}': unknown shared site '{site.shared_site}'",
            choices(site.shared_site, known, "shared_sites of ksm.yml"),
        )
        for i, site in enumerate(view.model.sites)
        if site.shared_site is not None and site.shared_site not in known
    ]


def consumed_services(view: AuthorityView) -> list[Problem]:
    """Every consumed service exists, and lists this authority among its consumers."""
    services = {s.id: (i, s) for i, s in reversed(list(enumerate(view.provider.shared_services)))}
    problems: list[Problem] = []
    for k, service_id in enumerate(view.model.consumes):
        loc: Loc = ("consumes", k)
        found = services.get(service_id)
        if found is None:
            problems.append(
                view.problem(
                    loc,
                    f"unknown shared service '{service_id}'",
                    choices(service_id, services, "shared_services of ksm.yml"),
                )
            )
        elif view.aid not in found[1].consumers:
            problems.append(
                view.problem(
                    loc,
                    f"consumes shared service '{service_id}' but is not among its consumers in ksm.yml",
                    f"add '{view.aid}' to consumers of '{service_id}' in ksm.yml, "
                    f"e.g. consumers: [{', '.join([*found[1].consumers, view.aid])}]",
                )
            )
    return problems


# --------------------------------------------------------------------------- VLANs


def vlans(view: AuthorityView) -> list[Problem]:
    """VLAN ids unique per site and inside the authority's range of the address plan."""
    problems: list[Problem] = []
    seen: dict[tuple[str, int], tuple[str, Loc]] = {}
    low, high = view.block.vlans if view.block is not None else (1, 4094)
    for i, network in enumerate(view.model.networks):
        loc: Loc = ("networks", i, "vlan")
        first = seen.get((network.site, network.vlan))
        if first is None:
            seen[(network.site, network.vlan)] = (network.id, loc)
        else:
            problems.append(
                view.problem(
                    loc,
                    f"network '{network.id}': VLAN {network.vlan} is already used at site '{network.site}' "
                    f"by network '{first[0]}' (line {view.line(first[1])})",
                    f"use a free VLAN id of the range {low}–{high}{free_vlan_example(view, network.site)}",
                )
            )
        if not low <= network.vlan <= high:
            problems.append(
                view.problem(
                    loc,
                    f"network '{network.id}': VLAN {network.vlan} is outside the authority's VLAN range "
                    f"{low}–{high} of the address plan",
                    f"use a VLAN id from {low} to {high}{free_vlan_example(view, network.site)}",
                )
            )
    return problems


def free_vlan_example(view: AuthorityView, site: str) -> str:
    free = view.free_vlan(site)
    return f", e.g. {free} (free at site '{site}')" if free is not None else ""


# --------------------------------------------------------------------------- addresses


def network_addresses(view: AuthorityView) -> list[Problem]:
    """Gateways are host addresses of their subnet; DHCP pools lie inside it, ordered, without the gateway."""
    problems: list[Problem] = []
    for net in view.networks.values():
        network = net.model
        base: Loc = ("networks", net.index)
        gateway = int(network.gateway)
        fault = address_fault(gateway, net)
        if fault:
            problems.append(
                view.problem(
                    (*base, "gateway"),
                    f"network '{network.id}': gateway {network.gateway} {fault}",
                    f"use a host address of {network.subnet}, e.g. {free_example(view, net)}",
                )
            )
        if net.pool is None or network.dhcp is None:
            continue
        start, end = net.pool
        for key, value in (("start", start), ("end", end)):
            fault = address_fault(value, net)
            if fault:
                problems.append(
                    view.problem(
                        (*base, "dhcp", key),
                        f"network '{network.id}': DHCP pool {key} {ip_text(value)} {fault}",
                        f"keep the pool inside {network.subnet}, e.g. start: {ip_text(net.bounds[0] + 100)}",
                    )
                )
        if start > end:
            problems.append(
                view.problem(
                    (*base, "dhcp"),
                    f"network '{network.id}': DHCP pool start {ip_text(start)} is after its end "
                    f"{ip_text(end)}",
                    f"write start <= end, e.g. start: {ip_text(end)}, end: {ip_text(start)}",
                )
            )
        elif start <= gateway <= end:
            problems.append(
                view.problem(
                    (*base, "dhcp"),
                    f"network '{network.id}': the DHCP pool {ip_text(start)}–{ip_text(end)} contains "
                    f"the gateway {network.gateway}",
                    "start the pool above the gateway",
                )
            )
    return problems


def host_addresses(view: AuthorityView) -> list[Problem]:
    """Fixed addresses (clients, servers, device management) are host addresses of their network.

    They must also stay outside the network's DHCP pool.
    """
    problems: list[Problem] = []
    for label, loc, network_id, address in static_addresses(view):
        net = view.networks.get(network_id)
        if net is None:
            continue  # reported by network_refs
        value = int(address)
        fault = address_fault(value, net)
        if fault:
            problems.append(
                view.problem(
                    loc,
                    f"{label} address {address} {fault} (network '{network_id}')",
                    address_hint(view, net),
                )
            )
        elif net.pool is not None and net.pool[0] <= value <= net.pool[1]:
            problems.append(
                view.problem(
                    loc,
                    f"{label} address {address} lies inside the DHCP pool "
                    f"{ip_text(net.pool[0])}–{ip_text(net.pool[1])} of network '{network_id}'",
                    f"fixed addresses must stay outside the pool, e.g. {free_example(view, net)}",
                )
            )
    return problems


def client_ranges(view: AuthorityView) -> list[Problem]:
    """A range fits its subnet, stays clear of the DHCP pool, and yields valid host names."""
    problems: list[Problem] = []
    for i, entry in enumerate(view.model.client_ranges):
        loc: Loc = ("client_ranges", i)
        label = f"client range '{entry.name}'"
        for name in dict.fromkeys(
            (
                entry.hostname_pattern.format(index=entry.start),
                entry.hostname_pattern.format(index=entry.start + entry.count - 1),
            )
        ):
            try:
                check_hostname(name)
            except ValueError:
                problems.append(
                    view.problem(
                        (*loc, "hostname_pattern"),
                        f"{label}: hostname_pattern gives '{name}', not a valid RFC 1123 host name",
                        "labels are 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-', "
                        "e.g. 'lup-pch-ws{index:03d}'",
                    )
                )
                break
        net = view.networks.get(entry.network)
        if net is None:
            continue
        first = int(entry.first_address)
        last = first + entry.count - 1
        fault = address_fault(first, net)
        if fault:
            problems.append(
                view.problem(
                    (*loc, "first_address"),
                    f"{label}: first_address {entry.first_address} {fault} (network '{entry.network}')",
                    address_hint(view, net),
                )
            )
            continue
        top = net.bounds[1] - (1 if has_broadcast(net.model.subnet.prefixlen) else 0)
        if last > top:
            problems.append(
                view.problem(
                    (*loc, "count"),
                    f"{label}: {entry.count} addresses from {entry.first_address} end at "
                    f"{ip_text(last)}, beyond network '{entry.network}' ({net.model.subnet})",
                    f"the last host address is {ip_text(top)}: lower count to at most {top - first + 1} "
                    "or start lower",
                )
            )
        if net.pool is not None and first <= net.pool[1] and net.pool[0] <= last:
            problems.append(
                view.problem(
                    (*loc, "first_address"),
                    f"{label} ({entry.first_address}–{ip_text(last)}) overlaps the DHCP pool "
                    f"{ip_text(net.pool[0])}–{ip_text(net.pool[1])} of network '{entry.network}'",
                    "move first_address or lower count so that range and pool are disjoint",
                )
            )
    return problems


def routed_interfaces(view: AuthorityView) -> list[Problem]:
    """Routed ports use addresses of the authority's block or, towards the provider, of the core."""
    plan = view.provider.address_plan
    allowed = [net_bounds(plan.core)]
    if view.block is not None:
        allowed.append(net_bounds(view.block.block))
    where = f"the authority's block {view.block.block} or " if view.block is not None else ""
    problems: list[Problem] = []
    for i, device in enumerate(view.model.network_devices):
        for j, iface in enumerate(device.interfaces):
            if iface.mode is not InterfaceMode.ROUTED or iface.address is None:
                continue
            value = int(iface.address.ip)
            if not any(low <= value <= high for low, high in allowed):
                problems.append(
                    view.problem(
                        ("network_devices", i, "interfaces", j, "address"),
                        f"device '{device.hostname}' interface '{iface.name}': address "
                        f"{iface.address} lies outside "
                        f"{where}the provider core {plan.core}",
                        "use an address of the authority's own block, e.g. a /30 transit link",
                    )
                )
    return problems


def dhcp_servers(view: AuthorityView) -> list[Problem]:
    """A server with a ``dhcp:`` section has the dhcp role (otherwise nothing would serve)."""
    return [
        view.problem(
            ("servers", i, "dhcp"),
            f"server '{s.hostname}' has a dhcp: section but not the role 'dhcp'",
            "add dhcp to roles, e.g. roles: [dhcp]",
        )
        for i, s in enumerate(view.model.servers)
        if s.dhcp is not None and ServerRole.DHCP not in s.roles
    ]


# --------------------------------------------------------------------------- vault, MACs, shares


def owns_vault_file(aid: str, file: str) -> bool:
    """Whether the vault file *file* (as written in the authority file) is authority *aid*'s own.

    >>> owns_vault_file("lup", "vault/lup.yml"), owns_vault_file("lup", "vault/lup/network.yml")
    (True, True)
    >>> owns_vault_file("lup", "vault/schwerin.yml")
    False
    """
    own = (f"{VAULT_DIR}/{aid}.yml", f"{VAULT_DIR}/{aid}.yaml")
    return file in own or file.startswith(f"{VAULT_DIR}/{aid}/")


def vault_file(view: AuthorityView) -> list[Problem]:
    """The vault is the authority's own: vault_id is its id, the file vault/<id>.yml or in vault/<id>/.

    The model already keeps ``file`` relative, normalised and below ``vault/``; owning it here means
    no two authorities can share a vault, and no authority can read another's secrets.
    """
    vault = view.model.vault
    aid = view.aid
    problems: list[Problem] = []
    if vault.vault_id != aid:
        problems.append(
            view.problem(
                ("vault", "vault_id"),
                f"vault_id '{vault.vault_id}' is not the authority's id '{aid}'",
                f"one vault id per authority, named after it: write vault_id: {aid}",
            )
        )
    if owns_vault_file(aid, vault.file):
        return problems
    own = f"{VAULT_DIR}/{aid}.yml"
    owner = vault.file.split("/")[1].removesuffix(".yml").removesuffix(".yaml")
    planned = {b.authority for b in view.provider.address_plan.authorities}
    whose = ""
    if owner != aid and owner in planned:
        whose = (
            f": it is the vault of authority '{owner}' ({PurePosixPath(view.file).with_name(owner + '.yml')})"
        )
    problems.append(
        view.problem(
            ("vault", "file"),
            f"vault file '{vault.file}' is not the vault of authority '{aid}'{whose}",
            f"every authority has its own vault: write file: {own} (or a file below {VAULT_DIR}/{aid}/)",
        )
    )
    return problems


def unique_macs(view: AuthorityView) -> list[Problem]:
    """No two hosts of the authority share a MAC address (DHCP reservations would collide).

    Range members have no MAC in the inventory (they lease from their network's pool).
    """
    a = view.model
    explicit: list[tuple[str, Loc, str]] = [
        (f"client '{c.hostname}'", ("clients", i, "mac"), c.mac) for i, c in enumerate(a.clients)
    ]
    explicit += [
        (f"server '{s.hostname}'", ("servers", i, "mac"), s.mac)
        for i, s in enumerate(a.servers)
        if s.mac is not None
    ]
    problems: list[Problem] = []
    first: dict[str, tuple[str, Loc]] = {}
    for label, loc, mac in explicit:
        seen = first.setdefault(mac, (label, loc))
        if seen[1] != loc:
            problems.append(
                view.problem(
                    loc,
                    f"{label}: MAC {mac} is already used by {seen[0]} (line {view.line(seen[1])})",
                    "every host needs its own MAC address; a DHCP reservation would go to the wrong host",
                )
            )
    return problems


def enclosing(path: str, paths: dict[str, int]) -> int | None:
    """The value of the nearest proper ancestor of *path* among *paths*, if any.

    >>> enclosing("/srv/shares/a/b", {"/srv/shares/a": 0, "/srv/shares/a-b": 1})
    0
    >>> enclosing("/srv/shares/a-b", {"/srv/shares/a": 0}) is None
    True
    """
    parts = path.split("/")
    for end in range(len(parts) - 1, 1, -1):
        found = paths.get("/".join(parts[:end]))
        if found is not None:
            return found
    return None


def file_shares(view: AuthorityView) -> list[Problem]:
    """The shares of one file server have distinct names and distinct, non-nested directories."""
    problems: list[Problem] = []
    for i, server in enumerate(view.model.servers):
        if server.fileserver is None:
            continue
        base: Loc = ("servers", i, "fileserver", "shares")
        label = f"server '{server.hostname}'"
        shares = server.fileserver.shares
        names: dict[str, int] = {}
        paths: dict[str, int] = {}
        for j, share in enumerate(shares):
            key = share.name.lower()
            if key in RESERVED_SHARE_NAMES:
                problems.append(
                    view.problem(
                        (*base, j, "name"),
                        f"{label}: '{share.name}' is a reserved Samba section, not a share name",
                        "choose another name, e.g. 'Ablage'",
                    )
                )
            elif key in names:
                problems.append(
                    view.problem(
                        (*base, j, "name"),
                        f"{label}: share name '{share.name}' is already used on line "
                        f"{view.line((*base, names[key], 'name'))} (Samba share names ignore case)",
                        f"give every share its own name, e.g. '{share.name}2'",
                    )
                )
            names.setdefault(key, j)
            if share.path in paths:
                other = shares[paths[share.path]]
                problems.append(
                    view.problem(
                        (*base, j, "path"),
                        f"{label}: share '{share.name}' uses the directory {share.path} of share "
                        f"'{other.name}' (line {view.line((*base, paths[share.path], 'path'))})",
                        f"give every share its own directory, e.g. {SHARES_ROOT}/{share.name.lower()}",
                    )
                )
            paths.setdefault(share.path, j)
        for j, share in enumerate(shares):
            outer = enclosing(share.path, paths)
            if outer is not None:
                other = shares[outer]
                problems.append(
                    view.problem(
                        (*base, j, "path"),
                        f"{label}: share '{share.name}' ({share.path}) lies inside share '{other.name}' "
                        f"({other.path}, line {view.line((*base, outer, 'path'))})",
                        "the role would reset the outer share's owner and mode; use sibling directories, "
                        f"e.g. {SHARES_ROOT}/{share.name.lower()}",
                    )
                )
    return problems


RULES: tuple[Rule, ...] = (
    unique_ids,
    site_refs,
    network_refs,
    profile_refs,
    uplink_refs,
    shared_site_refs,
    consumed_services,
    vlans,
    network_addresses,
    host_addresses,
    client_ranges,
    routed_interfaces,
    dhcp_servers,
    vault_file,
    unique_macs,
    file_shares,
)


def check_authority(view: AuthorityView) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(view)]
