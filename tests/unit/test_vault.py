"""One vault per authority: password discovery, and redaction of every known secret value."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.playbook.vault import Redactor, secret_values, vault_access

REPO = Path(__file__).resolve().parents[2]
SAMPLE_PASSWORDS = REPO / "inventories" / "vault" / "sample-passwords"


def test_each_authority_needs_only_its_own_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "schwerin.pass").write_bytes((SAMPLE_PASSWORDS / "schwerin.pass").read_bytes())
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    inventory = load_inventory(REPO / "inventories")
    (access,) = vault_access(inventory.select(["schwerin"]))
    assert access.vault_id == "schwerin"
    assert "Els-DB-Secret-60c3f2" in secret_values([access])
    with pytest.raises(UsageError, match="no vault password for authority 'lup'"):
        vault_access(inventory.select(["lup"]))


def test_redactor_masks_every_secret() -> None:
    redact = Redactor(["Kfz-DB-Secret-b5e07d", "short-secret"])
    assert redact("password: Kfz-DB-Secret-b5e07d; x=short-secret") == "password: ********; x=********"


def test_a_template_in_a_vault_value_is_refused_without_showing_it(tmp_path: Path) -> None:
    """Ansible would evaluate ``{{ }}`` in a vault value on the controller (checked with 2.19)."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    from ksm_provision.errors import InventoryError
    from ksm_provision.playbook.vault import VaultAccess

    password = tmp_path / "aa.pass"
    password.write_bytes(b"lab-only")
    plain = "snmp_auth: Secret-1234\nnested:\n  db: \"{{ lookup('file', '/work/other/lup.pass') }}\"\n"
    vault_file = tmp_path / "aa.yml"
    vault_file.write_bytes(VaultLib([("aa", VaultSecret(b"lab-only"))]).encrypt(plain, vault_id="aa"))
    with pytest.raises(InventoryError) as error:
        secret_values([VaultAccess("aa", "aa", vault_file, password)])
    (problem,) = error.value.problems
    assert problem.line == 3
    assert "'nested.db' contains template syntax" in problem.message
    assert "lookup" not in str(error.value) and "Secret-1234" not in str(error.value)
