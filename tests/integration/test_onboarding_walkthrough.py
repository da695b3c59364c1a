"""Onboarding a new commune end to end, as the onboarding engineer would (issue: change workflow).

`ksm onboard` (which also allocates the link to the provider core and writes the site router), then
add a site, clients and a switch to the one new file, validate, see the core gain the neighbour,
and plan, apply and verify it on its own lab twin. No code change, one inventory file (plus its vault).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from tests.conftest import REPO, SAMPLE_VAULT_PASSWORDS
from tests.integration.lab_helpers import ksm, ksm_json

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

COMMUNE = "boizenburg"
SITE = """
  - id: bauhof
    name: "Städtischer Bauhof"
    address: "Gewerbestraße 3, 19258 Boizenburg/Elbe"
"""
HOSTS = """
client_ranges:
  - name: hv-verwaltung
    hostname_pattern: "bzb-hv-ws{index:02d}"
    count: 12
    site: hv
    network: hv-clients
    first_address: 10.43.0.20
    profile: verwaltung

clients:
  - hostname: bzb-bauhof-pc01
    site: bauhof
    network: bauhof-clients
    address: 10.43.2.20
    mac: 52:54:00:43:02:14
    profile: verwaltung
"""
#: Added to the scaffolded network_devices, after the site router that `ksm onboard` wrote.
SWITCH = """  - hostname: bzb-hv-sw01
    platform: cisco_ios
    role: access_switch
    site: hv
    management: {network: hv-mgmt, address: 10.43.255.11}
    interfaces:
      - {name: GigabitEthernet1/0/1, mode: access, network: hv-clients, description: Bürgermeisterin}
      - {name: GigabitEthernet1/0/2, mode: access, network: hv-servers, description: Server}
      - {name: GigabitEthernet1/1/1, mode: trunk, networks: [hv-clients, hv-servers, hv-mgmt],
         description: Uplink Rechenzentrum}
"""
BAUHOF_NETWORK = """  - {id: bauhof-clients, site: bauhof, vlan: 311, name: BAUHOF-CLIENTS,
     subnet: 10.43.2.0/24, gateway: 10.43.2.1, purpose: clients}
"""


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    from tests.testlab import throwaway_lab

    base = tmp_path_factory.mktemp("onboarding")
    inventory = base / "inventories"
    shutil.copytree(REPO / "inventories", inventory, ignore=shutil.ignore_patterns("sample-passwords"))
    passwords = base / "vault-passwords"
    shutil.copytree(SAMPLE_VAULT_PASSWORDS, passwords)
    with throwaway_lab("onboarding") as lab:
        env = {
            **os.environ,
            "KSM_INVENTORY": str(inventory),
            "KSM_VAULT_PASSWORDS_DIR": str(passwords),
            "KSM_LAB_DIR": str(lab.config.lab_dir),
            "KSM_LAB_INSTANCE": str(lab.config.instance),
            "KSM_LAB_SSH_PORT": str(lab.config.ssh_port),
            "KSM_STATE_DIR": str(base / "state"),
            "KSM_BUILD_DIR": str(base / "build"),
        }
        yield {"inventory": str(inventory), "passwords": str(passwords), **env}


def _write_vault(inventory: Path, passwords: Path) -> None:
    """What `ansible-vault create --vault-id boizenburg@prompt` would leave behind."""
    secret = b"boizenburg-test-only-key"
    (passwords / f"{COMMUNE}.pass").write_bytes(secret)
    plain = (
        b"network_password: Bzb-Net-1\nnetwork_enable_secret: Bzb-En-2\n"
        b"snmp_auth: Bzb-Auth-3x\nsnmp_priv: Bzb-Priv-4x\n"
    )
    vault = VaultLib([(COMMUNE, VaultSecret(secret))])
    (inventory / "vault" / f"{COMMUNE}.yml").write_bytes(vault.encrypt(plain, vault_id=COMMUNE))


def test_onboard_then_create_the_vault_and_it_validates(commune: dict[str, str]) -> None:
    """As onboard's next steps say: the vault first (validate names it while missing), then it validates."""
    onboarded = ksm(commune, "onboard", COMMUNE, "--name", "Stadt Boizenburg/Elbe", "--ags", "13076014")
    assert f"ansible-vault create --vault-id {COMMUNE}@prompt" in onboarded.stdout
    missing = ksm_json(commune, "validate", check_codes=(1,))
    assert [p["message"] for p in missing["problems"]] == [
        f"vault file 'vault/{COMMUNE}.yml' of authority '{COMMUNE}' does not exist"
    ]
    _write_vault(Path(commune["inventory"]), Path(commune["passwords"]))
    assert ksm_json(commune, "validate")["valid"] is True


