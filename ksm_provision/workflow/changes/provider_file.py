"""The hosts and devices a change to the provider file ``ksm.yml`` touches, in every authority concerned.

Defaults reach every host, a client profile its clients, a shared service the hosts that run it and
the clients of the authorities that use it, the address plan the devices of the blocks it changes.
Shared services and the address plan also reach the Linux side of the routers concerned (their
packet filters name the services' hosts and the provider's networks).
"""

from __future__ import annotations

from typing import Any

from ksm_provision.inventory.hosts import HostKind
from ksm_provision.inventory.models import ClientProfile, SharedService, SharedSite
from ksm_provision.workflow.changes.scope import Collector, attr_in, attr_is
from ksm_provision.workflow.changes.versions import (
    FileVersion,
    changed_sections,
    diff_entries,
    entry_at,
    what_changed,
)


class ProviderFileChanges:
    """Turns the differences of ksm.yml into hosts and devices of every authority concerned."""

    def __init__(self, collector: Collector, old: FileVersion, new: FileVersion) -> None:
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
            where = entry_at(self.old, self.new, d, section)
            reason = f"{where}: client profile {d.key} {what_changed(d)}"
            if d.new is None:
                self.c.notes.append(f"{where}: client profile {d.key} removed")
            self.c.add_hosts(reason, attr_is("profile", d.key))

    def _section_shared_services(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", SharedService):
            where = entry_at(self.old, self.new, d, section)
            reason = f"{where}: shared service {d.key} {what_changed(d) if d.new is not None else 'removed'}"
            hosting = {_get(v, "hosted_by", "host") for v in (d.old, d.new)} - {None}
            self.c.add_hosts(f"{reason} — hosts it", attr_in("hostname", hosting))
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
            hosting_authorities = {_get(v, "hosted_by", "authority") for v in (d.old, d.new)} - {None}
            self.c.add_gateways(
                f"{reason} — packet filter of the routers", sorted({*users, *map(str, hosting_authorities)})
            )

    def _section_shared_sites(self, section: str) -> None:
        for d in diff_entries(self.old.data.get(section), self.new.data.get(section), "id", SharedSite):
            where = entry_at(self.old, self.new, d, section)
            reason = f"{where}: shared site {d.key} {what_changed(d) if d.new is not None else 'removed'}"
            for aid, model in self.c.inventory.authorities.items():
                sites = {s.id for s in model.sites if s.shared_site == d.key}
                if sites:
                    self.c.add_hosts(reason, attr_in("site", sites), [aid])
                    self.c.add_devices(reason, attr_in("site", sites), [aid])

    def _section_address_plan(self, section: str) -> None:
        old, new = self.old.data.get(section), self.new.data.get(section)
        old, new = (old if isinstance(old, dict) else {}), (new if isinstance(new, dict) else {})
        others = sorted(k for k in {*old, *new} if k != "authorities" and old.get(k) != new.get(k))
        if others:
            reason = f"{self.new.at(section)}: address plan changed ({', '.join(others)})"
            self.c.add_devices(f"{reason} — every device")
            self.c.add_gateways(f"{reason} — packet filter of every router")
        for d in diff_entries(old.get("authorities"), new.get("authorities"), "authority"):
            where = entry_at(self.old, self.new, d, section, "authorities")
            reason = f"{where}: address block of {d.key} {what_changed(d)}"
            self.c.add_devices(f"{reason} — its devices", authorities=[d.key])
            self.c.add_gateways(f"{reason} — packet filter of its routers", [d.key])


def _get(value: Any, *path: str) -> Any:
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value
