"""Inventory + state directory -> :class:`~ksm_provision.report.model.Report`.

Two steps: :func:`load_state` reads the status records of the authorities in scope (the only I/O),
:func:`build_report` turns inventory and records into the report (pure). Tenant safety comes from
both: the inventory is already narrowed to the authorities in scope, records are read and kept only
for those authorities, and names inside records survive only if they belong to their authority.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, TypeVar

from ksm_provision.inventory.hosts import Device, Host, HostKind
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import AuthorityFile
from ksm_provision.prove.model import ProofResult
from ksm_provision.pull.status import ClientState, classify_all, run_failed
from ksm_provision.report.labels import iso_week, local
from ksm_provision.report.model import (
    DEFAULT_TIMEZONE,
    DEFAULT_TREND_WEEKS,
    AddressPlanUsage,
    AddressTotals,
    ApplyInfo,
    ApplyTotals,
    AuthorityReport,
    DriftInfo,
    DriftTotals,
    Estate,
    OpenChanges,
    OpenChangesTotals,
    ProofCellInfo,
    ProofInfo,
    ProofTotals,
    PullInfo,
    PullTotals,
    Report,
    Scope,
    SharedServiceReport,
    SiteInfo,
    SubnetUsage,
    Tally,
    Totals,
    TrendWeek,
    VerifyInfo,
    VerifyTotals,
)
from ksm_provision.workflow.audit import read_audit
from ksm_provision.workflow.history import (
    DriftEntry,
    HistoryEntry,
    PullRunEntry,
    VerifyEntry,
    read_history,
)
from ksm_provision.workflow.records import (
    ApplyResult,
    AuditRecord,
    DriftRecord,
    PlanRecord,
    ProofRecord,
    PullEnrollment,
    PullRunRecord,
    VerifyChecksRecord,
    VerifyRecord,
    load_pull_enrollment,
    load_pull_runs,
    load_status,
    utc_now,
)

S = TypeVar("S", VerifyRecord, VerifyChecksRecord, DriftRecord, PlanRecord, ProofRecord)
R = TypeVar("R", AuditRecord, VerifyRecord, VerifyChecksRecord, DriftRecord, PlanRecord, ProofRecord)
E = TypeVar("E", bound=HistoryEntry)
NO_ROLE = "none"


# --------------------------------------------------------------------------- reading the state dir


@dataclass(frozen=True)
class StateRecords:
    """The status records of the authorities in scope (nothing of another authority is kept)."""

    audit: tuple[AuditRecord, ...] = ()
    verify: Mapping[str, VerifyRecord] = field(default_factory=dict)
    drift: Mapping[str, DriftRecord] = field(default_factory=dict)
    plans: Mapping[str, PlanRecord] = field(default_factory=dict)
    proof: Mapping[str, ProofRecord] = field(default_factory=dict)
    pull: Mapping[str, PullEnrollment] = field(default_factory=dict)
    pull_runs: Mapping[str, Mapping[str, PullRunRecord]] = field(default_factory=dict)
    #: The histories for the trend (``history/<authority>/``); the last records above count too.
    verify_history: Mapping[str, tuple[VerifyEntry, ...]] = field(default_factory=dict)
    drift_history: Mapping[str, tuple[DriftEntry, ...]] = field(default_factory=dict)
    pull_history: Mapping[str, tuple[PullRunEntry, ...]] = field(default_factory=dict)
    #: Per authority: history lines that could not be read (torn, corrupt, of another authority).
    history_skipped_lines: Mapping[str, int] = field(default_factory=dict)


def with_utc_time(record: R) -> R:
    """A record whose naive ``time`` is taken as UTC, so every time compares with every other.

    >>> naive = VerifyRecord(time=datetime(2025, 1, 1), authority="lup", target="lab", passed=True,
    ...                      checks=1, failed=0, pass_rate=1.0)
    >>> with_utc_time(naive).time.tzinfo
    datetime.timezone.utc
    """
    if record.time.tzinfo is not None:
        return record
    return record.model_copy(update={"time": record.time.replace(tzinfo=UTC)})


def read_audit_log(base: Path, authorities: Iterable[str]) -> list[AuditRecord]:
    """The audit log's records of *authorities* (torn lines skipped by :func:`read_audit`)."""
    wanted = set(authorities)
    return [with_utc_time(r) for r in read_audit(base).records if r.authority in wanted]


