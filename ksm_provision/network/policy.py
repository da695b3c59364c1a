"""An authority's intended traffic policy, computed from the inventory: allow rules as plain data.

The same :class:`Policy` drives the routers' packet filters (:mod:`ksm_provision.network.gateway`,
nftables on the FRR routers' Linux side) and is meant to drive a packet-level reachability proof
and a compliance report; :meth:`Policy.permits` answers "would this packet be let through?".

Everything not allowed by a rule is denied. The rules of an authority (its *forward* policy, the
same on each of its routers; rules are by address, so a flow crossing two routers passes both):

- **replies**: established and related traffic is always allowed (ICMP errors come as related);
  this is part of every filter, not a rule here.
- **core**: all the authority's own networks (clients, servers, printers, management, and the
  transit links of its routers) may reach the provider core ``address_plan.core`` on anything:
  DNS, NTP and mirrors live there, and the provider's perimeter filters the rest. Traffic between
  the authority's own networks and to other authorities' blocks needs a rule below.
- **services**, by the roles of the authority's servers: ``fileserver`` 445/tcp (SMB) and
  ``printserver`` 631/tcp (IPP) from the client networks; ``dhcp`` 67/udp from the networks it
  serves (leases are renewed by unicast to the server; the first request is relayed by the router).
- **printing**: client networks -> printer networks (and printers outside them) 631/tcp, 9100/tcp.
- **logging**: every network of a site (management included) and the routers' transit links ->
  the site's effective ``log_host`` on the effective ``log_port``, udp and tcp; a server with the
  ``loghost`` role that is no site's log host gets the same from all of the authority.
- **site services**: a site's effective NTP/DNS server that lies in the authority's block (e.g. a
  router serving NTP) is reachable from the site's networks, 123/udp resp. 53/udp+tcp. Names that
  are not a server of the authority are taken to be provider services in the core.
- **shared** Fachverfahren (``shared_services``), by grant (``consumers``): on the consumer's side
  its client networks may reach the hosting server's address on the service port; on the hosting
  side the host admits each consumer's block from ``address_plan.authorities`` (for the hosting
  authority itself: its client networks).
- **admin**: only the provider's admin networks ``address_plan.management`` reach in: 22/tcp and
  ICMP echo to all own networks, 161/udp (SNMP) to the management networks. No other rule targets a
  management network.
- **dhcp relay**: a router relaying to a DHCP server behind another router sends from its own
  addresses to the server, 67/udp, and the server answers the relay address (giaddr), 67/udp.

A router's *input* policy (:func:`router_input`): ICMP echo; OSPF (IP protocol 89) on its
``ospf: true`` interfaces; BGP 179/tcp from its BGP neighbours; SSH 22/tcp and SNMP 161/udp only from
the admin networks and its own management network; DHCP 67/udp on its relay interfaces; and every
forward rule aimed at one of its own addresses (e.g. it is a site's NTP server). Its output is
unrestricted. The filters handle IPv4 only (the inventory has no IPv6); IPv6 is dropped.

DHCP relay (:func:`relays`): a network served by a DHCP server (``servers[].dhcp.serves``) outside
the network, whose gateway is a routed interface of a router, is relayed by that router. It listens
on that client interface and on the interface towards the server: the router's interface whose
subnet holds the server, else (the server is behind another router) every transit interface of the
router (a routed interface on no network of the authority), since the route is OSPF's choice.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from ksm_provision.errors import KsmError
from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import (
    AuthorityFile,
    DeviceRole,
    Network,
    NetworkDevice,
    NetworkPurpose,
    Platform,
    Server,
    ServerRole,
    Settings,
    SharedService,
)
from ksm_provision.inventory.settings import merge_settings

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address

#: Any IPv4 address (a rule's sources or destinations).
ANY = IPv4Network("0.0.0.0/0")

SMB, IPP, JETDIRECT, DHCP_SERVER, NTP, DNS, SSH, SNMP, BGP = 445, 631, 9100, 67, 123, 53, 22, 161, 179
DEFAULT_LOG_PORT = 514


class PolicyError(KsmError):
    """The policy cannot be computed from the inventory; the message names FILE:LINE."""


class Protocol(StrEnum):
    ANY = "any"
    TCP = "tcp"
    UDP = "udp"
    #: ICMP echo request (errors and echo replies pass as related/established traffic).
    ICMP_ECHO = "icmp-echo"
    #: IP protocol 89.
    OSPF = "ospf"


class RuleKind(StrEnum):
    """Why a rule exists, for reports; :attr:`Rule.reason` says it in words."""

    CORE = "core"
    SERVICE = "service"
    PRINTING = "printing"
    LOGGING = "logging"
    SITE_SERVICE = "site-service"
    SHARED = "shared"
    ADMIN = "admin"
    DHCP_RELAY = "dhcp-relay"
    ROUTING = "routing"
    ROUTER = "router"


def _collapse(networks: Iterable[IPv4Network]) -> tuple[IPv4Network, ...]:
    return tuple(sorted(ipaddress.collapse_addresses(networks)))


def host(address: IPv4Address) -> IPv4Network:
    return IPv4Network(address)


@dataclass(frozen=True)
class Rule:
    """Allow *protocol* from any of *sources* to any of *destinations* (on *ports*, if given).

    Sources and destinations are collapsed and sorted; a host is a /32. ``ports`` are destination
    ports of tcp/udp, empty for every port. ``interfaces`` (input rules only) restricts the rule to
    packets arriving on those interfaces; empty means any.
    """

    sources: tuple[IPv4Network, ...]
    destinations: tuple[IPv4Network, ...]
    protocol: Protocol
    ports: tuple[int, ...]
    kind: RuleKind
    reason: str
    interfaces: tuple[str, ...] = ()

    @classmethod
    def make(
        cls,
        sources: Iterable[IPv4Network],
        destinations: Iterable[IPv4Network],
        protocol: Protocol,
        ports: Iterable[int],
        kind: RuleKind,
        reason: str,
        interfaces: Iterable[str] = (),
    ) -> Rule:
        return cls(
            _collapse(sources),
            _collapse(destinations),
            protocol,
            tuple(sorted(set(ports))),
            kind,
            reason,
            tuple(sorted(set(interfaces))),
        )

    def permits(
        self,
        source: IPv4Address,
        destination: IPv4Address,
        protocol: Protocol,
        port: int | None = None,
        interface: str | None = None,
    ) -> bool:
        """Whether this rule lets a new flow through (``protocol`` is the packet's, never ANY)."""
        if self.protocol is not Protocol.ANY and self.protocol is not protocol:
            return False
        if self.ports and port not in self.ports:
            return False
        if self.interfaces and interface not in self.interfaces:
            return False
        return any(source in n for n in self.sources) and any(destination in n for n in self.destinations)


@dataclass(frozen=True)
class Policy:
    """The allow rules of one authority (``forward``); everything else is denied."""

    authority: str
    rules: tuple[Rule, ...]

    def permits(
        self,
        source: IPv4Address,
        destination: IPv4Address,
        protocol: Protocol,
        port: int | None = None,
        interface: str | None = None,
    ) -> Rule | None:
        """The first rule letting a new flow through, or None (denied)."""
        for rule in self.rules:
            if rule.permits(source, destination, protocol, port, interface):
                return rule
        return None


@dataclass(frozen=True)
class Relay:
    """One client network whose DHCP requests a router relays to a server on another network."""

    router: str
    network: str
    client_interface: str
    #: The router's address on the client network: the relay agent address (giaddr).
    gateway: IPv4Address
    server: str
    server_address: IPv4Address
    #: The router's interfaces towards the server and its addresses on them.
    upstream: tuple[str, ...]
    upstream_addresses: tuple[IPv4Address, ...]
    #: Whether the server's network is on this router (then no other router sees the relayed packets).
    local: bool


# --------------------------------------------------------------------------- inventory facts


class _Facts:
    """Lookups in one authority's part of the inventory."""

    def __init__(self, inventory: Inventory, authority_id: str) -> None:
        self.inventory = inventory
        self.aid = authority_id
        self.authority: AuthorityFile = inventory.authorities[authority_id]
        self.networks = {n.id: n for n in self.authority.networks}
        plan = inventory.provider.address_plan
        self.core = plan.core
        self.admin = tuple(plan.management)
        self.blocks = {b.authority: b.block for b in plan.authorities}

    def fail(self, message: str, hint: str, loc: tuple[str | int, ...]) -> PolicyError:
        source = self.inventory.source_of(self.aid)
        return PolicyError(f"{source.file}:{source.line_of(loc)}: {message}", hint)

    def subnets(self, *purposes: NetworkPurpose) -> tuple[IPv4Network, ...]:
        return _collapse(n.subnet for n in self.authority.networks if not purposes or n.purpose in purposes)

    def routers(self) -> list[tuple[int, NetworkDevice]]:
        return [
            (i, d)
            for i, d in enumerate(self.authority.network_devices)
            if d.platform is Platform.FRR and d.role is DeviceRole.ROUTER
        ]

    def transit(self) -> tuple[IPv4Network, ...]:
        """The routers' links that are no network of the authority but lie in its block."""
        lans = {n.subnet for n in self.authority.networks}
        block = self.blocks.get(self.aid)
        found = [
            iface.address.network
            for _, router in self.routers()
            for iface in router.interfaces
            if iface.address is not None and iface.address.network not in lans
            if block is not None and iface.address.network.subnet_of(block)
        ]
        return _collapse(found)

    def own(self) -> tuple[IPv4Network, ...]:
        """All of the authority: its networks and its routers' transit links."""
        return _collapse((*self.subnets(), *self.transit()))

    def site_settings(self, site_id: str) -> Settings:
        site = self.authority.site(site_id)
        return merge_settings([self.inventory.provider.defaults, self.authority.settings, site.settings])

    def resolve(self, target: object) -> IPv4Address | None:
        """An address of a setting (address, or hostname of one of the authority's servers)."""
        if isinstance(target, IPv4Address):
            return target
        try:
            return IPv4Address(str(target))
        except ValueError:
            pass
        domain = self.authority.authority.domain
        for server in self.authority.servers:
            if target in (server.hostname, f"{server.hostname}.{domain}"):
                return server.address
        return None

    def in_block(self, address: IPv4Address) -> bool:
        block = self.blocks.get(self.aid)
        return block is not None and address in block and address not in self.core


# --------------------------------------------------------------------------- forward rules


def _core_rules(facts: _Facts) -> Iterator[Rule]:
    yield Rule.make(
        facts.own(),
        [facts.core],
        Protocol.ANY,
        (),
        RuleKind.CORE,
        f"{facts.aid} networks → provider core (DNS, NTP, mirrors)",
    )


def _server_rules(facts: _Facts, server: Server) -> Iterator[Rule]:
    clients = facts.subnets(NetworkPurpose.CLIENTS)
    dest = [host(server.address)]
    if ServerRole.FILESERVER in server.roles and clients:
        reason = f"clients → fileserver {server.hostname} (SMB)"
        yield Rule.make(clients, dest, Protocol.TCP, [SMB], RuleKind.SERVICE, reason)
    if ServerRole.PRINTSERVER in server.roles and clients:
        reason = f"clients → printserver {server.hostname} (IPP)"
        yield Rule.make(clients, dest, Protocol.TCP, [IPP], RuleKind.SERVICE, reason)
    served = [
        facts.networks[n].subnet for n in (server.dhcp.serves if server.dhcp else []) if n in facts.networks
    ]
    if ServerRole.DHCP in server.roles and served:
        reason = f"served networks → DHCP server {server.hostname} (renewals)"
        yield Rule.make(served, dest, Protocol.UDP, [DHCP_SERVER], RuleKind.SERVICE, reason)


def _printer_rules(facts: _Facts) -> Iterator[Rule]:
    clients = facts.subnets(NetworkPurpose.CLIENTS)
    printer_nets = facts.subnets(NetworkPurpose.PRINTERS)
    loose = [
        host(p.address)
        for site in facts.authority.sites
        for p in site.printers
        if not any(p.address in n for n in printer_nets)
    ]
    targets = [*printer_nets, *loose]
    if clients and targets:
        reason = "clients → printers (IPP, raw 9100)"
        yield Rule.make(clients, targets, Protocol.TCP, [IPP, JETDIRECT], RuleKind.PRINTING, reason)


def _site_sources(facts: _Facts, site_id: str) -> list[IPv4Network]:
    return [n.subnet for n in facts.authority.networks if n.site == site_id]


def _log_rules(facts: _Facts) -> Iterator[Rule]:
    """Each site's networks -> its effective log host; routers' transit links to each log host."""
    targets: dict[tuple[IPv4Address, int], list[IPv4Network]] = {}
    for site in facts.authority.sites:
        settings = facts.site_settings(site.id)
        address = facts.resolve(settings.log_host) if settings.log_host is not None else None
        if address is None:
            continue
        key = (address, settings.log_port or DEFAULT_LOG_PORT)
        targets.setdefault(key, []).extend(_site_sources(facts, site.id))
    for server in facts.authority.servers:
        if ServerRole.LOGHOST in server.roles and not any(a == server.address for a, _ in targets):
            port = merge_settings([facts.inventory.provider.defaults, facts.authority.settings]).log_port
            targets[(server.address, port or DEFAULT_LOG_PORT)] = list(facts.subnets())
    for (address, port), sources in sorted(targets.items()):
        name = next((s.hostname for s in facts.authority.servers if s.address == address), str(address))
        for protocol in (Protocol.UDP, Protocol.TCP):
            reason = f"{facts.aid} networks → log host {name} (syslog {protocol})"
            yield Rule.make(
                [*sources, *facts.transit()], [host(address)], protocol, [port], RuleKind.LOGGING, reason
            )


def _site_service_rules(facts: _Facts) -> Iterator[Rule]:
    wanted: dict[tuple[IPv4Address, str], list[IPv4Network]] = {}
    for site in facts.authority.sites:
        settings = facts.site_settings(site.id)
        for service, servers in (("NTP", settings.ntp_servers), ("DNS", settings.dns_servers)):
            for target in servers or []:
                address = facts.resolve(target)
                if address is not None and facts.in_block(address):
                    wanted.setdefault((address, service), []).extend(_site_sources(facts, site.id))
    for (address, service), sources in sorted(wanted.items()):
        reason = f"site networks → {service} server {address}"
        if service == "NTP":
            yield Rule.make(sources, [host(address)], Protocol.UDP, [NTP], RuleKind.SITE_SERVICE, reason)
        else:
            for protocol in (Protocol.UDP, Protocol.TCP):
                yield Rule.make(sources, [host(address)], protocol, [DNS], RuleKind.SITE_SERVICE, reason)


def service_host(inventory: Inventory, service: SharedService) -> IPv4Address | None:
    """The address of the server hosting *service*, if its authority is loaded (in scope or not)."""
    hosting = inventory.authority_in_context(service.hosted_by.authority)
    if hosting is None:
        return None
    return next((s.address for s in hosting.servers if s.hostname == service.hosted_by.host), None)


def _shared_rules(facts: _Facts) -> Iterator[Rule]:
    for service in facts.inventory.provider.shared_services:
        address = service_host(facts.inventory, service)
        hosted_here = service.hosted_by.authority == facts.aid
        if address is None:
            if hosted_here:
                raise facts.fail(
                    f"shared service '{service.id}' is hosted on '{service.hosted_by.host}', "
                    "which is no server of this authority",
                    "add the server to servers:, or correct shared_services[].hosted_by in ksm.yml",
                    ("servers",),
                )
            continue
        label = f"Fachverfahren {service.name} ({service.id}) on {service.hosted_by.host}"
        for consumer in sorted(set(service.consumers)):
            if consumer == facts.aid:
                sources = facts.subnets(NetworkPurpose.CLIENTS)
            elif hosted_here and consumer in facts.blocks:
                sources = (facts.blocks[consumer],)
            else:
                continue
            if sources:
                reason = f"{consumer} clients → {label}"
                yield Rule.make(
                    sources, [host(address)], Protocol.TCP, [service.port], RuleKind.SHARED, reason
                )


def _admin_rules(facts: _Facts) -> Iterator[Rule]:
    if not facts.admin:
        return
    own = facts.own()
    yield Rule.make(
        facts.admin, own, Protocol.TCP, [SSH], RuleKind.ADMIN, "provider admin networks → SSH (Ansible)"
    )
    yield Rule.make(
        facts.admin, own, Protocol.ICMP_ECHO, (), RuleKind.ADMIN, "provider admin networks → ping"
    )
    mgmt = facts.subnets(NetworkPurpose.MANAGEMENT)
    if mgmt:
        reason = "provider admin networks → management networks (SNMP)"
        yield Rule.make(facts.admin, mgmt, Protocol.UDP, [SNMP], RuleKind.ADMIN, reason)


def _relay_rules(facts: _Facts) -> Iterator[Rule]:
    """Relayed DHCP crossing another router: relay agent -> server, server -> giaddr."""
    for relay in relays(facts.inventory, facts.aid):
        if relay.local:
            continue
        agent = [host(a) for a in (*relay.upstream_addresses, relay.gateway)]
        server = [host(relay.server_address)]
        reason = f"DHCP relay {relay.router} → {relay.server}"
        yield Rule.make(agent, server, Protocol.UDP, [DHCP_SERVER], RuleKind.DHCP_RELAY, reason)
        reason = f"DHCP server {relay.server} → relay agent {relay.router}"
        yield Rule.make(
            server, [host(relay.gateway)], Protocol.UDP, [DHCP_SERVER], RuleKind.DHCP_RELAY, reason
        )


def authority_policy(inventory: Inventory, authority_id: str) -> Policy:
    """The forward policy of *authority_id* (see the module docstring), in a stable order."""
    facts = _Facts(inventory, authority_id)
    rules: list[Rule] = [*_core_rules(facts)]
    for server in facts.authority.servers:
        rules.extend(_server_rules(facts, server))
    for make in (_printer_rules, _log_rules, _site_service_rules, _shared_rules, _admin_rules, _relay_rules):
        rules.extend(make(facts))
    return Policy(authority_id, tuple(r for r in rules if r.sources and r.destinations))


# --------------------------------------------------------------------------- DHCP relay


def _served_by(authority: AuthorityFile) -> dict[str, list[Server]]:
    served: dict[str, list[Server]] = {}
    for server in authority.servers:
        for network_id in server.dhcp.serves if server.dhcp else []:
            served.setdefault(network_id, []).append(server)
    return served


def _upstream(
    router: NetworkDevice, lans: set[IPv4Network], server: IPv4Address
) -> tuple[tuple[str, IPv4Address], ...]:
    routed = [(i.name, i.address) for i in router.interfaces if i.address is not None]
    direct = tuple((name, a.ip) for name, a in routed if server in a.network)
    if direct:
        return direct
    return tuple((name, a.ip) for name, a in routed if a.network not in lans)


def _router_relays(
    router: NetworkDevice, networks: list[Network], served: dict[str, list[Server]]
) -> Iterator[Relay]:
    lans = {n.subnet for n in networks}
    by_gateway = {(n.gateway, n.subnet): n for n in networks}
    for iface in router.interfaces:
        if iface.address is None or iface.shutdown:
            continue
        network = by_gateway.get((iface.address.ip, iface.address.network))
        if network is None:
            continue
        for server in served.get(network.id, []):
            if server.address in network.subnet:
                continue
            upstream = _upstream(router, lans, server.address)
            yield Relay(
                router=router.hostname,
                network=network.id,
                client_interface=iface.name,
                gateway=iface.address.ip,
                server=server.hostname,
                server_address=server.address,
                upstream=tuple(name for name, _ in upstream),
                upstream_addresses=tuple(address for _, address in upstream),
                local=any(server.address in i.address.network for i in router.interfaces if i.address),
            )


def relays(inventory: Inventory, authority_id: str) -> tuple[Relay, ...]:
    """Every DHCP relay of the authority's routers (see the module docstring)."""
    facts = _Facts(inventory, authority_id)
    served = _served_by(facts.authority)
    found = [
        relay
        for _, router in facts.routers()
        for relay in _router_relays(router, facts.authority.networks, served)
    ]
    return tuple(found)


# --------------------------------------------------------------------------- router input


@dataclass(frozen=True)
class RouterPolicy:
    """What one router lets through (``forward``) and accepts itself (``input``)."""

    hostname: str
    forward: Policy
    input: Policy
    relays: tuple[Relay, ...]


def _own_addresses(router: NetworkDevice) -> tuple[IPv4Address, ...]:
    found = {i.address.ip for i in router.interfaces if i.address is not None} | {router.management.address}
    return tuple(sorted(found))


def _projected(forward: Policy, addresses: tuple[IPv4Address, ...]) -> Iterator[Rule]:
    """Forward rules aimed at one of the router's own addresses (it is e.g. a site's NTP server)."""
    for rule in forward.rules:
        mine = [host(a) for a in addresses if host(a) in rule.destinations]
        if mine:
            yield Rule.make(rule.sources, mine, rule.protocol, rule.ports, rule.kind, rule.reason)


def _input_rules(facts: _Facts, router: NetworkDevice, relay_interfaces: tuple[str, ...]) -> Iterator[Rule]:
    yield Rule.make([ANY], [ANY], Protocol.ICMP_ECHO, (), RuleKind.ROUTER, "ping")
    ospf = [i.name for i in router.interfaces if i.ospf]
    if ospf:
        yield Rule.make([ANY], [ANY], Protocol.OSPF, (), RuleKind.ROUTING, "OSPF", ospf)
    neighbors = [host(n.address) for n in (router.routing.bgp_neighbors if router.routing else [])]
    if neighbors:
        yield Rule.make(neighbors, [ANY], Protocol.TCP, [BGP], RuleKind.ROUTING, "BGP from its neighbours")
    mgmt = facts.networks.get(router.management.network)
    admins = [*facts.admin, *([mgmt.subnet] if mgmt else [])]
    if admins:
        reason = "admin networks and own management network → router (SSH)"
        yield Rule.make(admins, [ANY], Protocol.TCP, [SSH], RuleKind.ADMIN, reason)
        reason = "admin networks and own management network → router (SNMP)"
        yield Rule.make(admins, [ANY], Protocol.UDP, [SNMP], RuleKind.ADMIN, reason)
    if relay_interfaces:
        reason = "DHCP to the relay agent"
        yield Rule.make(
            [ANY], [ANY], Protocol.UDP, [DHCP_SERVER], RuleKind.DHCP_RELAY, reason, relay_interfaces
        )


def own_networks(inventory: Inventory, authority_id: str) -> tuple[IPv4Network, ...]:
    """All of the authority: its networks and its routers' transit links in its block."""
    return _Facts(inventory, authority_id).own()


def relay_interfaces(router_relays: Iterable[Relay]) -> tuple[str, ...]:
    return tuple(sorted({name for r in router_relays for name in (r.client_interface, *r.upstream)}))


def router_policy(inventory: Inventory, device: Device) -> RouterPolicy:
    """The forward and input policy of one FRR router."""
    facts = _Facts(inventory, device.authority)
    forward = authority_policy(inventory, device.authority)
    own_relays = tuple(r for r in relays(inventory, device.authority) if r.router == device.hostname)
    rules = [
        *_input_rules(facts, device.model, relay_interfaces(own_relays)),
        *_projected(forward, _own_addresses(device.model)),
    ]
    return RouterPolicy(device.hostname, forward, Policy(device.authority, tuple(rules)), own_relays)
