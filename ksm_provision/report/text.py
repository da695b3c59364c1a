"""A short terminal summary of the report, as a rich table (German labels, like the HTML page).

Names come from the inventory: they enter the tables as :func:`ksm_provision.terminal.text`
(never parsed as markup, control characters visible), so ``[/]`` in an authority's name prints.
"""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ksm_provision.report import labels
from ksm_provision.report.model import AuthorityReport, Report
from ksm_provision.terminal import text

_STYLES = {"ok": "green", "warn": "yellow", "bad": "bold red", "none": "dim"}


def _apply_cells(authority: AuthorityReport) -> tuple[Text, Text]:
    info = authority.last_apply
    if info is None:
        return Text(labels.NO_DATA, style=_STYLES["none"]), Text("")
    result = labels.label(labels.APPLY_RESULTS, info.result)
    style = _STYLES["ok"] if info.result == "success" else _STYLES["bad"]
    return Text(f"{info.time:%d.%m.%Y %H:%M}"), Text(result, style=style)


def _drift_cell(authority: AuthorityReport) -> Text:
    info = authority.drift
    if info is None:
        return Text(labels.NO_DATA, style=_STYLES["none"])
    if not info.drifted:
        return Text("keine", style=_STYLES["ok"])
    count = len(info.hosts) + len(info.devices)
    return Text(f"{count} System{'e' if count != 1 else ''}", style=_STYLES["bad"])


def _verify_cell(authority: AuthorityReport) -> Text:
    info = authority.verification
    if info is None:
        return Text(labels.NO_DATA, style=_STYLES["none"])
    return Text(labels.percent(info.pass_rate), style=_STYLES["ok"] if info.passed else _STYLES["bad"])


def _open_cell(authority: AuthorityReport) -> Text:
    info = authority.open_changes
    if info is None:
        return Text("keine", style=_STYLES["ok"])
    return Text(labels.number(info.changes_pending), style=_STYLES["warn"])


def estate_table(report: Report) -> Table:
    """Estate per authority: clients, servers, devices, address block allocation."""
    table = Table(
        title=f"Steuerungsinformationen – Stand {labels.timestamp(report.generated_at)}",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("Behörde")
    for heading in ("Arbeitsplätze", "Server", "Netzwerkgeräte", "Adressraum"):
        table.add_column(heading, justify="right", no_wrap=True)
    for authority in report.authorities:
        estate = authority.estate
        table.add_row(
            text(authority.name),
            labels.number(estate.clients.total),
            labels.number(estate.servers.total),
            labels.number(estate.devices.total),
            labels.percent(authority.address_plan.allocation),
        )
    totals = report.totals
    if totals.authorities > 1:
        table.add_section()
        table.add_row(
            Text("Gesamt", style="bold"),
            labels.number(totals.estate.clients.total),
            labels.number(totals.estate.servers.total),
            labels.number(totals.estate.devices.total),
            labels.percent(totals.address_plan.allocation),
        )
    return table


def status_table(report: Report) -> Table:
    """Status per authority: last apply and its result, drift, verification pass rate, open changes."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Behörde", no_wrap=True)
    table.add_column("Letzte Änderung")
    table.add_column("Ergebnis", no_wrap=True)
    table.add_column("Drift")
    table.add_column("Prüfquote", justify="right")
    table.add_column("Offene Änderungen", justify="right")
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
        applies = totals.applies
        table.add_section()
        table.add_row(
            Text("Gesamt", style="bold"),
            f"{applies.latest:%d.%m.%Y %H:%M}" if applies.latest else labels.NO_DATA,
            f"{applies.failed} Fehler" if applies.failed else "",
            f"{totals.drift.drifted_authorities} von {totals.drift.authorities_with_data}"
            if totals.drift.authorities_with_data
            else labels.NO_DATA,
            labels.percent(totals.verification.pass_rate),
            labels.number(totals.open_changes.changes_pending),
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
        return Text(labels.NO_DATA, style=_STYLES["none"]), Text(""), Text("")
    counts = f"{info.ok} von {info.cells - info.not_in_twin} ok, {info.not_in_twin} nicht im Labor"
    return (
        Text(f"{info.time:%d.%m.%Y %H:%M}"),
        _proof_verdict(info.mismatch + info.errors, info.passed),
        Text(counts),
    )


def proof_table(report: Report) -> Table:
    """Nachweis per authority (``ksm prove``): when, the verdict and the counts."""
    table = Table(
        title="Nachweis: Erreichbarkeit und Trennung (Labor)",
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for heading in ("Behörde", "Stand", "Ergebnis", "Zellen"):
        table.add_column(heading)
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


def pull_table(report: Report) -> Table | None:
    """Pull-mode clients per authority (``ksm pull``): current, stale, failing; None without any."""
    if not any(a.pull for a in report.authorities):
        return None
    table = Table(
        title="Pull-Modus: Arbeitsplätze", title_justify="left", header_style="bold", box=box.SIMPLE_HEAD
    )
    for heading in ("Behörde", "Clients", "aktuell", "veraltet", "fehlerhaft", "letzter Lauf"):
        table.add_column(heading, justify="left" if heading in ("Behörde", "letzter Lauf") else "right")
    for authority in report.authorities:
        info = authority.pull
        if info is None:
            continue
        table.add_row(
            text(authority.id),
            labels.number(info.enrolled),
            Text(labels.number(info.current), style=_STYLES["ok"] if info.current == info.enrolled else ""),
            Text(labels.number(info.stale), style=_STYLES["warn"] if info.stale else ""),
            Text(labels.number(info.failing), style=_STYLES["bad"] if info.failing else ""),
            f"{info.latest_run:%d.%m.%Y %H:%M}" if info.latest_run else labels.NO_DATA,
        )
    return table


def summary(report: Report) -> Group:
    """Estate and status per authority with totals, and a line on the shared services."""
    services = [
        f"{s.name} (betrieben von {s.hosted_by})" if s.hosted_by else s.name for s in report.shared_services
    ]
    footer = text(f"Gemeinsame Fachverfahren: {', '.join(services) or 'keine'}", style="dim")
    pull = pull_table(report)
    return Group(
        estate_table(report),
        status_table(report),
        proof_table(report),
        *proof_failures(report),
        *([pull] if pull is not None else []),
        footer,
    )
