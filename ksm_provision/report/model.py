"""The management report ("Steuerungsinformationen") as typed models: the documented JSON structure.

``ksm report --json`` prints :class:`Report`. The structure is stable: keys are only ever added
within a major ``schema_version``; renaming or removing a key raises the major version.
Missing status records ("keine Daten") are ``null``, never invented zeros.

Top level (``schema_version`` ``"1.4"``; 1.1 added ``proof``, 1.2 ``pull``, 1.3 ``timezone``,
``trend_weeks``, ``authorities[].timezone``, ``authorities[].last_plan``, ``authorities[].trend`` and
``totals.open_changes.authorities_with_data``, 1.4 ``authorities[].grundschutz``)::

    schema_version   "1.4"
    generated_at     ISO 8601 time (UTC) the report was built
    timezone         zone the report's own times are shown in (the provider's default, else Europe/Berlin)
    trend_weeks      how many ISO weeks each authority's ``trend`` covers (``ksm report --weeks``)
    provider         name of the service provider
    scope            {authorities: [ids in the report], filtered: true when --authority was given}
    totals           the same figures summed over the authorities in scope (and only those)
    authorities      one AuthorityReport per authority in scope, in inventory order
    shared_services  Fachverfahren that an authority in scope hosts or consumes
    client_profiles  {profile id: description} of the workplace profiles in use in scope

Counting rules:

- Estate: ``clients`` / ``servers`` / ``devices`` each a :class:`Tally` with ``total`` and
  ``by_site``, ``by_os``, ``by_role``, ``by_profile``. A dimension that does not apply is ``{}``
  (clients have no role, servers and devices no profile). For devices ``by_os`` is the platform
  (``cisco_ios``, ``frr``). A server with several roles counts once per role; a server without a
  role counts as ``"none"``. In ``totals`` the site keys are ``"<authority>/<site>"``.
- Address plan: a block's ``allocation`` is the sum of its subnets' sizes / the block size; a
  subnet's ``usage`` is (hosts + device management addresses + printers in it) / usable addresses.
- Ratios are fractions between 0 and 1, rounded to 4 decimals.
- Times in the JSON are ISO 8601 with offset (UTC). People see them in the authority's time zone
  (``authorities[].timezone``: its ``settings.timezone``, else the provider's default, else
  Europe/Berlin), with MEZ/MESZ, in the terminal and the HTML page.
- Open changes: ``last_plan`` is the time of the authority's last ``ksm plan`` record; without one
  nothing is known about pending changes ("keine Daten"), which is not the same as none pending.
- Trend (``authorities[].trend``, oldest week first, the last one the current week): per ISO week in
  the authority's time zone, ``changes`` = applies in the audit log (``null`` before the authority's
  first logged apply: the log does not cover those weeks), ``drifted_systems`` = hosts and devices
  found drifting by the week's last drift check, ``checks`` = ``ksm verify`` checks plus pull-mode
  runs received that week (each run one check, passed when nothing failed), ``pass_rate`` =
  passed / checks. A week without a record is ``null``, never 0. The state directory keeps the last
  verify, drift and pull record only, so those figures fill the week of that record.
- Status records (audit log, verification, drift, plan, proof) are read per authority; host and device
  names in them are kept only when they belong to that authority in the inventory.
- Proof ("Nachweis", ``ksm prove``): an authority shows only cells whose source is its own network;
  a destination of an authority outside the scope is shown without host, address or detail, and
  ``defined_by`` keeps only lines of files in the scope (and of the provider file).
- Pull mode (``ksm pull``): per authority its enrolled clients, each ``current`` (a run within the
  authority's ``stale_after_hours``, nothing failed), ``stale`` (no run within it, or never) or
  ``failing`` (the last run, within it, failed); staleness counts from when the collector received
  the record. ``null`` when the authority has no pull clients.
- IT-Grundschutz (``authorities[].grundschutz``, the check of ``ksm compliance`` from the same
  records, added by :func:`ksm_provision.compliance.report_section.add_grundschutz`): ``mapped`` =
  Anforderungen of the mapping with ksm evidence, each counted once as ``met`` (erfüllt),
  ``partial`` (teilweise), ``not_met`` (nicht erfüllt) or ``no_data`` (keine Daten);
  ``share_met`` = met / mapped, ``null`` when no evidence is recorded at all (never 0 %). ``open``
  lists every mapped Anforderung not met: nicht erfüllt first, then teilweise, then keine Daten
  (ids, titles and the reason, no host names). ``trend`` per ISO week: the counts of the week's last
  ``ksm compliance`` run (history ``compliance.jsonl``); a week without one is ``null``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.4"
#: The zone times are shown in when neither the authority nor the provider sets one.
DEFAULT_TIMEZONE = "Europe/Berlin"
#: Weeks of trend a report covers unless ``ksm report --weeks`` says otherwise.
DEFAULT_TREND_WEEKS = 8

ApplyOutcome = Literal[
    "success", "failed", "failed_untouched", "failed_state_unknown", "rolled_back", "refused"
]


class ReportModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- estate


class Tally(ReportModel):
    """How many of one kind (clients, servers or devices), broken down four ways."""

    total: int
    by_site: dict[str, int] = Field(default_factory=dict)
    by_os: dict[str, int] = Field(default_factory=dict, description="devices: the platform")
    by_role: dict[str, int] = Field(default_factory=dict, description="servers and devices; 'none' = no role")
    by_profile: dict[str, int] = Field(default_factory=dict, description="clients: the workplace profile")


class Estate(ReportModel):
    """What exists: client PCs ("Arbeitsplätze"), servers and network devices."""

    clients: Tally
    servers: Tally
    devices: Tally


class SiteInfo(ReportModel):
    id: str
    name: str
    shared_site: str | None = Field(default=None, description="id of the provider's shared site, if any")


# --------------------------------------------------------------------------- address plan


class SubnetUsage(ReportModel):
    """How full one subnet is."""

    network: str = Field(description="network id in the inventory")
    name: str = Field(description="VLAN name")
    site: str
    vlan: int
    purpose: str
    subnet: str
    size: int = Field(description="addresses in the subnet")
    usable: int = Field(description="addresses minus network and broadcast")
    hosts: int
    devices: int = Field(description="network devices with their management address in the subnet")
    printers: int = Field(description="site printers with their address in the subnet")
    used: int = Field(description="hosts + devices + printers")
    usage: float = Field(description="used / usable")


class AddressPlanUsage(ReportModel):
    """How full the authority's address block is."""

    block: str | None = Field(description="the authority's block in the address plan; null if it has none")
    block_size: int
    allocated: int = Field(description="sum of the subnets' sizes")
    allocation: float = Field(description="allocated / block_size")
    used: int
    usable: int
    subnets: list[SubnetUsage]


