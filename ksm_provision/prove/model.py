"""The proof as plain data: what is promised (:class:`Expectation`), what was seen, and the verdict."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from ksm_provision.results import FrozenResult

Expected = Literal["reach", "blocked"]
#: ``error``: the probe itself could not be made (namespace gone, tool missing); never a match.
Observed = Literal["reached", "blocked", "error"]


class ExpectationKind(StrEnum):
    """Why a cell exists; :data:`HINTS` says what to look at when it does not hold."""

    OWN_FILESERVER = "own-fileserver"
    SHARE_LISTING = "share-listing"
    SHARED_SERVICE = "shared-service"
    NOT_CONSUMED = "not-consumed"
    FOREIGN_FILESERVER = "foreign-fileserver"
    FOREIGN_MANAGEMENT = "foreign-management"
    OWN_MANAGEMENT = "own-management"
    UNGRANTED_PORT = "ungranted-port"
    DHCP_LEASE = "dhcp-lease"


HINTS: dict[ExpectationKind, str] = {
    ExpectationKind.OWN_FILESERVER: "the router's forward filter must admit the client networks to the "
    "fileserver on 445/tcp; check `ksm network plan` for the router and that samba runs on the server",
    ExpectationKind.SHARE_LISTING: "smbd must answer on the fileserver (samba role applied?); an anonymous "
    "listing refused by the server still counts as reached",
    ExpectationKind.SHARED_SERVICE: "a consumer's client networks must reach the Fachverfahren host: check "
    "consumers in ksm.yml, the filters of both authorities' routers and the route via the core",
    ExpectationKind.NOT_CONSUMED: "an authority that does not consume the service must not reach it: "
    "check the hosting router's filter (which blocks does it admit?)",
    ExpectationKind.FOREIGN_FILESERVER: "tenant isolation is broken: another authority's fileserver "
    "answers; check both routers' forward filters",
    ExpectationKind.FOREIGN_MANAGEMENT: "tenant isolation is broken: another authority's management "
    "address answers SSH; check the router's input filter and the core",
    ExpectationKind.OWN_MANAGEMENT: "only the provider's admin networks may reach management addresses: "
    "check the router's input/forward filter",
    ExpectationKind.UNGRANTED_PORT: "only granted service ports may be open to clients: check the "
    "router's forward filter",
    ExpectationKind.DHCP_LEASE: "a client must get its lease through the router's relay: check the "
    "relay (gateway role), the router's filter for udp/67 both ways and the DHCP server's subnets",
}


class Source(FrozenResult):
    """Where a probe starts: a network of an authority (and its site)."""

    authority: str
    network: str
    site: str

    @property
    def key(self) -> str:
        """The key of :class:`~ksm_provision.prove.probe.ProbeSource` mappings: ``authority/network``."""
        return f"{self.authority}/{self.network}"


class Destination(FrozenResult):
    authority: str
    host: str
    address: str
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    service: str = Field(description="what the port is for, e.g. 'SMB', 'Fachverfahren kfz', 'SSH'")


class LeaseTerms(FrozenResult):
    """What a DHCP lease on a network must hold, as the inventory says."""

    ranges: list[tuple[str, str]] = Field(description="first and last address of each range handed out")
    router: str
    dns_servers: list[str]


class Expectation(FrozenResult):
    """One cell of the matrix: from *source*, *destination* is expected to be reached or blocked."""

    id: str = Field(description="stable: authority/network->host:port/check")
    kind: ExpectationKind
    check: Literal["tcp", "smb-list", "dhcp"] = Field(
        default="tcp",
        description="tcp: a TCP connect; smb-list: an anonymous SMB share listing; dhcp: a real lease",
    )
    source: Source
    destination: Destination
    expected: Expected
    reason: str = Field(description="the promise in words")
    defined_by: list[str] = Field(description="FILE:LINE of the inventory entries that make this promise")
    share_hint: str | None = Field(default=None, description="smb-list: a share the listing should show")
    lease: LeaseTerms | None = Field(default=None, description="dhcp: what the lease must say")


class Observation(FrozenResult):
    """What a probe saw: ``reached`` (connected, or refused by the target: the packet got there)."""

    result: Observed
    detail: str = ""


CellStatus = Literal["ok", "mismatch", "error", "not-in-twin"]


class Cell(FrozenResult):
    expectation: Expectation
    status: CellStatus
    observed: Observed | None = Field(description="null when the source has no stand-in in the twin")
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Totals(FrozenResult):
    total: int
    ok: int
    mismatch: int
    errors: int
    not_in_twin: int

    @property
    def probed(self) -> int:
        return self.total - self.not_in_twin


class ProofResult(FrozenResult):
    target: str = "lab"
    cells: list[Cell]
    totals: Totals
    ok: bool = Field(description="something was probed, and every probed cell matched")

    @classmethod
    def of(cls, cells: list[Cell], target: str = "lab") -> ProofResult:
        def count(status: CellStatus) -> int:
            return sum(1 for c in cells if c.status == status)

        totals = Totals(
            total=len(cells),
            ok=count("ok"),
            mismatch=count("mismatch"),
            errors=count("error"),
            not_in_twin=count("not-in-twin"),
        )
        # nothing probed proves nothing: an empty twin must not read as "promise kept"
        ok = totals.probed > 0 and totals.mismatch == 0 and totals.errors == 0
        return cls(target=target, cells=cells, totals=totals, ok=ok)

    def authorities(self) -> list[str]:
        return list(dict.fromkeys(c.expectation.source.authority for c in self.cells))

    def for_authority(self, authority: str) -> ProofResult:
        """Only the cells whose source is *authority* (what its status record and report may show)."""
        return ProofResult.of(
            [c for c in self.cells if c.expectation.source.authority == authority], self.target
        )
