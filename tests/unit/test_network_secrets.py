"""Network secrets: only the device's own authority's vault, never in output, guards before sockets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ksm_provision.errors import SafetyError, UsageError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.network.pipeline import device_scope
from ksm_provision.network.secrets import MASK, ConfigRedactor, scrub_config
from ksm_provision.target_resolution import ProductionTargets
from ksm_provision.vault import network_secrets, read_vault, vault_access

REPO = Path(__file__).resolve().parents[2]
SAMPLE_PASSWORDS = REPO / "inventories" / "vault" / "sample-passwords"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "snmp-server user mon MON v3 auth sha Abc-123-x priv aes 128 Def-456-y",
            f"snmp-server user mon MON v3 auth sha {MASK} priv aes 128 {MASK}",
        ),
        ("snmp-server community public RO", f"snmp-server community {MASK} RO"),
        ("username admin privilege 15 secret 9 $9$xyz", f"username admin privilege 15 secret 9 {MASK}"),
        ("enable secret 5 $1$abc", f"enable secret 5 {MASK}"),
        (" password 7 0822455D0A16", f" password 7 {MASK}"),
        (" neighbor 10.0.0.1 password s3cret", f" neighbor 10.0.0.1 password {MASK}"),
        ("hostname sw1", "hostname sw1"),
        (" description key to the city", " description key to the city"),
    ],
)
def test_secret_patterns_are_scrubbed_whatever_the_value(line: str, expected: str) -> None:
    assert scrub_config(line) == expected


def test_redactor_masks_vault_values_anywhere() -> None:
    redact = ConfigRedactor(["Geheim-1234"])
    assert redact("logging host 10.0.0.1\n banner Geheim-1234") == f"logging host 10.0.0.1\n banner {MASK}"


def test_network_secrets_come_from_the_authoritys_vault(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(SAMPLE_PASSWORDS))
    (access,) = vault_access(inventory.select(["lup"]))
    vault = read_vault(access)
    secrets = network_secrets(inventory.authorities["lup"].network_settings, access)
    assert secrets.authority == "lup"
    assert secrets.snmp_auth == vault["snmp_auth"] and secrets.password == vault["network_password"]
    assert vault["snmp_auth"] not in repr(secrets) and vault["network_password"] not in repr(secrets)


def test_a_missing_vault_key_names_the_authority_and_the_fix(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(SAMPLE_PASSWORDS))
    (access,) = vault_access(inventory.select(["lup"]))
    settings = inventory.authorities["lup"].network_settings.model_copy(update={"snmp_auth": "vault:nope"})
    with pytest.raises(UsageError, match=r"authority 'lup' has no 'nope'.*ansible-vault edit"):
        network_secrets(settings, access)


def test_only_the_authorities_in_scope_need_their_vault_key(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copy(SAMPLE_PASSWORDS / "lup.pass", tmp_path / "lup.pass")
    monkeypatch.setenv("KSM_VAULT_PASSWORDS_DIR", str(tmp_path))
    monkeypatch.setenv("KSM_LAB_ONLY", "1")
    # lup's vault opens; then the lab-only guard refuses the production addresses, before any socket.
    with pytest.raises(SafetyError, match=r"refuses the SSH session to a network device to 10\.41\."):
        device_scope(inventory.select(["lup"]), ProductionTargets())
    with pytest.raises(UsageError, match="no vault password for authority 'schwerin'"):
        device_scope(inventory, ProductionTargets())
