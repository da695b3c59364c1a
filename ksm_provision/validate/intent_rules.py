"""Rules about network intent: would the described network work, and can every device be rendered?

A file can be well-formed and reference only existing things and still describe a network that does
not work: a BGP neighbour on no connected subnet, a gateway that no router holds, the two ends of an
uplink in different modes, a router managed at an address it does not have, a printer outside its
site's networks, a port mode the device's template cannot render. Authority rules here take an
:class:`AuthorityView`; :func:`bgp_sessions` looks across authorities (a neighbour may be any
device). What templates can render comes from :mod:`ksm_provision.network.capabilities`, the table
rendering itself enforces.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ksm_provision.errors import Problem, with_article
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import Interface, InterfaceMode, NetworkDevice, Uplink
from ksm_provision.inventory.source import Loc
from ksm_provision.network.capabilities import modes_text, roles_of, support
from ksm_provision.validate.authority_rules import address_fault, free_example
from ksm_provision.validate.cross_rules import involves
from ksm_provision.validate.spans import Span, SpanIndex, ip_text
from ksm_provision.validate.view import AuthorityView, NetInfo

Rule = Callable[[AuthorityView], list[Problem]]


def iface_loc(i: int, j: int, *rest: str) -> Loc:
    return ("network_devices", i, "interfaces", j, *rest)


def network_of(view: AuthorityView, value: int) -> NetInfo | None:
    """The network of the file whose subnet holds *value* (the first, when subnets overlap)."""
    return next((n for n in view.networks.values() if n.bounds[0] <= value <= n.bounds[1]), None)


# --------------------------------------------------------------------------- capabilities


def capabilities(view: AuthorityView) -> list[Problem]:
    """Every device is something its platform's templates render: role, interface modes, routing."""
    problems: list[Problem] = []
    for i, device in enumerate(view.model.network_devices):
        what = f"device '{device.hostname}'"
        found = support(device.platform, device.role)
        if found is None:
            problems.append(
                view.problem(
                    ("network_devices", i, "role"),
                    f"{what}: platform '{device.platform}' has no template for {with_article(device.role)}",
                    f"platform '{device.platform}' renders: {', '.join(roles_of(device.platform))}",
                )
            )
            continue
        role = with_article(device.role)
        for j, iface in enumerate(device.interfaces):
            if iface.mode not in found.modes:
                problems.append(
                    view.problem(
                        iface_loc(i, j, "mode"),
                        f"{what} interface '{iface.name}': {with_article(iface.mode)} port cannot be "
                        f"rendered on {role} ({device.platform})",
                        f"its interfaces are {modes_text(found.modes)}",
                    )
                )
            if iface.ospf and not found.routing:
                problems.append(
                    view.problem(
                        iface_loc(i, j, "ospf"),
                        f"{what} interface '{iface.name}': `ospf: true` is not configured on {role}",
                        "remove it; OSPF runs on a router's routed interfaces",
                    )
                )
        if device.routing is not None and not found.routing:
            problems.append(
                view.problem(
                    ("network_devices", i, "routing"),
                    f"{what}: {role} ({device.platform}) has no routing; `routing:` would be dropped",
                    "remove `routing:`; static routes, BGP and OSPF belong to a router",
                )
            )
    return problems


# --------------------------------------------------------------------------- management


def router_management(view: AuthorityView) -> list[Problem]:
    """A device without a management interface of its own is managed at one of its interface addresses.

    (A switch's management address gets its own SVI; that it lies in its management network is
    checked by ``host_addresses``.)
    """
    problems: list[Problem] = []
    for i, device in enumerate(view.model.network_devices):
        found = support(device.platform, device.role)
        if found is None or found.management_interface:
            continue
        address = device.management.address
        own = [iface.address for iface in device.interfaces if iface.address is not None]
        if any(a.ip == address for a in own):
            continue
        net = view.networks.get(device.management.network)
        suggestion = "add a routed interface with that address"
        if net is not None:
            suggestion = (
                f"add an interface, e.g. {{name: vlan{net.model.vlan}, mode: routed, "
                f"address: {address}/{net.model.subnet.prefixlen}}}"
            )
        held = ", ".join(str(a.ip) for a in own) or "none"
        problems.append(
            view.problem(
                ("network_devices", i, "management", "address"),
                f"device '{device.hostname}': management address {address} is none of its interface "
                f"addresses ({held}), so nothing answers there",
                f"{suggestion}, or use one of its interface addresses",
            )
        )
    return problems


