"""The lab's data plane as the inventory describes it: who is cabled to whom, with which address.

Pure derivation (no I/O) from the inventory and the lab's node list; :mod:`ksm_provision.lab.fabric`
builds it with network namespaces, veth pairs and bridges.

- A lab host is cabled to a switch of its site: the access port whose description names one of the
  hosts it represents, else a configured access port of its network that no other lab host uses.
  Where no switch of the inventory carries its network, it is cabled straight into a bridge named
  like the router's interface of that network (an unmanaged wire).
- A switch trunk goes where the inventory says: an ``uplinks`` entry (on either end), else the
  device its description names, else the router that is the gateway of the trunk's networks.
- This machine's kernel has neither 802.1Q links nor VLAN-aware bridges, so a trunk is a bundle of
  veths, one per VLAN the inventory puts on it, and a switch has one plain bridge per VLAN. The
  switch simulator attaches each port's veth to its VLAN's bridge only while its running-config
  allows it (access VLAN, trunk allowed list, ``shutdown``). A router's ``vlanN`` interface is the
  far end of its VLAN's veth in the trunk; routed /30 interfaces whose subnets match are cabled to
  each other, and the provider core's transfer links to a lab core router (FRR, configured from
  the rendered core config).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import InterfaceMode, Network, NetworkPurpose, Platform, Server
from ksm_provision.lab.state import LabNodeSpec, NodeKind
from ksm_provision.network.core import core_links, render_core

#: The bridge of VLAN *n* inside a switch's namespace (created and fed by the switch simulator).
BRIDGE_PREFIX = "v"
#: A host's interface in its own namespace.
HOST_LINK = "eth0"


@dataclass(frozen=True)
class End:
    """One end of a cable: a lab node and the Linux interface name in that node's namespace."""

    node: str
    link: str
    #: the bridge in that namespace the link is enslaved to (a switch's ports, a router's wire)
    bridge: str | None = None


@dataclass(frozen=True)
class Cable:
    a: End
    b: End


@dataclass(frozen=True)
class HostAddress:
    node: str
    address: ipaddress.IPv4Interface
    gateway: ipaddress.IPv4Address
    network: str
    site: str
    #: False: no port of the inventory fits; eth0 is a loose cable (the address is there, no traffic)
    cabled: bool = True


@dataclass(frozen=True)
class RouterVlan:
    """``vlanN`` on a router: cabled to switch port *trunk*, or a bridge (a plain wire) when None."""

    router: str
    name: str
    vlan: int
    trunk: str | None


@dataclass(frozen=True)
class StandinClient:
    """A client PC stand-in on a client network: a namespace of its own, cabled like a desk PC.

    It takes its address by DHCP when a DHCP server of the inventory serves its network (the
    relay on the router forwards), else it uses *static* (the network's last usable address).
    Its namespace belongs to *owner* (the switch or router it is cabled to) in the lab state.
    """

    #: the pseudo-node name of its namespace (``<owner>-<name>``)
    node: str
    owner: str
    authority: str
    site: str
    network: str
    end: End
    dhcp: bool
    static: ipaddress.IPv4Interface
    gateway: ipaddress.IPv4Address


@dataclass
class Topology:
    cables: list[Cable] = field(default_factory=list)
    #: switch node -> IOS port name -> {"access": link} or {"trunk": {vlan: link}} in its namespace
    switch_ports: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    router_vlans: list[RouterVlan] = field(default_factory=list)
    hosts: list[HostAddress] = field(default_factory=list)
    #: core router node -> its FRR configuration (rendered from the provider inventory)
    core_configs: dict[str, str] = field(default_factory=dict)
    #: host node -> (shared service id, port) of each Fachverfahren it hosts (the lab runs stand-ins)
    standins: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    clients: list[StandinClient] = field(default_factory=list)
    #: every address a lab node answers on in the data plane (hosts, router interfaces)
    present: set[str] = field(default_factory=set)
    #: what could not be cabled, for ``ksm lab up`` to say
    notes: list[str] = field(default_factory=list)


def port_link(port: str) -> str:
    """Linux link name for an IOS port, e.g. ``GigabitEthernet1/0/48`` -> ``gi1-0-48``.

    >>> port_link("TenGigabitEthernet1/1/1")
    'te1-1-1'
    """
    numbers = "-".join(re.findall(r"\d+", port))
    return f"{port[:2].lower()}{numbers}"[:15]


