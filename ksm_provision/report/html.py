"""The report as one self-contained HTML page: inline CSS and SVG, no scripts, works offline.

Jinja2 with autoescape renders ``templates/report.html.j2``; the only markup not escaped by the
template is SVG from :mod:`ksm_provision.report.svg`, which escapes its own text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

from ksm_provision.report import labels, svg
from ksm_provision.report.model import (
    AddressPlanUsage,
    ApplyInfo,
    AuthorityReport,
    DriftInfo,
    GrundschutzInfo,
    GrundschutzOpen,
    GrundschutzWeek,
    OpenChanges,
    ProofInfo,
    PullInfo,
    Report,
    SharedServiceReport,
    TrendWeek,
    VerifyInfo,
)

TEMPLATES = Path(__file__).parent / "templates"
Tone = Literal["ok", "warn", "bad", "none"]

PURPOSE_COLORS = {
    "clients": "#1f4e79",
    "servers": "#2e86ab",
    "management": "#6aa84f",
    "printers": "#e0a100",
    "voice": "#8e6c8a",
    "transit": "#7f7f7f",
}


@dataclass(frozen=True)
class Badge:
    """A status shown as a coloured label."""

    text: str
    tone: Tone


@dataclass(frozen=True)
class SiteRow:
    name: str
    shared: bool
    clients: int
    servers: int
    devices: int


@dataclass(frozen=True)
class ServiceRow:
    name: str
    port: int
    hosted_by: str
    host: str
    consumers: str


# --------------------------------------------------------------------------- statuses


def apply_badge(info: ApplyInfo | None) -> Badge:
    """The result of the last apply.

    >>> apply_badge(None)
    Badge(text='keine Daten', tone='none')
    """
    if info is None:
        return Badge(labels.NO_DATA, "none")
    tone: Tone = "ok" if info.result == "success" else "bad"
    return Badge(labels.label(labels.APPLY_RESULTS, info.result), tone)


def drift_badge(info: DriftInfo | None) -> Badge:
    if info is None:
        return Badge(labels.NO_DATA, "none")
    if not info.drifted:
        return Badge("keine", "ok")
    return Badge(labels.plural(len(info.hosts) + len(info.devices), "System", "Systeme"), "bad")


def verify_badge(info: VerifyInfo | None) -> Badge:
    """The pass rate of the last ``ksm verify``; a run without checks proves nothing.

    >>> verify_badge(None).text, verify_badge(VerifyInfo(time=datetime(2025, 3, 10), target="lab",
    ...     passed=True, checks=0, failed=0, pass_rate=1.0))
    ('keine Daten', Badge(text='nichts geprüft', tone='warn'))
    """
    if info is None:
        return Badge(labels.NO_DATA, "none")
    if info.checks == 0:
        return Badge("nichts geprüft", "warn")
    tone: Tone = "ok" if info.passed else "warn" if info.pass_rate >= 0.9 else "bad"
    return Badge(labels.percent(info.pass_rate), tone)


def open_changes_badge(info: OpenChanges | None, last_plan: datetime | None) -> Badge:
    """Pending changes of the last plan; "keine" only when a plan was made and nothing is pending.

    >>> open_changes_badge(None, None), open_changes_badge(None, datetime(2025, 3, 10)).text
    (Badge(text='keine Daten', tone='none'), 'keine')
    """
    if info is None:
        return Badge("keine", "ok") if last_plan is not None else Badge(labels.NO_DATA, "none")
    return Badge(labels.plural(info.changes_pending, "Änderung", "Änderungen"), "warn")


def proof_badge(info: ProofInfo | None) -> Badge:
    """The verdict of the last ``ksm prove``.

    >>> proof_badge(None)
    Badge(text='keine Daten', tone='none')
    """
    if info is None:
        return Badge(labels.NO_DATA, "none")
    if info.passed:
        return Badge("eingehalten", "ok")
    failing = info.mismatch + info.errors
    if failing:
        return Badge(labels.plural(failing, "Abweichung", "Abweichungen"), "bad")
    return Badge("nichts geprüft", "warn")


def pull_badge(info: PullInfo) -> Badge:
    """Pull-mode clients: all current, some stale, or some failing; none enrolled is "keine Daten".

    >>> pull_badge(PullInfo(stale_after_hours=24, commit=None, enrolled=2, current=2, stale=0, failing=0,
    ...     behind=0, latest_run=None, stale_hosts=[], failing_hosts=[])).text
    '2 von 2 aktuell'
    """
    if info.enrolled == 0:
        return Badge(labels.NO_DATA, "none")
    text = f"{labels.number(info.current)} von {labels.number(info.enrolled)} aktuell"
    if info.failing:
        return Badge(text, "bad")
    return Badge(text, "warn" if info.stale else "ok")


@dataclass(frozen=True)
class Kpi:
    """A key figure across the authorities in scope: its tone and the line under the value."""

    tone: Tone
    sub: str


def missing_note(with_data: int, authorities: int) -> str:
    """Which share of the scope has no record, or "" when every authority has one.

    >>> missing_note(1, 2), missing_note(2, 2)
    ('für 1 von 2 Behörden keine Daten', '')
    """
    missing = authorities - with_data
    if not missing:
        return ""
    return f"für {missing} von {labels.plural(authorities, 'Behörde', 'Behörden')} keine Daten"


def settled(tone: Tone, with_data: int, authorities: int) -> Tone:
    """Green only when every authority in scope has a record: missing data is never success.

    >>> settled("ok", 1, 2), settled("ok", 2, 2), settled("bad", 1, 2)
    ('none', 'ok', 'bad')
    """
    if with_data == 0:
        return "none"
    return "none" if tone == "ok" and with_data < authorities else tone


def verify_kpi(report: Report) -> Kpi:
    v, scope = report.totals.verification, report.totals.authorities
    if v.pass_rate is None:
        return Kpi("none", labels.NO_DATA)
    tone: Tone = "ok" if v.failed == 0 else "warn" if v.pass_rate >= 0.9 else "bad"
    sub = f"{labels.number(v.checks - v.failed)} von {labels.number(v.checks)} Prüfungen bestanden"
    note = missing_note(v.authorities_with_data, scope)
    return Kpi(settled(tone, v.authorities_with_data, scope), f"{sub}; {note}" if note else sub)


def drift_kpi(report: Report) -> Kpi:
    d, scope = report.totals.drift, report.totals.authorities
    if d.authorities_with_data == 0:
        return Kpi("none", labels.NO_DATA)
    checked = labels.plural(d.authorities_with_data, "Behörde", "Behörden")
    sub = f"Systeme in {d.drifted_authorities} von {checked}"
    note = missing_note(d.authorities_with_data, scope)
    tone: Tone = "bad" if d.drifted_authorities else "ok"
    return Kpi(settled(tone, d.authorities_with_data, scope), f"{sub}; {note}" if note else sub)


def open_changes_kpi(report: Report) -> Kpi:
    o, scope = report.totals.open_changes, report.totals.authorities
    if o.authorities_with_data == 0:
        return Kpi("none", labels.NO_DATA)
    if o.authorities_pending:
        where = labels.plural(o.authorities_pending, "Behörde", "Behörden")
        sub = f"in {where} geplant, nicht ausgerollt"
    else:
        sub = "nichts ausstehend"
    note = missing_note(o.authorities_with_data, scope)
    tone: Tone = "warn" if o.changes_pending else "ok"
    return Kpi(settled(tone, o.authorities_with_data, scope), f"{sub}; {note}" if note else sub)


# --------------------------------------------------------------------------- trend


@dataclass(frozen=True)
class TrendCell:
    """A figure of the trend table; *tone* colours it, ``None`` leaves it plain."""

    text: str
    tone: Tone | None = None


NO_DATA_CELL = TrendCell(labels.NO_DATA, "none")


def trend_cells(week: TrendWeek) -> dict[str, TrendCell]:
    """The week's figures as shown: "keine Daten" where a record is missing, never 0 or 0 %.

    >>> from datetime import date
    >>> empty = TrendWeek(week="2025-W11", start=date(2025, 3, 10), changes=0, failed_changes=0,
    ...     changed_systems=0, drifted_systems=None, checks=None, failed_checks=None, pass_rate=None)
    >>> {key: cell.text for key, cell in trend_cells(empty).items()}
    {'changes': '0', 'drift': 'keine Daten', 'checks': 'keine Daten', 'pass_rate': 'keine Daten'}
    """
    if week.changes is None:
        changes = NO_DATA_CELL
    elif week.failed_changes:
        changes = TrendCell(f"{labels.number(week.changes)} ({week.failed_changes} fehlgeschlagen)", "bad")
    else:
        changes = TrendCell(labels.number(week.changes))
    if week.drifted_systems is None:
        drift = NO_DATA_CELL
    elif week.drifted_systems:
        drift = TrendCell(labels.plural(week.drifted_systems, "System", "Systeme"), "bad")
    else:
        drift = TrendCell("keine", "ok")
    if week.pass_rate is None or week.checks is None:
        checks, rate = NO_DATA_CELL, NO_DATA_CELL
    else:
        tone: Tone = "ok" if week.failed_checks == 0 else "warn" if week.pass_rate >= 0.9 else "bad"
        checks, rate = TrendCell(labels.number(week.checks)), TrendCell(labels.percent(week.pass_rate), tone)
    return {"changes": changes, "drift": drift, "checks": checks, "pass_rate": rate}


# --------------------------------------------------------------------------- IT-Grundschutz

#: Open Anforderungen listed per authority on the page; the rest are counted (the JSON has all).
SHOWN_OPEN = 15


def grundschutz_badge(info: GrundschutzInfo | None) -> Badge:
    """The share of mapped Anforderungen met; nothing recorded is "keine Daten", never green.

    >>> empty = GrundschutzInfo(kompendium="k", mapped=3, met=0, partial=0, not_met=0, no_data=3,
    ...     not_checkable=1, share_met=None, latest_evidence=None, targets=[], open=[])
    >>> grundschutz_badge(empty), grundschutz_badge(None).tone
    (Badge(text='keine Daten', tone='none'), 'none')
    """
    if info is None or info.share_met is None:
        return Badge(labels.NO_DATA, "none")
    tone: Tone = "bad" if info.not_met else "ok" if info.met == info.mapped else "warn"
    return Badge(f"{labels.percent(info.share_met)} erfüllt", tone)


def open_tone(item: GrundschutzOpen) -> Tone:
    """Red for nicht erfüllt, amber for teilweise, grey for keine Daten."""
    if item.status == "not_met":
        return "bad"
    return "warn" if item.status == "partial" else "none"


def grundschutz_cells(week: GrundschutzWeek) -> dict[str, TrendCell]:
    """A week of the Grundschutz trend: "keine Daten" without a check that week.

    >>> from datetime import date
    >>> none = GrundschutzWeek(week="2025-W11", start=date(2025, 3, 10), mapped=None, met=None,
    ...     partial=None, not_met=None, no_data=None, share_met=None)
    >>> {key: cell.text for key, cell in grundschutz_cells(none).items()}
    {'share': 'keine Daten', 'met': 'keine Daten', 'not_met': 'keine Daten'}
    """
    if week.mapped is None or week.met is None or week.not_met is None:
        return {"share": NO_DATA_CELL, "met": NO_DATA_CELL, "not_met": NO_DATA_CELL}
    share = NO_DATA_CELL
    if week.share_met is not None:
        tone: Tone = "bad" if week.not_met else "ok" if week.met == week.mapped else "warn"
        share = TrendCell(labels.percent(week.share_met), tone)
    return {
        "share": share,
        "met": TrendCell(f"{week.met} von {week.mapped}"),
        "not_met": TrendCell(labels.number(week.not_met), "bad" if week.not_met else None),
    }


# --------------------------------------------------------------------------- tables


def site_rows(authority: AuthorityReport) -> list[SiteRow]:
    estate = authority.estate
    return [
        SiteRow(
            name=site.name,
            shared=site.shared_site is not None,
            clients=estate.clients.by_site.get(site.id, 0),
            servers=estate.servers.by_site.get(site.id, 0),
            devices=estate.devices.by_site.get(site.id, 0),
        )
        for site in authority.sites
    ]


def site_names_of(authority: AuthorityReport) -> dict[str, str]:
    return {site.id: site.name for site in authority.sites}


def service_rows(services: Sequence[SharedServiceReport], names: Mapping[str, str]) -> list[ServiceRow]:
    """Shared services with authority names; what lies outside the scope stays blank."""
    return [
        ServiceRow(
            name=s.name,
            port=s.port,
            hosted_by=names.get(s.hosted_by, s.hosted_by) if s.hosted_by else "–",
            host=s.host or "–",
            consumers=", ".join(names.get(c, c) for c in s.consumers) or "–",
        )
        for s in services
    ]


# --------------------------------------------------------------------------- charts


def top_counts(counts: Mapping[str, int], limit: int) -> list[tuple[str, int]]:
    """Largest first; beyond *limit* rows the rest is summed up as "übrige (N)".

    >>> top_counts({"a": 1, "b": 5, "c": 3, "d": 2}, 3)
    [('b', 5), ('c', 3), ('übrige (2)', 3)]
    """
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(ordered) <= limit:
        return ordered
    rest = ordered[limit - 1 :]
    return [*ordered[: limit - 1], (f"übrige ({len(rest)})", sum(value for _, value in rest))]


def counts_chart(
    counts: Mapping[str, int],
    *,
    title: str,
    names: Mapping[str, str] | None = None,
    color: str = svg.PRIMARY,
    width: float = 540,
    limit: int = 12,
) -> Markup:
    """Bars for a ``by_*`` mapping, largest first, keys shown by their German label."""
    bars = [
        svg.Bar(label=(names or {}).get(key, key), value=value, display=labels.number(value), color=color)
        for key, value in top_counts(counts, limit)
    ]
    return Markup(svg.bar_chart(bars, title=title, width=width, label_width=235))  # svg escapes its own text


def block_chart(plan: AddressPlanUsage, title: str) -> Markup:
    """The authority block as one stacked bar: allocated addresses by purpose, then free space."""
    allocated = Counter[str]()
    for subnet in plan.subnets:
        allocated[subnet.purpose] += subnet.size
    segments = [
        svg.Segment(
            label=labels.label(labels.PURPOSES, purpose),
            value=size,
            color=PURPOSE_COLORS.get(purpose, svg.PALETTE[-1]),
            display=labels.number(size),
        )
        for purpose, size in sorted(allocated.items(), key=lambda item: -item[1])
    ]
    segments.append(
        svg.Segment(
            label="frei", value=0, color=svg.FREE, display=labels.number(plan.block_size - plan.allocated)
        )
    )
    return Markup(svg.stacked_bar(segments, plan.block_size, title=title, width=1110))


def meter(fraction: float, title: str) -> Markup:
    return Markup(svg.meter(fraction, title=title, width=110))


def ring(fraction: float | None, title: str) -> Markup:
    return Markup(svg.ring(fraction, title=title, caption=labels.percent(fraction)))


# --------------------------------------------------------------------------- page


@cache
def _template() -> Template:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=labels.number,
        percent=labels.percent,
        timestamp=labels.timestamp,
        calendar_week=labels.calendar_week,
        trend_cells=trend_cells,
        grundschutz_cells=grundschutz_cells,
    )
    env.globals.update(plural=labels.plural)
    env.globals.update(
        label=labels.label,
        PURPOSES=labels.PURPOSES,
        SERVER_ROLES=labels.SERVER_ROLES,
        DEVICE_ROLES=labels.DEVICE_ROLES,
        OPERATING_SYSTEMS=labels.OPERATING_SYSTEMS,
        TARGETS=labels.TARGETS,
        NO_DATA=labels.NO_DATA,
        apply_badge=apply_badge,
        drift_badge=drift_badge,
        verify_badge=verify_badge,
        open_changes_badge=open_changes_badge,
        proof_badge=proof_badge,
        pull_badge=pull_badge,
        grundschutz_badge=grundschutz_badge,
        open_tone=open_tone,
        SHOWN_OPEN=SHOWN_OPEN,
        GRUNDSCHUTZ_STATUS=labels.GRUNDSCHUTZ_STATUS,
        verify_kpi=verify_kpi,
        drift_kpi=drift_kpi,
        open_changes_kpi=open_changes_kpi,
        site_rows=site_rows,
        site_names_of=site_names_of,
        counts_chart=counts_chart,
        block_chart=block_chart,
        meter=meter,
        ring=ring,
    )
    return env.get_template("report.html.j2")


def render_html(report: Report) -> str:
    """The whole page for *report*."""
    names = {a.id: a.name for a in report.authorities}
    clients_per_authority = {a.name: a.estate.clients.total for a in report.authorities}
    return _template().render(
        report=report,
        totals=report.totals,
        services=service_rows(report.shared_services, names),
        clients_chart=counts_chart(clients_per_authority, title="Arbeitsplätze je Behörde"),
        profile_chart=counts_chart(
            report.totals.estate.clients.by_profile,
            title="Arbeitsplätze nach Profil",
            names=report.client_profiles,
        ),
        server_role_chart=counts_chart(
            report.totals.estate.servers.by_role,
            title="Server nach Rolle",
            names=labels.SERVER_ROLES,
            color=svg.PALETTE[1],
        ),
        device_role_chart=counts_chart(
            report.totals.estate.devices.by_role,
            title="Netzwerkgeräte nach Rolle",
            names=labels.DEVICE_ROLES,
            color=svg.PALETTE[2],
        ),
    )


def write_html(report: Report, path: Path) -> Path:
    """Write the page to *path* (UTF-8) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
