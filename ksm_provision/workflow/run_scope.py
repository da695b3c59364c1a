"""Which authorities, hosts and devices a change run covers: a request's scope, resolved.

``--authority``/``--all`` select authorities; ``--changed-since REF`` selects the hosts and devices
the change since REF touches; a reviewed plan file selects exactly what it planned (after checking
that none of its inputs changed since).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.targets import Target
from ksm_provision.workflow.changes import changed_scope
from ksm_provision.workflow.inputs import input_hashes
from ksm_provision.workflow.planfile import PlanFile, check_inputs
from ksm_provision.workflow.request import (
    AllAuthorities,
    Authorities,
    ChangedSince,
    ChangeRequest,
    ReviewedPlan,
)

#: Receives readable lines about the run as they come (e.g. why each host is in scope).
NoteCallback = Callable[[str], None]


@dataclass(frozen=True)
class RunScope:
    """A resolved scope: *inventory* holds only the authorities in scope."""

    inventory: Inventory
    target: Target
    limit: str | None = None
    #: Only these inventory hosts / devices (from a plan file or --changed-since); None: all of them.
    hosts: frozenset[str] | None = None
    devices: frozenset[str] | None = None

    @property
    def authorities(self) -> list[str]:
        return list(self.inventory.authorities)


def select_authorities(inventory: Inventory, scope: Authorities | AllAuthorities) -> Inventory:
    """The inventory of ``--authority ID ...`` or ``--all``; naming neither is refused."""
    if isinstance(scope, AllAuthorities):
        return inventory
    if not scope.ids:
        raise UsageError(
            "no scope given", f"add --authority ID (one of: {', '.join(inventory.authorities)}) or --all"
        )
    return inventory.select(scope.ids)


def check_plan(request: ChangeRequest, reviewed: ReviewedPlan) -> None:
    """Refuse a plan whose inputs changed, or a command line that asks for more than the plan."""
    planfile = reviewed.plan
    check_plan_inputs(request.inventory, planfile)
    if reviewed.all_authorities or any(a not in planfile.authorities for a in reviewed.authorities):
        raise UsageError(
            f"the plan covers {', '.join(planfile.authorities) or 'no authority'}; it cannot widen the scope",
            "apply the plan as it is, or make a new plan",
        )
    if request.target and request.target != planfile.target:
        raise UsageError(
            f"the plan was made for --target {planfile.target.value}", "plan again for this target"
        )


def check_plan_inputs(inventory: Inventory, planfile: PlanFile) -> None:
    """:class:`~ksm_provision.workflow.planfile.StalePlanError` when an input changed since the plan."""
    check_inputs(planfile, input_hashes(inventory, planfile))


def resolve_scope(request: ChangeRequest, note: NoteCallback | None = None) -> RunScope | None:
    """The scope of *request*; None for a reviewed plan that has nothing to apply.

    ``--changed-since`` reports why each host and device is in scope through *note*.
    """
    scope, inventory = request.scope, request.inventory
    if isinstance(scope, ReviewedPlan):
        check_plan(request, scope)
        planfile = scope.plan
        if not planfile.changes_pending:
            return None
        return RunScope(
            inventory.select(planfile.authorities),
            planfile.target,
            planfile.limit,
            frozenset(planfile.changed_hosts),
            frozenset(planfile.changed_devices),
        )
    if isinstance(scope, ChangedSince):
        change = changed_scope(inventory, scope.ref, request.repo)
        for line in change.summary():
            if note is not None:
                note(line)
        ids = [a for a in change.authorities if not scope.authorities or a in scope.authorities]
        if change.everything:
            return RunScope(inventory.select(ids), request.target_or_default, request.limit)
        return RunScope(
            inventory.select(ids),
            request.target_or_default,
            request.limit,
            change.host_names,
            change.device_names,
        )
    return RunScope(select_authorities(inventory, scope), request.target_or_default, request.limit)
