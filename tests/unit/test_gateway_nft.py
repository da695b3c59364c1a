"""The routers' nftables rulesets, checked and loaded by the real nft in a throwaway network namespace.

Golden files: ``tests/data/golden/nftables/<router>.nft``. After a deliberate change run
``KSM_UPDATE_GOLDEN=1 pytest tests/unit/test_gateway_nft.py`` and review the diff.
nft only ever runs inside ``unshare -n``: this machine's own ruleset is never touched.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.network.gateway import GatewayConfig, gateway_config, gateway_configs
from ksm_provision.network.intended import RenderError

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden" / "nftables"
ROUTERS = ["lup-lwl-rt01", "lup-pch-rt01", "sn-ils-rt01", "sn-rh-rt01", "sn-sh-rt01"]
HOSTILE = '"; flush ruleset\nadd rule inet ksm forward accept #'


def _require_nft() -> None:
    """nft in a throwaway namespace needs root; `make test` installs nftables and runs as root."""
    if shutil.which("nft") is None or shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.fail("needs nft, unshare and root (make test installs nftables and runs as root like CI)")


needs_nft = pytest.mark.usefixtures("nft_available")


@pytest.fixture
def nft_available() -> None:
    _require_nft()


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@pytest.fixture(scope="module")
def configs(inventory: Inventory) -> dict[str, GatewayConfig]:
    return gateway_configs(inventory)


def _in_namespace(script: str, tmp_path: Path, *files: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    """Run *script* with sh in a new, empty network namespace; *files* are written to tmp_path first."""
    for name, text in files:
        (tmp_path / name).write_text(text, encoding="utf-8")
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_frr_router_gets_a_gateway(configs: dict[str, GatewayConfig]) -> None:
    assert sorted(configs) == ROUTERS


@pytest.mark.parametrize("router", ROUTERS)
def test_ruleset_matches_the_reviewed_golden_file(configs: dict[str, GatewayConfig], router: str) -> None:
    path = GOLDEN / f"{router}.nft"
    if os.environ.get("KSM_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(configs[router].nftables, encoding="utf-8")
    assert configs[router].nftables == path.read_text(encoding="utf-8")


def test_relay_settings(configs: dict[str, GatewayConfig]) -> None:
    assert configs["lup-pch-rt01"].relay_servers == ("10.41.8.20",)
    assert configs["lup-pch-rt01"].relay_interfaces == ("vlan110", "vlan112", "vlan120", "vlan150")
    assert configs["sn-sh-rt01"].relay_servers == ("10.42.8.20",)
    assert configs["sn-sh-rt01"].relay_interfaces == ("vlan211", "wan1")


@needs_nft
@pytest.mark.parametrize("router", ROUTERS)
def test_real_nft_accepts_and_loads_the_ruleset(
    configs: dict[str, GatewayConfig], router: str, tmp_path: Path
) -> None:
    other = "table inet other {\n\tchain c {\n\t\ttype filter hook input priority 10;\n\t}\n}\n"
    script = (
        "set -e; nft -c -f ruleset.nft; nft -f other.nft; nft -f ruleset.nft; nft -f ruleset.nft; "
        "nft list table inet ksm; echo ====; nft list tables"
    )
    done = _in_namespace(script, tmp_path, ("ruleset.nft", configs[router].nftables), ("other.nft", other))
    assert done.returncode == 0, done.stderr
    listed, tables = done.stdout.split("====")
    for chain in ("chain input", "chain forward", "chain output", "policy drop", "set admin_nets"):
        assert chain in listed
    assert "table inet other" in tables  # loading (twice) replaces only our own table


@needs_nft
def test_control_a_broken_ruleset_is_refused(configs: dict[str, GatewayConfig], tmp_path: Path) -> None:
    broken = configs["lup-pch-rt01"].nftables.replace(
        "10.41.8.10 tcp dport 445", "10.41.8.10/33 tcp dport 445"
    )
    assert broken != configs["lup-pch-rt01"].nftables
    done = _in_namespace("nft -c -f ruleset.nft", tmp_path, ("ruleset.nft", broken))
    assert done.returncode != 0


def _hostile(inventory: Inventory) -> Inventory:
    """Hostile text where validation would normally stop it: service name, interface description."""
    lup = inventory.authorities["lup"]
    devices = [
        d.model_copy(
            update={"interfaces": [i.model_copy(update={"description": HOSTILE}) for i in d.interfaces]}
        )
        for d in lup.network_devices
    ]
    services = [s.model_copy(update={"name": HOSTILE}) for s in inventory.provider.shared_services]
    return dataclasses.replace(
        inventory,
        provider=inventory.provider.model_copy(update={"shared_services": services}),
        authorities={**inventory.authorities, "lup": lup.model_copy(update={"network_devices": devices})},
    )


def _device(inventory: Inventory, hostname: str) -> Device:
    return inventory.devices_by_name[hostname]


def test_hostile_text_never_becomes_syntax(inventory: Inventory, configs: dict[str, GatewayConfig]) -> None:
    hostile = _hostile(inventory)
    text = gateway_config(hostile, _device(hostile, "lup-pch-rt01")).nftables
    clean = configs["lup-pch-rt01"].nftables
    assert len(text.splitlines()) == len(clean.splitlines())
    assert not any(line.strip().startswith(("flush", "add")) for line in text.splitlines())
    for line in text.splitlines():
        if ' comment "' in line:
            comment = line.split(' comment "', 1)[1]
            assert comment.count('"') == 1 and comment.endswith('"'), line
    assert "?? flush ruleset add rule inet ksm forward accept ?" in text


@needs_nft
def test_hostile_ruleset_still_parses(inventory: Inventory, tmp_path: Path) -> None:
    hostile = _hostile(inventory)
    text = gateway_config(hostile, _device(hostile, "lup-pch-rt01")).nftables
    done = _in_namespace("nft -c -f ruleset.nft", tmp_path, ("ruleset.nft", text))
    assert done.returncode == 0, done.stderr


def test_an_interface_name_linux_cannot_take_is_reported_at_file_and_line(inventory: Inventory) -> None:
    lup = inventory.authorities["lup"]
    devices = [
        d.model_copy(
            update={
                "interfaces": [
                    i.model_copy(update={"name": "GigabitEthernet0/0/1"}) if i.name == "wan0" else i
                    for i in d.interfaces
                ]
            }
        )
        for d in lup.network_devices
    ]
    changed = dataclasses.replace(
        inventory,
        authorities={**inventory.authorities, "lup": lup.model_copy(update={"network_devices": devices})},
    )
    with pytest.raises(
        RenderError, match=r"lup\.yml:\d+: device 'lup-pch-rt01': interface 'GigabitEthernet0/0/1'"
    ):
        gateway_config(changed, _device(changed, "lup-pch-rt01"))


def test_only_frr_routers_have_a_gateway(inventory: Inventory) -> None:
    with pytest.raises(RenderError, match="not an FRR router"):
        gateway_config(inventory, _device(inventory, "lup-pch-sw01"))