class AddressTotals(ReportModel):
    block_size: int
    allocated: int
    allocation: float
    used: int
    usable: int
    usage: float = Field(description="used / usable over every subnet")


# --------------------------------------------------------------------------- status records


class ApplyInfo(ReportModel):
    """One apply from the audit log."""

    id: str
    time: datetime
    target: str
    result: ApplyOutcome
    git_commit: str | None
    hosts: int
    devices: int
    changed_hosts: int
    changed_devices: int
    changed_tasks: int
    failed: list[str] = Field(description="hosts and devices of the authority that failed")


class DriftInfo(ReportModel):
    time: datetime
    target: str
    drifted: bool
    hosts: list[str]
    devices: list[str]


class VerifyInfo(ReportModel):
    time: datetime
    target: str
    passed: bool
    checks: int
    failed: int
    pass_rate: float


class OpenChanges(ReportModel):
    """The last plan whose changes have not been applied yet."""

    time: datetime
    target: str
    plan_hash: str | None
    changes_pending: int
    hosts: list[str]
    devices: list[str]


class ProofCellInfo(ReportModel):
    """A cell of the proof that did not hold (mismatch, or a probe that could not run)."""

    kind: str = Field(description="why the cell exists, e.g. own-fileserver, foreign-management")
    source: str = Field(description="the authority's network the probe started from")
    destination: str = Field(description="host address:port; only the port outside the scope")
    service: str
    expected: Literal["reach", "blocked"]
    observed: Literal["reached", "blocked", "error"] | None
    status: Literal["ok", "mismatch", "error", "not-in-twin"]
    detail: str = Field(description="what the probe saw; empty for destinations outside the scope")
    defined_by: list[str] = Field(description="FILE:LINE of the promise, files in scope only")


class ProofInfo(ReportModel):
    """The last reachability/isolation proof of the authority's networks in the lab twin."""

    time: datetime
    target: str
    passed: bool
    cells: int
    ok: int
    mismatch: int
    errors: int
    not_in_twin: int
    failing: list[ProofCellInfo] = Field(description="the cells that did not hold")


class PullInfo(ReportModel):
    """The authority's clients in pull mode (``ksm pull enable``) and how their last runs went."""

    stale_after_hours: float
    commit: str | None = Field(description="the pull repository's published commit")
    enrolled: int
    current: int
    stale: int
    failing: int
    behind: int = Field(description="clients whose last run applied another commit than the published one")
    latest_run: datetime | None
    stale_hosts: list[str]
    failing_hosts: list[str]


class TrendWeek(ReportModel):
    """One ISO week of an authority (in its time zone): changes, drift and checks; ``null`` = keine Daten."""

    week: str = Field(description="ISO week, e.g. 2025-W11")
    start: date = Field(description="its Monday")
    changes: int | None = Field(description="applies logged; null before the first logged apply")
    failed_changes: int | None = Field(description="of those, applies that did not succeed")
    changed_systems: int | None = Field(description="hosts and devices of the authority they changed")
    drifted_systems: int | None = Field(description="found drifting by the week's last drift check")
    checks: int | None = Field(description="verify checks + pull runs received; null without any")
    failed_checks: int | None
    pass_rate: float | None = Field(description="(checks - failed_checks) / checks; null without checks")


