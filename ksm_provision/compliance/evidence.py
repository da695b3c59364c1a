"""The evidence ids a mapping may name, and the verdict of one piece of evidence from the records.

Ids: ``verify:<check id>`` (:mod:`ksm_provision.verify.check_ids`), ``drift:hosts`` and
``drift:devices`` (``ksm drift``), ``apply:logged`` and ``apply:succeeded`` (the audit log of
``ksm apply``), ``prove:<cell kind>`` (``ksm prove``). A piece of evidence is ``passed``, ``failed``
or ``no_data``; a missing record is always ``no_data``, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ksm_provision.compliance.mapping import Evidence
from ksm_provision.compliance.model import EvidenceResult, Failure
from ksm_provision.compliance.state import ComplianceState
from ksm_provision.prove.model import ExpectationKind
from ksm_provision.report.collect import last_apply, own_names, proof_info
from ksm_provision.verify.check_ids import known_check_ids

DRIFT_EVIDENCE = frozenset({"drift:hosts", "drift:devices"})
APPLY_EVIDENCE = frozenset({"apply:logged", "apply:succeeded"})
PROVE_EVIDENCE = frozenset(f"prove:{kind.value}" for kind in ExpectationKind)


def known_evidence() -> frozenset[str]:
    """Every evidence id ksm records (verify ids from the checks themselves, prove ids from the matrix)."""
    verify = frozenset(f"verify:{check}" for check in known_check_ids())
    return verify | DRIFT_EVIDENCE | APPLY_EVIDENCE | PROVE_EVIDENCE


@dataclass(frozen=True)
class Subject:
    """The systems of one authority a Baustein is modelled on, and what may be shown about others."""

    authority: str
    #: Hosts with verify results (clients, servers, routers' Linux sides) among the targets.
    hosts: frozenset[str]
    devices: frozenset[str]
    #: Every host and device name of the authority (names in audit records are kept only if in it).
    own: frozenset[str]
    scope: frozenset[str]
    files: frozenset[str]
    now: datetime


def _age(now: datetime, then: datetime) -> float:
    """Days between *then* and *now*, one decimal.

    >>> from datetime import UTC
    >>> _age(datetime(2025, 3, 10, 12, tzinfo=UTC), datetime(2025, 3, 9, 0, tzinfo=UTC))
    1.5
    """
    return round((now - then).total_seconds() / 86400, 1)


def _no_data(evidence: Evidence, detail: str) -> EvidenceResult:
    return EvidenceResult(check=evidence.check, proves=evidence.proves, state="no_data", detail=detail)


def _dated(
    evidence: Evidence, subject: Subject, time: datetime, target: str, failed: list[Failure], **rest: object
) -> EvidenceResult:
    return EvidenceResult.model_validate(
        {
            "check": evidence.check,
            "proves": evidence.proves,
            "state": "failed" if failed else "passed",
            "source_time": time,
            "age_days": _age(subject.now, time),
            "target": target,
            "failed": failed,
            **rest,
        }
    )


def judge_verify(evidence: Evidence, subject: Subject, state: ComplianceState) -> EvidenceResult:
    """The check's results on the target hosts in the last verify record."""
    check = evidence.check.partition(":")[2]
    record = state.checks.get(subject.authority)
    if record is None:
        return _no_data(evidence, "kein ksm verify aufgezeichnet")
    if not subject.hosts:
        return _no_data(evidence, "keine Zielsysteme im Inventar")
    results = [r for r in record.results if r.check == check and r.host in subject.hosts]
    if not results:
        return _no_data(evidence, f"die Prüfung lief auf keinem der {len(subject.hosts)} Zielsysteme")
    failures: dict[str, str] = {}
    for result in results:
        if not result.passed:
            failures.setdefault(result.host, result.message)
    checked = sorted({r.host for r in results})
    return _dated(
        evidence,
        subject,
        record.time,
        record.target,
        [Failure(name=host, message=message) for host, message in sorted(failures.items())],
        checked=len(checked),
        target_systems=len(subject.hosts),
        passed=[host for host in checked if host not in failures],
        detail=f"geprüft auf {len(checked)} von {len(subject.hosts)} Zielsystemen",
    )


