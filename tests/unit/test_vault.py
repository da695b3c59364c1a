"""One vault per authority: password discovery, and redaction of every known secret value."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksm_provision.errors import UsageError
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.vault import Redactor, VaultAccess, VaultError, read_vault, secret_values, vault_access

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


def _vault(tmp_path: Path, plain: str, password: bytes = b"lab-only") -> VaultAccess:
    from ansible.parsing.vault import VaultLib, VaultSecret

    (tmp_path / "aa.pass").write_bytes(password)
    vault_file = tmp_path / "aa.yml"
    vault_file.write_bytes(VaultLib([("aa", VaultSecret(b"lab-only"))]).encrypt(plain, vault_id="aa"))
    return VaultAccess("aa", "aa", vault_file, tmp_path / "aa.pass")


@pytest.mark.parametrize(
    ("plain", "password", "message"),
    [
        (
            "snmp_auth: Secret-1234\n",
            b"wrong",
            r"cannot decrypt the vault .*aa\.yml of authority 'aa': wrong pass",
        ),
        ("snmp_auth: Secret-1234\n", b"\n", r"password file .*aa\.pass of authority 'aa' is empty"),
        ("- just\n- a list\n", b"lab-only", r"vault .*aa\.yml of authority 'aa' is not a mapping"),
        ("a: [unclosed\n", b"lab-only", r"decrypted vault .*aa\.yml of authority 'aa' is not valid YAML"),
    ],
)
def test_every_vault_failure_is_one_clear_error(
    tmp_path: Path, plain: str, password: bytes, message: str
) -> None:
    access = _vault(tmp_path, plain, password)
    with pytest.raises(VaultError, match=message) as error:
        read_vault(access)
    assert error.value.hint and "Secret-1234" not in str(error.value)


def test_a_missing_password_file_names_the_authority(tmp_path: Path) -> None:
    access = _vault(tmp_path, "a: Secret-1234\n")
    (tmp_path / "aa.pass").unlink()
    with pytest.raises(VaultError, match=r"cannot read the vault password file .*aa\.pass of authority 'aa'"):
        secret_values([access])


def test_a_wrong_password_is_a_vault_error_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Hosts (redaction values) and devices (logins, SNMP keys) open the vault the same way."""
    from ksm_provision.network.pipeline import device_scope
    from ksm_provision.playbook.pipeline import vaults_and_redactor
    from ksm_provision.playbook.scope import HostScope
    from ksm_provision.target_resolution import ProductionTargets

    (tmp_path / "schwerin.pass").write_text("wrong\n")
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(tmp_path))
    inventory = load_inventory(REPO / "inventories").select(["schwerin"])
    expected = r"cannot decrypt the vault .*schwerin\.yml of authority 'schwerin'"
    with pytest.raises(VaultError, match=expected):
        vaults_and_redactor(HostScope(inventory, [], {}))
    with pytest.raises(VaultError, match=expected):
        device_scope(inventory, ProductionTargets())
