"""Build the lab's data plane (:mod:`ksm_provision.lab.topology`) with namespaces, veths and bridges.

Every node with a data plane has its own network namespace (recorded in the lab state before it
is created, so ``lab down`` removes it; deleting a namespace deletes the veth ends in it, and so
the whole cable). Everything here is idempotent: a cable whose ends both exist is left alone, a
half cable or a stand-in link of the wrong kind is replaced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.state import ResourceLog
from ksm_provision.lab.topology import BRIDGE_PREFIX, HOST_LINK, Cable, End, HostAddress, Topology

NETNS_DIR = Path("/run/netns")


def netns_file(netns: str) -> Path:
    return NETNS_DIR / netns


def netns_names() -> set[str]:
    out = system.run(["ip", "netns", "list"]).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def ensure_namespace(node: ResourceLog, netns: str, *, own: bool = True) -> None:
    """The node's own network namespace (or, not *own*, one more it owns) with ``lo`` up.

    Recorded in the lab state before it is created.
    """
    mine = node.resources.netns == netns if own else netns in node.resources.namespaces
    if netns not in netns_names():
        if own:
            node.set_netns(netns)
        else:
            node.add_namespace(netns)
        system.run(["ip", "netns", "add", netns])
    elif not mine:
        raise LabError(
            f"network namespace {netns} exists but does not belong to this lab",
            hint="another lab runs with the same instance: run 'ksm lab down' there or set KSM_LAB_INSTANCE",
        )
    system.run(["ip", "-n", netns, "link", "set", "lo", "up"])


def links(netns: str) -> dict[str, dict[str, Any]]:
    """Links of *netns* by name, as ``ip -d -j link show`` reports them."""
    out = system.run(["ip", "-n", netns, "-d", "-j", "link", "show"]).stdout
    return {entry["ifname"]: entry for entry in json.loads(out or "[]")}


def _kind(link: dict[str, Any]) -> str:
    return str(link.get("linkinfo", {}).get("info_kind", ""))


def _ip(netns: str, *args: str) -> None:
    system.run(["ip", "-n", netns, *args])


def _ensure_bridge(netns: str, name: str, present: dict[str, dict[str, Any]]) -> None:
    if name in present and _kind(present[name]) != "bridge":
        _ip(netns, "link", "del", name)
        present.pop(name)
    if name not in present:
        _ip(netns, "link", "add", name, "type", "bridge")
        present[name] = {"ifname": name, "linkinfo": {"info_kind": "bridge"}}
    _ip(netns, "link", "set", name, "up")


class Fabric:
    """Builds a :class:`Topology`; *namespace_of* maps a lab node name to its netns name."""

    def __init__(self, topology: Topology, namespace_of: dict[str, str]) -> None:
        self.topology = topology
        self.namespace_of = namespace_of
        self._links: dict[str, dict[str, dict[str, Any]]] = {}

    def _present(self, node: str) -> dict[str, dict[str, Any]]:
        netns = self.namespace_of[node]
        if netns not in self._links:
            self._links[netns] = links(netns)
        return self._links[netns]

    def build(self) -> None:
        for vlan in self.topology.router_vlans:
            if vlan.trunk is None:
                _ensure_bridge(self.namespace_of[vlan.router], vlan.name, self._present(vlan.router))
        for cable in self.topology.cables:
            self._cable(cable)
        for host in self.topology.hosts:
            self._address(host)

    def _is_veth(self, end: End) -> bool:
        link = self._present(end.node).get(end.link)
        return link is not None and _kind(link) == "veth"

    def _cable(self, cable: Cable) -> None:
        a, b = cable.a, cable.b
        if not (self._is_veth(a) and self._is_veth(b)):
            for end in (a, b):
                if end.link in self._present(end.node):
                    _ip(self.namespace_of[end.node], "link", "del", end.link)
            # a removed veth end takes its peer with it: read both sides again
            self._links.pop(self.namespace_of[a.node], None)
            self._links.pop(self.namespace_of[b.node], None)
            system.run(
                [
                    "ip", "link", "add", a.link, "netns", self.namespace_of[a.node], "type", "veth",
                    "peer", "name", b.link, "netns", self.namespace_of[b.node],
                ]
            )  # fmt: skip
            self._links.pop(self.namespace_of[a.node], None)
            self._links.pop(self.namespace_of[b.node], None)
        for end in (a, b):
            netns = self.namespace_of[end.node]
            if end.bridge is not None:
                _ip(netns, "link", "set", end.link, "master", end.bridge)
            # switch ports are attached and brought up by the switch simulator, from its config
            if end.node not in self.topology.switch_ports:
                _ip(netns, "link", "set", end.link, "up")

    def _address(self, host: HostAddress) -> None:
        netns = self.namespace_of[host.node]
        _ip(netns, "address", "replace", str(host.address), "dev", HOST_LINK)
        _ip(netns, "link", "set", HOST_LINK, "up")
        _ip(netns, "route", "replace", "default", "via", str(host.gateway), "dev", HOST_LINK)


def switch_port_map(topology: Topology, switch: str, netns: str) -> dict[str, object]:
    """What the switch simulator needs to program its bridge (``--dataplane FILE``)."""
    return {
        "netns": netns,
        "bridge_prefix": BRIDGE_PREFIX,
        "ports": dict(topology.switch_ports.get(switch, {})),
    }


def nodes_with_data_plane(topology: Topology) -> Iterable[str]:
    seen: set[str] = set()
    for cable in topology.cables:
        for end in (cable.a, cable.b):
            if end.node not in seen:
                seen.add(end.node)
                yield end.node