def test_add_site_clients_and_switch_then_validate(commune: dict[str, str]) -> None:
    inventory = Path(commune["inventory"])
    path = inventory / f"{COMMUNE}.yml"
    text = path.read_text(encoding="utf-8")
    for anchor, added in (
        ("\nnetworks:\n", SITE + "\nnetworks:\n"),
        ("\nnetwork_devices:\n", "\n" + BAUHOF_NETWORK + HOSTS + "\nnetwork_devices:\n"),
        ("\n\nconsumes: []", "\n" + SWITCH + "\nconsumes: []"),
    ):
        assert text.count(anchor) == 1, anchor
        text = text.replace(anchor, added)
    path.write_text(text, encoding="utf-8")
    _write_vault(inventory, Path(commune["passwords"]))
    summary = ksm_json(commune, "validate")
    assert summary["valid"] is True and COMMUNE in summary["authorities"]


def test_the_core_gains_the_new_neighbour(commune: dict[str, str], tmp_path: Path) -> None:
    """`ksm render network` writes the core router's config with the commune's neighbour and its
    inbound prefix list; FRR's parser accepts it and the commune's router config."""
    from tests.unit.test_frr_parser import VTYSH, frr_check

    ksm(commune, "render", "network", "--out", str(tmp_path))
    core = (tmp_path / "_core" / "ksm-core-rt01.conf").read_text(encoding="utf-8").splitlines()
    assert " neighbor 10.40.100.2 remote-as 65103" in core
    assert "  neighbor 10.40.100.2 prefix-list FROM-BOIZENBURG in" in core
    assert "ip prefix-list FROM-BOIZENBURG seq 10 permit 10.43.0.0/16 le 32" in core
    if VTYSH is None:
        pytest.fail("FRR (vtysh) is not installed: make test installs frr (and runs as root, like CI)")
    for path in (tmp_path / "_core" / "ksm-core-rt01.conf", tmp_path / COMMUNE / f"{COMMUNE}-hv-rt01.conf"):
        assert frr_check(path) is None


def test_plan_apply_verify_on_its_lab_twin(commune: dict[str, str]) -> None:
    ksm(commune, "lab", "up", "--authority", COMMUNE, "--hosts-per-authority", "2")
    plan = ksm(
        commune, "plan", "--authority", COMMUNE, "--target", "lab", "--detailed-exitcode", check_codes=(2,)
    )
    assert "bzb-hv-sw01" in plan.stdout and "bzb-" in plan.stdout
    applied = ksm_json(commune, "apply", "--authority", COMMUNE, "--target", "lab")
    assert applied["hosts"]["hosts"] and not applied["hosts"]["hosts"][0]["failed"]
    statuses = {d["hostname"]: d["status"] for d in applied["devices"]["devices"]}
    assert statuses == {f"{COMMUNE}-hv-rt01": "changed", "bzb-hv-sw01": "changed"}
    verified = ksm_json(commune, "verify", "--authority", COMMUNE, "--target", "lab")
    assert verified["passed"], [c for c in verified["checks"] if not c["passed"]]
    ksm(commune, "plan", "--authority", COMMUNE, "--target", "lab", "--detailed-exitcode")
