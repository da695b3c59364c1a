"""Hosts and devices as flat records: client ranges expanded, each with its place in the file."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from ksm_provision.inventory.models import AuthorityFile, Client, ClientRange, NetworkDevice, Server
from ksm_provision.inventory.source import Loc


class HostKind(StrEnum):
    CLIENT = "client"
    SERVER = "server"


@dataclass(frozen=True)
class Host:
    """One host. *mac* is the inventory's MAC (``clients:``/``servers:``), None for range members."""

    hostname: str
    authority: str
    site: str
    kind: HostKind
    address: ipaddress.IPv4Address
    mac: str | None
    network: str
    profile: str | None
    roles: tuple[str, ...]
    os: str
    loc: Loc
    entry: Client | ClientRange | Server

    @property
    def group_key(self) -> str:
        """What makes hosts alike for the lab twin: server role set or client profile."""
        if self.kind is HostKind.CLIENT:
            return f"profile:{self.profile}"
        return "role:" + ("+".join(self.roles) or "plain")


@dataclass(frozen=True)
class Device:
    hostname: str
    authority: str
    loc: Loc
    model: NetworkDevice


def expand_range(entry: ClientRange) -> list[tuple[str, ipaddress.IPv4Address]]:
    first = int(entry.first_address)
    return [
        (entry.hostname_pattern.format(index=entry.start + i), ipaddress.IPv4Address(first + i))
        for i in range(entry.count)
    ]


def authority_hosts(authority: AuthorityFile) -> list[Host]:
    aid = authority.authority.id
    hosts: list[Host] = []
    for i, server in enumerate(authority.servers):
        hosts.append(
            Host(
                server.hostname,
                aid,
                server.site,
                HostKind.SERVER,
                server.address,
                server.mac,
                server.network,
                None,
                tuple(str(r) for r in server.roles),
                server.os,
                ("servers", i),
                server,
            )
        )
    for i, client in enumerate(authority.clients):
        hosts.append(
            Host(
                client.hostname,
                aid,
                client.site,
                HostKind.CLIENT,
                client.address,
                client.mac,
                client.network,
                client.profile,
                (),
                "debian12",
                ("clients", i),
                client,
            )
        )
    for i, entry in enumerate(authority.client_ranges):
        for hostname, address in expand_range(entry):
            hosts.append(
                Host(
                    hostname,
                    aid,
                    entry.site,
                    HostKind.CLIENT,
                    address,
                    None,  # unknown: range clients lease from their network's DHCP pool (no reservation)
                    entry.network,
                    entry.profile,
                    (),
                    "debian12",
                    ("client_ranges", i),
                    entry,
                )
            )
    return hosts


def authority_devices(authority: AuthorityFile) -> list[Device]:
    aid = authority.authority.id
    return [
        Device(d.hostname, aid, ("network_devices", i), d) for i, d in enumerate(authority.network_devices)
    ]