def own_status(kind: type[S], base: Path, authorities: Iterable[str]) -> dict[str, S]:
    """The last status record of *kind* per authority, kept only if it names that authority."""
    found: dict[str, S] = {}
    for aid in authorities:
        record = load_status(kind, aid, base)
        if record is not None and record.authority == aid:
            found[aid] = with_utc_time(record)
    return found


def load_state(base: Path, authorities: Iterable[str]) -> StateRecords:
    """Read the records of *authorities* from the state directory *base*; missing ones stay absent."""
    ids = list(authorities)
    return StateRecords(
        audit=tuple(read_audit_log(base, ids)),
        verify=own_status(VerifyRecord, base, ids),
        drift=own_status(DriftRecord, base, ids),
        plans=own_status(PlanRecord, base, ids),
        proof=own_status(ProofRecord, base, ids),
        **pull_state(base, ids),
        **history_state(base, ids),
    )


def history_state(base: Path, authorities: Iterable[str]) -> dict[str, Any]:
    """The verify, drift and pull-run histories of *authorities*, each read from its own directory."""
    verify: dict[str, tuple[VerifyEntry, ...]] = {}
    drift: dict[str, tuple[DriftEntry, ...]] = {}
    pull: dict[str, tuple[PullRunEntry, ...]] = {}
    skipped: dict[str, int] = {}
    for aid in authorities:
        verifies = read_history(VerifyEntry, aid, base)
        drifts = read_history(DriftEntry, aid, base)
        runs = read_history(PullRunEntry, aid, base)
        verify[aid], drift[aid], pull[aid] = verifies.entries, drifts.entries, runs.entries
        if verifies.skipped + drifts.skipped + runs.skipped:
            skipped[aid] = verifies.skipped + drifts.skipped + runs.skipped
    return {
        "verify_history": verify,
        "drift_history": drift,
        "pull_history": pull,
        "history_skipped_lines": skipped,
    }


def with_latest(history: Iterable[E], latest: Iterable[E]) -> list[E]:
    """*history* and, after it, the entries of *latest* records it lacks (a state directory from
    before histories has only the latest records).

    >>> t = datetime(2025, 3, 10, tzinfo=UTC)
    >>> old = VerifyEntry(time=t - timedelta(weeks=1), authority="lup", checks=9, failed=1)
    >>> last = VerifyEntry(time=t, authority="lup", checks=9, failed=0)
    >>> [e.failed for e in with_latest([old, last], [last])], [e.failed for e in with_latest([], [last])]
    ([1, 0], [0])
    """
    entries = list(history)
    known = {entry.key for entry in entries}
    return entries + [entry for entry in latest if entry.key not in known]


def pull_state(base: Path, authorities: Iterable[str]) -> dict[str, Any]:
    """The pull enrollments and client runs of *authorities* (each read from its own directory)."""
    enrollments: dict[str, PullEnrollment] = {}
    runs: dict[str, Mapping[str, PullRunRecord]] = {}
    for aid in authorities:
        enrollment = load_pull_enrollment(aid, base)
        if enrollment is not None:
            enrollments[aid] = enrollment
            runs[aid] = load_pull_runs(aid, base)
    return {"pull": enrollments, "pull_runs": runs}


def pull_info(
    enrollment: PullEnrollment | None, runs: Mapping[str, PullRunRecord], names: frozenset[str], now: datetime
) -> PullInfo | None:
    """Current / stale / failing over the enrolled clients that belong to the authority."""
    if enrollment is None:
        return None
    hosts = own_names(enrollment.hosts, names)
    statuses = classify_all(hosts, runs, now, timedelta(hours=enrollment.stale_after_hours))
    by_state = {state: [s.host for s in statuses if s.state is state] for state in ClientState}
    records = [s.record for s in statuses if s.record is not None]
    return PullInfo(
        stale_after_hours=enrollment.stale_after_hours,
        commit=enrollment.commit,
        enrolled=len(statuses),
        current=len(by_state[ClientState.CURRENT]),
        stale=len(by_state[ClientState.STALE]),
        failing=len(by_state[ClientState.FAILING]),
        behind=sum(1 for r in records if enrollment.commit and r.commit != enrollment.commit),
        latest_run=max((r.received for r in records), default=None),
        stale_hosts=by_state[ClientState.STALE],
        failing_hosts=by_state[ClientState.FAILING],
    )


