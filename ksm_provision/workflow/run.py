"""The one place a change run is wired together: ``run_change(request) -> ChangeResult``.

Like nornir's ``init_nornir``, this is where the parts meet; the CLI only builds the
:class:`~ksm_provision.workflow.request.ChangeRequest` and prints the result. A run goes:

1. resolve the scope (:mod:`.run_scope`): authorities, ``--changed-since``, or a reviewed plan file;
2. apply only: take the authorities' locks (:mod:`.locks`) and re-check the plan's inputs inside them;
   for a plan file, plan its hosts and devices again and refuse the whole apply, before any change,
   when one of them would now change differently from the plan (:mod:`.exact_plan`);
3. run the stages (:mod:`.orchestrate`): hosts through the playbook pipeline, devices through the
   network pipeline;
4. leave records (:mod:`.run_records`): plan/drift status, the plan file, one audit record per
   authority for an apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ksm_provision.network.results import NetworkPlan
from ksm_provision.playbook.results import RunMode
from ksm_provision.results import ProgressCallback
from ksm_provision.workflow.exact_plan import PlanChangedError, plan_differences, reviewed_remediations
from ksm_provision.workflow.locks import acquire
from ksm_provision.workflow.orchestrate import ChangeRun, run_stages
from ksm_provision.workflow.planfile import PlanFile
from ksm_provision.workflow.request import ChangedSince, ChangeMode, ChangeRequest, ReviewedPlan
from ksm_provision.workflow.run_records import (
    audit_apply,
    audit_refused,
    record_drift,
    record_plan,
    save_plan_file,
)
from ksm_provision.workflow.run_scope import NoteCallback, RunScope, check_plan_inputs, resolve_scope


@dataclass(frozen=True)
class ChangeResult:
    """What a change run did. *run* is None when there was nothing to run (a plan without changes)."""

    mode: ChangeMode
    run: ChangeRun | None = None
    #: Where ``plan --out`` wrote the plan file.
    plan_file: Path | None = None

    @property
    def failed(self) -> list[str]:
        """Hosts and devices that did not succeed (a rolled-back device counts as failed)."""
        return self.run.failed if self.run is not None else []

    @property
    def changes_pending(self) -> int:
        """plan: changes apply would make; drift: hosts and devices that drifted."""
        return self.run.changes_pending if self.run is not None else 0


def run_change(
    request: ChangeRequest, progress: ProgressCallback | None = None, note: NoteCallback | None = None
) -> ChangeResult:
    """Run *request*: plan, apply or check for drift, with its locks and records.

    *progress* hears of every host task and device; *note* gets readable lines about the scope.
    """
    scope = resolve_scope(request, note)
    if scope is None:
        return ChangeResult(request.mode)
    if request.mode is ChangeMode.APPLY:
        return ChangeResult(request.mode, _apply(request, scope, progress))
    run = run_stages(request, scope, RunMode.PLAN, progress)
    if request.mode is ChangeMode.DRIFT:
        record_drift(run)
        return ChangeResult(request.mode, run)
    record_plan(run)
    plan_file = None
    if request.plan_out is not None:
        since = request.scope.ref if isinstance(request.scope, ChangedSince) else None
        plan_file = save_plan_file(
            request.plan_out, run, request.inventory, request.limit, since, request.repo
        )
    return ChangeResult(request.mode, run, plan_file)


def _apply(request: ChangeRequest, scope: RunScope, progress: ProgressCallback | None) -> ChangeRun:
    reviewed = request.scope if isinstance(request.scope, ReviewedPlan) else None
    with acquire(scope.authorities, request.lock_ttl, wait=request.lock_wait, command="ksm apply"):
        if reviewed is None:
            run = run_stages(request, scope, RunMode.APPLY, progress)
        else:  # the inputs may have changed while we waited for the lock
            check_plan_inputs(request.inventory, reviewed.plan)
            check_exact(request, scope, reviewed.plan, progress)
            remediations = reviewed_remediations(reviewed.plan)
            run = run_stages(request, scope, RunMode.APPLY, progress, remediations)
        audit_apply(run, reviewed.plan.plan_hash if reviewed else None, request.repo)
    return run


def check_exact(
    request: ChangeRequest, scope: RunScope, planfile: PlanFile, progress: ProgressCallback | None
) -> None:
    """Plan the plan's hosts and devices again; :class:`PlanChangedError` (audited) when one differs."""
    check = run_stages(request, scope, RunMode.PLAN, progress)
    assert isinstance(check.devices, NetworkPlan)  # a plan run plans devices
    differences = plan_differences(planfile, check.hosts, check.devices)
    if differences:
        audit_refused(check, planfile.plan_hash, differences, request.repo)
        raise PlanChangedError(differences)
