"""Which hosts a run touches and how to reach them, through the run's target (production or lab).

The Ansible inventory of a run holds only the hosts of the authorities in scope, so an apply
scoped to one authority cannot reach another's hosts; every address passes the lab-only guard
(in the target resolver) before Ansible starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ksm_provision.errors import LabError, UsageError
from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.select import matches
from ksm_provision.render.gateway_vars import gateway_hosts
from ksm_provision.targets import Connection, Target, TargetResolver


@dataclass(frozen=True)
class HostScope:
    inventory: Inventory
    hosts: list[Host]
    connections: dict[str, Connection]

    @property
    def authority_of(self) -> dict[str, str]:
        return {h.hostname: h.authority for h in self.hosts}


def host_scope(
    inventory: Inventory, targets: TargetResolver, limit: str | None = None, only: set[str] | None = None
) -> HostScope:
    """The hosts of *inventory* (optionally only the named ones) and how *targets* reaches them."""
    connections = targets.hosts(inventory, only)
    if not connections and only is not None:
        return HostScope(inventory, [], {})
    if not connections and targets.target is Target.LAB:
        wanted = " ".join(f"--authority {a}" for a in inventory.authorities)
        raise LabError("the lab twin has no host of the authorities in scope", f"run `ksm lab up {wanted}`")
    # clients, servers and the Linux side of every FRR router (group `gateways`)
    by_name = {**inventory.hosts_by_name, **{g.hostname: g for g in gateway_hosts(inventory)}}
    hosts = [by_name[name] for name in connections]
    hosts = [h for h in hosts if matches(h.hostname, limit)]
    if not hosts and only is not None:
        return HostScope(inventory, [], {})
    if not hosts:
        raise UsageError(
            f"--limit {limit!r} matches no host in scope", "see `ksm inventory list` for host names"
        )
    return HostScope(inventory, hosts, {h.hostname: connections[h.hostname] for h in hosts})
