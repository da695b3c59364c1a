"""The wiring of a change run: what ``run_change`` refuses, and that it does nothing for an empty plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.targets import Target
from ksm_provision.workflow.inputs import Selection, input_hashes
from ksm_provision.workflow.planfile import PlanFile, StalePlanError
from ksm_provision.workflow.request import (
    Authorities,
    ChangedSince,
    ChangeMode,
    ChangeRequest,
    Only,
    ReviewedPlan,
)
from ksm_provision.workflow.run import run_change

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KSM_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def empty_plan(inventory: Inventory, inputs: dict[str, str] | None = None) -> PlanFile:
    """A plan of authority lup without changes, made from the current inputs unless *inputs* says."""
    current = input_hashes(inventory, Selection.of(["lup"]))
    return PlanFile.create(
        target=Target.PRODUCTION, authorities=["lup"], inputs=inputs if inputs is not None else current
    )


def test_only_is_hosts_devices_or_both() -> None:
    assert Only.HOSTS in Only.BOTH and Only.DEVICES in Only.BOTH
    assert Only.DEVICES not in Only.HOSTS


def test_a_request_refuses_scopes_its_mode_cannot_use(inventory: Inventory) -> None:
    with pytest.raises(UsageError, match="--changed-since only works with `ksm plan`"):
        ChangeRequest(ChangeMode.APPLY, inventory, ChangedSince("HEAD"))
    with pytest.raises(UsageError, match="a plan file can only be applied"):
        ChangeRequest(ChangeMode.PLAN, inventory, ReviewedPlan(empty_plan(inventory)))
    with pytest.raises(UsageError, match="only `ksm plan` writes a plan file"):
        ChangeRequest(ChangeMode.DRIFT, inventory, Authorities(("lup",)), plan_out=Path("plan.json"))


def test_a_run_without_authorities_is_refused(inventory: Inventory, state: Path) -> None:
    with pytest.raises(UsageError, match="no scope given"):
        run_change(ChangeRequest(ChangeMode.PLAN, inventory, Authorities(())))
    assert not state.exists()


def test_an_empty_reviewed_plan_runs_nothing_and_leaves_no_record(inventory: Inventory, state: Path) -> None:
    result = run_change(ChangeRequest(ChangeMode.APPLY, inventory, ReviewedPlan(empty_plan(inventory))))
    assert (result.run, result.failed, result.changes_pending) == (None, [], 0)
    assert not state.exists(), "no lock taken, no audit record written"


def test_a_reviewed_plan_is_checked_before_anything_runs(inventory: Inventory, state: Path) -> None:
    stale = empty_plan(inventory, {"inventories/lup.yml": "0" * 64})
    with pytest.raises(StalePlanError):
        run_change(ChangeRequest(ChangeMode.APPLY, inventory, ReviewedPlan(stale)))
    plan = empty_plan(inventory)
    with pytest.raises(UsageError, match="cannot widen the scope"):
        run_change(ChangeRequest(ChangeMode.APPLY, inventory, ReviewedPlan(plan, all_authorities=True)))
    with pytest.raises(UsageError, match="was made for --target production"):
        run_change(ChangeRequest(ChangeMode.APPLY, inventory, ReviewedPlan(plan), target=Target.LAB))
    assert not state.exists()


def test_a_reviewed_plan_that_no_longer_matches_is_refused_before_any_change(
    inventory: Inventory, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new check run differs on one device: no apply run starts, and the audit log says why."""
    from ksm_provision.network.results import DevicePlan, NetworkPlan, PlanStatus
    from ksm_provision.playbook.results import PlaybookRun, RunMode
    from ksm_provision.workflow import run as run_module
    from ksm_provision.workflow.audit import read_audit
    from ksm_provision.workflow.exact_plan import PlanChangedError
    from ksm_provision.workflow.orchestrate import ChangeRun
    from ksm_provision.workflow.planfile import device_plan
    from ksm_provision.workflow.run_records import REFUSED_RESULT

    router, reviewed = "sn-rh-rt01", ["interface lo", "description Loopback", "exit"]
    plan = PlanFile.create(
        target=Target.LAB,
        authorities=["schwerin"],
        inputs=input_hashes(inventory, Selection.of(["schwerin"], devices=[router])),
        devices=[device_plan(router, "schwerin", "frr", reviewed, str, "d1")],
    )
    modes: list[RunMode] = []

    def stages(request: object, scope: object, mode: RunMode, *args: object) -> ChangeRun:
        modes.append(mode)
        live = DevicePlan(
            hostname=router, authority="schwerin", platform="frr", role="router", status=PlanStatus.CHANGES,
            remediation=(*reviewed, "no ip route 192.0.2.0/24 Null0"), remediation_digest="d2",
        )  # fmt: skip
        return ChangeRun(
            mode=mode,
            target="lab",
            authorities=["schwerin"],
            hosts=PlaybookRun(mode=mode, hosts=[], return_code=0),
            devices=NetworkPlan(target="lab", devices=(live,)),
        )

    monkeypatch.setattr(run_module, "run_stages", stages)
    with pytest.raises(PlanChangedError, match="sn-rh-rt01 changed since the plan: plan again") as caught:
        run_change(ChangeRequest(ChangeMode.APPLY, inventory, ReviewedPlan(plan)))
    assert "would now also send 1 line(s): 'no ip route 192.0.2.0/24 Null0'" in str(caught.value)
    assert modes == [RunMode.PLAN], "only the check run ran: nothing was applied"
    (record,) = read_audit(state).records
    assert (record.result, record.failed, record.plan_hash) == (REFUSED_RESULT, [router], plan.plan_hash)
    assert record.changed_devices == [] and record.changed_hosts == []