# --------------------------------------------------------------------------- small pure helpers


def ratio(part: int, whole: int) -> float:
    """*part* / *whole* rounded to 4 decimals; 0 when *whole* is 0.

    >>> ratio(1, 3), ratio(5, 0)
    (0.3333, 0.0)
    """
    return round(part / whole, 4) if whole else 0.0


def usable_addresses(subnet: IPv4Network) -> int:
    """Addresses a host can use: all but network and broadcast (RFC 3021: a /31 has 2, a /32 has 1).

    >>> usable_addresses(IPv4Network("10.41.0.0/22")), usable_addresses(IPv4Network("10.41.255.0/31"))
    (1022, 2)
    """
    size = subnet.num_addresses
    return size if subnet.prefixlen >= 31 else size - 2


def sorted_counts(counter: Counter[str]) -> dict[str, int]:
    """A counter as a plain dict with sorted keys (stable JSON).

    >>> sorted_counts(Counter({"b": 2, "a": 1}))
    {'a': 1, 'b': 2}
    """
    return {key: counter[key] for key in sorted(counter)}


def own_names(names: Iterable[str], allowed: frozenset[str]) -> list[str]:
    """*names* that belong to the authority, in their order, without duplicates.

    >>> own_names(["sn-a", "lup-b", "sn-a"], frozenset({"sn-a"}))
    ['sn-a']
    """
    return [name for name in dict.fromkeys(names) if name in allowed]


# --------------------------------------------------------------------------- estate


def _tally(
    total: int,
    sites: Iterable[str] = (),
    oses: Iterable[str] = (),
    roles: Iterable[str] = (),
    profiles: Iterable[str] = (),
) -> Tally:
    return Tally(
        total=total,
        by_site=sorted_counts(Counter(sites)),
        by_os=sorted_counts(Counter(oses)),
        by_role=sorted_counts(Counter(roles)),
        by_profile=sorted_counts(Counter(profiles)),
    )


def estate_of(hosts: list[Host], devices: list[Device], site_key: str = "{site}") -> Estate:
    """Count clients, servers and devices; *site_key* formats the site key (``{authority}``, ``{site}``)."""
    clients = [h for h in hosts if h.kind is HostKind.CLIENT]
    servers = [h for h in hosts if h.kind is HostKind.SERVER]
    return Estate(
        clients=_tally(
            len(clients),
            sites=(site_key.format(authority=h.authority, site=h.site) for h in clients),
            oses=(h.os for h in clients),
            profiles=(h.profile or NO_ROLE for h in clients),
        ),
        servers=_tally(
            len(servers),
            sites=(site_key.format(authority=h.authority, site=h.site) for h in servers),
            oses=(h.os for h in servers),
            roles=(role for h in servers for role in (h.roles or (NO_ROLE,))),
        ),
        devices=_tally(
            len(devices),
            sites=(site_key.format(authority=d.authority, site=d.model.site) for d in devices),
            oses=(str(d.model.platform) for d in devices),
            roles=(str(d.model.role) for d in devices),
        ),
    )


# --------------------------------------------------------------------------- address plan


def address_usage(
    authority: AuthorityFile, block: IPv4Network | None, hosts: list[Host], devices: list[Device]
) -> AddressPlanUsage:
    """How full the authority's block and each of its subnets is."""
    hosts_in = Counter(h.network for h in hosts)
    devices_in = Counter(d.model.management.network for d in devices)
    printers_in = Counter(
        net.id
        for site in authority.sites
        for printer in site.printers
        for net in authority.networks
        if printer.address in net.subnet
    )
    subnets = []
    for net in authority.networks:
        usable = usable_addresses(net.subnet)
        used = hosts_in[net.id] + devices_in[net.id] + printers_in[net.id]
        subnets.append(
            SubnetUsage(
                network=net.id,
                name=net.name,
                site=net.site,
                vlan=net.vlan,
                purpose=str(net.purpose),
                subnet=str(net.subnet),
                size=net.subnet.num_addresses,
                usable=usable,
                hosts=hosts_in[net.id],
                devices=devices_in[net.id],
                printers=printers_in[net.id],
                used=used,
                usage=ratio(used, usable),
            )
        )
    block_size = block.num_addresses if block is not None else 0
    allocated = sum(s.size for s in subnets)
    return AddressPlanUsage(
        block=str(block) if block is not None else None,
        block_size=block_size,
        allocated=allocated,
        allocation=ratio(allocated, block_size),
        used=sum(s.used for s in subnets),
        usable=sum(s.usable for s in subnets),
        subnets=subnets,
    )


