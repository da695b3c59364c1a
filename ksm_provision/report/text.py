"""A short terminal summary of the report, as rich tables (German labels, like the HTML page).

Names come from the inventory: they enter the tables as :func:`ksm_provision.terminal.text`
(never parsed as markup, control characters visible), so ``[/]`` in an authority's name prints.

Nothing is cut: every column folds what does not fit onto the next line instead of ending it in
"…". When the output is not a terminal (a pipe, a file, CI), :func:`print_summary` draws the
tables in plain ASCII on a console wide enough that no cell folds at all, so ``grep`` finds a whole
host name on one line. Times are shown in the authority's time zone (MEZ/MESZ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ksm_provision.report import labels
from ksm_provision.report.model import AuthorityReport, Report, TrendWeek
from ksm_provision.terminal import text

_STYLES = {"ok": "green", "warn": "yellow", "bad": "bold red", "none": "dim"}
#: Width of the console when the output is not a terminal: wider than any table, so nothing folds.
PLAIN_WIDTH = 100_000


@dataclass(frozen=True)
class Look:
    """How the tables are drawn: rich's box characters on a terminal, plain ASCII elsewhere."""

    box: box.Box = box.SIMPLE_HEAD
    pad_edge: bool = False

    @classmethod
    def for_console(cls, console: Console) -> Look:
        """Plain ASCII off a terminal, and on a terminal that cannot show box drawing characters."""
        return cls() if console.is_terminal and not console.options.ascii_only else PLAIN


RICH = Look()
PLAIN = Look(box=box.ASCII, pad_edge=True)


def _table(look: Look, title: str | None = None) -> Table:
    return Table(title=title, title_justify="left", header_style="bold", box=look.box, pad_edge=look.pad_edge)


def _column(table: Table, heading: str, justify: Literal["left", "right"] = "left") -> None:
    """A column that folds a long value onto the next line; never cuts it with "…"."""
    table.add_column(heading, justify=justify, overflow="fold")


def _no_data() -> Text:
    return Text(labels.NO_DATA, style=_STYLES["none"])


def _apply_cells(authority: AuthorityReport) -> tuple[Text, Text]:
    info = authority.last_apply
    if info is None:
        return _no_data(), Text("")
    result = labels.label(labels.APPLY_RESULTS, info.result)
    style = _STYLES["ok"] if info.result == "success" else _STYLES["bad"]
    return Text(labels.timestamp(info.time, authority.timezone)), Text(result, style=style)


def _drift_cell(authority: AuthorityReport) -> Text:
    info = authority.drift
    if info is None:
        return _no_data()
    if not info.drifted:
        return Text("keine", style=_STYLES["ok"])
    return Text(labels.plural(len(info.hosts) + len(info.devices), "System", "Systeme"), style=_STYLES["bad"])


def _verify_cell(authority: AuthorityReport) -> Text:
    info = authority.verification
    if info is None:
        return _no_data()
    if info.checks == 0:
        return Text("nichts geprüft", style=_STYLES["warn"])
    return Text(labels.percent(info.pass_rate), style=_STYLES["ok"] if info.passed else _STYLES["bad"])


def _open_cell(authority: AuthorityReport) -> Text:
    """Pending changes of the last plan; without any plan record nothing is known ("keine Daten")."""
    info = authority.open_changes
    if info is not None:
        return Text(labels.number(info.changes_pending), style=_STYLES["warn"])
    if authority.last_plan is None:
        return _no_data()
    return Text("keine", style=_STYLES["ok"])


def estate_table(report: Report, look: Look = RICH) -> Table:
    """Estate per authority: clients, servers, devices, address block allocation."""
    table = _table(
        look, f"Steuerungsinformationen – Stand {labels.timestamp(report.generated_at, report.timezone)}"
    )
    _column(table, "Behörde")
    for heading in ("Arbeitsplätze", "Server", "Netzwerkgeräte", "Adressraum"):
        _column(table, heading, "right")
    for authority in report.authorities:
        estate = authority.estate
        table.add_row(
            text(authority.name),
            labels.number(estate.clients.total),
            labels.number(estate.servers.total),
            labels.number(estate.devices.total),
            labels.percent(authority.address_plan.allocation) if authority.address_plan.block else _no_data(),
        )
    totals = report.totals
    if totals.authorities > 1:
        table.add_section()
        table.add_row(
            Text("Gesamt", style="bold"),
            labels.number(totals.estate.clients.total),
            labels.number(totals.estate.servers.total),
            labels.number(totals.estate.devices.total),
            labels.percent(totals.address_plan.allocation) if totals.address_plan.block_size else _no_data(),
        )
    return table


