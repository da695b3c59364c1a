"""The IT-Grundschutz section of ``ksm report``: the check of ``ksm compliance`` per authority, with
its trend, added to a :class:`~ksm_provision.report.model.Report`.

It lives here, not in the report package, because the check is built on the report's collection
code (the dependency points from ``compliance`` to ``report``, never back); ``ksm report`` adds the
section after collecting the report (:func:`add_grundschutz`). The current figures come from the
same function and the same records as ``ksm compliance``, for the authorities in the report's
scope only; the trend from each authority's ``history/<authority>/compliance.jsonl``, which every
``ksm compliance`` run appends to (:func:`ksm_provision.compliance.state.record_summaries`). Only
Anforderung ids, titles, counts and reasons reach the report: no host names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from ksm_provision.compliance.check import build_compliance
from ksm_provision.compliance.mapping import load_mapping
from ksm_provision.compliance.model import AuthorityCompliance, Status
from ksm_provision.compliance.state import load_compliance_state
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.report.collect import ratio, trend_weeks, week_start
from ksm_provision.report.labels import iso_week
from ksm_provision.report.model import GrundschutzInfo, GrundschutzOpen, GrundschutzWeek, Report
from ksm_provision.workflow.history import ComplianceEntry, read_history

#: The order of the open Anforderungen: what failed first, then what is incomplete, then no data.
OPEN_ORDER = (Status.NOT_MET, Status.PARTIAL, Status.NOT_CHECKED)


def grundschutz_trend(
    entries: Iterable[ComplianceEntry], edition: str, *, zone_name: str, now: datetime, weeks: int
) -> list[GrundschutzWeek]:
    """Per ISO week (in *zone_name*) of the last *weeks*: the counts of the week's last check.

    >>> from datetime import UTC
    >>> now = datetime(2025, 3, 12, tzinfo=UTC)
    >>> e = ComplianceEntry(time=datetime(2025, 3, 11, tzinfo=UTC), authority="lup", edition="2023",
    ...                     mapped=4, met=1, partial=1, not_met=1, no_data=1)
    >>> [(w.week, w.share_met) for w in grundschutz_trend([e], "2023", zone_name="Europe/Berlin",
    ...                                                    now=now, weeks=2)]
    [('2025-W10', None), ('2025-W11', 0.25)]
    """
    last: dict[date, ComplianceEntry] = {}
    for recorded in entries:
        if recorded.edition != edition:
            continue  # another edition's mapping counts other Anforderungen
        start = week_start(recorded.time, zone_name)
        if start not in last or recorded.time >= last[start].time:
            last[start] = recorded
    rows = []
    for start in trend_weeks(now, zone_name, weeks):
        entry = last.get(start)
        with_evidence = entry is not None and entry.mapped > entry.no_data
        rows.append(
            GrundschutzWeek(
                week=iso_week(start),
                start=start,
                mapped=entry.mapped if entry else None,
                met=entry.met if entry else None,
                partial=entry.partial if entry else None,
                not_met=entry.not_met if entry else None,
                no_data=entry.no_data if entry else None,
                share_met=ratio(entry.met, entry.mapped) if entry and with_evidence else None,
            )
        )
    return rows


def grundschutz_info(
    check: AuthorityCompliance, kompendium: str, trend: list[GrundschutzWeek]
) -> GrundschutzInfo:
    """One authority's figures, open Anforderungen (not met first) and trend."""
    counts = check.summary
    mapped = sum(n for status, n in counts.items() if status is not Status.NOT_CHECKABLE)
    no_data = counts.get(Status.NOT_CHECKED, 0)
    requirements = [(b, r) for b in check.bausteine for r in b.anforderungen]
    open_items = [
        GrundschutzOpen(
            id=r.id, title=r.title, baustein=b.id, level=r.level, status=r.status.value, reason=r.reason
        )
        for status in OPEN_ORDER
        for b, r in requirements
        if r.status is status
    ]
    times = [e.source_time for _, r in requirements for e in r.evidence if e.source_time is not None]
    targets = sorted({e.target for _, r in requirements for e in r.evidence if e.target is not None})
    return GrundschutzInfo(
        kompendium=kompendium,
        mapped=mapped,
        met=counts.get(Status.MET, 0),
        partial=counts.get(Status.PARTIAL, 0),
        not_met=counts.get(Status.NOT_MET, 0),
        no_data=no_data,
        not_checkable=counts.get(Status.NOT_CHECKABLE, 0),
        share_met=ratio(counts.get(Status.MET, 0), mapped) if mapped > no_data else None,
        latest_evidence=max(times, default=None),
        targets=targets,
        open=open_items,
        trend=trend,
    )


def add_grundschutz(report: Report, inventory: Inventory, base: Path) -> Report:
    """*report* with the IT-Grundschutz section of each of its authorities.

    *inventory* is the report's (already narrowed to its scope), *base* the state directory it was
    collected from; the check is built at the report's time, the trend over its weeks.
    """
    check = build_compliance(
        load_mapping(), inventory, load_compliance_state(base, inventory.authorities), report.generated_at
    )
    found = {a.id: a for a in check.authorities}
    authorities = [
        authority.model_copy(
            update={
                "grundschutz": grundschutz_info(
                    found[authority.id],
                    check.kompendium.title,
                    grundschutz_trend(
                        read_history(ComplianceEntry, authority.id, base).entries,
                        check.kompendium.edition,
                        zone_name=authority.timezone,
                        now=report.generated_at,
                        weeks=report.trend_weeks,
                    ),
                )
            }
        )
        for authority in report.authorities
        if authority.id in found
    ]
    return report.model_copy(update={"authorities": authorities})
