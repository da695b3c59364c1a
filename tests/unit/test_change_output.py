"""What `ksm apply`/`plan` print about devices: the device's own words uncut, every rollback attempt."""

from __future__ import annotations

import pytest

from ksm_provision.commands.output import print_change_run
from ksm_provision.network.results import (
    ApplyStatus,
    DeviceApply,
    DevicePlan,
    NetworkApply,
    NetworkPlan,
    PlanStatus,
    RollbackAttempt,
    RollbackOutcome,
)
from ksm_provision.playbook.results import PlaybookRun, RunMode
from ksm_provision.workflow.orchestrate import ChangeRun

LONG = "checkpoint failed: " + "%Error copying flash:ksm-rollback.cfg (Not enough space on device) " * 4


def run_of(devices: NetworkPlan | NetworkApply, mode: RunMode) -> ChangeRun:
    hosts = PlaybookRun(mode=mode, hosts=[], return_code=0)
    return ChangeRun(mode=mode, target="lab", authorities=["lup"], hosts=hosts, devices=devices)


def failed_apply() -> ChangeRun:
    device = DeviceApply(
        hostname="lup-pch-sw01",
        authority="lup",
        platform="cisco_ios",
        role="core_switch",
        status=ApplyStatus.FAILED_STATE_UNKNOWN,
        commands=("interface GigabitEthernet1/0/1", "description neu"),
        rollback_attempts=(
            RollbackAttempt(
                attempt=1,
                method="configure_replace",
                commands=("configure replace flash:ksm-rollback.cfg force",),
                outcome=RollbackOutcome.FAILED,
                message="connection refused",
            ),
        ),
        rollback_method="configure_replace",
        consistent=False,
        messages=(LONG,),
    )
    return run_of(NetworkApply(target="lab", devices=(device,)), RunMode.APPLY)


def test_full_message_follows_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    print_change_run(failed_apply(), details=False)
    out = capsys.readouterr().out
    assert "lup-pch-sw01 failed_state_unknown:" in out
    assert " ".join(LONG.split()) in " ".join(out.split())  # uncut, whatever the terminal width


def test_details_show_typed_commands_and_every_rollback_attempt(capsys: pytest.CaptureFixture[str]) -> None:
    print_change_run(failed_apply(), details=True)
    out = capsys.readouterr().out
    assert "lup-pch-sw01 (cisco_ios) typed:" in out
    assert "  description neu" in out
    assert "rollback attempt 1 (configure_replace): failed" in out
    assert "configure replace flash:ksm-rollback.cfg force" in out
    assert "connection refused" in out


def test_plan_details_name_the_rollback_method(capsys: pytest.CaptureFixture[str]) -> None:
    plan = DevicePlan(
        hostname="sn-rh-rt01",
        authority="schwerin",
        platform="frr",
        role="router",
        status=PlanStatus.CHANGES,
        remediation=("interface wan1", "description neu"),
        rollback=("interface wan1", "description alt"),
        rollback_method="remediation",
    )
    print_change_run(run_of(NetworkPlan(target="lab", devices=(plan,)), RunMode.PLAN), details=True)
    out = capsys.readouterr().out
    assert "sn-rh-rt01 rollback (if the push fails: remediation):" in out
    assert "failed" not in out.split("devices:")[0]