def address_totals(plans: Iterable[AddressPlanUsage]) -> AddressTotals:
    plans = list(plans)
    block_size = sum(p.block_size for p in plans)
    allocated = sum(p.allocated for p in plans)
    used = sum(p.used for p in plans)
    usable = sum(p.usable for p in plans)
    return AddressTotals(
        block_size=block_size,
        allocated=allocated,
        allocation=ratio(allocated, block_size),
        used=used,
        usable=usable,
        usage=ratio(used, usable),
    )


# --------------------------------------------------------------------------- status records


def last_apply(records: Iterable[AuditRecord], names: frozenset[str]) -> ApplyInfo | None:
    """The latest apply (by time; the later line wins a tie), its names limited to *names*."""
    latest: AuditRecord | None = None
    for record in records:
        if latest is None or record.time >= latest.time:
            latest = record
    if latest is None:
        return None
    return ApplyInfo(
        id=latest.id,
        time=latest.time,
        target=latest.target,
        result=latest.result.value,
        git_commit=latest.git_commit,
        hosts=latest.hosts,
        devices=latest.devices,
        changed_hosts=len(own_names(latest.changed_hosts, names)),
        changed_devices=len(own_names(latest.changed_devices, names)),
        changed_tasks=latest.changed_tasks,
        failed=own_names(latest.failed, names),
    )


def plan_is_applied(plan: PlanRecord, applies: Iterable[AuditRecord]) -> bool:
    """A plan is settled by a later successful apply to the same target (of the same plan, if hashed)."""
    return any(
        a.result is ApplyResult.SUCCESS
        and a.target == plan.target
        and a.time >= plan.time
        and (plan.plan_hash is None or a.plan_hash == plan.plan_hash)
        for a in applies
    )


def open_changes(
    plan: PlanRecord | None, applies: Iterable[AuditRecord], names: frozenset[str]
) -> OpenChanges | None:
    if plan is None or plan.changes_pending <= 0 or plan_is_applied(plan, applies):
        return None
    return OpenChanges(
        time=plan.time,
        target=plan.target,
        plan_hash=plan.plan_hash,
        changes_pending=plan.changes_pending,
        hosts=own_names(plan.hosts, names),
        devices=own_names(plan.devices, names),
    )


def drift_info(record: DriftRecord | None, names: frozenset[str]) -> DriftInfo | None:
    if record is None:
        return None
    return DriftInfo(
        time=record.time,
        target=record.target,
        drifted=record.drifted,
        hosts=own_names(record.hosts, names),
        devices=own_names(record.devices, names),
    )


def verify_info(record: VerifyRecord | None) -> VerifyInfo | None:
    if record is None:
        return None
    return VerifyInfo(
        time=record.time,
        target=record.target,
        passed=record.passed,
        checks=record.checks,
        failed=record.failed,
        pass_rate=round(record.pass_rate, 4),
    )


#: How a destination of an authority outside the report's scope is shown (no host, no address).
OUTSIDE_SCOPE = "andere Behörde"


def proof_info(
    record: ProofRecord | None, aid: str, scope: frozenset[str], files: frozenset[str]
) -> ProofInfo | None:
    """The authority's proof: its own cells only; what lies outside *scope* without names or addresses.

    *files* are the inventory files whose lines may be shown (the provider's and those in scope).
    """
    if record is None:
        return None
    cells = [c for c in record.cells if c.expectation.source.authority == aid]
    failing = []
    for cell in cells:
        if cell.status not in ("mismatch", "error"):
            continue
        e = cell.expectation
        target = e.destination
        inside = target.authority in scope
        failing.append(
            ProofCellInfo(
                kind=str(e.kind),
                source=e.source.network,
                destination=f"{target.host} {target.address}:{target.port}"
                if inside
                else f"{OUTSIDE_SCOPE}:{target.port}",
                service=target.service,
                expected=e.expected,
                observed=cell.observed,
                status=cell.status,
                detail=cell.detail if inside else "",
                defined_by=[where for where in e.defined_by if where.rpartition(":")[0] in files],
            )
        )

    part = ProofResult.of(cells, record.target)  # counted again: only the cells kept here count
    totals = part.totals
    return ProofInfo(
        time=record.time,
        target=record.target,
        passed=part.ok,
        cells=totals.total,
        ok=totals.ok,
        mismatch=totals.mismatch,
        errors=totals.errors,
        not_in_twin=totals.not_in_twin,
        failing=failing,
    )