# --------------------------------------------------------------------------- gateways


def gateways(view: AuthorityView) -> list[Problem]:
    """The routed interfaces in a network's subnet have its prefix, and one of them is its gateway.

    A second router in the subnet (e.g. a router of another site in the management network) is
    fine; a network whose routers all have other addresses than its gateway is not.
    """
    problems: list[Problem] = []
    serving: dict[str, list[tuple[Loc, str, ipaddress.IPv4Interface]]] = {}
    for i, device in enumerate(view.model.network_devices):
        for j, iface in enumerate(device.interfaces):
            if iface.mode is not InterfaceMode.ROUTED or iface.address is None:
                continue
            net = network_of(view, int(iface.address.ip))
            if net is None:
                continue
            what = f"device '{device.hostname}' interface '{iface.name}': address {iface.address}"
            serving.setdefault(net.model.id, []).append((iface_loc(i, j, "address"), what, iface.address))
            if iface.address.network != net.model.subnet:
                problems.append(
                    view.problem(
                        iface_loc(i, j, "address"),
                        f"{what} is in {iface.address.network}, but network '{net.model.id}' is "
                        f"{net.model.subnet} (line {view.line(('networks', net.index, 'subnet'))})",
                        "use the network's prefix length, e.g. "
                        f"{iface.address.ip}/{net.model.subnet.prefixlen}",
                    )
                )
    for network_id, ends in serving.items():
        net = view.networks[network_id]
        gateway = net.model.gateway
        if any(address.ip == gateway for _, _, address in ends):
            continue
        loc, what, address = ends[0]
        line = view.line(("networks", net.index, "gateway"))
        problems.append(
            view.problem(
                loc,
                f"{what} serves network '{network_id}', whose gateway is {gateway} (line {line})",
                f"hosts send to the gateway: give the interface address: {gateway}/"
                f"{net.model.subnet.prefixlen}, or set gateway: {address.ip} on line {line}",
            )
        )
    return problems


# --------------------------------------------------------------------------- uplinks


@dataclass(frozen=True)
class End:
    """One end of an uplink: device, port and where the port is written."""

    device: NetworkDevice
    iface: Interface
    loc: Loc

    @property
    def label(self) -> str:
        return f"'{self.device.hostname}' {self.iface.name}"


def port(view: AuthorityView, device_index: int, name: str) -> End | None:
    """The device's port *name*; None when it is missing or defined twice (other rules report both)."""
    device = view.model.network_devices[device_index]
    found = [
        End(device, i, iface_loc(device_index, j)) for j, i in enumerate(device.interfaces) if i.name == name
    ]
    return found[0] if len(found) == 1 else None


def carried(view: AuthorityView, end: End) -> set[str]:
    """The networks a port carries: its access network, its trunk's networks, or its routed subnet's."""
    iface = end.iface
    if iface.mode is InterfaceMode.ACCESS:
        return {iface.network} if iface.network else set()
    if iface.mode is InterfaceMode.TRUNK:
        return set(iface.networks)
    net = network_of(view, int(iface.address.ip)) if iface.address is not None else None
    return {net.model.id} if net is not None else set()


def mismatch(view: AuthorityView, near: End, far: End) -> str | None:
    """Why the two ends of a link cannot talk, or None when they fit.

    A routed port facing a trunk is a VLAN interface on that trunk (router on a stick): it fits when
    the trunk carries the routed port's network.
    """
    modes = {near.iface.mode, far.iface.mode}
    if modes == {InterfaceMode.ROUTED}:
        a, b = near.iface.address, far.iface.address
        if a is not None and b is not None and a.network != b.network:
            return f"are in different subnets ({a.network} and {b.network})"
        return None
    if modes == {InterfaceMode.ROUTED, InterfaceMode.TRUNK}:
        routed, trunk = (near, far) if near.iface.mode is InterfaceMode.ROUTED else (far, near)
        nets = carried(view, routed)
        if not nets or nets <= carried(view, trunk):
            return None  # a routed address in no network is reported by the address rules
        shown = ", ".join(sorted(nets))
        return (
            f"do not fit: routed {routed.label} is in network {shown}, which trunk {trunk.label} "
            "does not carry"
        )
    if len(modes) > 1:
        return f"are in different modes ({near.iface.mode} and {far.iface.mode})"
    mine, theirs = carried(view, near), carried(view, far)
    if mine == theirs:
        return None
    only_near, only_far = ", ".join(sorted(mine - theirs)) or "-", ", ".join(sorted(theirs - mine)) or "-"
    return f"carry different networks (only {near.label}: {only_near}; only {far.label}: {only_far})"