class GrundschutzOpen(ReportModel):
    """A mapped Anforderung that is not met (ids and texts of the Kompendium and ksm, no names)."""

    id: str = Field(description="e.g. SYS.1.3.A8")
    title: str
    baustein: str
    level: Literal["B", "S", "H"]
    status: Literal["not_met", "partial", "not_checked"]
    reason: str


class GrundschutzWeek(ReportModel):
    """The last ``ksm compliance`` of one ISO week; ``null`` figures: no check that week."""

    week: str
    start: date
    mapped: int | None
    met: int | None
    partial: int | None
    not_met: int | None
    no_data: int | None
    share_met: float | None = Field(description="met / mapped; null without a check or evidence")


class GrundschutzInfo(ReportModel):
    kompendium: str = Field(description="the edition the mapping follows")
    mapped: int = Field(description="Anforderungen with ksm evidence")
    met: int
    partial: int
    not_met: int
    no_data: int = Field(description="mapped, but no evidence recorded")
    not_checkable: int = Field(description="organisational: no ksm evidence (not in the share)")
    share_met: float | None = Field(description="met / mapped; null when nothing is recorded")
    latest_evidence: datetime | None = Field(description="time of the newest record used; null = keine Daten")
    targets: list[str] = Field(description="where the evidence comes from: lab, production")
    open: list[GrundschutzOpen] = Field(description="not met: nicht erfüllt, teilweise, keine Daten")
    trend: list[GrundschutzWeek] = Field(default_factory=list, description="oldest week first")


# --------------------------------------------------------------------------- per authority


class AuthorityReport(ReportModel):
    id: str
    name: str
    ags: str
    timezone: str = Field(default=DEFAULT_TIMEZONE, description="zone its times are shown in")
    sites: list[SiteInfo]
    estate: Estate
    address_plan: AddressPlanUsage
    last_apply: ApplyInfo | None = Field(description="latest apply in the audit log; null = keine Daten")
    applies: int = Field(description="applies of this authority in the audit log")
    drift: DriftInfo | None
    verification: VerifyInfo | None
    last_plan: datetime | None = Field(
        default=None, description="time of the last plan record; null = keine Daten on pending changes"
    )
    open_changes: OpenChanges | None = Field(description="null when no plan is pending (or none is known)")
    proof: ProofInfo | None = Field(default=None, description="last `ksm prove`; null = keine Daten")
    pull: PullInfo | None = Field(default=None, description="pull-mode clients; null = none enrolled")
    trend: list[TrendWeek] = Field(default_factory=list, description="oldest week first")
    grundschutz: GrundschutzInfo | None = Field(
        default=None,
        description="the IT-Grundschutz-Check (ksm compliance), added by ksm report; null = keine Daten",
    )


# --------------------------------------------------------------------------- totals


class ApplyTotals(ReportModel):
    authorities_with_data: int
    succeeded: int = Field(description="authorities whose last apply succeeded")
    failed: int = Field(description="authorities whose last apply failed or was rolled back")
    latest: datetime | None


class DriftTotals(ReportModel):
    authorities_with_data: int
    drifted_authorities: int
    drifted_hosts: int
    drifted_devices: int


class VerifyTotals(ReportModel):
    authorities_with_data: int
    checks: int
    failed: int
    pass_rate: float | None = Field(description="(checks - failed) / checks; null without data")


class OpenChangesTotals(ReportModel):
    authorities_with_data: int = Field(default=0, description="authorities with a plan record")
    authorities_pending: int
    changes_pending: int


class ProofTotals(ReportModel):
    authorities_with_data: int
    passed_authorities: int
    cells: int
    ok: int
    mismatch: int
    errors: int
    not_in_twin: int


class PullTotals(ReportModel):
    authorities_with_data: int = 0
    enrolled: int = 0
    current: int = 0
    stale: int = 0
    failing: int = 0


class Totals(ReportModel):
    authorities: int
    estate: Estate
    address_plan: AddressTotals
    applies: ApplyTotals
    drift: DriftTotals
    verification: VerifyTotals
    open_changes: OpenChangesTotals
    proof: ProofTotals
    pull: PullTotals = Field(default_factory=PullTotals)


# --------------------------------------------------------------------------- shared services


class SharedServiceReport(ReportModel):
    """A Fachverfahren, seen only through the authorities in scope."""

    id: str
    name: str
    port: int
    hosted_by: str | None = Field(description="hosting authority if it is in scope, else null")
    host: str | None = Field(description="hosting server if its authority is in scope, else null")
    consumers: list[str] = Field(description="consuming authorities in scope")


# --------------------------------------------------------------------------- the report


class Scope(ReportModel):
    authorities: list[str]
    filtered: bool = Field(description="true when the report was limited with --authority")


class Report(ReportModel):
    schema_version: str = SCHEMA_VERSION
    generated_at: datetime
    timezone: str = DEFAULT_TIMEZONE
    trend_weeks: int = DEFAULT_TREND_WEEKS
    provider: str
    scope: Scope
    totals: Totals
    authorities: list[AuthorityReport]
    shared_services: list[SharedServiceReport]
    client_profiles: dict[str, str] = Field(description="description of each client profile in use")
