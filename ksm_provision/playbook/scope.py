"""Which hosts a run touches and how to reach them, for production or the lab twin.

The Ansible inventory of a run holds only the hosts of the authorities in scope, so an apply
scoped to one authority cannot reach another's hosts; every address passes the lab-only guard
before Ansible starts.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ksm_provision.errors import LabError, UsageError
from ksm_provision.hostkeys import known_hosts_file, lab_host_key_known
from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.safety import check_addresses
from ksm_provision.targets import Connection, Target


@dataclass(frozen=True)
class HostScope:
    inventory: Inventory
    hosts: list[Host]
    connections: dict[str, Connection]

    @property
    def authority_of(self) -> dict[str, str]:
        return {h.hostname: h.authority for h in self.hosts}


def matches(hostname: str, limit: str | None) -> bool:
    """``--limit`` takes comma-separated shell patterns, e.g. ``sn-rh-*,lup-pch-fs01``."""
    return limit is None or any(fnmatch.fnmatchcase(hostname, p.strip()) for p in limit.split(","))


def lab_connections(inventory: Inventory, only: set[str] | None = None) -> dict[str, Connection]:
    """Representative inventory host -> its lab stand-in, for the authorities of *inventory*.

    With *only*, a stand-in is kept when any inventory host it represents is in *only*.
    """
    from ksm_provision.lab.manager import Lab
    from ksm_provision.lab.state import NodeKind

    lab = Lab()
    state = lab.state()
    if state is None:
        raise LabError("no lab twin is running", "run `ksm lab up` first")
    connections: dict[str, Connection] = {}
    for node in state.nodes.values():
        if node.spec.kind is not NodeKind.HOST or node.spec.authority not in inventory.authorities:
            continue
        representative = node.spec.represents[0] if node.spec.represents else node.spec.hostname
        if representative not in inventory.hosts_by_name:
            continue
        if only is not None and only.isdisjoint(node.spec.represents or (representative,)):
            continue
        login = lab.login(node.spec.name)
        known_hosts = lab.config.known_hosts_file  # written by `ksm lab up`: checked when it has the key
        connections[representative] = Connection(
            address=login.address,
            port=login.port,
            user=login.username,
            key_file=str(login.key_file) if login.key_file else None,
            become=False,
            known_hosts=str(known_hosts),
            check_host_key=lab_host_key_known(known_hosts, login.address, login.port),
        )
    return connections


def host_scope(
    inventory: Inventory, target: Target, limit: str | None = None, only: set[str] | None = None
) -> HostScope:
    """The hosts of *inventory* (optionally only the named ones) and how to reach them."""
    if target is Target.LAB:
        connections = lab_connections(inventory, only)
        if not connections and only is not None:
            return HostScope(inventory, [], {})
        if not connections:
            wanted = " ".join(f"--authority {a}" for a in inventory.authorities)
            raise LabError(
                "the lab twin has no host of the authorities in scope", f"run `ksm lab up {wanted}`"
            )
        hosts = [inventory.hosts_by_name[name] for name in connections]
    else:
        hosts = [h for h in inventory.hosts if only is None or h.hostname in only]
        connections = {
            h.hostname: Connection(
                address=str(h.address), known_hosts=str(known_hosts_file(inventory.root, h.authority))
            )
            for h in hosts
        }
    hosts = [h for h in hosts if matches(h.hostname, limit)]
    if not hosts and only is not None:
        return HostScope(inventory, [], {})
    if not hosts:
        raise UsageError(
            f"--limit {limit!r} matches no host in scope", "see `ksm inventory list` for host names"
        )
    connections = {h.hostname: connections[h.hostname] for h in hosts}
    check_addresses((c.address for c in connections.values()), "SSH connection")
    return HostScope(inventory, hosts, connections)
