"""What a change touches, and how it is collected: host and device names, each with its reasons.

:class:`ChangeScope` is the result of ``changed_scope``; :class:`Collector` accumulates it while the
changed files are examined, expanding an authority's hosts only when a rule asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ksm_provision.inventory.hosts import Device, Host, authority_devices, authority_hosts
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import Client, ClientRange, NetworkDevice, Server
from ksm_provision.render.gateway_vars import authority_gateway_hosts

HostEntry = Client | ClientRange | Server


@dataclass(frozen=True)
class ChangeScope:
    """What a change touches: host and device names, each with the reasons it is in scope."""

    ref: str
    commit: str
    files: tuple[str, ...]
    hosts: Mapping[str, tuple[str, ...]]
    devices: Mapping[str, tuple[str, ...]]
    host_authority: Mapping[str, str]
    device_authority: Mapping[str, str]
    notes: tuple[str, ...] = ()
    everything: bool = False

    @cached_property
    def authorities(self) -> tuple[str, ...]:
        """Authorities with at least one host or device in scope, sorted."""
        return tuple(sorted({*self.host_authority.values(), *self.device_authority.values()}))

    @property
    def host_names(self) -> frozenset[str]:
        return frozenset(self.hosts)

    @property
    def device_names(self) -> frozenset[str]:
        return frozenset(self.devices)

    @property
    def empty(self) -> bool:
        return not self.hosts and not self.devices

    def summary(self, max_items: int = 20) -> list[str]:
        """Readable lines: counts, then items with their reasons (the first *max_items* of each kind)."""
        lines = [
            f"changes since {self.ref} ({self.commit[:12]}): {len(self.files)} file(s); "
            f"{len(self.hosts)} host(s), {len(self.devices)} device(s) in "
            f"{len(self.authorities)} authorit{'y' if len(self.authorities) == 1 else 'ies'}"
            + (" — toolkit code changed: everything is planned" if self.everything else "")
        ]
        for kind, items in (("host", self.hosts), ("device", self.devices)):
            for name in sorted(items)[:max_items]:
                lines.append(f"  {kind} {name}: " + "; ".join(items[name]))
            if len(items) > max_items:
                lines.append(f"  ... and {len(items) - max_items} more {kind}s")
        lines += [f"  note: {note}" for note in self.notes]
        return lines


def scope_hosts(inventory: Inventory, scope: ChangeScope) -> list[Host]:
    """The :class:`Host` records in scope (routers' Linux sides included); only the authorities in
    scope are expanded."""
    wanted = scope.hosts
    authorities = sorted({a for a in scope.host_authority.values() if a in inventory.authorities})
    return [h for a in authorities for h in _hosts_of(inventory, a) if h.hostname in wanted]


def _hosts_of(inventory: Inventory, aid: str) -> list[Host]:
    """Every Ansible host of authority *aid*: clients, servers and its routers' Linux sides."""
    return [*authority_hosts(inventory.authorities[aid]), *authority_gateway_hosts(inventory, aid)]


def scope_devices(inventory: Inventory, scope: ChangeScope) -> list[Device]:
    wanted = scope.devices
    authorities = sorted({a for a in scope.device_authority.values() if a in inventory.authorities})
    return [
        d for a in authorities for d in authority_devices(inventory.authorities[a]) if d.hostname in wanted
    ]


def whole_scope(inventory: Inventory, reason: str = "planned in full") -> ChangeScope:
    """Every host and device of *inventory*: the scope of a plan without ``--changed-since``."""
    collector = Collector(inventory)
    collector.add_hosts(reason)
    collector.add_devices(reason)
    return collector.scope("", "", [])


class Collector:
    """Accumulates host and device names with reasons; expands an authority's hosts only when asked."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.hosts: dict[str, list[str]] = {}
        self.devices: dict[str, list[str]] = {}
        self.host_authority: dict[str, str] = {}
        self.device_authority: dict[str, str] = {}
        self.notes: list[str] = []
        self.ignored: list[str] = []
        self.everything = False
        self._expanded: dict[str, list[Host]] = {}

    def authority_ids(self, authorities: Iterable[str] | None) -> list[str]:
        known = self.inventory.authorities
        return list(known) if authorities is None else [a for a in authorities if a in known]

    def expanded(self, aid: str) -> list[Host]:
        if aid not in self._expanded:
            self._expanded[aid] = _hosts_of(self.inventory, aid)
        return self._expanded[aid]

    def add_host(self, name: str, aid: str, reason: str) -> None:
        reasons = self.hosts.setdefault(name, [])
        if reason not in reasons:
            reasons.append(reason)
        self.host_authority[name] = aid

    def add_device(self, name: str, aid: str, reason: str) -> None:
        reasons = self.devices.setdefault(name, [])
        if reason not in reasons:
            reasons.append(reason)
        self.device_authority[name] = aid

    def add_hosts(
        self,
        reason: str,
        where: Callable[[Host], bool] | None = None,
        authorities: Iterable[str] | None = None,
    ) -> None:
        for aid in self.authority_ids(authorities):
            for host in self.expanded(aid):
                if where is None or where(host):
                    self.add_host(host.hostname, aid, reason)

    def add_entry_hosts(
        self, aid: str, entry: HostEntry, reason: str, indexes: Iterable[int] | None = None
    ) -> None:
        """The hosts of one entry, computed from the entry alone (a range is not expanded elsewhere)."""
        if isinstance(entry, ClientRange):
            for i in range(entry.count) if indexes is None else indexes:
                self.add_host(entry.hostname_pattern.format(index=entry.start + i), aid, reason)
        else:
            self.add_host(entry.hostname, aid, reason)

    def add_gateways(self, reason: str, authorities: Iterable[str] | None = None) -> None:
        """The Linux sides of the routers of *authorities* (default: all): their packet filter and DHCP
        relay are computed from the authority's networks, servers, routers and the provider's plan."""
        for aid in self.authority_ids(authorities):
            for host in authority_gateway_hosts(self.inventory, aid):
                self.add_host(host.hostname, aid, reason)

    def add_devices(
        self,
        reason: str,
        where: Callable[[NetworkDevice], bool] | None = None,
        authorities: Iterable[str] | None = None,
    ) -> None:
        for aid in self.authority_ids(authorities):
            for device in self.inventory.authorities[aid].network_devices:
                if where is None or where(device):
                    self.add_device(device.hostname, aid, reason)

    def add_everything(self, reason: str, authorities: Iterable[str] | None = None) -> None:
        self.add_hosts(reason, authorities=authorities)
        self.add_devices(reason, authorities=authorities)

    def ignored_note(self) -> list[str]:
        """One note for the changed files that no host or device depends on (docs, tests, CI...)."""
        if not self.ignored:
            return []
        if len(self.ignored) == 1:
            return [f"{self.ignored[0]}: not an input of any host or device"]
        shown = ", ".join(self.ignored[:5]) + (
            f" and {len(self.ignored) - 5} more" if len(self.ignored) > 5 else ""
        )
        return [f"{len(self.ignored)} files are not inputs of any host or device: {shown}"]

    def scope(self, ref: str, commit: str, files: list[str]) -> ChangeScope:
        return ChangeScope(
            ref=ref,
            commit=commit,
            files=tuple(files),
            hosts={n: tuple(r) for n, r in self.hosts.items()},
            devices={n: tuple(r) for n, r in self.devices.items()},
            host_authority=self.host_authority,
            device_authority=self.device_authority,
            notes=tuple(dict.fromkeys([*self.notes, *self.ignored_note()])),
            everything=self.everything,
        )


def attr_is(name: str, value: object) -> Callable[[Any], bool]:
    """A test that a host's or device's attribute *name* equals *value*."""
    return lambda item: bool(getattr(item, name) == value)


def attr_in(name: str, values: set[str]) -> Callable[[Any], bool]:
    return lambda item: getattr(item, name) in values


def iter_reasons(scope: ChangeScope) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """``(kind, name, reasons)`` for every item, hosts first, each kind sorted by name."""
    for name in sorted(scope.hosts):
        yield "host", name, scope.hosts[name]
    for name in sorted(scope.devices):
        yield "device", name, scope.devices[name]
