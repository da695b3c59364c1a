"""Reviewed means exact, with the real CLI on the lab twin: ``ksm apply plan.json`` does exactly what
the plan shows, or refuses before the first change when a router or host changed since the plan.

Each test converges its node first and leaves it converged (the lab twin is shared by the session).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.inventory.inventory import Inventory
from ksm_provision.lab.manager import Lab
from ksm_provision.lab.targets import LabTargets
from ksm_provision.network.session import DeviceSession, Endpoint, Timeouts
from ksm_provision.workflow.audit import read_audit
from ksm_provision.workflow.records import AuditRecord
from ksm_provision.workflow.run_records import REFUSED_RESULT
from tests.conftest import LabTwin
from tests.integration.lab_helpers import ksm, ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

FAST = Timeouts(connect=10, command=10, device=120)
ROUTER = "sn-rh-rt01"
# A Ludwigslust-Parchim host: test_hosts_lab expects Schwerin's hosts fresh on the shared twin.
HOST = "lup-pch-fs01"
HOST_AUTHORITY = "lup"
HAND_ROUTE = "ip route 192.0.2.0/24 Null0"
EXTRA_FILE = "/etc/apt/apt.conf.d/20auto-upgrades"


def _router(lab_twin: LabTwin) -> Endpoint:
    inventory: Inventory = lab_twin.inventory  # type: ignore[assignment]
    lab: Lab = lab_twin.lab  # type: ignore[assignment]
    device = inventory.devices_by_name[ROUTER]
    return Endpoint.of(device, LabTargets(lab).stand_in(device))


def _running(lab_twin: LabTwin) -> str:
    with DeviceSession(_router(lab_twin), FAST) as session:
        return session.running_config()


def _by_hand(lab_twin: LabTwin, commands: list[str]) -> None:
    """A change at the router's vtysh, as an engineer at the console would make it."""
    with DeviceSession(_router(lab_twin), FAST) as session:
        session.send_config(commands)


def _last_audit(lab_twin: LabTwin) -> AuditRecord:
    return read_audit(lab_twin.state_dir).records[-1]


def _plan(lab_twin: LabTwin, out: Path, only: str, limit: str, authority: str = "schwerin") -> dict[str, Any]:
    ksm(lab_twin.env, "plan", "--authority", authority, "--target", "lab", "--only", only, "--limit", limit,
        "--out", str(out))  # fmt: skip
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def test_a_router_changed_since_the_plan_is_refused_and_a_new_plan_applies_exactly(
    lab_twin: LabTwin, tmp_path: Path
) -> None:
    converge = ("apply", "--authority", "schwerin", "--target", "lab", "--only", "devices", "--limit", ROUTER)
    ksm(lab_twin.env, *converge)
    _by_hand(lab_twin, ["interface wan0", "description von Hand", "exit"])
    plan = _plan(lab_twin, tmp_path / "plan.json", "devices", ROUTER)
    (device,) = plan["devices"]
    assert device["remediation"] == ["interface wan0", "description Uplink KSM-Kern", "exit"]

    _by_hand(lab_twin, [HAND_ROUTE])  # nobody reviewed its removal
    before = _running(lab_twin)
    refused = ksm(lab_twin.env, "apply", str(tmp_path / "plan.json"), check_codes=(1,))
    assert f"{ROUTER} changed since the plan: plan again" in refused.stderr
    assert f"would now also send 1 line(s): 'no {HAND_ROUTE}'" in refused.stderr
    assert "nothing was applied" in refused.stderr
    assert _running(lab_twin) == before, "not a single command reached the router"
    record = _last_audit(lab_twin)
    assert (record.result, record.failed, record.changed_devices) == (REFUSED_RESULT, [ROUTER], [])
    assert record.plan_hash == plan["plan_hash"]

    again = _plan(lab_twin, tmp_path / "again.json", "devices", ROUTER)
    (reviewed,) = again["devices"]
    assert f"no {HAND_ROUTE}" in reviewed["remediation"]
    applied = ksm(lab_twin.env, "apply", str(tmp_path / "again.json"), "--json")
    (result,) = json.loads(applied.stdout)["devices"]["devices"]
    assert result["status"] == "changed" and result["commands"] == reviewed["remediation"]
    record = _last_audit(lab_twin)
    assert (record.result.value, record.changed_devices, record.plan_hash) == (
        "success",
        [ROUTER],
        again["plan_hash"],
    )
    running = _running(lab_twin)
    assert HAND_ROUTE not in running and "description Uplink KSM-Kern" in running


def test_a_host_that_would_change_more_than_reviewed_is_refused(lab_twin: LabTwin, tmp_path: Path) -> None:
    converge = ("apply", "--authority", HOST_AUTHORITY, "--target", "lab", "--only", "hosts", "--limit", HOST)
    ksm(lab_twin.env, *converge)

    # as reviewed: the apply of the plan goes through
    ssh(lab_twin.lab, HOST, "echo 'nameserver 192.0.2.53' > /etc/resolv.conf")
    plan = _plan(lab_twin, tmp_path / "plan.json", "hosts", HOST, HOST_AUTHORITY)
    (host,) = plan["hosts"]
    [change] = host["changes"]
    assert change["task"] == "Ensure the base configuration files hold the inventory's settings"
    assert "--- /etc/resolv.conf" in change["diff"] and "192.0.2.53" in change["diff"], change["diff"]
    assert EXTRA_FILE not in change["diff"]
    assert all(len(c["digest"]) == 64 for c in host["changes"])
    ksm(lab_twin.env, "apply", str(tmp_path / "plan.json"))
    assert "192.0.2.53" not in ssh(lab_twin.lab, HOST, "cat /etc/resolv.conf")

    # more than reviewed: refused, and the reviewed change is not made either
    ssh(lab_twin.lab, HOST, "echo 'nameserver 192.0.2.53' > /etc/resolv.conf")
    stale = _plan(lab_twin, tmp_path / "stale.json", "hosts", HOST, HOST_AUTHORITY)
    ssh(lab_twin.lab, HOST, f"echo '// von Hand' >> {EXTRA_FILE}")
    try:
        refused = ksm(lab_twin.env, "apply", str(tmp_path / "stale.json"), check_codes=(1,))
        assert f"{HOST} changed since the plan: plan again" in refused.stderr
        # the same task (one loop over the base files) now also changes another file: its digest differs
        base_files = "Ensure the base configuration files hold the inventory's settings"
        assert f"would change {base_files!r} differently from the plan" in refused.stderr
        assert "192.0.2.53" in ssh(lab_twin.lab, HOST, "cat /etc/resolv.conf"), "nothing was applied"
        assert "von Hand" in ssh(lab_twin.lab, HOST, f"cat {EXTRA_FILE}")
        record = _last_audit(lab_twin)
        assert (record.result, record.failed, record.plan_hash) == (
            REFUSED_RESULT,
            [HOST],
            stale["plan_hash"],
        )
    finally:
        ksm(lab_twin.env, *converge)
    assert "von Hand" not in ssh(lab_twin.lab, HOST, f"cat {EXTRA_FILE}")
