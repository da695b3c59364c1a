"""The CLI on valid and invalid inventories: exit codes 0/1/64, JSON shapes, no tracebacks, ``ksm schema``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ksm_provision.cli import main
from ksm_provision.commands.schema import schema_documents

REPO = Path(__file__).resolve().parents[2]
SAMPLES = str(REPO / "inventories")
KSM = Path(sys.executable).with_name("ksm")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_validate_samples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--inventory", SAMPLES, "validate"], capsys)
    assert code == 0
    assert out.startswith("ok: 2 authorities")


def test_validate_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--inventory", SAMPLES, "validate", "--json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert report == {
        "valid": True,
        "authorities": ["lup", "schwerin"],
        "hosts": report["hosts"],
        "devices": report["devices"],
        "problems": [],
        "warnings": [],
        "vault_references": {"lup": "checked", "schwerin": "checked"},
    }
    assert report["hosts"] > 800


def test_validate_one_authority(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--inventory", SAMPLES, "validate", "--authority", "schwerin", "--json"], capsys)
    assert code == 0 and json.loads(out)["authorities"] == ["schwerin"]


def test_unknown_authority_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--inventory", SAMPLES, "validate", "--authority", "nowhere"], capsys)
    assert code == 64 and "unknown authority 'nowhere'" in err


def test_missing_inventory_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["--inventory", str(tmp_path / "none"), "validate"], capsys)
    assert code == 64 and "does not exist" in err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["validate", "--bogus"], capsys)
    assert code == 64 and "No such option" in err


def test_inventory_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--inventory", SAMPLES, "inventory", "list", "--json", "--kind", "devices"], capsys)
    rows = json.loads(out)
    assert code == 0 and rows
    assert set(rows[0]) == {"name", "authority", "site", "kind", "address", "role"}


def test_inventory_show_host_names_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--inventory", SAMPLES, "inventory", "show", "sn-rh-ws001", "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    lines = (REPO / "inventories" / "schwerin.yml").read_text(encoding="utf-8").splitlines()
    assert data["defined_at"].endswith(f"schwerin.yml:{lines.index('  - name: rh-verwaltung') + 1}")
    assert data["settings"]["timezone"] == "Europe/Berlin"


def test_inventory_show_unknown_host(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--inventory", SAMPLES, "inventory", "show", "nobody"], capsys)
    assert code == 64 and "no host or device named 'nobody'" in err


def test_env_variable_selects_the_inventory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KSM_INVENTORY", SAMPLES)
    code, out, _ = run(["validate"], capsys)
    assert code == 0 and out.startswith("ok:")


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "Exit codes" in out and "onboard" in out and "schema" in out


def test_real_process_exit_codes(tmp_path: Path) -> None:
    """The installed console script, as CI runs it."""
    env = {**os.environ, "KSM_INVENTORY": SAMPLES}
    ok = subprocess.run([str(KSM), "validate"], capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    bad_dir = tmp_path / "inv"
    bad_dir.mkdir()
    (bad_dir / "ksm.yml").write_text("provider: [\n", encoding="utf-8")
    bad = subprocess.run(
        [str(KSM), "--inventory", str(bad_dir), "validate"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert "ksm.yml:2: malformed YAML" in bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr
    usage = subprocess.run([str(KSM), "nonsense"], capture_output=True, text=True, check=False)
    assert usage.returncode == 64


def test_committed_schema_files_are_current() -> None:
    """schema/*.json are what the models generate: regenerate with `ksm schema --out schema`."""
    for name, text in schema_documents().items():
        assert (REPO / "schema" / name).read_text(encoding="utf-8") == text, f"schema/{name} is stale"


def test_schema_modelines_point_at_the_schema_files() -> None:
    for path in sorted((REPO / "inventories").glob("*.yml")):
        kind = "provider" if path.name == "ksm.yml" else "authority"
        assert path.read_text(encoding="utf-8").startswith(
            f"# yaml-language-server: $schema=../schema/{kind}.schema.json\n"
        )


def test_schema_command_prints_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == 0 and set(json.loads(out)) == {"provider", "authority"}
    code, out, _ = run(["schema", "--kind", "authority"], capsys)
    assert json.loads(out)["title"] == "AuthorityFile"
    code, out, _ = run(["schema", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["authority.schema.json", "provider.schema.json"]