def reverse(view: AuthorityView, device_index: int, interface: str) -> tuple[int, Uplink] | None:
    """The uplink the device declares from *interface*, with its index, if any."""
    found = [
        (n, u)
        for n, u in enumerate(view.model.network_devices[device_index].uplinks)
        if u.interface == interface
    ]
    return found[0] if found else None


def uplinks(view: AuthorityView) -> list[Problem]:
    """Both ends of an uplink agree: the reverse uplink, if declared, points back; the modes and networks fit.

    Missing peers and ports are reported by ``uplink_refs``. A pair declared on both sides is
    compared once, from the device listed first.
    """
    problems: list[Problem] = []
    devices = view.model.network_devices
    for i, device in enumerate(devices):
        for k, uplink in enumerate(device.uplinks):
            p = view.devices.get(uplink.peer)
            near = port(view, i, uplink.interface)
            far = port(view, p, uplink.peer_interface) if p is not None else None
            if p is None or near is None or far is None:
                continue
            loc: Loc = ("network_devices", i, "uplinks", k)
            back = reverse(view, p, uplink.peer_interface)
            if back is not None and (back[1].peer, back[1].peer_interface) != (
                device.hostname,
                uplink.interface,
            ):
                problems.append(
                    view.problem(
                        loc,
                        f"device '{device.hostname}' uplink {uplink.interface} -> {far.label}, but "
                        f"'{uplink.peer}' declares {uplink.peer_interface} -> '{back[1].peer}' "
                        f"{back[1].peer_interface} (line "
                        f"{view.line(('network_devices', p, 'uplinks', back[0]))})",
                        "a cable has two ends: correct one of the two uplinks",
                    )
                )
                continue
            if back is not None and p < i:
                continue  # the same link, checked from the peer
            why = mismatch(view, near, far)
            if why is not None:
                problems.append(
                    view.problem(
                        loc,
                        f"device '{device.hostname}' uplink: the ends {near.label} (line "
                        f"{view.line(near.loc)}) and {far.label} (line {view.line(far.loc)}) {why}",
                        "configure both ends alike: the same mode, for a trunk the same networks, for an "
                        "access port the same network",
                    )
                )
    return problems


# --------------------------------------------------------------------------- printers


def printer_spans(view: AuthorityView) -> Iterator[Span]:
    """What a printer's address must not be: hosts, ranges, pools, gateways and device addresses."""
    a = view.model
    singles: list[tuple[ipaddress.IPv4Address, str, Loc]] = [
        (n.model.gateway, f"the gateway of network '{n.model.id}'", ("networks", n.index, "gateway"))
        for n in view.networks.values()
    ]
    singles += [
        (c.address, f"client '{c.hostname}'", ("clients", i, "address")) for i, c in enumerate(a.clients)
    ]
    singles += [
        (s.address, f"server '{s.hostname}'", ("servers", i, "address")) for i, s in enumerate(a.servers)
    ]
    singles += device_addresses(view)
    for value, label, loc in singles:
        yield Span(int(value), int(value), label, view.file, view.line(loc))
    for i, r in enumerate(a.client_ranges):
        start = int(r.first_address)
        loc_range: Loc = ("client_ranges", i, "first_address")
        yield Span(start, start + r.count - 1, f"client range '{r.name}'", view.file, view.line(loc_range))
    for n in view.networks.values():
        if n.pool is not None:
            label = f"the DHCP pool of network '{n.model.id}'"
            yield Span(*n.pool, label, view.file, view.line(("networks", n.index, "dhcp")))