# --------------------------------------------------------------------------- time zones and trend


def authority_timezone(inventory: Inventory, aid: str) -> str:
    """The zone an authority's times are shown in: its own setting, the provider's default, Europe/Berlin."""
    own = inventory.authorities[aid].settings.timezone
    return own or report_timezone(inventory)


def report_timezone(inventory: Inventory) -> str:
    """The zone of the report's own times (when built, totals): the provider's default or Europe/Berlin."""
    return inventory.provider.defaults.timezone or DEFAULT_TIMEZONE


def week_start(moment: datetime, zone_name: str) -> date:
    """The Monday of the ISO week *moment* falls in, in the zone *zone_name*.

    Sunday 23:30 UTC is already Monday in Berlin, in winter (UTC+1) as in summer (UTC+2):

    >>> week_start(datetime(2025, 3, 9, 23, 30, tzinfo=UTC), "Europe/Berlin")
    datetime.date(2025, 3, 10)
    >>> week_start(datetime(2025, 7, 6, 22, 30, tzinfo=UTC), "Europe/Berlin")
    datetime.date(2025, 7, 7)
    >>> week_start(datetime(2025, 7, 6, 21, 30, tzinfo=UTC), "Europe/Berlin")
    datetime.date(2025, 6, 30)
    """
    day = local(moment, zone_name).date()
    return day - timedelta(days=day.weekday())


