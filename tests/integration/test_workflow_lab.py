"""The change workflow with the real CLI on the lab twin: locks between concurrent applies, a
SIGKILLed apply, and drift after hand edits on a lab host and a lab device."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from netmiko import ConnectHandler

from tests.conftest import REPO, LabTwin
from tests.integration.lab_helpers import ksm, ksm_json, ssh

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

HOST = "sn-sh-fs01"
SWITCH = "sn-sh-sw01"


def _start_apply(env: dict[str, str]) -> subprocess.Popen[str]:
    """An apply of Schwerin's hosts in the background, in its own process group."""
    command = ["apply", "--authority", "schwerin", "--target", "lab", "--only", "hosts"]
    return subprocess.Popen(
        [sys.executable, "-m", "ksm_provision", *command],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _wait_for_lock(state_dir: Path, seconds: float = 60) -> None:
    lock = state_dir / "locks" / "schwerin.lock"
    deadline = time.monotonic() + seconds
    while not lock.exists():
        assert time.monotonic() < deadline, "the apply never took its lock"
        time.sleep(0.1)


def test_second_apply_on_the_same_authority_is_refused_while_the_first_runs(lab_twin: LabTwin) -> None:
    first = _start_apply(lab_twin.env)
    try:
        _wait_for_lock(lab_twin.state_dir)
        second = ksm(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab", check_codes=(1,))
        assert "lock" in second.stderr and "schwerin" in second.stderr
        # another authority is not blocked by Schwerin's lock
        assert ksm_json(lab_twin.env, "lock", "list")[0]["authority"] == "schwerin"
    finally:
        out, err = first.communicate(timeout=900)
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    assert ksm_json(lab_twin.env, "lock", "list") == []


def test_killed_apply_leaves_a_stale_lock_and_a_consistent_audit_log(lab_twin: LabTwin) -> None:
    from ksm_provision.workflow.audit import read_audit

    before = len(read_audit(lab_twin.state_dir).records)
    victim = _start_apply(lab_twin.env)
    _wait_for_lock(lab_twin.state_dir)
    time.sleep(2)  # well into the Ansible run
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    (lock,) = ksm_json(lab_twin.env, "lock", "list")
    assert lock["stale"] and "gone" in lock["stale_reason"]
    refused = ksm(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab", check_codes=(1,))
    assert "ksm lock break" in refused.stderr
    ksm(lab_twin.env, "lock", "break", lock["id"])
    assert ksm_json(lab_twin.env, "lock", "list") == []
    audit = read_audit(lab_twin.state_dir)
    assert audit.problems == [] and len(audit.records) == before  # no torn or half record


def test_drift_after_hand_edits_on_a_host_and_a_device(lab_twin: LabTwin) -> None:
    ksm(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab")
    ksm(lab_twin.env, "drift", "--authority", "schwerin", "--target", "lab")
    ssh(lab_twin.lab, HOST, "echo 'nameserver 192.0.2.53' > /etc/resolv.conf")
    login = lab_twin.lab.login(SWITCH)  # type: ignore[attr-defined]
    with ConnectHandler(device_type="cisco_ios", host=login.address, port=login.port, username=login.username,
                        password=login.password, secret=login.enable_secret) as switch:  # fmt: skip
        switch.enable()
        switch.send_config_set(["vlan 3990", "name HAND-EDIT"])  # not a VLAN of the inventory
    drift = ksm(
        lab_twin.env, "drift", "--authority", "schwerin", "--target", "lab", "--json", check_codes=(2,)
    )
    run = json.loads(drift.stdout)
    assert [h["host"] for h in run["hosts"]["hosts"] if h["changed"]] == [HOST]
    (edited,) = [d for d in run["devices"]["devices"] if d["status"] == "changes"]
    assert edited["hostname"] == SWITCH and "no vlan 3990" in edited["remediation"]
    record = json.loads((lab_twin.state_dir / "drift" / "schwerin.json").read_text())
    assert record["drifted"] and record["hosts"] == [HOST] and record["devices"] == [SWITCH]
    ksm(lab_twin.env, "apply", "--authority", "schwerin", "--target", "lab")
    ksm(lab_twin.env, "drift", "--authority", "schwerin", "--target", "lab")