def device_addresses(view: AuthorityView) -> list[tuple[ipaddress.IPv4Address, str, Loc]]:
    """Management and interface addresses of every device of the file."""
    found: list[tuple[ipaddress.IPv4Address, str, Loc]] = []
    for i, d in enumerate(view.model.network_devices):
        mgmt: Loc = ("network_devices", i, "management", "address")
        found.append((d.management.address, f"device '{d.hostname}' management", mgmt))
        found += [
            (iface.address.ip, f"device '{d.hostname}' interface '{iface.name}'", iface_loc(i, j, "address"))
            for j, iface in enumerate(d.interfaces)
            if iface.address is not None
        ]
    return found


def printers(view: AuthorityView) -> list[Problem]:
    """A printer has a host address of a network of its own site that nothing else uses."""
    problems: list[Problem] = []
    index = SpanIndex(printer_spans(view))
    seen: dict[int, tuple[str, Loc]] = {}
    for i, site in enumerate(view.model.sites):
        for k, printer in enumerate(site.printers):
            loc: Loc = ("sites", i, "printers", k, "address")
            value = int(printer.address)
            what = f"site '{site.id}' printer '{printer.name}': address {printer.address}"
            hint = printer_hint(view, site.id)
            fault = printer_network_fault(view, site.id, value)
            if fault is not None:
                problems.append(view.problem(loc, f"{what} {fault}", hint))
            clash = next(iter(index.overlapping(value, value)), None)
            first = seen.setdefault(value, (f"printer '{printer.name}'", loc))
            if clash is not None:
                used = f"{clash.label} (line {clash.line})"
            elif first[1] != loc:
                used = f"{first[0]} (line {view.line(first[1])})"
            else:
                continue
            problems.append(view.problem(loc, f"{what} is already used by {used}", hint))
    return problems


def printer_network_fault(view: AuthorityView, site: str, value: int) -> str | None:
    """Why *value* is no host address of a network of *site*, or None when it is one.

    Addresses outside the authority's block are left to the tenant rules, which name the owner.
    """
    if not in_block(view, value):
        return None
    net = network_of(view, value)
    if net is None:
        return f"lies in no network of site '{site}'"
    if net.model.site != site:
        return f"is in network '{net.model.id}' of site '{net.model.site}', not of its own site '{site}'"
    return address_fault(value, net)


def in_block(view: AuthorityView, value: int) -> bool:
    """Whether *value* is in the authority's block (outside it, the tenant rules report it)."""
    return view.block is None or ipaddress.IPv4Address(value) in view.block.block


def printer_hint(view: AuthorityView, site: str) -> str:
    """A free address of the site's printers network (or of any of its networks)."""
    home = [n for n in view.networks.values() if n.model.site == site]
    home.sort(key=lambda n: n.model.purpose != "printers")
    if not home:
        return f"add a network for printers at site '{site}' and give the printer one of its addresses"
    net = home[0]
    example = free_example(view, net)
    return f"a printer takes a free address of a network of its site, e.g. {example} ({net.model.id})"


AUTHORITY_RULES: tuple[Rule, ...] = (capabilities, router_management, gateways, uplinks, printers)


# --------------------------------------------------------------------------- BGP across devices


@dataclass(frozen=True)
class Owner:
    """The device interface holding an address, anywhere in the estate."""

    view: AuthorityView
    device: int
    iface: int

    @property
    def model(self) -> NetworkDevice:
        return self.view.model.network_devices[self.device]

    @property
    def where(self) -> str:
        return self.view.where(iface_loc(self.device, self.iface, "address"))


def interface_owners(views: list[AuthorityView]) -> dict[int, Owner]:
    owners: dict[int, Owner] = {}
    for view in views:
        for i, device in enumerate(view.model.network_devices):
            for j, iface in enumerate(device.interfaces):
                if iface.mode is InterfaceMode.ROUTED and iface.address is not None:
                    owners.setdefault(int(iface.address.ip), Owner(view, i, j))
    return owners


def routed(device: NetworkDevice) -> list[ipaddress.IPv4Interface]:
    return [i.address for i in device.interfaces if i.mode is InterfaceMode.ROUTED and i.address is not None]


