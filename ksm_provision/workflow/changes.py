"""Which authorities, hosts and devices a change since a git revision touches.

``ksm plan --changed-since REF`` plans only these. The old (``git show REF:path``) and new versions
of every changed inventory file are parsed and compared entry by entry (clients and servers by
hostname, ranges by name, sites and networks by id, ...), so a one-line change to one client plans
one host whatever the size of the estate. Inherited settings widen the scope to whoever inherits
them; roles, playbooks and device templates to the hosts and devices they apply to; a change to the
toolkit's code to everything. Every item carries the reasons it is in scope, ``FILE:LINE`` first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ValidationError

from ksm_provision.errors import InventoryError, UsageError
from ksm_provision.inventory.hosts import Device, Host, HostKind, authority_devices, authority_hosts
from ksm_provision.inventory.inventory import PROVIDER_FILE, Inventory
from ksm_provision.inventory.loader import load_yaml_text
from ksm_provision.inventory.models import (
    Client,
    ClientProfile,
    ClientRange,
    DeviceRole,
    Network,
    NetworkDevice,
    Server,
    SharedService,
    SharedSite,
    Site,
)
from ksm_provision.inventory.source import SourceMap
from ksm_provision.render.ansible_vars import host_groups
from ksm_provision.resources import playbook, project_dir, roles_dir
from ksm_provision.workflow.gitrepo import changed_files, repo_top, resolve_commit, text_at
from ksm_provision.workflow.role_targets import pattern_terms, role_patterns

HostEntry = Client | ClientRange | Server

#: Fields of a host entry that end up in a DHCP server's reservations.
RESERVATION_FIELDS = frozenset(
    {"hostname", "address", "mac", "network", "hostname_pattern", "count", "start", "first_address"}
)
#: Groups the playbooks form at run time (``group_by``), as a test on a host's static groups.
DYNAMIC_GROUPS: dict[str, Callable[[list[str]], bool]] = {
    "ksm_fachverfahren": lambda groups: any(g.startswith("service_") for g in groups),
}
_STATIC_GROUP_PREFIXES = ("authority_", "site_", "os_", "role_", "profile_", "service_")
_LABELS = {
    "clients": "client",
    "client_ranges": "client range",
    "servers": "server",
    "network_devices": "device",
    "sites": "site",
    "networks": "network",
    "client_profiles": "client profile",
    "shared_services": "shared service",
    "shared_sites": "shared site",
    "authorities": "address block",
}


# --------------------------------------------------------------------------- the result


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
    """The :class:`Host` records in scope; only the authorities in scope are expanded."""
    wanted = scope.hosts
    authorities = sorted({a for a in scope.host_authority.values() if a in inventory.authorities})
    return [h for a in authorities for h in authority_hosts(inventory.authorities[a]) if h.hostname in wanted]


def scope_devices(inventory: Inventory, scope: ChangeScope) -> list[Device]:
    wanted = scope.devices
    authorities = sorted({a for a in scope.device_authority.values() if a in inventory.authorities})
    return [
        d for a in authorities for d in authority_devices(inventory.authorities[a]) if d.hostname in wanted
    ]


def whole_scope(inventory: Inventory, reason: str = "planned in full") -> ChangeScope:
    """Every host and device of *inventory*: the scope of a plan without ``--changed-since``."""
    collector = _Collector(inventory)
    collector.add_hosts(reason)
    collector.add_devices(reason)
    return collector.scope("", "", [])


# --------------------------------------------------------------------------- collecting items


class _Collector:
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
            self._expanded[aid] = authority_hosts(self.inventory.authorities[aid])
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


# --------------------------------------------------------------------------- comparing versions


@dataclass(frozen=True)
class _Version:
    """One version of one YAML file: its data and lines; ``broken`` when it could not be parsed."""

    shown: str
    data: dict[str, Any] = field(default_factory=dict)
    source: SourceMap = field(default_factory=lambda: SourceMap(""))
    broken: bool = False

    def at(self, *loc: str | int) -> str:
        return f"{self.shown}:{self.source.line_of(loc)}"


def _parse(text: str, shown: str) -> _Version:
    try:
        document = load_yaml_text(text, shown)
    except InventoryError:
        return _Version(shown, broken=True)
    data = document.data if isinstance(document.data, dict) else {}
    return _Version(shown, data, document.source, broken=not isinstance(document.data, dict))


@dataclass(frozen=True)
class _EntryDiff:
    """One entry of a keyed list (or mapping) that differs between the two versions."""

    key: str
    old: Any
    new: Any
    old_index: int | str | None
    new_index: int | str | None

    @property
    def fields(self) -> tuple[str, ...]:
        if not isinstance(self.old, dict) or not isinstance(self.new, dict):
            return ()
        return tuple(sorted(k for k in {*self.old, *self.new} if self.old.get(k) != self.new.get(k)))

    def value(self, name: str, old: bool = False) -> Any:
        entry = self.old if old else self.new
        return entry.get(name) if isinstance(entry, dict) else None


def _keyed(items: Any, key: str | None) -> dict[str, tuple[int | str, Any]]:
    """List entries by their identifying field (mappings by their key); first one wins."""
    if key is None:
        return {str(k): (str(k), v) for k, v in items.items()} if isinstance(items, dict) else {}
    result: dict[str, tuple[int | str, Any]] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        name = item.get(key) if isinstance(item, dict) else None
        result.setdefault(str(name) if name is not None else f"#{index}", (index, item))
    return result


def _same(old: Any, new: Any, model: type[BaseModel] | None) -> bool:
    """Equal raw values, or values the model reads as equal (``vlan: 110`` vs ``vlan: "110"``)."""
    if old == new:
        return True
    if model is None or not isinstance(old, dict) or not isinstance(new, dict):
        return False
    try:
        return model.model_validate(old) == model.model_validate(new)
    except ValidationError:
        return False


def diff_entries(
    old: Any, new: Any, key: str | None, model: type[BaseModel] | None = None
) -> list[_EntryDiff]:
    """Entries added, removed or changed between two versions of a keyed list or mapping."""
    before, after = _keyed(old, key), _keyed(new, key)
    diffs = []
    for name in sorted({*before, *after}):
        old_index, old_item = before.get(name, (None, None))
        new_index, new_item = after.get(name, (None, None))
        if not _same(old_item, new_item, model):
            diffs.append(_EntryDiff(name, old_item, new_item, old_index, new_index))
    return diffs


def _entry_at(old: _Version, new: _Version, d: _EntryDiff, *prefix: str | int) -> str:
    """``FILE:LINE`` of the entry: in the new version, or in the old one when it was removed."""
    if d.new is not None:
        return new.at(*prefix, d.new_index if d.new_index is not None else 0)
    return old.at(*prefix, d.old_index if d.old_index is not None else 0)


def _what(diff: _EntryDiff) -> str:
    if diff.old is None:
        return "added"
    fields = diff.fields
    return f"changed ({', '.join(fields)})" if fields else "changed"


# --------------------------------------------------------------------------- authority files


_HOST_SECTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    "clients": ("hostname", Client),
    "servers": ("hostname", Server),
    "client_ranges": ("name", ClientRange),
}


def _attr_is(name: str, value: object) -> Callable[[Any], bool]:
    """A test that a host's or device's attribute *name* equals *value*."""
    return lambda item: bool(getattr(item, name) == value)


def _attr_in(name: str, values: set[str]) -> Callable[[Any], bool]:
    return lambda item: getattr(item, name) in values


def _uses_network(network: str) -> Callable[[NetworkDevice], bool]:
    return lambda device: network in _device_networks(device)


def _peers_of(name: str) -> Callable[[NetworkDevice], bool]:
    return lambda device: device.hostname != name and any(u.peer == name for u in device.uplinks)


def _device_networks(device: NetworkDevice) -> set[str]:
    networks = {device.management.network}
    for interface in device.interfaces:
        networks.update(interface.networks)
        if interface.network:
            networks.add(interface.network)
    return networks


def changed_sections(old: _Version, new: _Version, notes: list[str]) -> list[str]:
    """Top-level keys of a file whose content differs; a note when only formatting changed."""
    changed = [k for k in sorted({*old.data, *new.data}) if old.data.get(k) != new.data.get(k)]
    if not changed:
        notes.append(f"{new.shown}: only comments or formatting changed — nothing to plan")
    return changed


class _AuthorityDiff:
    """Turns the differences of one authority file into hosts and devices."""

    def __init__(self, collector: _Collector, aid: str, old: _Version, new: _Version) -> None:
        self.c = collector
        self.aid = aid
        self.old = old
        self.new = new
        self.model = collector.inventory.authorities[aid]

    def run(self) -> None:
        if self.old.broken:
            self.c.add_everything(
                f"{self.new.shown}: the version at the base revision could not be read — "
                f"planning all of {self.aid}",
                [self.aid],
            )
            return
        changed = changed_sections(self.old, self.new, self.c.notes)
        for section in changed:
            handler = getattr(self, f"_section_{section}", None)
            if handler is not None:
                handler(section)
            else:
                self._whole(section)

    def _whole(self, section: str) -> None:
        self.c.add_everything(
            f"{self.new.at(section)}: `{section}` of {self.aid} changed — "
            f"every host and device of {self.aid}",
            [self.aid],
        )

    _section_authority = _whole
    _section_vault = _whole

    def _section_settings(self, section: str) -> None:
        self.c.add_hosts(
            f"{self.new.at(section)}: settings of {self.aid} changed — inherited by its hosts",
            authorities=[self.aid],
        )

    def _section_network_settings(self, section: str) -> None:
        self.c.add_devices(
            f"{self.new.at(section)}: network settings of {self.aid} changed — all its devices",
            authorities=[self.aid],
        )

    def _section_consumes(self, section: str) -> None:
        self.c.add_hosts(
            f"{self.new.at(section)}: shared services used by {self.aid} changed — its clients",
            lambda h: h.kind is HostKind.CLIENT,
            [self.aid],
        )

    def _section_sites(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", Site):
            where = _entry_at(self.old, self.new, d, section)
            if d.new is None:
                self.c.notes.append(f"{where}: site {d.key} removed")
                continue
            reason = f"{where}: site {d.key} {_what(d)}"
            self.c.add_hosts(reason, _attr_is("site", d.key), [self.aid])
            if not set(d.fields) <= {"settings", "printers"}:
                self.c.add_devices(reason, _attr_is("site", d.key), [self.aid])

    def _section_networks(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", Network):
            where = _entry_at(self.old, self.new, d, section)
            if d.new is None:
                self.c.notes.append(f"{where}: network {d.key} removed")
            reason = f"{where}: network {d.key} {_what(d)}"
            self.c.add_hosts(reason, _attr_is("network", d.key), [self.aid])
            self.c.add_devices(reason, _uses_network(d.key), [self.aid])
            self._dhcp_servers({d.key}, reason)

    def _dhcp_servers(self, networks: set[str], reason: str) -> None:
        def serves(host: Host) -> bool:
            config = getattr(host.entry, "dhcp", None)
            return (
                isinstance(host.entry, Server) and config is not None and bool(networks & set(config.serves))
            )

        if any(s.dhcp and networks & set(s.dhcp.serves) for s in self.model.servers):
            self.c.add_hosts(f"{reason} — DHCP server of {', '.join(sorted(networks))}", serves, [self.aid])

    def _section_clients(self, section: str) -> None:
        self._host_section(section)

    _section_servers = _section_clients
    _section_client_ranges = _section_clients

    def _host_section(self, section: str) -> None:
        key, model = _HOST_SECTIONS[section]
        entries: list[HostEntry] = getattr(self.model, section)
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), key, model):
            label = _LABELS[section]
            where = _entry_at(self.old, self.new, d, section)
            if d.new is None:
                self.c.notes.append(
                    f"{where}: {label} {d.key} removed — nothing to plan for it (ksm does not deprovision)"
                )
            else:
                entry = _find(entries, d.new_index, key, d.key)
                if entry is not None:
                    self._entry_hosts(entry, d, f"{where}: {label} {d.key}")
            if self._touches_reservations(d):
                networks = {
                    n for n in (d.value("network"), d.value("network", old=True)) if isinstance(n, str)
                }
                what = _what(d) if d.new is not None else "removed"
                self._dhcp_servers(networks, f"{where}: {label} {d.key} {what}")

    def _entry_hosts(self, entry: HostEntry, d: _EntryDiff, where: str) -> None:
        old_count, new_count = d.value("count", old=True), d.value("count")
        if (
            isinstance(entry, ClientRange)
            and d.fields == ("count",)
            and isinstance(old_count, int)
            and isinstance(new_count, int)
        ):
            if new_count > old_count:
                reason = f"{where} grew from {old_count} to {new_count} hosts"
                self.c.add_entry_hosts(self.aid, entry, reason, range(old_count, new_count))
            else:
                self.c.notes.append(
                    f"{where} shrank from {old_count} to {new_count} hosts — "
                    "nothing to plan for the removed ones (ksm does not deprovision)"
                )
            return
        self.c.add_entry_hosts(self.aid, entry, f"{where} {_what(d)}")

    @staticmethod
    def _touches_reservations(d: _EntryDiff) -> bool:
        has_mac = any(isinstance(v, dict) and ("mac" in v or "hostname_pattern" in v) for v in (d.old, d.new))
        if not has_mac:
            return False
        return d.old is None or d.new is None or bool(RESERVATION_FIELDS & set(d.fields))

    def _section_network_devices(self, section: str) -> None:
        devices = self.model.network_devices
        for d in diff_entries(
            self.old.data.get(section), self.new.data.get(section), "hostname", NetworkDevice
        ):
            where = _entry_at(self.old, self.new, d, section)
            if d.new is None:
                self.c.notes.append(f"{where}: device {d.key} removed — nothing to plan for it")
            reason = f"{where}: device {d.key} {_what(d) if d.new is not None else 'removed'}"
            device = _find(devices, d.new_index, "hostname", d.key)
            if device is not None:
                self.c.add_device(device.hostname, self.aid, reason)
            self.c.add_devices(f"{reason} — an uplink peer", _peers_of(d.key), [self.aid])


def _find(entries: list[Any], index: int | str | None, key: str, name: str) -> Any:
    """The model entry at *index* if it is the one called *name*, else the first one so called."""
    if isinstance(index, int) and index < len(entries) and str(getattr(entries[index], key)) == name:
        return entries[index]
    return next((e for e in entries if str(getattr(e, key)) == name), None)


# --------------------------------------------------------------------------- the provider file


class _ProviderDiff:
    """Turns the differences of ksm.yml into hosts and devices of every authority concerned."""

    def __init__(self, collector: _Collector, old: _Version, new: _Version) -> None:
        self.c = collector
        self.old = old
        self.new = new

    def run(self) -> None:
        if self.old.broken:
            self.c.add_everything(
                f"{self.new.shown}: the version at the base revision could not be read — planning everything"
            )
            return
        changed = changed_sections(self.old, self.new, self.c.notes)
        for section in changed:
            handler = getattr(self, f"_section_{section}", None)
            if handler is not None:
                handler(section)
            else:
                self.c.add_everything(
                    f"{self.new.at(section)}: provider `{section}` changed — every host and device"
                )

    def _section_defaults(self, section: str) -> None:
        old, new = self.old.data.get(section), self.new.data.get(section)
        fields = (
            sorted(k for k in {*(old or {}), *(new or {})} if (old or {}).get(k) != (new or {}).get(k))
            if isinstance(old, dict) and isinstance(new, dict)
            else []
        )
        what = f" ({', '.join(fields)})" if fields else ""
        self.c.add_hosts(f"{self.new.at(section)}: provider defaults changed{what} — inherited by every host")

    def _section_platforms(self, section: str) -> None:
        self.c.add_devices(f"{self.new.at(section)}: supported platforms changed — every device")

    def _section_client_profiles(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), None, ClientProfile):
            where = _entry_at(self.old, self.new, d, section)
            reason = f"{where}: client profile {d.key} {_what(d)}"
            if d.new is None:
                self.c.notes.append(f"{where}: client profile {d.key} removed")
            self.c.add_hosts(reason, _attr_is("profile", d.key))

    def _section_shared_services(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", SharedService):
            where = _entry_at(self.old, self.new, d, section)
            reason = f"{where}: shared service {d.key} {_what(d) if d.new is not None else 'removed'}"
            hosting = {_get(v, "hosted_by", "host") for v in (d.old, d.new)} - {None}
            self.c.add_hosts(f"{reason} — hosts it", _attr_in("hostname", hosting))
            old_consumers = set(_get(d.old, "consumers") or [])
            new_consumers = set(_get(d.new, "consumers") or [])
            if d.fields == ("consumers",):
                users = old_consumers ^ new_consumers
            else:
                users = (
                    old_consumers
                    | new_consumers
                    | {a for a, model in self.c.inventory.authorities.items() if d.key in model.consumes}
                )
            self.c.add_hosts(f"{reason} — uses it", lambda h: h.kind is HostKind.CLIENT, sorted(users))

    def _section_shared_sites(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", SharedSite):
            where = _entry_at(self.old, self.new, d, section)
            reason = f"{where}: shared site {d.key} {_what(d) if d.new is not None else 'removed'}"
            for aid, model in self.c.inventory.authorities.items():
                sites = {s.id for s in model.sites if s.shared_site == d.key}
                if sites:
                    self.c.add_hosts(reason, _attr_in("site", sites), [aid])
                    self.c.add_devices(reason, _attr_in("site", sites), [aid])

    def _section_address_plan(self, section: str) -> None:
        old, new = self.old.data.get(section), self.new.data.get(section)
        old, new = (old if isinstance(old, dict) else {}), (new if isinstance(new, dict) else {})
        others = sorted(k for k in {*old, *new} if k != "authorities" and old.get(k) != new.get(k))
        if others:
            self.c.add_devices(
                f"{self.new.at(section)}: address plan changed ({', '.join(others)}) — every device"
            )
        for d in diff_entries(old.get("authorities"), new.get("authorities"), "authority"):
            where = _entry_at(self.old, self.new, d, section, "authorities")
            self.c.add_devices(
                f"{where}: address block of {d.key} {_what(d)} — its devices", authorities=[d.key]
            )


def _get(value: Any, *path: str) -> Any:
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


# --------------------------------------------------------------------------- toolkit files


@dataclass(frozen=True)
class RepoLayout:
    """Where, relative to the git work tree's top, the inventory and the toolkit's content live."""

    inventory: PurePosixPath
    project: PurePosixPath | None

    @staticmethod
    def of(inventory: Inventory, top: Path) -> RepoLayout:
        try:
            inv = PurePosixPath(inventory.root.resolve().relative_to(top).as_posix())
        except ValueError:
            raise UsageError(
                f"the inventory '{inventory.root}' is not inside the git repository '{top}'",
                "run ksm from the repository that holds the inventory, or pass --inventory inside it",
            ) from None
        try:
            project: PurePosixPath | None = PurePosixPath(project_dir().resolve().relative_to(top).as_posix())
        except ValueError:
            project = None  # an installed toolkit: its roles and code do not change with this repository
        return RepoLayout(inv, project)

    def toolkit_part(self, path: PurePosixPath) -> PurePosixPath | None:
        if self.project is None:
            return None
        try:
            return path.relative_to(self.project)
        except ValueError:
            return None

    def inventory_part(self, path: PurePosixPath) -> PurePosixPath | None:
        try:
            return path.relative_to(self.inventory)
        except ValueError:
            return None


class _FileRouter:
    """Sends each changed file to the rule that knows what depends on it."""

    def __init__(self, collector: _Collector, layout: RepoLayout, top: Path, commit: str) -> None:
        self.c = collector
        self.layout = layout
        self.top = top
        self.commit = commit

    @cached_property
    def roles(self) -> dict[str, set[str]]:
        return role_patterns(playbook(), roles_dir())

    @cached_property
    def vault_files(self) -> dict[PurePosixPath, str]:
        return {PurePosixPath(a.vault.file): aid for aid, a in self.c.inventory.authorities.items()}

    def route(self, name: str) -> None:
        path = PurePosixPath(name)
        inv = self.layout.inventory_part(path)
        if inv is not None and self._inventory_file(name, inv):
            return
        part = self.layout.toolkit_part(path)
        if part is None or not part.parts:
            self.c.ignored.append(name)
        elif part.parts[0] == "ksm_provision" or part.as_posix() == "pyproject.toml":
            self.c.everything = True
            self.c.add_everything(f"{name}: toolkit code changed — everything is planned")
        elif part.parts[0] == "roles" and len(part.parts) > 2:
            self._role(name, part.parts[1])
        elif part.parts[0] == "playbooks" or part.as_posix() == "ansible.cfg":
            self.c.add_hosts(f"{name} changed — every host runs the playbooks")
        elif part.parts[0] == "templates" and len(part.parts) > 1:
            self._template(name, part)
        else:
            self.c.ignored.append(name)

    def _inventory_file(self, name: str, inv: PurePosixPath) -> bool:
        if len(inv.parts) == 1 and inv.suffix == ".yml":
            if inv.name == PROVIDER_FILE:
                old, new = self._versions(name)
                if new is None:
                    raise UsageError(
                        f"{name} is missing", "restore the provider file; every inventory needs it"
                    )
                if old is None:
                    self.c.add_everything(f"{name}: new provider file — everything is planned")
                else:
                    _ProviderDiff(self.c, old, new).run()
                return True
            return self._authority_file(name, inv.stem)
        aid = self.vault_files.get(inv)
        if aid is not None:
            self.c.add_everything(f"{name}: vault of {aid} changed — every host and device of {aid}", [aid])
            return True
        return False

    def _authority_file(self, name: str, aid: str) -> bool:
        if aid not in self.c.inventory.authorities:
            state = "removed" if not (self.top / name).exists() else "outside the selected authorities"
            self.c.notes.append(f"{name}: authority {aid} is {state} — nothing to plan")
            return True
        old, new = self._versions(name)
        if new is None:  # pragma: no cover - the inventory was loaded from this very file
            return True
        if old is None:
            self.c.add_everything(f"{name}: new authority {aid} — every host and device", [aid])
        else:
            _AuthorityDiff(self.c, aid, old, new).run()
        return True

    def _versions(self, name: str) -> tuple[_Version | None, _Version | None]:
        before = text_at(self.top, self.commit, name)
        path = self.top / name
        after = path.read_text(encoding="utf-8") if path.exists() else None
        return (None if before is None else _parse(before, name)), (
            None if after is None else _parse(after, name)
        )

    def _role(self, name: str, role: str) -> None:
        patterns = self.roles.get(role)
        if not patterns:
            self.c.notes.append(f"{name}: role {role} is not run by {playbook().name} — nothing to plan")
            return
        for pattern in sorted(patterns):
            reason = f"{name} changed — role {role} runs on hosts: {pattern}"
            terms = pattern_terms(pattern)
            if any(t in ("all", "*") for t in terms):
                self.c.add_hosts(reason)
            else:
                self.c.add_hosts(reason, self._pattern_test(terms, name))

    def _pattern_test(self, terms: list[str], name: str) -> Callable[[Host], bool]:
        inventory = self.c.inventory
        unknown = [t for t in terms if not _known_term(t) and t not in inventory.hosts_by_name]
        if unknown:
            self.c.notes.append(
                f"{name}: host pattern term(s) {', '.join(unknown)} unknown to ksm — "
                "planning every host to be safe"
            )
            return lambda _host: True
        wanted = set(terms)

        def test(host: Host) -> bool:
            if host.hostname in wanted:
                return True
            groups = host_groups(inventory, host)
            if not wanted.isdisjoint(groups):
                return True
            return any(DYNAMIC_GROUPS[t](groups) for t in wanted if t in DYNAMIC_GROUPS)

        return test

    def _template(self, name: str, part: PurePosixPath) -> None:
        if len(part.parts) < 3:
            self.c.add_devices(f"{name} changed — shared by the templates of every platform")
            return
        platform, stem = part.parts[1], PurePosixPath(part.parts[-1]).stem
        roles = {r.value for r in DeviceRole}
        if len(part.parts) == 3 and part.suffix == ".j2" and stem in roles:
            self.c.add_devices(
                f"{name} changed — template of {platform} {stem}s",
                lambda d: d.platform.value == platform and d.role.value == stem,
            )
        else:
            self.c.add_devices(
                f"{name} changed — used by the {platform} templates", lambda d: d.platform.value == platform
            )


def _known_term(term: str) -> bool:
    return (
        term in ("all", "*", "clients", "servers")
        or term in DYNAMIC_GROUPS
        or term.startswith(_STATIC_GROUP_PREFIXES)
    )


# --------------------------------------------------------------------------- entry point


def changed_scope(inventory: Inventory, ref: str, repo: Path) -> ChangeScope:
    """Hosts and devices of *inventory* whose inputs changed between git revision *ref* and the work tree.

    *repo* is any directory inside the git work tree. Raises :class:`UsageError` for an unknown
    revision or an inventory outside the repository.
    """
    top = repo_top(repo)
    commit = resolve_commit(top, ref)
    files = changed_files(top, commit)
    collector = _Collector(inventory)
    router = _FileRouter(collector, RepoLayout.of(inventory, top), top, commit)
    for name in files:
        router.route(name)
    return collector.scope(ref, commit, files)


def iter_reasons(scope: ChangeScope) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """``(kind, name, reasons)`` for every item, hosts first, each kind sorted by name."""
    for name in sorted(scope.hosts):
        yield "host", name, scope.hosts[name]
    for name in sorted(scope.devices):
        yield "device", name, scope.devices[name]