def trend_weeks(now: datetime, zone_name: str, weeks: int) -> list[date]:
    """The Mondays of the last *weeks* ISO weeks up to the one of *now*, oldest first.

    >>> [str(d) for d in trend_weeks(datetime(2025, 3, 12, tzinfo=UTC), "Europe/Berlin", 3)]
    ['2025-02-24', '2025-03-03', '2025-03-10']
    """
    current = week_start(now, zone_name)
    return [current - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def trend_of(
    applies: Iterable[AuditRecord],
    drifts: Iterable[DriftEntry],
    verifies: Iterable[VerifyEntry],
    pull_runs: Iterable[PullRunEntry],
    names: frozenset[str],
    *,
    zone_name: str,
    now: datetime,
    weeks: int,
) -> list[TrendWeek]:
    """Per ISO week (in *zone_name*) of the last *weeks*: changes, drift and checks of one authority.

    The audit records and history entries are the authority's own; names in them count only if
    they are in *names*. A week without a record of a kind is ``None`` for it; changes are 0 only
    from the week of the first logged apply on (the audit log says nothing about the weeks before it).
    """

    def week(time: datetime) -> date:
        return week_start(time, zone_name)

    logged_in: dict[date, list[AuditRecord]] = {}
    for apply in applies:
        logged_in.setdefault(week(apply.time), []).append(apply)
    first_logged = min(logged_in, default=None)
    last_drift: dict[date, DriftEntry] = {}
    for drift_record in drifts:
        known = last_drift.get(week(drift_record.time))
        if known is None or drift_record.time >= known.time:
            last_drift[week(drift_record.time)] = drift_record
    checks: Counter[date] = Counter()
    failed: Counter[date] = Counter()
    for record in verifies:
        checks[week(record.time)] += record.checks
        failed[week(record.time)] += record.failed
    for run in pull_runs:
        if run.host in names:
            checks[week(run.time)] += 1
            failed[week(run.time)] += int(run.failed)

    rows = []
    for start in trend_weeks(now, zone_name, weeks):
        logged = logged_in.get(start, [])
        covered = first_logged is not None and start >= first_logged
        failed_changes = sum(1 for a in logged if a.result is not ApplyResult.SUCCESS)
        changed = sum(len(own_names([*a.changed_hosts, *a.changed_devices], names)) for a in logged)
        drift = last_drift.get(start)
        total = checks[start]
        rows.append(
            TrendWeek(
                week=iso_week(start),
                start=start,
                changes=len(logged) if covered else None,
                failed_changes=failed_changes if covered else None,
                changed_systems=changed if covered else None,
                drifted_systems=len(own_names([*drift.hosts, *drift.devices], names)) if drift else None,
                checks=total or None,
                failed_checks=failed[start] if total else None,
                pass_rate=ratio(total - failed[start], total) if total else None,
            )
        )
    return rows


# --------------------------------------------------------------------------- shared services


def shared_services(inventory: Inventory) -> list[SharedServiceReport]:
    """Fachverfahren that an authority in scope hosts or consumes, seen only from the scope."""
    in_scope = inventory.authorities
    reports = []
    for service in inventory.provider.shared_services:
        consumers = [
            aid
            for aid, authority in in_scope.items()
            if aid in service.consumers or service.id in authority.consumes
        ]
        hosted_here = service.hosted_by.authority in in_scope
        if not hosted_here and not consumers:
            continue
        reports.append(
            SharedServiceReport(
                id=service.id,
                name=service.name,
                port=service.port,
                hosted_by=service.hosted_by.authority if hosted_here else None,
                host=service.hosted_by.host if hosted_here else None,
                consumers=consumers,
            )
        )
    return reports


def profile_descriptions(inventory: Inventory, authorities: Iterable[AuthorityReport]) -> dict[str, str]:
    """Descriptions of the client profiles used by the authorities in the report."""
    used = {p for a in authorities for p in a.estate.clients.by_profile}
    profiles = inventory.provider.client_profiles
    return {pid: profiles[pid].description if pid in profiles else pid for pid in sorted(used)}


# --------------------------------------------------------------------------- the report


def authority_report(
    inventory: Inventory,
    aid: str,
    hosts: list[Host],
    devices: list[Device],
    state: StateRecords,
    now: datetime | None = None,
    weeks: int = DEFAULT_TREND_WEEKS,
) -> AuthorityReport:
    """One authority's figures from its own *hosts*, *devices* and records."""
    authority = inventory.authorities[aid]
    names = frozenset(h.hostname for h in hosts) | frozenset(d.hostname for d in devices)
    blocks = {b.authority: b.block for b in inventory.provider.address_plan.authorities}
    applies = [r for r in state.audit if r.authority == aid]
    zone_name = authority_timezone(inventory, aid)
    drift, verify, plan = state.drift.get(aid), state.verify.get(aid), state.plans.get(aid)
    now = now or utc_now()
    return AuthorityReport(
        id=aid,
        name=authority.authority.name,
        ags=authority.authority.ags,
        timezone=zone_name,
        sites=[SiteInfo(id=s.id, name=s.name, shared_site=s.shared_site) for s in authority.sites],
        estate=estate_of(hosts, devices),
        address_plan=address_usage(authority, blocks.get(aid), hosts, devices),
        last_apply=last_apply(applies, names),
        applies=len(applies),
        drift=drift_info(drift, names),
        verification=verify_info(verify),
        last_plan=plan.time if plan is not None else None,
        open_changes=open_changes(plan, applies, names),
        proof=proof_info(state.proof.get(aid), aid, frozenset(inventory.authorities), shown_files(inventory)),
        pull=pull_info(state.pull.get(aid), state.pull_runs.get(aid, {}), names, now),
        trend=trend_of(
            applies,
            with_latest(state.drift_history.get(aid, ()), [DriftEntry.of(drift)] if drift else []),
            with_latest(state.verify_history.get(aid, ()), [VerifyEntry.of(verify)] if verify else []),
            pull_runs_of(state.pull.get(aid), state.pull_runs.get(aid, {}), state.pull_history.get(aid, ())),
            names,
            zone_name=zone_name,
            now=now,
            weeks=weeks,
        ),
    )


def pull_runs_of(
    enrollment: PullEnrollment | None, runs: Mapping[str, PullRunRecord], history: Iterable[PullRunEntry] = ()
) -> list[PullRunEntry]:
    """The recorded runs (history and last runs) of the clients enrolled in pull mode (a client no
    longer enrolled does not count)."""
    if enrollment is None:
        return []
    enrolled = set(enrollment.hosts)
    latest = [
        PullRunEntry.of(runs[host], failed=run_failed(runs[host]))
        for host in sorted(enrolled)
        if host in runs
    ]
    return [run for run in with_latest(history, latest) if run.host in enrolled]


def shown_files(inventory: Inventory) -> frozenset[str]:
    """The inventory files a report may quote lines of: the provider's and those of the scope."""
    return frozenset({inventory.provider_source.file, *(s.file for s in inventory.sources.values())})


def totals_of(inventory: Inventory, authorities: list[AuthorityReport]) -> Totals:
    """Sums over the authorities in the report (and only those)."""
    lasts = [a.last_apply for a in authorities if a.last_apply is not None]
    drifts = [a.drift for a in authorities if a.drift is not None]
    verifies = [a.verification for a in authorities if a.verification is not None]
    pending = [a.open_changes for a in authorities if a.open_changes is not None]
    proofs = [a.proof for a in authorities if a.proof is not None]
    pulls = [a.pull for a in authorities if a.pull is not None]
    checks = sum(v.checks for v in verifies)
    failed_checks = sum(v.failed for v in verifies)
    return Totals(
        authorities=len(authorities),
        estate=estate_of(inventory.hosts, inventory.devices, site_key="{authority}/{site}"),
        address_plan=address_totals(a.address_plan for a in authorities),
        applies=ApplyTotals(
            authorities_with_data=len(lasts),
            succeeded=sum(1 for a in lasts if a.result == "success"),
            failed=sum(1 for a in lasts if a.result != "success"),
            latest=max((a.time for a in lasts), default=None),
        ),
        drift=DriftTotals(
            authorities_with_data=len(drifts),
            drifted_authorities=sum(1 for d in drifts if d.drifted),
            drifted_hosts=sum(len(d.hosts) for d in drifts),
            drifted_devices=sum(len(d.devices) for d in drifts),
        ),
        verification=VerifyTotals(
            authorities_with_data=len(verifies),
            checks=checks,
            failed=failed_checks,
            pass_rate=ratio(checks - failed_checks, checks) if checks else None,
        ),
        open_changes=OpenChangesTotals(
            authorities_with_data=sum(1 for a in authorities if a.last_plan is not None),
            authorities_pending=len(pending),
            changes_pending=sum(p.changes_pending for p in pending),
        ),
        proof=ProofTotals(
            authorities_with_data=len(proofs),
            passed_authorities=sum(1 for p in proofs if p.passed),
            cells=sum(p.cells for p in proofs),
            ok=sum(p.ok for p in proofs),
            mismatch=sum(p.mismatch for p in proofs),
            errors=sum(p.errors for p in proofs),
            not_in_twin=sum(p.not_in_twin for p in proofs),
        ),
        pull=PullTotals(
            authorities_with_data=len(pulls),
            enrolled=sum(p.enrolled for p in pulls),
            current=sum(p.current for p in pulls),
            stale=sum(p.stale for p in pulls),
            failing=sum(p.failing for p in pulls),
        ),
    )


def build_report(
    inventory: Inventory,
    state: StateRecords,
    generated_at: datetime,
    *,
    filtered: bool = False,
    weeks: int = DEFAULT_TREND_WEEKS,
) -> Report:
    """The report of every authority in *inventory* (narrow it with ``Inventory.select`` first)."""
    hosts: dict[str, list[Host]] = {aid: [] for aid in inventory.authorities}
    devices: dict[str, list[Device]] = {aid: [] for aid in inventory.authorities}
    for host in inventory.hosts:
        hosts[host.authority].append(host)
    for device in inventory.devices:
        devices[device.authority].append(device)
    authorities = [
        authority_report(inventory, aid, hosts[aid], devices[aid], state, generated_at, weeks)
        for aid in inventory.authorities
    ]
    return Report(
        generated_at=generated_at,
        timezone=report_timezone(inventory),
        trend_weeks=weeks,
        provider=inventory.provider.provider.name,
        scope=Scope(authorities=list(inventory.authorities), filtered=filtered),
        totals=totals_of(inventory, authorities),
        authorities=authorities,
        shared_services=shared_services(inventory),
        client_profiles=profile_descriptions(inventory, authorities),
    )


def collect_report(
    inventory: Inventory,
    base: Path,
    *,
    generated_at: datetime | None = None,
    filtered: bool = False,
    weeks: int = DEFAULT_TREND_WEEKS,
) -> Report:
    """Read the state of the authorities in *inventory* from *base* and build the report.

    *weeks* (at least 1) is how many ISO weeks each authority's trend covers, the current one last.
    """
    if weeks < 1:
        raise ValueError(f"a trend needs at least one week, e.g. weeks=8 (got {weeks})")
    state = load_state(base, inventory.authorities)
    return build_report(inventory, state, generated_at or utc_now(), filtered=filtered, weeks=weeks)
