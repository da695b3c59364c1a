"""``ksm validate`` checks the vaults: each vault file exists, and each ``vault:KEY`` is in its vault.

The base is tests/data/minimal/, whose vaults ``vault/aa.yml`` and ``vault/bb.yml`` open with the
test-only passwords in ``vault/sample-passwords/``. Every test chooses where passwords are found:
``KSM_VAULT_PASSWORDS_DIR`` and ``HOME`` point into tmp_path, so nothing of the caller's counts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.cli import main
from ksm_provision.errors import EXIT_USAGE
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.validate import validate_inventory
from ksm_provision.vault import read_vault, redactable, vault_access
from tests.unit.test_invalid_inventories import MINIMAL, apply_edit

REPO = Path(__file__).resolve().parents[2]
PASSWORDS = MINIMAL / "vault" / "sample-passwords"
NOTE = (
    "note: vault references of '{aid}' not checked (no vault password; pass --vault-password-file "
    "{aid}=FILE or put it in $KSM_VAULT_PASSWORDS_DIR)"
)


@pytest.fixture
def inv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the minimal inventory, worked on from inside; no vault password is found by default."""
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    shutil.rmtree(root / "vault" / "sample-passwords")  # found only where a test says so
    empty = tmp_path / "no-passwords"
    empty.mkdir()
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(root)
    return root


def with_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(PASSWORDS))


def edit(root: Path, file: str, replace: str, with_: str) -> None:
    apply_edit(root, {"file": file, "replace": replace, "with": with_})


def run_validate(
    capsys: pytest.CaptureFixture[str], *args: str, inventory: str = "."
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `ksm validate ARGS`."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", inventory, "validate", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


def validate(capsys: pytest.CaptureFixture[str], *args: str, inventory: str = ".") -> tuple[int, str, str]:
    """Like :func:`run_validate`, without warning lines (the minimal inventory has routerless
    networks; warnings are test_validate_warnings' subject)."""
    code, out, err = run_validate(capsys, *args, inventory=inventory)
    notes = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("warning: "))
    return code, out, notes


def vault_values(root: Path) -> list[str]:
    """Every secret of the minimal vaults, to show that no output contains one."""
    accesses = vault_access(load_inventory(root), {a: PASSWORDS / f"{a}.pass" for a in ("aa", "bb")})
    return [value for access in accesses for value in redactable(read_vault(access))]


# --------------------------------------------------------------------------- references resolve


