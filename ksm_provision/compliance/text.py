"""The Grundschutz-Check for people: per authority a summary line, per Baustein a table.

Every value from the inventory or a record goes through rich :class:`~rich.text.Text` on the
project's safe console (no markup, control characters visible). Anforderungen no ksm check covers
are listed by id under each table, so the tables hold what ksm can say something about.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ksm_provision.compliance.mapping import LEVEL_NAMES
from ksm_provision.compliance.model import (
    STATUS_LABELS,
    AuthorityCompliance,
    BausteinResult,
    ComplianceReport,
    EvidenceResult,
    Status,
)
from ksm_provision.report.labels import timestamp
from ksm_provision.report.text import Look
from ksm_provision.terminal import text

#: Failures listed per piece of evidence; the rest are counted.
SHOWN_FAILURES = 5
STATE_LABELS = {"passed": "bestanden", "failed": "NICHT bestanden", "no_data": "keine Daten"}
STATUS_STYLES = {
    Status.MET: "green",
    Status.PARTIAL: "yellow",
    Status.NOT_MET: "bold red",
    Status.NOT_CHECKED: "dim",
    Status.NOT_CHECKABLE: "dim",
}


def evidence_text(evidence: EvidenceResult, zone_name: str) -> str:
    """One piece of evidence as lines: verdict, where from and when, then what failed where."""
    line = f"{evidence.check}: {STATE_LABELS[evidence.state]}"
    if evidence.detail:
        line += f", {evidence.detail}"
    if evidence.source_time is not None:
        when = timestamp(evidence.source_time, zone_name)
        line += f" ({evidence.target}, {when}, vor {evidence.age_days} Tagen)"
    lines = [line]
    for failure in evidence.failed[:SHOWN_FAILURES]:
        lines.append(f"  - {failure.name}" + (f": {failure.message}" if failure.message else ""))
    if len(evidence.failed) > SHOWN_FAILURES:
        lines.append(f"  … und {len(evidence.failed) - SHOWN_FAILURES} weitere")
    return "\n".join(lines)


def summary_line(authority: AuthorityCompliance) -> Text:
    line = Text()
    for status in Status:
        if line:
            line.append(" · ")
        line.append(
            f"{STATUS_LABELS[status]} {authority.summary.get(status, 0)}", style=STATUS_STYLES[status]
        )
    return line


def _grid(title: str, look: Look) -> Table:
    grid = Table(title=title, title_justify="left", header_style="bold", box=look.box, pad_edge=look.pad_edge)
    for heading in ("Anforderung", "Stufe", "Status", "Nachweis"):
        grid.add_column(heading, overflow="fold")
    return grid


def print_baustein(baustein: BausteinResult, zone_name: str, console: Console) -> None:
    shown = [r for r in baustein.anforderungen if r.status is not Status.NOT_CHECKABLE]
    title = f"{baustein.id} {baustein.title} ({baustein.targets}: {baustein.target_systems} Systeme)"
    if shown:
        grid = _grid(title, Look.for_console(console))
        for requirement in shown:
            proof = "\n".join(evidence_text(e, zone_name) for e in requirement.evidence)
            outside = "\n".join(
                text
                for text in (
                    f"organisatorisch: {requirement.organisational}" if requirement.organisational else "",
                    f"von ksm noch nicht geprüft: {requirement.gaps}" if requirement.gaps else "",
                )
                if text
            )
            grid.add_row(
                text(f"{requirement.id}\n{requirement.title}"),
                LEVEL_NAMES[requirement.level],
                text(
                    f"{STATUS_LABELS[requirement.status]}\n{requirement.reason}",
                    STATUS_STYLES[requirement.status],
                ),
                text(proof + (f"\n{outside}" if outside else "")),
            )
        console.print(grid)
    else:
        console.print(text(title, "bold"))
    rest = [r.id for r in baustein.anforderungen if r.status is Status.NOT_CHECKABLE]
    if rest:
        console.print(text(f"{STATUS_LABELS[Status.NOT_CHECKABLE]}: {', '.join(rest)}", "dim"))
    console.print()


def print_compliance(report: ComplianceReport, console: Console) -> None:
    """The check of every authority in *report*."""
    for authority in report.authorities:
        console.print(
            text(f"Grundschutz-Check {authority.name} ({authority.id}) — {report.kompendium.title}", "bold")
        )
        console.print(summary_line(authority))
        console.print()
        for baustein in authority.bausteine:
            print_baustein(baustein, authority.timezone, console)
