"""The provider's promise as expectations, derived from what the inventory *means* (pure, no I/O).

Deliberately not read off :mod:`ksm_provision.network.policy`: the proof restates the promise from
the inventory's facts (client networks, fileservers, shared services and their consumers, management
addresses), so a wrong rule in the policy renderer shows up as a mismatch instead of agreeing with
itself. Per client network of each authority asked for, at most one destination per kind:

- ``own-fileserver``: each own fileserver on 445/tcp is reached, and answers SMB (``share-listing``);
- ``shared-service``: each Fachverfahren the authority consumes is reached on its port, also across
  authorities; ``not-consumed``: one it does not consume is blocked;
- ``foreign-fileserver`` / ``foreign-management``: every other authority's (first) fileserver on 445
  and (first) router's management address on 22 are blocked;
- ``own-management``: the own gateway router's and a site switch's management address on 22 are blocked;
- ``ungranted-port``: 22/tcp of an own fileserver and of the network's DHCP server is blocked.

A blocked cell is left out when a shared service grants that very address and port to the authority.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import (
    AuthorityFile,
    DeviceRole,
    InterfaceMode,
    Network,
    NetworkDevice,
    NetworkPurpose,
    Server,
    ServerRole,
    SharedService,
)
from ksm_provision.prove.model import Destination, Expectation, ExpectationKind, Expected, Source

SMB, SSH = 445, 22


@dataclass(frozen=True)
class _Cell:
    """What the derivation decides; :meth:`_Matrix.expectation` turns it into an :class:`Expectation`."""

    kind: ExpectationKind
    destination: Destination
    expected: Expected
    reason: str
    defined_by: tuple[str, ...]
    check: str = "tcp"
    share_hint: str | None = None


class _Matrix:
    """Lookups in the whole inventory and FILE:LINE of its entries."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def at(self, aid: str, *loc: str | int) -> str:
        source = self.inventory.source_of(aid)
        return f"{source.file}:{source.line_of(tuple(loc))}"

    def at_provider(self, *loc: str | int) -> str:
        source = self.inventory.provider_source
        return f"{source.file}:{source.line_of(tuple(loc))}"

    def servers(self, aid: str, role: ServerRole) -> list[tuple[int, Server]]:
        return [(i, s) for i, s in enumerate(self.inventory.authorities[aid].servers) if role in s.roles]

    def service_host(self, service: SharedService) -> tuple[int, Server] | None:
        hosting = self.inventory.authorities.get(service.hosted_by.authority)
        if hosting is None:
            return None
        found = [(i, s) for i, s in enumerate(hosting.servers) if s.hostname == service.hosted_by.host]
        return found[0] if found else None

    def granted(self, aid: str) -> set[tuple[str, int]]:
        """(address, port) of every shared service *aid* consumes."""
        grants = set()
        for service in self.inventory.provider.shared_services:
            host = self.service_host(service)
            if host is not None and aid in service.consumers:
                grants.add((str(host[1].address), service.port))
        return grants


def _gateway_router(authority: AuthorityFile, net: Network) -> tuple[int, NetworkDevice] | None:
    """The router holding the network's gateway address; else a router of its site; else any router."""
    routers = [(i, d) for i, d in enumerate(authority.network_devices) if d.role is DeviceRole.ROUTER]
    for i, device in routers:
        if any(f.address is not None and f.address.ip == net.gateway for f in device.interfaces):
            return i, device
    at_site = [(i, d) for i, d in routers if d.site == net.site]
    candidates = at_site or routers
    return candidates[0] if candidates else None


def _site_switch(authority: AuthorityFile, net: Network) -> tuple[int, NetworkDevice] | None:
    """A switch of the network's site carrying the network; else any switch of the site."""
    switches = [
        (i, d)
        for i, d in enumerate(authority.network_devices)
        if d.role is not DeviceRole.ROUTER and d.site == net.site
    ]

    def carries(device: NetworkDevice) -> bool:
        return any(
            (f.mode is InterfaceMode.ACCESS and f.network == net.id)
            or (f.mode is InterfaceMode.TRUNK and net.id in f.networks)
            for f in device.interfaces
        )

    return next(((i, d) for i, d in switches if carries(d)), switches[0] if switches else None)


def _destination(aid: str, server: Server, port: int, service: str) -> Destination:
    return Destination(
        authority=aid, host=server.hostname, address=str(server.address), port=port, service=service
    )


def _device_destination(aid: str, device: NetworkDevice) -> Destination:
    return Destination(
        authority=aid,
        host=device.hostname,
        address=str(device.management.address),
        port=SSH,
        service="SSH (management)",
    )


