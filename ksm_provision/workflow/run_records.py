"""What a change run leaves behind: the plan file, status records for ``ksm report``, audit records.

plan leaves a :class:`PlanRecord` per authority (and, when asked, a plan file); drift a
:class:`DriftRecord`; apply appends one :class:`AuditRecord` per authority and clears the pending
plan of every authority it applied successfully. An apply of a plan file that no longer matches the
hosts and devices is refused before any change and recorded as such (:func:`audit_refused`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ksm_provision.inventory.inventory import Inventory
from ksm_provision.network.results import ApplyStatus, NetworkApply, NetworkPlan
from ksm_provision.targets import Target
from ksm_provision.workflow.audit import append_audit, current_user, git_commit, machine_name, new_record_id
from ksm_provision.workflow.exact_plan import PlanDifference, recorded_tasks
from ksm_provision.workflow.inputs import Selection, input_hashes
from ksm_provision.workflow.orchestrate import ChangeRun
from ksm_provision.workflow.planfile import PlanFile, RecordedHostPlan, device_plan
from ksm_provision.workflow.records import (
    ApplyResult,
    AuditRecord,
    DriftRecord,
    PlanRecord,
    clear_status,
    save_status,
    utc_now,
)

#: The result of an apply refused because hosts or devices changed since its plan (nothing applied).
REFUSED_RESULT = ApplyResult.REFUSED


def save_plan_file(
    out: Path, run: ChangeRun, inventory: Inventory, limit: str | None, since: str | None, repo: Path
) -> Path:
    """Record *run* for ``ksm apply PLAN``, with a hash of every input it depends on (of *inventory*)."""
    hosts = [
        RecordedHostPlan(name=h.host, authority=h.authority, changes=recorded_tasks(h))
        for h in run.hosts.hosts
    ]
    planned = run.devices.devices if isinstance(run.devices, NetworkPlan) else ()
    devices = [
        device_plan(d.hostname, d.authority, d.platform, d.remediation, str, d.remediation_digest)
        for d in planned
    ]
    selection = Selection.of(run.authorities, [h.name for h in hosts], [d.name for d in devices])
    return PlanFile.create(
        target=Target(run.target),
        authorities=run.authorities,
        inputs=input_hashes(inventory, selection),
        hosts=hosts,
        devices=devices,
        git_commit=git_commit(repo),
        limit=limit,
        changed_since=since,
    ).save(out)


def record_plan(run: ChangeRun) -> None:
    """The pending changes of each authority, until an apply succeeds."""
    for authority in run.authorities:
        hosts, devices, _ = run.for_authority(authority)
        save_status(
            PlanRecord(
                time=utc_now(),
                authority=authority,
                target=run.target,
                changes_pending=len(hosts) + len(devices),
                hosts=hosts,
                devices=devices,
            )
        )


def record_drift(run: ChangeRun) -> None:
    """Whether each authority's live hosts and devices differ from the files."""
    for authority in run.authorities:
        hosts, devices, _ = run.for_authority(authority)
        save_status(
            DriftRecord(
                time=utc_now(),
                authority=authority,
                target=run.target,
                drifted=bool(hosts or devices),
                hosts=hosts,
                devices=devices,
            )
        )


def audit_apply(run: ChangeRun, plan_hash: str | None, repo: Path) -> None:
    """One audit record per authority; a successful apply also clears the authority's pending plan."""
    commit = git_commit(repo)
    for authority in run.authorities:
        hosts, devices, failed = run.for_authority(authority)
        untouched = _devices_with(run, authority, ApplyStatus.FAILED_UNTOUCHED)
        unknown = _devices_with(run, authority, ApplyStatus.FAILED_STATE_UNKNOWN)
        result = apply_result(failed, [d for d in run.rolled_back if d in failed], untouched, unknown)
        append_audit(
            _audit_record(
                run,
                authority,
                commit,
                plan_hash,
                changed_hosts=hosts,
                changed_devices=devices,
                failed=failed,
                untouched_devices=untouched,
                state_unknown_devices=unknown,
                changed_tasks=sum(h.changed for h in run.hosts.hosts if h.authority == authority),
                result=result,
            )
        )
        if result is ApplyResult.SUCCESS:
            clear_status(PlanRecord, authority)


def _audit_record(
    run: ChangeRun, authority: str, commit: str | None, plan_hash: str | None, **outcome: Any
) -> AuditRecord:
    """The audit record of *authority* in *run*: who, where, when, what was in scope, and *outcome*."""
    return AuditRecord(
        id=new_record_id(),
        time=utc_now(),
        user=current_user(),
        machine=machine_name(),
        authority=authority,
        target=run.target,
        git_commit=commit,
        plan_hash=plan_hash,
        hosts=sum(1 for h in run.hosts.hosts if h.authority == authority),
        devices=sum(1 for d in run.devices.devices if d.authority == authority),
        **outcome,
    )


def _devices_with(run: ChangeRun, authority: str, status: ApplyStatus) -> list[str]:
    devices = run.devices.devices if isinstance(run.devices, NetworkApply) else ()
    return [d.hostname for d in devices if d.authority == authority and d.status is status]


def apply_result(
    failed: list[str], rolled_back: list[str], untouched: list[str], unknown: list[str]
) -> ApplyResult:
    """The audit result of one authority's apply, the worst first.

    >>> apply_result(["sw1", "sw2"], [], ["sw1"], ["sw2"]).value
    'failed_state_unknown'
    >>> apply_result(["sw1"], [], ["sw1"], []).value, apply_result(["fs01"], [], [], []).value
    ('failed_untouched', 'failed')
    >>> apply_result(["sw1"], ["sw1"], [], []).value, apply_result([], [], [], []).value
    ('rolled_back', 'success')
    """
    if unknown:
        return ApplyResult.FAILED_STATE_UNKNOWN
    other = set(failed) - set(rolled_back) - set(untouched)
    if other:
        return ApplyResult.FAILED
    if untouched:
        return ApplyResult.FAILED_UNTOUCHED
    return ApplyResult.ROLLED_BACK if rolled_back else ApplyResult.SUCCESS


def audit_refused(check: ChangeRun, plan_hash: str, differences: list[PlanDifference], repo: Path) -> None:
    """One audit record per authority of a refused apply: nothing changed, the differing nodes failed."""
    commit = git_commit(repo)
    for authority in check.authorities:
        failed = [d.name for d in differences if d.authority == authority]
        append_audit(_audit_record(check, authority, commit, plan_hash, failed=failed, result=REFUSED_RESULT))
