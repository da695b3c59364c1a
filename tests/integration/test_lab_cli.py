"""``ksm lab up|status|down`` end to end, on the repository's inventories (a throw-away lab)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ksm_provision.commands.common import CliContext
from ksm_provision.commands.lab import lab_group
from tests.testlab import throwaway_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"


def test_lab_up_status_down() -> None:
    if os.geteuid() != 0 or shutil.which("vtysh") is None:
        pytest.fail("needs root and frr (make test installs frr and runs as root)")
    if not (INVENTORIES / "ksm.yml").exists():
        pytest.fail("no inventories/ in this checkout")
    with throwaway_lab("cli") as lab:
        run_cli(lab.config.lab_dir, lab.config.instance)


def run_cli(lab_dir: Path, instance: int) -> None:
    env = {"KSM_LAB_DIR": str(lab_dir), "KSM_LAB_INSTANCE": str(instance)}
    runner = CliRunner()
    obj = CliContext(inventory_dir=str(INVENTORIES))
    before = runner.invoke(lab_group, ["status", "--json"], env=env)
    assert before.exit_code == 1 and json.loads(before.output)["exists"] is False

    try:
        result = runner.invoke(
            lab_group, ["up", "--authority", "lup", "--hosts-per-authority", "1", "--json"], env=env, obj=obj
        )
        assert result.exit_code == 0, result.output
        up = json.loads(result.output)
        kinds = {n["kind"] for n in up["nodes"]}
        assert kinds == {"host", "router", "gateway", "switch"}
        assert all(n["healthy"] and n["address"].startswith("127.") for n in up["nodes"])
        assert up["unrepresented"], "the cap of 1 host leaves hosts without a stand-in"
        for secret_file in (lab_dir / "secrets.json", lab_dir / "ssh" / "id_ed25519"):
            assert secret_file.stat().st_mode & 0o077 == 0, f"{secret_file} is readable by others"

        status = runner.invoke(lab_group, ["status"], env=env)
        assert status.exit_code == 0, status.output
        assert "lup-pch-rt01" in status.output
        secrets = json.loads((lab_dir / "secrets.json").read_text())
        for secret in (v for entry in secrets.values() for v in entry.values()):
            assert secret not in result.output + status.output + (lab_dir / "state.json").read_text()
    finally:
        down = runner.invoke(lab_group, ["down", "--json"], env=env)
    assert down.exit_code == 0, down.output
    assert len(json.loads(down.output)["removed"]) == len(up["nodes"])
    gone = runner.invoke(lab_group, ["status"], env=env)
    assert gone.exit_code == 1 and "no lab" in gone.output