def _own_cells(m: _Matrix, aid: str, ni: int, net: Network) -> Iterator[_Cell]:
    """The network's own servers: fileservers reached (and answering SMB), their SSH blocked."""
    authority = m.inventory.authorities[aid]
    here = m.at(aid, "networks", ni)
    fileservers = m.servers(aid, ServerRole.FILESERVER)
    for si, server in fileservers:
        where = (here, m.at(aid, "servers", si))
        reason = f"clients of {aid} use their fileserver {server.hostname} (SMB)"
        yield _Cell(
            ExpectationKind.OWN_FILESERVER, _destination(aid, server, SMB, "SMB"), "reach", reason, where
        )
        shares = server.fileserver.shares if server.fileserver else []
        yield _Cell(
            ExpectationKind.SHARE_LISTING,
            _destination(aid, server, SMB, "SMB share listing"),
            "reach",
            f"the fileserver {server.hostname} answers SMB to clients of {aid}",
            where,
            check="smb-list",
            share_hint=shares[0].name if shares else None,
        )
    dhcp = m.servers(aid, ServerRole.DHCP)
    serving = [(i, s) for i, s in dhcp if s.dhcp is not None and net.id in s.dhcp.serves] or dhcp
    for si, server in [*fileservers[:1], *serving[:1]]:
        yield _Cell(
            ExpectationKind.UNGRANTED_PORT,
            _destination(aid, server, SSH, "SSH"),
            "blocked",
            f"clients get only the granted ports of {server.hostname}, never SSH",
            (here, m.at(aid, "servers", si)),
        )
    for found in (_gateway_router(authority, net), _site_switch(authority, net)):
        if found is not None:
            di, device = found
            yield _Cell(
                ExpectationKind.OWN_MANAGEMENT,
                _device_destination(aid, device),
                "blocked",
                f"only the provider's admin networks reach the management of {device.hostname}",
                (here, m.at(aid, "network_devices", di, "management")),
            )


def _service_cells(m: _Matrix, aid: str, ni: int) -> Iterator[_Cell]:
    """Each Fachverfahren: reached if *aid* is among its consumers, else blocked."""
    here = m.at(aid, "networks", ni)
    consumes = m.inventory.authorities[aid].consumes
    for i, service in enumerate(m.inventory.provider.shared_services):
        host = m.service_host(service)
        if host is None:
            continue
        si, server = host
        owner = service.hosted_by.authority
        destination = _destination(owner, server, service.port, f"Fachverfahren {service.id}")
        hosting = (m.at_provider("shared_services", i, "hosted_by"), m.at(owner, "servers", si))
        if aid in service.consumers:
            grant = m.at_provider("shared_services", i, "consumers", service.consumers.index(aid))
            own = [m.at(aid, "consumes", consumes.index(service.id))] if service.id in consumes else []
            reason = f"{aid} consumes {service.name} ({service.id})"
            yield _Cell(
                ExpectationKind.SHARED_SERVICE, destination, "reach", reason, (here, grant, *own, *hosting)
            )
        else:
            reason = f"{aid} is no consumer of {service.name} ({service.id})"
            where = (here, m.at_provider("shared_services", i, "consumers"), *hosting)
            yield _Cell(ExpectationKind.NOT_CONSUMED, destination, "blocked", reason, where)


def _foreign_cells(m: _Matrix, aid: str, ni: int) -> Iterator[_Cell]:
    """Every other authority: its fileserver and its router's management address are blocked."""
    here = m.at(aid, "networks", ni)
    for other, authority in m.inventory.authorities.items():
        if other == aid:
            continue
        fileservers = m.servers(other, ServerRole.FILESERVER)
        if fileservers:
            si, server = fileservers[0]
            yield _Cell(
                ExpectationKind.FOREIGN_FILESERVER,
                _destination(other, server, SMB, "SMB"),
                "blocked",
                f"clients of {aid} never reach the fileserver of {other}",
                (here, m.at(other, "servers", si)),
            )
        devices = list(enumerate(authority.network_devices))
        routers = [(i, d) for i, d in devices if d.role is DeviceRole.ROUTER] or devices
        if routers:
            di, device = routers[0]
            yield _Cell(
                ExpectationKind.FOREIGN_MANAGEMENT,
                _device_destination(other, device),
                "blocked",
                f"clients of {aid} never reach the management of {other}",
                (here, m.at(other, "network_devices", di, "management")),
            )


def _network_cells(m: _Matrix, aid: str, ni: int, net: Network) -> Iterator[Expectation]:
    granted = m.granted(aid)
    source = Source(authority=aid, network=net.id, site=net.site)
    for cell in (*_own_cells(m, aid, ni, net), *_service_cells(m, aid, ni), *_foreign_cells(m, aid, ni)):
        target = cell.destination
        if cell.expected == "blocked" and (target.address, target.port) in granted:
            continue  # a shared service grants exactly this: the promise says "reach"
        yield Expectation(
            id=f"{source.key}->{target.host}:{target.port}/{cell.check}",
            kind=cell.kind,
            check="smb-list" if cell.check == "smb-list" else "tcp",
            source=source,
            destination=target,
            expected=cell.expected,
            reason=cell.reason,
            defined_by=list(dict.fromkeys(cell.defined_by)),
            share_hint=cell.share_hint,
        )


def derive_expectations(inventory: Inventory, authorities: Iterable[str]) -> list[Expectation]:
    """The matrix for the client networks of *authorities*, in inventory order, ids unique.

    *inventory* should be the whole inventory: the isolation cells name every other authority.
    """
    wanted = set(authorities)
    unknown = sorted(wanted - set(inventory.authorities))
    if unknown:
        raise UsageError(
            f"unknown authority '{unknown[0]}'", f"known authorities: {', '.join(inventory.authorities)}"
        )
    m = _Matrix(inventory)
    found: dict[str, Expectation] = {}
    for aid, authority in inventory.authorities.items():
        if aid not in wanted:
            continue
        for ni, net in enumerate(authority.networks):
            if net.purpose is NetworkPurpose.CLIENTS:
                for expectation in _network_cells(m, aid, ni, net):
                    found.setdefault(expectation.id, expectation)
    return list(found.values())