def _router_vlan_networks(device: Device, networks: dict[str, Network]) -> dict[str, Network]:
    """Router interface name -> the network it is the gateway of."""
    by_gateway = {n.gateway: n for n in networks.values()}
    found: dict[str, Network] = {}
    for interface in device.model.interfaces:
        if interface.address is not None and interface.address.ip in by_gateway:
            found[interface.name] = by_gateway[interface.address.ip]
    return found


class _Builder:
    def __init__(self, inventory: Inventory, specs: Sequence[LabNodeSpec]) -> None:
        self.inventory = inventory
        self.topology = Topology()
        self.node_of = {s.hostname: s.name for s in specs if s.kind is not NodeKind.GATEWAY}
        self.specs = specs
        self.devices = {d.hostname: d for d in inventory.devices if d.hostname in self.node_of}
        self.networks: dict[str, dict[str, Network]] = {
            a: {n.id: n for n in f.networks} for a, f in inventory.authorities.items()
        }
        self.used_ports: set[tuple[str, str]] = set()
        self.trunks: dict[str, int] = {}
        #: router node -> its vlan interface -> the switch port it is cabled to
        self.carried: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ switches and trunks

    def switches(self) -> list[Device]:
        return [d for d in self.devices.values() if d.model.platform is Platform.CISCO_IOS]

    def routers(self) -> list[Device]:
        return [d for d in self.devices.values() if d.model.platform is Platform.FRR]

    def _port(self, switch: Device, port: str) -> End:
        node = self.node_of[switch.hostname]
        link = port_link(port)
        self.topology.switch_ports.setdefault(node, {})[port] = {"access": link}
        self.used_ports.add((switch.hostname, port))
        return End(node, link)

    def _trunk(self, switch: Device, port: str, vlans: Iterable[int]) -> dict[int, End]:
        node = self.node_of[switch.hostname]
        ends = {vlan: End(node, f"{port_link(port)[:10]}.{vlan}") for vlan in sorted(set(vlans))}
        self.topology.switch_ports.setdefault(node, {})[port] = {
            "trunk": {str(vlan): end.link for vlan, end in ends.items()}
        }
        self.used_ports.add((switch.hostname, port))
        return ends

    def _vlans(self, device: Device, network_ids: Iterable[str]) -> set[int]:
        networks = self.networks[device.authority]
        return {networks[n].vlan for n in network_ids if n in networks}

    def _trunk_peer(self, switch: Device, port: str, description: str) -> tuple[Device, str | None] | None:
        """The device (and its port, for a switch) at the far end of *switch*'s trunk *port*."""
        for uplink in switch.model.uplinks:
            if uplink.interface == port and uplink.peer in self.devices:
                return self.devices[uplink.peer], uplink.peer_interface
        for other in self.devices.values():
            for uplink in other.model.uplinks:
                if uplink.peer == switch.hostname and uplink.peer_interface == port:
                    return other, uplink.interface
        for other in self.devices.values():
            if other.hostname != switch.hostname and other.hostname in description:
                return other, None
        return None

    def _gateway_router(self, switch: Device, networks: Iterable[str]) -> Device | None:
        wanted = set(networks)
        best: tuple[int, Device] | None = None
        for router in self.routers():
            if router.authority != switch.authority:
                continue
            held = {n.id for n in _router_vlan_networks(router, self.networks[router.authority]).values()}
            score = len(held & wanted)
            if score and (best is None or score > best[0]):
                best = (score, router)
        return best[1] if best else None

    def _peer_switch_port(self, peer: Device, switch: Device) -> str | None:
        for interface in peer.model.interfaces:
            if interface.mode is InterfaceMode.TRUNK and switch.hostname in (interface.description or ""):
                return interface.name
        return None

    def cable_trunks(self) -> None:
        for switch in self.switches():
            for interface in switch.model.interfaces:
                if (
                    interface.mode is not InterfaceMode.TRUNK
                    or (switch.hostname, interface.name) in self.used_ports
                ):
                    continue
                peer_info = self._trunk_peer(switch, interface.name, interface.description or "")
                peer = peer_info[0] if peer_info else self._gateway_router(switch, interface.networks)
                if peer is None:
                    self.topology.notes.append(f"{switch.hostname} {interface.name}: no peer in the lab")
                    continue
                if peer.model.platform is Platform.CISCO_IOS:
                    peer_port = (peer_info[1] if peer_info else None) or self._peer_switch_port(peer, switch)
                    if peer_port is None or (peer.hostname, peer_port) in self.used_ports:
                        continue
                    far = next(i for i in peer.model.interfaces if i.name == peer_port)
                    vlans = self._vlans(switch, interface.networks) & self._vlans(peer, far.networks)
                    near_ends = self._trunk(switch, interface.name, vlans)
                    far_ends = self._trunk(peer, peer_port, vlans)
                    self.topology.cables += [Cable(near_ends[v], far_ends[v]) for v in sorted(vlans)]
                else:
                    self._cable_router_trunk(peer, switch, interface.name, interface.networks)

    def _cable_router_trunk(self, router: Device, switch: Device, port: str, networks: list[str]) -> None:
        node = self.node_of[router.hostname]
        held = _router_vlan_networks(router, self.networks[router.authority])
        carried = self.carried.setdefault(node, {})
        wanted = self._vlans(switch, networks)
        by_vlan = {n.vlan: name for name, n in held.items() if name.startswith("vlan") and n.vlan in wanted}
        ends = self._trunk(switch, port, by_vlan)
        for vlan, name in sorted(by_vlan.items()):
            if name not in carried:
                carried[name] = port
                self.topology.cables.append(Cable(ends[vlan], End(node, name)))

    # ------------------------------------------------------------------ routers

    def router_interfaces(self) -> None:
        for router in self.routers():
            node = self.node_of[router.hostname]
            carried = self.carried.get(node, {})
            for name, network in _router_vlan_networks(router, self.networks[router.authority]).items():
                if not name.startswith("vlan"):
                    continue
                self.topology.router_vlans.append(
                    RouterVlan(router=node, name=name, vlan=network.vlan, trunk=carried.get(name))
                )

    def cable_wan(self) -> None:
        ends: dict[ipaddress.IPv4Network, list[End]] = {}
        for router in self.routers():
            for interface in router.model.interfaces:
                if interface.address is not None and interface.address.network.prefixlen >= 30:
                    ends.setdefault(interface.address.network, []).append(
                        End(self.node_of[router.hostname], interface.name)
                    )
        for core, links in core_links(self.inventory).items():
            core_node = self.node_of.get(core)
            for link in links:
                if core_node is not None:
                    ends.setdefault(link.network, []).append(End(core_node, link.interface))
        for network, pair in ends.items():
            if len(pair) == 2:
                self.topology.cables.append(Cable(pair[0], pair[1]))
            else:
                self.topology.notes.append(f"transfer network {network}: {len(pair)} ends in the lab")

    # ------------------------------------------------------------------ hosts

    def cable_hosts(self) -> None:
        hosts = self.inventory.hosts_by_name
        router_bridges = {(v.router, v.vlan): v for v in self.topology.router_vlans if v.trunk is None}
        for spec in self.specs:
            if spec.kind is not NodeKind.HOST or not spec.represents:
                continue
            host = hosts[spec.represents[0]]
            network = self.networks[host.authority][host.network]
            self.topology.hosts.append(
                HostAddress(
                    node=spec.name,
                    address=ipaddress.IPv4Interface((host.address, network.subnet.prefixlen)),
                    gateway=network.gateway,
                    network=network.id,
                    site=host.site,
                )
            )
            host_end = End(spec.name, HOST_LINK)
            port = self._access_port(host.authority, host.site, network.id, set(spec.represents))
            if port is not None:
                self.topology.cables.append(Cable(host_end, self._port(*port)))
                continue
            bridge = next(
                (
                    v
                    for (router, vlan), v in router_bridges.items()
                    if vlan == network.vlan and self._router_authority(router) == host.authority
                ),
                None,
            )
            if bridge is None:
                # roles still see their address (e.g. the DHCP server its subnet); no packet passes
                self.topology.notes.append(f"{spec.name}: no switch port or segment for {network.id}")
                self.topology.hosts[-1] = dataclasses.replace(self.topology.hosts[-1], cabled=False)
                self.topology.cables.append(Cable(host_end, End(spec.name, "unplugged")))
                continue
            wire = f"h{len(self.topology.cables)}-{bridge.vlan}"
            self.topology.cables.append(Cable(host_end, End(bridge.router, wire, bridge.name)))

    def standin_clients(self) -> None:
        """One stand-in client per client network of the lab's authorities that can be cabled."""
        served = {
            (host.authority, network)
            for host in self.inventory.hosts
            if isinstance(host.entry, Server) and host.entry.dhcp is not None
            for network in host.entry.dhcp.serves
        }
        authorities = {s.authority for s in self.specs if s.kind is NodeKind.HOST}
        bridges = {(v.router, v.vlan): v for v in self.topology.router_vlans if v.trunk is None}
        for authority in sorted(authorities):
            for network in self.networks[authority].values():
                if network.purpose is not NetworkPurpose.CLIENTS:
                    continue
                name = f"c{network.vlan}"
                port = self._access_port(authority, network.site, network.id, set())
                if port is not None:
                    end = self._port(*port)
                    owner = end.node
                    end = End(owner, end.link)
                else:
                    bridge = next(
                        (
                            v
                            for (router, vlan), v in bridges.items()
                            if vlan == network.vlan and self._router_authority(router) == authority
                        ),
                        None,
                    )
                    if bridge is None:
                        self.topology.notes.append(f"{authority}/{network.id}: no port for a stand-in client")
                        continue
                    owner, end = bridge.router, End(bridge.router, f"{name}-w", bridge.name)
                last = network.subnet.broadcast_address - 1
                node = f"{owner}-{name}"
                self.topology.cables.append(Cable(End(node, HOST_LINK), end))
                self.topology.clients.append(
                    StandinClient(
                        node=node,
                        owner=owner,
                        authority=authority,
                        site=network.site,
                        network=network.id,
                        end=end,
                        dhcp=(authority, network.id) in served,
                        static=ipaddress.IPv4Interface((last, network.subnet.prefixlen)),
                        gateway=network.gateway,
                    )
                )

    def _router_authority(self, node: str) -> str:
        return next(s.authority for s in self.specs if s.name == node)

    def _access_port(
        self, authority: str, site: str, network: str, names: set[str]
    ) -> tuple[Device, str] | None:
        candidates = [s for s in self.switches() if s.authority == authority and s.model.site == site]
        for switch in candidates:
            for interface in switch.model.interfaces:
                if (
                    interface.mode is InterfaceMode.ACCESS
                    and (interface.description or "") in names
                    and (switch.hostname, interface.name) not in self.used_ports
                ):
                    return switch, interface.name
        for switch in candidates:
            for interface in switch.model.interfaces:
                if (
                    interface.mode is InterfaceMode.ACCESS
                    and interface.network == network
                    and not interface.shutdown
                    and (switch.hostname, interface.name) not in self.used_ports
                    and (interface.description or "") not in self.inventory.hosts_by_name
                ):
                    return switch, interface.name
        return None


def derive(inventory: Inventory, specs: Sequence[LabNodeSpec]) -> Topology:
    """The data plane for the lab nodes *specs* (only nodes of the list are cabled)."""
    builder = _Builder(inventory, specs)
    builder.cable_trunks()
    builder.router_interfaces()
    builder.cable_wan()
    builder.cable_hosts()
    builder.standin_clients()
    topology = builder.topology
    topology.present = (
        {str(h.address.ip) for h in topology.hosts if h.cabled}
        | {str(i.address.ip) for r in builder.routers() for i in r.model.interfaces if i.address is not None}
        # a switch answers on its management SVI (the simulator puts it on the VLAN's bridge)
        | {str(s.model.management.address) for s in builder.switches() if s.model.management is not None}
    )
    for service in inventory.provider.shared_services:
        node = next((s.name for s in specs if service.hosted_by.host in s.represents), None)
        if node is not None:
            topology.standins.setdefault(node, []).append((service.id, service.port))
    rendered = render_core(inventory)
    for hostname, node in builder.node_of.items():
        if hostname in rendered:
            topology.core_configs[node] = rendered[hostname]
    return topology
