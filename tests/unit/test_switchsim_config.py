"""Switch simulator: configuration commands and running-config rendering (plain data, no sockets)."""

from __future__ import annotations

import pytest

from ksm_switchsim.config_commands import (
    SPECS_BY_MODE,
    ConfigContext,
    LineResult,
    replay,
    run_config_line,
)
from ksm_switchsim.config_tree import ConfigTree
from ksm_switchsim.modes import Mode


def configure(
    *lines: str, tree: ConfigTree | None = None
) -> tuple[ConfigTree, ConfigContext, list[LineResult]]:
    tree = tree or ConfigTree.factory_default("sw1")
    ctx = ConfigContext(tree)
    results = [run_config_line(ctx, line) for line in lines]
    return tree, ctx, results


def section(tree: ConfigTree, header: str) -> list[str] | None:
    node = tree.root.find(header)
    return None if node is None else [c.text for c in node.sorted_children()]


def rendered(tree: ConfigTree) -> list[str]:
    return tree.render().splitlines()


def test_factory_default_has_all_ports_and_lines() -> None:
    text = ConfigTree.factory_default("sw1").render()
    assert text.startswith("!\nversion 15.2\n!\nhostname sw1\n!\n")
    assert "interface GigabitEthernet1/0/48\n!\ninterface GigabitEthernet1/1/1\n!" in text
    assert text.endswith("line con 0\nline vty 0 4\nline vty 5 15\n!\nend\n")


def test_interface_commands_are_stored_in_canonical_form_and_order() -> None:
    tree, ctx, results = configure(
        "int gi1/0/5",
        "spanning-tree portfast",
        "sw mode acc",
        "switchport access vlan 10",
        "description  printer  room 2",
        "shut",
    )
    assert not any(r.failed for r in results)
    assert ctx.mode is Mode.CONFIG_IF
    assert results[3].output == "% Access VLAN does not exist. Creating vlan 10"
    assert section(tree, "interface GigabitEthernet1/0/5") == [
        "description printer room 2",
        "switchport access vlan 10",
        "switchport mode access",
        "shutdown",
        "spanning-tree portfast",
    ]
    assert section(tree, "vlan 10") == []


def test_settings_replace_each_other_and_no_removes_them() -> None:
    tree, _, results = configure(
        "interface GigabitEthernet1/0/1",
        "switchport access vlan 10",
        "switchport access vlan 20",
        "description a",
        "no description",
        "shutdown",
        "no shutdown",
        "no switchport access vlan 99",
    )
    assert not any(r.failed for r in results)
    assert section(tree, "interface GigabitEthernet1/0/1") == []


def test_trunk_vlan_lists_are_normalised_and_edited() -> None:
    tree, _, results = configure(
        "interface Gi1/1/1",
        "switchport mode trunk",
        "switchport trunk allowed vlan 30,10,11,31,32",
        "switchport trunk allowed vlan add 12",
        "switchport trunk allowed vlan remove 31",
        "switchport trunk native vlan 99",
    )
    assert not any(r.failed for r in results)
    assert section(tree, "interface GigabitEthernet1/1/1") == [
        "switchport trunk native vlan 99",
        "switchport trunk allowed vlan 10-12,30,32",
        "switchport mode trunk",
    ]
    configure("interface Gi1/1/1", "switchport trunk allowed vlan all", tree=tree)
    assert "switchport trunk allowed vlan 10-12,30,32" not in tree.render()


def test_svis_are_created_addressed_and_removed() -> None:
    tree, _, results = configure("interface Vlan20", "ip address 10.0.20.1 255.255.255.0")
    assert not any(r.failed for r in results)
    assert section(tree, "interface Vlan20") == ["ip address 10.0.20.1 255.255.255.0"]
    configure("interface vlan 20", "no ip address", tree=tree)
    assert section(tree, "interface Vlan20") == ["no ip address"]
    configure("no interface Vlan20", tree=tree)
    assert section(tree, "interface Vlan20") is None


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("frobnicate", 0),
        ("interface GigabitEthernet1/0/49", 10),
        ("no interface GigabitEthernet1/0/1", 13),
        ("vlan 4095", 5),
        ("ip route 10.0.0.0 255.0.0.300 10.0.0.1", 18),
        ("ip default-gateway", None),
    ],
)
def test_invalid_lines_report_the_marker_column_and_change_nothing(line: str, column: int | None) -> None:
    before = ConfigTree.factory_default("sw1").render()
    tree, _, (result,) = configure(line)
    assert result.failed
    assert result.error_column == column
    assert tree.render() == before


@pytest.mark.parametrize("mode", list(SPECS_BY_MODE))
def test_every_command_survives_missing_arguments_and_negation(mode: Mode) -> None:
    for spec in SPECS_BY_MODE[mode]:
        for line in (" ".join(spec.keywords), "no " + " ".join(spec.keywords)):
            tree = ConfigTree.factory_default("sw1")
            ctx = ConfigContext(tree, mode, [tree.root.section("interface Vlan5")])
            result = run_config_line(ctx, line)
            assert result.failed or result.output == "", line


