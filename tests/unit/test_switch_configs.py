"""Cisco IOS switch configs: golden files, hardening, IOS formats, and the simulator agreeing with them.

The golden intended configs are ``tests/data/golden/cisco_ios/<host>.cfg`` (placeholder secrets, as
``ksm render network`` writes them). After a deliberate change of templates or samples, refresh
them with ``KSM_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_switch_configs.py`` and review
the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.inventory.models import Platform
from ksm_provision.network.capabilities import SWITCH_MODELS
from ksm_provision.network.hidden_lines import is_hidden
from ksm_provision.network.intended import render_all
from ksm_provision.network.platforms import PLATFORMS
from ksm_provision.network.remediation import parse, remediate
from ksm_provision.network.switch_context import IOS_LINE_WIDTH, trunk_allowed_lines
from ksm_switchsim.config_commands import ConfigContext, replay, run_config_line
from ksm_switchsim.config_tree import MODEL_PORTS, ConfigTree

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden" / "cisco_ios"
UPDATE = os.environ.get("KSM_UPDATE_GOLDEN") == "1"
IOS = PLATFORMS[Platform.CISCO_IOS]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@pytest.fixture(scope="module")
def configs(inventory: Inventory) -> dict[str, str]:
    return render_all(inventory)


def _switches(inventory: Inventory) -> list[str]:
    return sorted(d.hostname for d in inventory.devices if d.model.platform is Platform.CISCO_IOS)


def _block(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(header) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith(" "))
    return lines[start:end]


# --------------------------------------------------------------------------- golden files


def test_sample_switches_render_exactly_the_golden_configs(
    inventory: Inventory, configs: dict[str, str]
) -> None:
    hosts = _switches(inventory)
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for stale in set(GOLDEN.glob("*.cfg")) - {GOLDEN / f"{h}.cfg" for h in hosts}:
            stale.unlink()
        for host in hosts:
            (GOLDEN / f"{host}.cfg").write_text(configs[host], encoding="utf-8")
    assert sorted(p.stem for p in GOLDEN.glob("*.cfg")) == hosts, "KSM_UPDATE_GOLDEN=1 to refresh"
    for host in hosts:
        golden = (GOLDEN / f"{host}.cfg").read_text(encoding="utf-8")
        assert configs[host] == golden, f"{host} differs from its golden file (KSM_UPDATE_GOLDEN=1)"


# --------------------------------------------------------------------------- hardening


def test_unused_ports_of_the_model_are_shut_and_parked(configs: dict[str, str]) -> None:
    text = configs["lup-hgw-sw01"]  # C9200L-24P: Gi1/0/1-24 and Gi1/1/1-4
    ports = [line.split()[1] for line in text.splitlines() if line.startswith("interface Gigabit")]
    assert ports == list(SWITCH_MODELS["C9200L-24P"])
    assert _block(text, "interface GigabitEthernet1/0/3") == [
        " switchport access vlan 3999",
        " switchport mode access",
        " shutdown",
        " storm-control broadcast level 1.00",
        " spanning-tree portfast",
        " spanning-tree bpduguard enable",
    ]
    assert _block(text, "vlan 3999") == [" name PARKING"]
    assert _block(text, "vlan 3998") == [" name NATIVE-UNUSED"]


def test_access_ports_trunks_and_downstream_root_guard(configs: dict[str, str]) -> None:
    core = configs["lup-pch-sw01"]
    assert _block(core, "interface GigabitEthernet1/0/48") == [  # peer of lup-pch-sw02's uplink
        " description Uplink lup-pch-sw02",
        " switchport trunk native vlan 3998",
        " switchport trunk allowed vlan 110,130,190",
        " switchport mode trunk",
        " spanning-tree guard root",
    ]
    assert " spanning-tree guard root" not in _block(core, "interface GigabitEthernet1/1/1")  # router
    access = configs["lup-pch-sw02"]
    assert " spanning-tree guard root" not in _block(access, "interface GigabitEthernet1/1/1")
    assert _block(access, "interface GigabitEthernet1/0/1")[-3:] == [
        " storm-control broadcast level 1.00",
        " spanning-tree portfast",
        " spanning-tree bpduguard enable",
    ]
    for text in configs.values():
        assert "native vlan 1\n" not in text


def test_clock_lines_from_the_effective_timezone(configs: dict[str, str]) -> None:
    lines = configs["sn-sh-sw01"].splitlines()
    assert "clock timezone CET 1 0" in lines
    assert "clock summer-time CEST recurring last Sun Mar 2:00 last Sun Oct 3:00" in lines


# --------------------------------------------------------------------------- VLAN list wrapping


def test_150_vlans_wrap_into_add_lines_that_fit_the_line() -> None:
    ids = list(range(100, 400, 2))  # 150 VLANs, no ranges: the longest list
    lines = trunk_allowed_lines(ids)
    assert lines[0].startswith("switchport trunk allowed vlan 100,")
    assert all(line.startswith("switchport trunk allowed vlan add ") for line in lines[1:])
    assert all(len(" " + line) <= IOS_LINE_WIDTH for line in lines)
    got = {int(v) for line in lines for v in line.split()[-1].split(",")}
    assert got == set(ids)


def _sim(text: str, model: str = "C9300-48P") -> ConfigTree:
    tree = ConfigTree.factory_default("sw", MODEL_PORTS[model])
    assert replay(tree, text) == []
    return tree


def test_simulator_prints_a_long_trunk_as_ios_and_remediation_is_right() -> None:
    ids = list(range(100, 400, 2))
    body = "\n".join(f" {line}" for line in trunk_allowed_lines(ids))
    header = "interface GigabitEthernet1/0/48\n switchport trunk native vlan 3998"
    intended = f"{header}\n{body}\n switchport mode trunk\n"
    tree = _sim(intended)
    running = tree.render()
    assert body in running  # the simulator wraps exactly as the template does
    merged = "switchport trunk allowed vlan " + ",".join(str(i) for i in ids)
    assert f"  {merged}" in parse(IOS, running).lines  # hier_config sees one line, not the add lines
    fewer_body = "\n".join(f" {line}" for line in trunk_allowed_lines(ids[:-1]))  # VLAN 398 leaves
    fewer = running.replace(body, fewer_body)
    change = remediate(parse(IOS, running), parse(IOS, fewer))
    assert len(change.commands) == 3 and change.commands[1].startswith("switchport trunk allowed vlan 100,")
    ctx = ConfigContext(tree)
    for command in change.commands:
        assert not run_config_line(ctx, command).failed
    assert "398" not in tree.render().split("interface GigabitEthernet1/0/48")[1].split("!")[0]
    assert remediate(parse(IOS, tree.render()), parse(IOS, fewer)).empty


# --------------------------------------------------------------------------- the twin agrees


@pytest.mark.parametrize(
    "host", ["lup-pch-sw01", "lup-pch-sw02", "lup-lwl-sw01", "lup-hgw-sw01", "sn-sh-sw01"]
)
def test_simulator_takes_every_rendered_line_and_shows_it_back(
    inventory: Inventory, configs: dict[str, str], host: str
) -> None:
    model = inventory.devices_by_name[host].model.model
    tree = _sim(configs[host], model)
    running = tree.render()
    assert remediate(parse(IOS, running), parse(IOS, configs[host])).empty
    for line in configs[host].splitlines():
        if line.strip() and not line.startswith(("!", "end", "banner")) and not is_hidden(line):
            assert line in running.splitlines(), line


@pytest.mark.parametrize(
    "line",
    [
        "storm-control broadcast level 101",
        "storm-control broadcast level 1.00 2.00",
        "clock summer-time CEST recurring last Sun Maerz 2:00 last Sun Oct 3:00",
        "clock timezone CET 25",
        "spanning-tree vlan 110 priority 1000",
    ],
)
def test_simulator_refuses_what_ios_refuses(line: str) -> None:
    ctx = ConfigContext(ConfigTree.factory_default("sw"))
    if line.startswith(("storm", "spanning-tree guard")):
        assert not run_config_line(ctx, "interface GigabitEthernet1/0/1").failed
    assert run_config_line(ctx, line).failed


def test_simulator_normalises_as_ios_stores() -> None:
    tree = _sim(
        "clock timezone CET 1\nspanning-tree vlan 110,111,130 priority 24576\n"
        "interface GigabitEthernet1/0/1\n storm-control broadcast level 1\n"
    )
    lines = tree.render().splitlines()
    assert "clock timezone CET 1 0" in lines
    assert "spanning-tree vlan 110-111,130 priority 24576" in lines
    assert " storm-control broadcast level 1.00" in lines


def test_simulator_has_the_ports_of_its_model() -> None:
    text = ConfigTree.factory_default("sw", MODEL_PORTS["C9200L-24P"]).render()
    assert "interface GigabitEthernet1/0/24\n" in text and "interface GigabitEthernet1/0/25\n" not in text
    assert "interface GigabitEthernet1/1/4\n" in text