def test_checked_with_passwords(inv: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    with_passwords(monkeypatch)
    code, out, err = validate(capsys)
    assert code == 0
    assert out.splitlines()[-1] == "vault references: aa checked, bb checked"
    assert err == ""


def test_missing_key_is_reported_at_its_reference(
    inv: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with_passwords(monkeypatch)
    edit(inv, "aa.yml", "  snmp_priv: vault:snmp_priv\n", "  snmp_priv: vault:snmp_priv_2\n")
    code, out, err = validate(capsys)
    assert code == 1
    assert err.splitlines() == [
        "aa.yml:17: vault key 'snmp_priv_2' referenced here does not exist in vault/aa.yml — add it with "
        "`ansible-vault edit --vault-id aa@prompt vault/aa.yml`",
        "1 problem(s) found.",
    ]
    assert not any(value in out + err for value in vault_values(inv))


def test_db_password_of_a_hosted_service_is_looked_up_in_the_hosts_vault(
    inv: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """fv is hosted by aa: its db_password is looked up in aa's vault, and reported in ksm.yml."""
    with_passwords(monkeypatch)
    edit(inv, "ksm.yml", "    db_password: vault:fv_db_password\n", "    db_password: vault:fv_db_passwort\n")
    code, _, err = validate(capsys)
    assert code == 1
    assert err.splitlines()[0] == (
        "ksm.yml:50: vault key 'fv_db_passwort' referenced here does not exist in vault/aa.yml — "
        "add it with `ansible-vault edit --vault-id aa@prompt vault/aa.yml`"
    )


def test_missing_key_with_json(inv: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    with_passwords(monkeypatch)
    edit(inv, "bb.yml", "  password: vault:network_password\n", "  password: vault:netzwerk_passwort\n")
    code, out, err = validate(capsys, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert report["vault_references"] == {"aa": "checked", "bb": "checked"}
    (problem,) = report["problems"]
    assert problem == {
        "file": "bb.yml",
        "line": 14,
        "message": "vault key 'netzwerk_passwort' referenced here does not exist in vault/bb.yml",
        "hint": "add it with `ansible-vault edit --vault-id bb@prompt vault/bb.yml`",
    }
    assert not any(value in out + err for value in vault_values(inv))


# --------------------------------------------------------------------------- no password, wrong password


def test_without_password_references_are_not_checked(inv: Path, capsys: Any) -> None:
    edit(inv, "aa.yml", "  snmp_priv: vault:snmp_priv\n", "  snmp_priv: vault:snmp_priv_2\n")
    code, out, err = validate(capsys)
    assert code == 0
    assert err.splitlines() == [NOTE.format(aid="aa"), NOTE.format(aid="bb")]
    assert out.splitlines()[-1] == (
        "vault references: aa not checked: no vault password, bb not checked: no vault password"
    )
    code, out, _ = validate(capsys, "--json")
    assert code == 0
    assert json.loads(out)["vault_references"] == {
        "aa": "not checked: no vault password",
        "bb": "not checked: no vault password",
    }


def test_password_file_on_the_command_line(inv: Path, capsys: Any) -> None:
    code, out, err = validate(capsys, "--json", "--vault-password-file", f"bb={PASSWORDS / 'bb.pass'}")
    assert code == 0
    assert json.loads(out)["vault_references"] == {"aa": "not checked: no vault password", "bb": "checked"}
    assert err.splitlines() == [NOTE.format(aid="aa")]


def test_only_the_scope_is_checked(inv: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    with_passwords(monkeypatch)
    edit(inv, "aa.yml", "  snmp_priv: vault:snmp_priv\n", "  snmp_priv: vault:snmp_priv_2\n")
    code, out, _ = validate(capsys, "--authority", "bb", "--json")
    assert code == 0
    assert json.loads(out)["vault_references"] == {"bb": "checked"}


def test_wrong_password_is_a_vault_error(inv: Path, capsys: Any) -> None:
    code, out, err = validate(capsys, "--vault-password-file", f"bb={PASSWORDS / 'aa.pass'}")
    assert code == EXIT_USAGE
    assert "cannot decrypt the vault vault/bb.yml of authority 'bb'" in err
    assert not any(value in out + err for value in vault_values(inv))


def test_malformed_password_option_is_a_usage_error(inv: Path, capsys: Any) -> None:
    code, _, err = validate(capsys, "--vault-password-file", "bb")
    assert code == EXIT_USAGE
    assert "is not ID=FILE" in err


def test_validate_inventory_needs_no_password(inv: Path) -> None:
    edit(inv, "aa.yml", "  snmp_priv: vault:snmp_priv\n", "  snmp_priv: vault:snmp_priv_2\n")
    assert validate_inventory(load_inventory(inv)) == []


# --------------------------------------------------------------------------- the vault file exists


def test_missing_vault_file_stops_every_command_that_loads_the_inventory(inv: Path, capsys: Any) -> None:
    (inv / "vault" / "bb.yml").unlink()
    expected = "bb.yml:11: vault file 'vault/bb.yml' of authority 'bb' does not exist — create it with "
    code, _, err = validate(capsys)
    assert code == 1
    assert err.startswith(
        expected + "`ansible-vault create --vault-id bb@prompt vault/bb.yml`, with the keys "
        "network_password, network_enable_secret, snmp_auth, snmp_priv\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", ".", "inventory", "list", "--authority", "aa"])
    assert exit_info.value.code == 1
    assert expected in capsys.readouterr().err


def test_missing_vault_directory(inv: Path) -> None:
    shutil.rmtree(inv / "vault")
    problems = [f"{p.file}:{p.line}: {p.message}" for p in validate_inventory(load_inventory(inv))]
    assert problems == [
        "aa.yml:11: vault file 'vault/aa.yml' of authority 'aa' does not exist",
        "bb.yml:11: vault file 'vault/bb.yml' of authority 'bb' does not exist",
    ]


def test_a_vault_that_is_not_the_authoritys_own_is_reported_once(inv: Path) -> None:
    edit(inv, "aa.yml", "  file: vault/aa.yml\n", "  file: vault/common.yml\n")
    (problem,) = validate_inventory(load_inventory(inv))
    assert "is not the vault of authority 'aa'" in problem.message


def test_sample_inventories_are_checked_with_the_sample_passwords(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(REPO / "inventories" / "vault" / "sample-passwords"))
    code, out, err = validate(capsys, "--json", inventory=str(REPO / "inventories"))
    assert code == 0, err
    report = json.loads(out)
    assert report["valid"] is True
    assert report["vault_references"] == {"lup": "checked", "schwerin": "checked"}
