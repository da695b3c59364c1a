"""What the Grundschutz-Check reads: the status records of the authorities in scope, nothing else.

The records are read with the report's collection code (:mod:`ksm_provision.report.collect`): per
authority from its own files, each kept only if it names that authority; the audit log filtered
to the authorities in scope. Nothing is contacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ksm_provision.compliance.model import AuthorityCompliance, ComplianceReport, Status
from ksm_provision.report.collect import own_status, read_audit_log
from ksm_provision.workflow.history import ComplianceEntry, append_history
from ksm_provision.workflow.records import AuditRecord, DriftRecord, ProofRecord, VerifyChecksRecord


@dataclass(frozen=True)
class ComplianceState:
    """The records of the authorities in scope (nothing of another authority is kept)."""

    audit: tuple[AuditRecord, ...] = ()
    checks: Mapping[str, VerifyChecksRecord] = field(default_factory=dict)
    drift: Mapping[str, DriftRecord] = field(default_factory=dict)
    proof: Mapping[str, ProofRecord] = field(default_factory=dict)


def load_compliance_state(base: Path, authorities: Iterable[str]) -> ComplianceState:
    """Read what verify, drift, apply and prove left in the state directory *base* for *authorities*."""
    ids = list(authorities)
    return ComplianceState(
        audit=tuple(read_audit_log(base, ids)),
        checks=own_status(VerifyChecksRecord, base, ids),
        drift=own_status(DriftRecord, base, ids),
        proof=own_status(ProofRecord, base, ids),
    )


def summary_entry(authority: AuthorityCompliance, time: datetime, edition: str) -> ComplianceEntry:
    """The counts of one authority's check as a history line (no names: ids and counts only)."""
    counts = authority.summary
    mapped = sum(n for status, n in counts.items() if status is not Status.NOT_CHECKABLE)
    return ComplianceEntry(
        time=time,
        authority=authority.id,
        edition=edition,
        mapped=mapped,
        met=counts.get(Status.MET, 0),
        partial=counts.get(Status.PARTIAL, 0),
        not_met=counts.get(Status.NOT_MET, 0),
        no_data=counts.get(Status.NOT_CHECKED, 0),
    )


def record_summaries(report: ComplianceReport, base: Path) -> None:
    """Append each authority's counts to ``history/<authority>/compliance.jsonl`` (the report's trend).

    Why here, and not where verify, drift, apply and prove save their records: a verdict needs
    the mapping, the inventory and every kind of record together, and only the check has all
    three; the commands that write the records know one kind each (drift and apply not even the
    mapping). So a point of the trend is a check someone (or ``make demo``, a timer, CI) ran, with
    the records of that moment: reproducible, and the same figures ``ksm compliance`` printed.
    A week without a check stays "keine Daten" in the report, never carried over.
    """
    for authority in report.authorities:
        append_history(summary_entry(authority, report.generated_at, report.kompendium.edition), base)