def bgp_sessions(_inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    """A BGP neighbour is on a connected subnet; a neighbour that is a device has its AS and peers back."""
    owners = interface_owners(views)
    problems: list[Problem] = []
    for view in views:
        for i, device in enumerate(view.model.network_devices):
            for k, neighbour in enumerate(device.routing.bgp_neighbors if device.routing else []):
                base: Loc = ("network_devices", i, "routing", "bgp_neighbors", k)
                problems += neighbour_problems(view, i, base, neighbour.address, neighbour.remote_as, owners)
    return problems


def neighbour_problems(
    view: AuthorityView,
    i: int,
    base: Loc,
    address: ipaddress.IPv4Address,
    remote_as: int,
    owners: dict[int, Owner],
) -> list[Problem]:
    device = view.model.network_devices[i]
    what = f"device '{device.hostname}' BGP neighbour {address}"
    own = routed(device)
    connected = [a for a in own if address in a.network]
    if any(a.ip == address for a in own):
        return [view.problem((*base, "address"), f"{what} is the device's own address", peer_hint(own))]
    if not connected and in_own_territory(view, int(address)):
        subnets = ", ".join(str(a.network) for a in own) or "none"
        return [
            view.problem(
                (*base, "address"),
                f"{what} is on no connected subnet of the device (its routed subnets: {subnets})",
                peer_hint(own),
            )
        ]
    peer = owners.get(int(address))
    if peer is None or not connected:
        return []  # e.g. the provider core's end of the link, which is no device of the inventory
    return peer_problems(view, base, what, remote_as, connected[0], peer, {a.ip for a in own})


def in_own_territory(view: AuthorityView, value: int) -> bool:
    """Inside the authority's block or on a routed subnet of one of its devices (its core links).

    Anything else is refused by the tenant boundary rules, which say where it reaches instead.
    """
    if view.block is not None and ipaddress.IPv4Address(value) in view.block.block:
        return True
    address = ipaddress.IPv4Address(value)
    return any(address in a.network for d in view.model.network_devices for a in routed(d))


def peer_problems(
    view: AuthorityView,
    base: Loc,
    what: str,
    remote_as: int,
    mine: ipaddress.IPv4Interface,
    peer: Owner,
    own: set[ipaddress.IPv4Address],
) -> list[Problem]:
    problems: list[Problem] = []
    peer_model = peer.model
    peer_asn = peer.view.model.authority.bgp_asn
    label = f"device '{peer_model.hostname}' of '{peer.view.aid}' ({peer.where})"
    if remote_as != peer_asn:
        problems.append(
            Problem(
                view.file,
                view.line((*base, "remote_as")),
                f"{what} is {label}, whose AS is {peer_asn}, not {remote_as}",
                f"write remote_as: {peer_asn} (the AS of '{peer.view.aid}', {peer.view.file})",
                involves(view.aid, peer.view.aid),
            )
        )
    back = peer_model.routing.bgp_neighbors if peer_model.routing else []
    if not any(n.address in own for n in back):
        problems.append(
            Problem(
                view.file,
                view.line((*base, "address")),
                f"{what} is {label}, which has no BGP neighbour back to this device ({peer.view.file})",
                f"add to routing.bgp_neighbors of '{peer_model.hostname}' in {peer.view.file}: "
                f"{{address: {mine.ip}, remote_as: {view.model.authority.bgp_asn}}}",
                involves(view.aid, peer.view.aid),
            )
        )
    return problems


def peer_hint(own: list[ipaddress.IPv4Interface]) -> str:
    """Name the other end of a point-to-point link of the device, e.g. 10.40.101.1 for 10.40.101.2/30."""
    for a in own:
        if a.network.num_addresses == 4:
            other = int(a.network.network_address) + (1 if int(a.ip) & 3 == 2 else 2)
            return f"a neighbour lies on a connected subnet, e.g. {ip_text(other)} across {a.network}"
    return "a neighbour lies on a connected subnet of the device (a routed interface's network)"


CROSS_RULES = (bgp_sessions,)


def check_intent(inventory: Inventory, views: list[AuthorityView]) -> list[Problem]:
    problems = [p for view in views for rule in AUTHORITY_RULES for p in rule(view)]
    return problems + [p for rule in CROSS_RULES for p in rule(inventory, views)]