def judge_drift(evidence: Evidence, subject: Subject, state: ComplianceState) -> EvidenceResult:
    """Whether the last drift check found a target host (or device) differing from the files."""
    devices = evidence.check == "drift:devices"
    targets = subject.devices if devices else subject.hosts
    record = state.drift.get(subject.authority)
    if record is None:
        return _no_data(evidence, "kein ksm drift aufgezeichnet")
    if not targets:
        return _no_data(evidence, "keine Zielsysteme im Inventar")
    drifted = own_names(record.devices if devices else record.hosts, targets)
    what = "Geräte" if devices else "Hosts"
    return _dated(
        evidence,
        subject,
        record.time,
        record.target,
        [Failure(name=name, message="weicht vom Inventar ab") for name in drifted],
        detail=f"{len(drifted)} von {len(targets)} {what} mit Abweichung",
    )


def judge_apply(evidence: Evidence, subject: Subject, state: ComplianceState) -> EvidenceResult:
    """``apply:logged``: changes are in the audit log; ``apply:succeeded``: the last one succeeded."""
    applies = [r for r in state.audit if r.authority == subject.authority]
    latest = last_apply(applies, subject.own)
    if latest is None:
        return _no_data(evidence, "kein ksm apply im Audit-Log")
    commit = f", Commit {latest.git_commit}" if latest.git_commit else ""
    if evidence.check == "apply:logged":
        return _dated(
            evidence,
            subject,
            latest.time,
            latest.target,
            [],
            detail=f"{len(applies)} Änderungen protokolliert, zuletzt {latest.id}{commit}",
        )
    failed = []
    if latest.result != "success":
        names = latest.failed or [latest.id]
        failed = [Failure(name=name, message=f"letztes apply: {latest.result}") for name in names]
    return _dated(
        evidence, subject, latest.time, latest.target, failed, detail=f"letztes apply {latest.id}{commit}"
    )


def judge_prove(evidence: Evidence, subject: Subject, state: ComplianceState) -> EvidenceResult:
    """The proof cells of the kind, as the report shows them (others' hosts and addresses withheld)."""
    kind = evidence.check.partition(":")[2]
    record = state.proof.get(subject.authority)
    if record is None:
        return _no_data(evidence, "kein ksm prove aufgezeichnet")
    cells = [c for c in record.cells if c.expectation.kind.value == kind]
    info = proof_info(
        record.model_copy(update={"cells": cells}), subject.authority, subject.scope, subject.files
    )
    probed = 0 if info is None else info.cells - info.not_in_twin
    if info is None or probed == 0:
        return _no_data(evidence, "keine Zelle dieser Art im Zwilling geprüft")
    failed = [
        Failure(
            name=f"{cell.source} -> {cell.destination} ({cell.service})",
            message=f"erwartet {cell.expected}, beobachtet {cell.observed or cell.status}",
        )
        for cell in info.failing
    ]
    return _dated(
        evidence,
        subject,
        info.time,
        info.target,
        failed,
        checked=probed,
        detail=f"{info.ok} von {probed} Zellen wie versprochen",
    )


JUDGES: dict[str, Callable[[Evidence, Subject, ComplianceState], EvidenceResult]] = {
    "verify": judge_verify,
    "drift": judge_drift,
    "apply": judge_apply,
    "prove": judge_prove,
}


def judge(evidence: Evidence, subject: Subject, state: ComplianceState) -> EvidenceResult:
    """The verdict of one piece of *evidence* for *subject* from *state*."""
    return JUDGES[evidence.check.partition(":")[0]](evidence, subject, state)
