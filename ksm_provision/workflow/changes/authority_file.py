"""The hosts and devices a change to one authority file touches, section by section.

Changed clients and servers plan themselves, a grown range only its new hosts, a changed site or
network everything on it (and the DHCP servers that serve it), a changed device its uplink peers too.
The Linux side of every router of the authority (packet filter, DHCP relay) follows its networks,
servers, routers, settings and the shared services it uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ksm_provision.inventory.hosts import Host, HostKind
from ksm_provision.inventory.models import Client, ClientRange, Network, NetworkDevice, Server, Site
from ksm_provision.workflow.changes.scope import Collector, HostEntry, attr_is
from ksm_provision.workflow.changes.versions import (
    EntryDiff,
    FileVersion,
    changed_sections,
    diff_entries,
    entry_at,
    what_changed,
)

#: Fields of a host entry that end up in a DHCP server's reservations.
RESERVATION_FIELDS = frozenset(
    {"hostname", "address", "mac", "network", "hostname_pattern", "count", "start", "first_address"}
)
#: Fields of a server that the routers' packet filters and DHCP relays are computed from.
GATEWAY_SERVER_FIELDS = frozenset({"hostname", "address", "network", "site", "roles", "dhcp"})
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


_HOST_SECTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    "clients": ("hostname", Client),
    "servers": ("hostname", Server),
    "client_ranges": ("name", ClientRange),
}


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


class AuthorityFileChanges:
    """Turns the differences of one authority file into hosts and devices."""

    def __init__(self, collector: Collector, aid: str, old: FileVersion, new: FileVersion) -> None:
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
        reason = f"{self.new.at(section)}: shared services used by {self.aid} changed"
        self.c.add_hosts(f"{reason} — its clients", lambda h: h.kind is HostKind.CLIENT, [self.aid])
        # the routers of the using and of the hosting authorities filter the clients' traffic to it
        hosting = {s.hosted_by.authority for s in self.c.inventory.provider.shared_services}
        self._gateways(reason, sorted({self.aid, *hosting}))

    def _section_sites(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", Site):
            where = entry_at(self.old, self.new, d, section)
            if d.new is None:
                self.c.notes.append(f"{where}: site {d.key} removed")
                continue
            reason = f"{where}: site {d.key} {what_changed(d)}"
            self.c.add_hosts(reason, attr_is("site", d.key), [self.aid])
            if not set(d.fields) <= {"settings", "printers"}:
                self.c.add_devices(reason, attr_is("site", d.key), [self.aid])

    def _section_networks(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", Network):
            where = entry_at(self.old, self.new, d, section)
            if d.new is None:
                self.c.notes.append(f"{where}: network {d.key} removed")
            reason = f"{where}: network {d.key} {what_changed(d)}"
            self.c.add_hosts(reason, attr_is("network", d.key), [self.aid])
            self.c.add_devices(reason, _uses_network(d.key), [self.aid])
            self._dhcp_servers({d.key}, reason)
            self._gateways(reason)

    def _gateways(self, reason: str, authorities: list[str] | None = None) -> None:
        self.c.add_gateways(
            f"{reason} — packet filter and DHCP relay of the routers", authorities or [self.aid]
        )

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

    def _section_servers(self, section: str) -> None:
        self._host_section(section)
        # servers are what the routers let clients reach (file, DHCP, log, Fachverfahren servers);
        # a server hosting a shared Fachverfahren is also in the filters of its consumers' routers
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "hostname", Server):
            if d.old is None or d.new is None or GATEWAY_SERVER_FIELDS & set(d.fields):
                what = what_changed(d) if d.new is not None else "removed"
                reason = f"{entry_at(self.old, self.new, d, section)}: server {d.key} {what}"
                self._gateways(reason, sorted({self.aid, *self._consumers_of_services_on(d.key)}))

    def _consumers_of_services_on(self, hostname: str) -> set[str]:
        return {
            consumer
            for service in self.c.inventory.provider.shared_services
            if service.hosted_by.authority == self.aid and service.hosted_by.host == hostname
            for consumer in service.consumers
        }

    _section_client_ranges = _section_clients

    def _host_section(self, section: str) -> None:
        key, model = _HOST_SECTIONS[section]
        entries: list[HostEntry] = getattr(self.model, section)
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), key, model):
            label = _LABELS[section]
            where = entry_at(self.old, self.new, d, section)
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
                what = what_changed(d) if d.new is not None else "removed"
                self._dhcp_servers(networks, f"{where}: {label} {d.key} {what}")

    def _entry_hosts(self, entry: HostEntry, d: EntryDiff, where: str) -> None:
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
        self.c.add_entry_hosts(self.aid, entry, f"{where} {what_changed(d)}")

    @staticmethod
    def _touches_reservations(d: EntryDiff) -> bool:
        has_mac = any(isinstance(v, dict) and ("mac" in v or "hostname_pattern" in v) for v in (d.old, d.new))
        if not has_mac:
            return False
        return d.old is None or d.new is None or bool(RESERVATION_FIELDS & set(d.fields))

    def _section_network_devices(self, section: str) -> None:
        devices = self.model.network_devices
        for d in diff_entries(
            self.old.data.get(section), self.new.data.get(section), "hostname", NetworkDevice
        ):
            where = entry_at(self.old, self.new, d, section)
            if d.new is None:
                self.c.notes.append(f"{where}: device {d.key} removed — nothing to plan for it")
            reason = f"{where}: device {d.key} {what_changed(d) if d.new is not None else 'removed'}"
            device = _find(devices, d.new_index, "hostname", d.key)
            if device is not None:
                self.c.add_device(device.hostname, self.aid, reason)
            self.c.add_devices(f"{reason} — an uplink peer", _peers_of(d.key), [self.aid])
            if _is_router(d.old) or _is_router(d.new):
                self._gateways(reason)


def _is_router(entry: Any) -> bool:
    """An FRR router's entry (as parsed from either version of the file)."""
    return isinstance(entry, dict) and entry.get("platform") == "frr" and entry.get("role") == "router"


def _find(entries: list[Any], index: int | str | None, key: str, name: str) -> Any:
    """The model entry at *index* if it is the one called *name*, else the first one so called."""
    if isinstance(index, int) and index < len(entries) and str(getattr(entries[index], key)) == name:
        return entries[index]
    return next((e for e in entries if str(getattr(e, key)) == name), None)
