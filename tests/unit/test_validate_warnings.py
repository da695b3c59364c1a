"""``ksm validate`` warnings: printed with FILE:LINE, in JSON under ``warnings``, never failing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.test_invalid_inventories import MINIMAL, apply_edit
from tests.unit.test_validate_vault import validate


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(tmp_path / "none"))
    monkeypatch.chdir(root)
    return root


def drop_log_host(root: Path) -> None:
    apply_edit(
        root,
        {
            "file": "aa.yml",
            "replace": "  log_host: 10.41.8.10     # aa-app01 collects the logs of the authority\n",
            "with": "  log_port: 514\n",
        },
    )


def test_samples_have_no_warnings(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate(capsys)
    assert code == 0
    assert "warning" not in err


def test_no_log_host_is_a_warning_not_an_error(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop_log_host(inv)
    code, out, err = validate(capsys)
    assert code == 0
    assert out.startswith("ok: ")
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: aa.yml:20: site 'hq' has no log host: its switches, routers and servers keep their logs "
        "only locally — set `settings.log_host` of the authority (or of the site) to the address of its "
        "log server"
    ]


def test_log_host_that_is_no_server(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apply_edit(inv, {"file": "bb.yml", "replace": "log_host: 10.42.0.10", "with": "log_host: 10.42.0.99"})
    code, _, err = validate(capsys)
    assert code == 0
    assert "warning: bb.yml:20: site 'rh' logs to 10.42.0.99, which is no server of any authority" in err


def test_warnings_in_json(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop_log_host(inv)
    code, out, err = validate(capsys, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["valid"] is True
    assert [(w["file"], w["line"]) for w in report["warnings"]] == [("aa.yml", 20)]
    assert "warning" not in err


def test_scoped_validate_shows_only_its_warnings(inv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop_log_host(inv)
    code, _, err = validate(capsys, "--authority", "bb")
    assert code == 0
    assert "warning" not in err