def status_table(report: Report, look: Look = RICH) -> Table:
    """Status per authority: last apply and its result, drift, verification pass rate, open changes."""
    table = _table(look)
    _column(table, "Behörde")
    _column(table, "Letzte Änderung")
    _column(table, "Ergebnis")
    _column(table, "Drift")
    _column(table, "Prüfquote", "right")
    _column(table, "Offene Änderungen", "right")
    for authority in report.authorities:
        table.add_row(
            text(authority.id),
            *_apply_cells(authority),
            _drift_cell(authority),
            _verify_cell(authority),
            _open_cell(authority),
        )
    totals = report.totals
    if totals.authorities > 1:
        applies, drift, pending = totals.applies, totals.drift, totals.open_changes
        table.add_section()
        table.add_row(
            Text("Gesamt", style="bold"),
            labels.timestamp(applies.latest, report.timezone) if applies.latest else _no_data(),
            f"{applies.failed} Fehler" if applies.failed else "",
            f"{drift.drifted_authorities} von {drift.authorities_with_data}"
            if drift.authorities_with_data
            else _no_data(),
            labels.percent(totals.verification.pass_rate),
            labels.number(pending.changes_pending) if pending.authorities_with_data else _no_data(),
        )
    return table


def _proof_verdict(failing: int, passed: bool) -> Text:
    if passed:
        return Text("eingehalten", style=_STYLES["ok"])
    if failing:
        return Text(f"{failing} Abweichung{'en' if failing != 1 else ''}", style=_STYLES["bad"])
    return Text("nichts geprüft", style=_STYLES["warn"])


def _proof_cells(authority: AuthorityReport) -> tuple[Text, Text, Text]:
    info = authority.proof
    if info is None:
        return _no_data(), Text(""), Text("")
    counts = f"{info.ok} von {info.cells - info.not_in_twin} ok, {info.not_in_twin} nicht im Labor"
    return (
        Text(labels.timestamp(info.time, authority.timezone)),
        _proof_verdict(info.mismatch + info.errors, info.passed),
        Text(counts),
    )


def proof_table(report: Report, look: Look = RICH) -> Table:
    """Nachweis per authority (``ksm prove``): when, the verdict and the counts."""
    table = _table(look, "Nachweis: Erreichbarkeit und Trennung (Labor)")
    for heading in ("Behörde", "Stand", "Ergebnis", "Zellen"):
        _column(table, heading)
    for authority in report.authorities:
        table.add_row(text(authority.id), *_proof_cells(authority))
    return table


def proof_failures(report: Report) -> list[Text]:
    """One line per cell that did not hold, with the inventory lines that make the promise."""
    lines = []
    for authority in report.authorities:
        for cell in authority.proof.failing if authority.proof else []:
            where = ", ".join(cell.defined_by)
            line = (
                f"{authority.id}: {cell.source} → {cell.destination} ({cell.service}): erwartet "
                f"{cell.expected}, beobachtet {cell.observed or '-'}"
                + (f" – definiert in {where}" if where else "")
            )
            lines.append(text(line, _STYLES["bad"]))
    return lines


def grundschutz_table(report: Report, look: Look = RICH) -> Table:
    """IT-Grundschutz per authority (as ``ksm compliance``): share met and the counts; the first
    open Anforderungen, not met first."""
    table = _table(look, "IT-Grundschutz (Anforderungen mit ksm-Nachweis)")
    for heading in ("Behörde", "erfüllt", "teilweise", "nicht erfüllt", "keine Daten", "offen, zuerst"):
        _column(table, heading, "left" if heading in ("Behörde", "offen, zuerst") else "right")
    for authority in report.authorities:
        info = authority.grundschutz
        if info is None:
            table.add_row(text(authority.id), _no_data(), "", "", "", "")
            continue
        if info.share_met is None:
            share = _no_data()
        else:
            tone = "bad" if info.not_met else "ok" if info.met == info.mapped else "warn"
            share = Text(
                f"{labels.percent(info.share_met)} ({info.met} von {info.mapped})", style=_STYLES[tone]
            )
        first = ", ".join(item.id for item in info.open[:3])
        table.add_row(
            text(authority.id),
            share,
            labels.number(info.partial),
            Text(labels.number(info.not_met), style=_STYLES["bad"] if info.not_met else ""),
            labels.number(info.no_data),
            text(first),
        )
    return table


