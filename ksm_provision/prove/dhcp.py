"""The DHCP cells of the proof: a stand-in client on each served network gets a real lease.

Expected from the inventory (not from the dhcp role's template): an address from the network's
``dhcp:`` pool or one of its client ranges, the network's gateway as router, and the DNS servers
the site's settings name. Observed: the lease the lab's stand-in client got through the relay.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping
from typing import Protocol

from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import Server
from ksm_provision.inventory.settings import merge_settings
from ksm_provision.prove.model import (
    Cell,
    Destination,
    Expectation,
    ExpectationKind,
    LeaseTerms,
    Source,
)


class LeaseLike(Protocol):
    """A DHCP lease as the lab reports it (:class:`ksm_provision.lab.leases.Lease`)."""

    @property
    def address(self) -> str: ...
    @property
    def routers(self) -> tuple[str, ...]: ...
    @property
    def dns_servers(self) -> tuple[str, ...]: ...


def lease_expectations(inventory: Inventory, authorities: Iterable[str]) -> list[Expectation]:
    """One cell per network a DHCP server of the authority serves."""
    found: list[Expectation] = []
    for aid in authorities:
        authority = inventory.authorities[aid]
        source = inventory.source_of(aid)
        networks = {n.id: (i, n) for i, n in enumerate(authority.networks)}
        for s_index, server in enumerate(authority.servers):
            if not isinstance(server, Server) or server.dhcp is None:
                continue
            for served in server.dhcp.serves:
                if served not in networks:
                    continue
                n_index, network = networks[served]
                site = merge_settings(
                    [inventory.provider.defaults, authority.settings, authority.site(network.site).settings]
                )
                ranges = [(str(network.dhcp.start), str(network.dhcp.end))] if network.dhcp else []
                ranges += [
                    (str(r.first_address), str(r.first_address + (r.count - 1)))
                    for r in authority.client_ranges
                    if r.network == network.id
                ]
                found.append(
                    Expectation(
                        id=f"{aid}/{network.id}->{server.hostname}:67/dhcp",
                        kind=ExpectationKind.DHCP_LEASE,
                        check="dhcp",
                        source=Source(authority=aid, network=network.id, site=network.site),
                        destination=Destination(
                            authority=aid,
                            host=server.hostname,
                            address=str(server.address),
                            port=67,
                            protocol="udp",
                            service="DHCP",
                        ),
                        expected="reach",
                        reason=f"a client on {network.id} gets its address, router and DNS by DHCP",
                        defined_by=[
                            f"{source.file}:{source.line_of(('networks', n_index))}",
                            f"{source.file}:{source.line_of(('servers', s_index, 'dhcp'))}",
                        ],
                        lease=LeaseTerms(
                            ranges=sorted(ranges),
                            router=str(network.gateway),
                            dns_servers=[str(d) for d in site.dns_servers or []],
                        ),
                    )
                )
    return found


def _in_ranges(address: str, ranges: list[tuple[str, str]]) -> bool:
    ip = ipaddress.IPv4Address(address)
    return any(ipaddress.IPv4Address(a) <= ip <= ipaddress.IPv4Address(b) for a, b in ranges)


def judge_lease(expectation: Expectation, lease: LeaseLike | str | None) -> Cell:
    """ok when a lease came and says what the inventory says; *lease* str: why none came."""
    terms = expectation.lease
    assert terms is not None
    if lease is None:
        return Cell(expectation=expectation, status="not-in-twin", observed=None, detail="no stand-in client")
    if isinstance(lease, str):
        return Cell(expectation=expectation, status="mismatch", observed="blocked", detail=lease)
    problems = []
    if not _in_ranges(lease.address, terms.ranges):
        problems.append(f"address {lease.address} is outside {terms.ranges}")
    if list(lease.routers[:1]) != [terms.router]:
        problems.append(f"router {list(lease.routers)} instead of {terms.router}")
    if list(lease.dns_servers) != terms.dns_servers:
        problems.append(f"DNS {list(lease.dns_servers)} instead of {terms.dns_servers}")
    detail = f"lease {lease.address} router {', '.join(lease.routers)} DNS {', '.join(lease.dns_servers)}"
    return Cell(
        expectation=expectation,
        status="mismatch" if problems else "ok",
        observed="reached",
        detail="; ".join([*problems, detail]),
    )


def lease_cells(
    expectations: Iterable[Expectation],
    leases: Mapping[str, LeaseLike | str],
    present: Collection[str] | None = None,
) -> list[Cell]:
    """Judge each lease; a DHCP server the twin does not run (not in *present*) is "not in twin"."""
    return [
        Cell(expectation=e, status="not-in-twin", observed=None, detail="the DHCP server is not in the twin")
        if present is not None and e.destination.address not in present
        else judge_lease(e, leases.get(e.source.key))
        for e in expectations
    ]
