"""What the rules look at: one authority with its indexes built once, and helpers to make problems."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import AuthorityBlock, AuthorityFile, Network, ProviderFile
from ksm_provision.inventory.source import Loc, SourceMap
from ksm_provision.validate.spans import net_bounds


@dataclass(frozen=True)
class NetInfo:
    """A network with its integer bounds and DHCP pool, computed once."""

    index: int
    model: Network
    bounds: tuple[int, int]
    pool: tuple[int, int] | None


@dataclass
class AuthorityView:
    """One authority file plus lookup tables (first occurrence wins for duplicated ids)."""

    aid: str
    model: AuthorityFile
    source: SourceMap
    provider: ProviderFile
    block: AuthorityBlock | None
    sites: dict[str, int] = field(default_factory=dict)
    networks: dict[str, NetInfo] = field(default_factory=dict)
    devices: dict[str, int] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.source.file

    def line(self, loc: Loc) -> int:
        return self.source.line_of(loc)

    def problem(self, loc: Loc, message: str, hint: str) -> Problem:
        return Problem(self.source.file, self.source.line_of(loc), message, hint)

    def where(self, loc: Loc) -> str:
        return f"{self.source.file}:{self.source.line_of(loc)}"

    @cached_property
    def taken(self) -> list[tuple[int, int]]:
        """Every address interval the file already uses, sorted: hosts, ranges, pools, gateways,
        device management and interface addresses, printers. Hints pick free examples outside them."""
        a = self.model
        spans = [net.pool for net in self.networks.values() if net.pool is not None]
        singles = [n.gateway for n in a.networks] + [c.address for c in a.clients]
        singles += [s.address for s in a.servers] + [d.management.address for d in a.network_devices]
        singles += [i.address.ip for d in a.network_devices for i in d.interfaces if i.address is not None]
        singles += [p.address for s in a.sites for p in s.printers]
        spans += [(int(v), int(v)) for v in singles]
        spans += [(int(r.first_address), int(r.first_address) + r.count - 1) for r in a.client_ranges]
        return sorted(spans)

    def free_address(self, bounds: tuple[int, int], prefixlen: int) -> int | None:
        """The first host address of ``bounds`` from its 10th on (or from its start) that nothing uses."""
        low = bounds[0] + (1 if prefixlen < 31 else 0)
        high = bounds[1] - (1 if prefixlen < 31 else 0)
        for first in (min(low + 9, high), low):
            candidate = first
            for start, end in self.taken:
                if end < candidate:
                    continue
                if start > candidate:
                    break
                candidate = end + 1
            if candidate <= high:
                return candidate
        return None

    def free_vlan(self, site: str) -> int | None:
        """The lowest VLAN id of the authority's range that no network of *site* uses."""
        low, high = self.block.vlans if self.block is not None else (1, 4094)
        used = {n.vlan for n in self.model.networks if n.site == site}
        return next((v for v in range(low, high + 1) if v not in used), None)


def authority_view(inventory: Inventory, aid: str) -> AuthorityView:
    authority = inventory.authorities[aid]
    block = next((b for b in inventory.provider.address_plan.authorities if b.authority == aid), None)
    view = AuthorityView(aid, authority, inventory.sources[aid], inventory.provider, block)
    for i, site in enumerate(authority.sites):
        view.sites.setdefault(site.id, i)
    for i, network in enumerate(authority.networks):
        if network.id in view.networks:
            continue
        pool = None
        if network.dhcp is not None:
            pool = (int(network.dhcp.start), int(network.dhcp.end))
        view.networks[network.id] = NetInfo(i, network, net_bounds(network.subnet), pool)
    for i, device in enumerate(authority.network_devices):
        view.devices.setdefault(device.hostname, i)
    return view


def provider_problem(inventory: Inventory, loc: Loc, message: str, hint: str) -> Problem:
    source = inventory.provider_source
    return Problem(source.file, source.line_of(loc), message, hint)


def duplicates(keys: Iterable[tuple[str, Loc]]) -> Iterator[tuple[str, Loc, Loc]]:
    """Each key seen before, with its place and the place of its first occurrence.

    >>> list(duplicates([("a", ("x", 0)), ("b", ("x", 1)), ("a", ("x", 2))]))
    [('a', ('x', 2), ('x', 0))]
    """
    first: dict[str, Loc] = {}
    for key, loc in keys:
        if key in first:
            yield key, loc, first[key]
        else:
            first[key] = loc