def test_sub_mode_falls_back_to_global_configuration() -> None:
    tree, ctx, results = configure("interface Gi1/0/1", "ip default-gateway 10.0.0.1", "description x")
    assert [r.failed for r in results] == [False, False, True]
    assert ctx.mode is Mode.CONFIG
    assert "ip default-gateway 10.0.0.1" in rendered(tree)
    _, ctx, (_, result) = configure("interface Gi1/0/1", "frobnicate")
    assert result.failed and ctx.mode is Mode.CONFIG_IF


def test_vlan_and_line_sub_modes() -> None:
    tree, ctx, results = configure(
        "vlan 10,20", "name SAME", "exit", "line vty 0 15", "transport input ssh", "exec-timeout 5", "end"
    )
    assert not any(r.failed for r in results)
    assert ctx.mode is Mode.PRIV_EXEC
    assert section(tree, "vlan 20") == ["name SAME"]
    assert (
        section(tree, "line vty 0 4")
        == section(tree, "line vty 5 15")
        == ["exec-timeout 5 0", "transport input ssh"]
    )
    _, _, (_, result) = configure("vlan 1", "name OTHER")
    assert result.output == "%Default VLAN 1 may not have its name changed."


def test_default_on_features_store_their_no_form() -> None:
    tree, _, _ = configure("no ip http server", "no service pad")
    assert "no ip http server" in rendered(tree) and "no service pad" in rendered(tree)
    configure("ip http server", tree=tree)
    assert "no ip http server" not in rendered(tree)


def test_secrets_typed_in_clear_are_stored_hashed_and_stable() -> None:
    tree, _, _ = configure("username ops privilege 15 secret 0 Geheim1", "enable secret Geheim2")
    text = tree.render()
    assert "Geheim" not in text
    assert "username ops privilege 15 secret 9 $9$" in text and "enable secret 9 $9$" in text
    again, _, _ = configure("username ops privilege 15 secret 0 Geheim1", "enable secret Geheim2")
    assert again.render() == text


def test_banner_single_line_form() -> None:
    tree, _, (ok, bad) = configure("banner motd ^CAuthorized access only^C", "banner login #x")
    assert not ok.failed and bad.failed
    assert "banner motd ^CAuthorized access only^C" in rendered(tree)


def test_running_config_sections_follow_the_ios_order() -> None:
    tree, _, results = configure(
        "ntp server 10.0.0.1",
        "line vty 0 4",
        "login local",
        "banner motd ^Chi^C",
        "snmp-server community public RO",
        "logging host 10.0.0.9",
        "ip route 10.2.0.0 255.255.0.0 10.0.0.1",
        "ip route 10.1.0.0 255.255.0.0 10.0.0.1",
        "ip default-gateway 10.0.0.1",
        "interface Vlan10",
        "vlan 10",
        "ip ssh version 2",
        "ip domain-name lab.example",
        "username a secret 5 $1$abc$def",
        "spanning-tree mode rapid-pvst",
        "vtp mode transparent",
        "clock timezone CET 1 0",
        "aaa new-model",
        "service timestamps log datetime msec",
    )
    assert not any(r.failed for r in results)
    lines = [line for line in rendered(tree) if not line.startswith((" ", "interface Gi", "!"))]
    assert lines == [
        "version 15.2",
        "service timestamps log datetime msec",
        "hostname sw1",
        "aaa new-model",
        "clock timezone CET 1 0",
        "vtp mode transparent",
        "spanning-tree mode rapid-pvst",
        "username a secret 5 $1$abc$def",
        "ip domain-name lab.example",
        "ip ssh version 2",
        "vlan 10",
        "interface Vlan10",
        "ip default-gateway 10.0.0.1",
        "ip route 10.1.0.0 255.255.0.0 10.0.0.1",
        "ip route 10.2.0.0 255.255.0.0 10.0.0.1",
        "logging host 10.0.0.9",
        "snmp-server community public RO",
        "banner motd ^Chi^C",
        "line con 0",
        "line vty 0 4",
        "line vty 5 15",
        "ntp server 10.0.0.1",
        "end",
    ]


def test_unnamed_vlans_collapse_like_ios() -> None:
    tree, _, _ = configure("vlan 20,30-32", "vlan 10", "name TEN")
    assert "vlan 10\n name TEN\n!\nvlan 20,30-32\n!\n" in tree.render()


def test_rendering_round_trips_through_replay() -> None:
    tree, _, _ = configure(
        "hostname core-1",
        "vlan 10",
        "name A",
        "interface Gi1/0/3",
        "switchport mode trunk",
        "switchport trunk allowed vlan 10,20-30",
        "interface Vlan10",
        "ip address 10.0.0.2 255.255.255.0",
        "username x privilege 15 secret plain",
        "banner motd ^CHello there^C",
        "no ip http server",
        "line vty 0 4",
        "transport input ssh",
    )
    text = tree.render()
    fresh = ConfigTree.factory_default("other")
    assert replay(fresh, text) == []
    assert fresh.render() == text
    assert tree.render_running().startswith(
        f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n!"
    )