def pull_table(report: Report, look: Look = RICH) -> Table | None:
    """Pull-mode clients per authority (``ksm pull``): current, stale, failing; None without any."""
    if not any(a.pull for a in report.authorities):
        return None
    table = _table(look, "Pull-Modus: Arbeitsplätze")
    for heading in ("Behörde", "Clients", "aktuell", "veraltet", "fehlerhaft", "letzter Lauf"):
        _column(table, heading, "left" if heading in ("Behörde", "letzter Lauf") else "right")
    for authority in report.authorities:
        info = authority.pull
        if info is None:
            continue
        all_current = info.enrolled > 0 and info.current == info.enrolled  # none enrolled is no success
        table.add_row(
            text(authority.id),
            labels.number(info.enrolled),
            Text(labels.number(info.current), style=_STYLES["ok"] if all_current else ""),
            Text(labels.number(info.stale), style=_STYLES["warn"] if info.stale else ""),
            Text(labels.number(info.failing), style=_STYLES["bad"] if info.failing else ""),
            labels.timestamp(info.latest_run, authority.timezone) if info.latest_run else _no_data(),
        )
    return table


# --------------------------------------------------------------------------- trend


def _count_cell(value: int | None) -> Text:
    return _no_data() if value is None else Text(labels.number(value))


def _drift_trend_cell(week: TrendWeek) -> Text:
    if week.drifted_systems is None:
        return _no_data()
    if week.drifted_systems == 0:
        return Text("keine", style=_STYLES["ok"])
    return Text(labels.plural(week.drifted_systems, "System", "Systeme"), style=_STYLES["bad"])


def _rate_cell(week: TrendWeek) -> Text:
    if week.pass_rate is None:
        return _no_data()
    style = _STYLES["ok"] if week.failed_checks == 0 else _STYLES["bad"]
    return Text(labels.percent(week.pass_rate), style=style)


def trend_table(report: Report, look: Look = RICH) -> Table:
    """Per authority and ISO week: applies (failed), drifted systems and the pass rate of the checks."""
    table = _table(look, f"Verlauf der letzten {labels.plural(report.trend_weeks, 'Woche', 'Wochen')}")
    _column(table, "Behörde")
    _column(table, "Woche")
    _column(table, "Änderungen", "right")
    _column(table, "Drift")
    _column(table, "Prüfungen", "right")
    _column(table, "Prüfquote", "right")
    for index, authority in enumerate(report.authorities):
        if index:
            table.add_section()
        for row, week in enumerate(authority.trend):
            changes = _count_cell(week.changes)
            if week.failed_changes:
                changes.append(f" ({week.failed_changes} fehlgeschlagen)", style=_STYLES["bad"])
            table.add_row(
                text(authority.id) if row == 0 else "",
                labels.calendar_week(week.start),
                changes,
                _drift_trend_cell(week),
                _count_cell(week.checks),
                _rate_cell(week),
            )
    return table


# --------------------------------------------------------------------------- the summary


def summary(report: Report, look: Look = RICH) -> Group:
    """Estate and status per authority with totals, the trend, and a line on the shared services."""
    services = [
        f"{s.name} (betrieben von {s.hosted_by})" if s.hosted_by else s.name for s in report.shared_services
    ]
    footer = text(f"Gemeinsame Fachverfahren: {', '.join(services) or 'keine'}", style="dim")
    zones = sorted({a.timezone for a in report.authorities} | {report.timezone})
    zone_note = text(f"Zeiten in Ortszeit ({', '.join(zones)})", style="dim")
    pull = pull_table(report, look)
    return Group(
        estate_table(report, look),
        status_table(report, look),
        trend_table(report, look),
        proof_table(report, look),
        *proof_failures(report),
        grundschutz_table(report, look),
        *([pull] if pull is not None else []),
        footer,
        zone_note,
    )


def print_summary(report: Report, console: Console) -> None:
    """Print the summary; off a terminal in ASCII, on a console wide enough that no cell folds."""
    look = Look.for_console(console)
    if not console.is_terminal:
        console.width = max(console.width, PLAIN_WIDTH)
    console.print(summary(report, look))
