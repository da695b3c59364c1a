"""``ksm lab down`` also stops what pull mode started beside the lab (server, reverse forwarders).

No lab is built here: :meth:`Lab.down` is replaced, so the tests need no root; the pull processes
are a plain ``sleep`` recorded the way :mod:`ksm_provision.pull.lab` records its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.manager import Lab
from ksm_provision.pull import lab as pull_lab


def _record_sleeper(config: LabConfig, name: str) -> system.ProcessRef:
    directory = config.lab_dir / "pull"
    directory.mkdir(parents=True, exist_ok=True)
    ref = system.spawn_detached(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        pidfile=directory / f"{name}.pid",
        log=directory / f"{name}.log",
        command=f"ksm pull {name}",
    )
    (directory / f"{name}.process.json").write_text(ref.model_dump_json())
    return ref


def test_stop_without_pull_mode_does_nothing(tmp_path: Path) -> None:
    config = LabConfig(lab_dir=tmp_path / "lab")
    assert pull_lab.stop(config) == []
    assert not (tmp_path / "lab").exists()  # stopping creates nothing


def test_stop_ends_the_recorded_processes_and_removes_their_files(tmp_path: Path) -> None:
    config = LabConfig(lab_dir=tmp_path / "lab")
    ref = _record_sleeper(config, "server")
    try:
        assert set(pull_lab.processes(config)) == {"server"}
        assert pull_lab.stop(config) == ["server"]
        assert not system.is_running(ref)
        assert not (config.lab_dir / "pull").exists()
    finally:
        system.stop(ref)


def test_lab_down_stops_pull_mode_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab_dir = tmp_path / "lab"
    ref = _record_sleeper(LabConfig(lab_dir=lab_dir), "revforward-n1")
    seen: list[bool] = []

    def fake_down(self: Lab, **_: object) -> tuple[str, ...]:
        seen.append(system.is_running(ref))
        return ("n1",)

    monkeypatch.setattr(Lab, "down", fake_down)
    try:
        result = CliRunner().invoke(ksm, ["lab", "down", "--lab-dir", str(lab_dir), "--json"])
        assert result.exit_code == 0, result.output
        assert seen == [False]  # the forwarder was gone before the nodes were removed
        assert not (lab_dir / "pull").exists()
    finally:
        system.stop(ref)


def test_lab_down_works_when_pull_never_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Lab, "down", lambda self, **_: ("n1", "n2"))
    result = CliRunner().invoke(ksm, ["lab", "down", "--lab-dir", str(tmp_path / "lab")])
    assert result.exit_code == 0, result.output
    assert "removed 2 lab nodes" in result.output


def test_lab_down_still_removes_the_lab_when_pull_cannot_be_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downs: list[Path] = []

    def refuse(config: LabConfig) -> list[str]:
        raise LabError("could not stop ksm pull server (pid 1)")

    monkeypatch.setattr(pull_lab, "stop", refuse)
    monkeypatch.setattr(Lab, "down", lambda self, **_: downs.append(self.config.lab_dir) or ())
    result = CliRunner().invoke(ksm, ["lab", "down", "--lab-dir", str(tmp_path / "lab")])
    assert downs == [tmp_path / "lab"]
    assert result.exit_code == 1
    assert "pull-mode processes" in result.output
