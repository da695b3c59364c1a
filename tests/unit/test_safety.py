"""The lab-only guard refuses every address outside 127.0.0.0/8 before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.errors import SafetyError
from ksm_provision.safety import check_address

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "192.168.1.1", "8.8.8.8", "::1", "lup-pch-fs01", "128.0.0.1"]
)
def test_lab_only_refuses_non_loopback(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.setenv("KSM_LAB_ONLY", "1")
    with pytest.raises(SafetyError, match="KSM_LAB_ONLY=1 refuses"):
        check_address(address)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.100.1.2", "127.255.255.254"])
def test_lab_only_allows_loopback(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.setenv("KSM_LAB_ONLY", "1")
    check_address(address)


def test_guard_is_off_without_lab_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSM_LAB_ONLY", raising=False)
    check_address("10.0.0.1")


def test_plan_against_production_is_refused_before_ansible_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSM_LAB_ONLY", "1")
    started: list[object] = []
    monkeypatch.setattr("ksm_provision.playbook.pipeline.run_playbook", lambda *a, **k: started.append(a))
    inventory = ["--inventory", str(REPO / "inventories")]
    hosts = CliRunner().invoke(ksm, [*inventory, "plan", "--authority", "lup", "--only", "hosts"])
    assert hosts.exit_code == 1
    assert "refuses the SSH connection to 10.41." in str(hosts.exception)
    # devices are planned first (a router's addresses before its Linux side): refused just the same
    everything = CliRunner().invoke(ksm, [*inventory, "plan", "--authority", "lup"])
    assert everything.exit_code == 1
    assert "refuses the SSH session to a network device to 10.41." in str(everything.exception)
    assert started == []


def test_unwritable_output_path_is_a_clear_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from ksm_provision.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            ["--inventory", str(REPO / "inventories"), "render", "ansible", "--out", "/proc/ksm-not-writable"]
        )
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error:" in err and "/proc/ksm-not-writable" in err and "Traceback" not in err
