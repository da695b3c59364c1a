"""Switch simulator: configuration commands and running-config rendering (plain data, no sockets)."""

from __future__ import annotations

import re

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
    # the lines every factory-default IOS 15 capture shows (tests/data/real_ios/README.md)
    assert text.startswith(
        "!\nversion 15.2\nno service password-encryption\n!\nhostname sw1\n!\nno aaa new-model\n!\n"
        "spanning-tree mode pvst\nspanning-tree extend system-id\n!\n"
    )
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
    # IOS 15 hashes a clear secret with MD5-crypt (type 5), e.g. "enable secret 5 $1$78b3$xtQa1A6w..."
    # in the vIOS capture cited in tests/data/real_ios/README.md; algorithm-type picks 8 or 9.
    tree, _, _ = configure(
        "username ops privilege 15 secret 0 Geheim1",
        "enable secret Geheim2",
        "username x algorithm-type scrypt secret Geheim3",
    )
    text = tree.render()
    assert "Geheim" not in text
    assert re.search(
        r"^username ops privilege 15 secret 5 \$1\$[./0-9A-Za-z]{4}\$[./0-9A-Za-z]{22}$", text, re.M
    )
    assert re.search(r"^enable secret 5 \$1\$[./0-9A-Za-z]{4}\$[./0-9A-Za-z]{22}$", text, re.M)
    assert "username x secret 9 $9$" in text and "algorithm-type" not in text
    again, _, _ = configure(
        "username ops privilege 15 secret 0 Geheim1",
        "enable secret Geheim2",
        "username x algorithm-type scrypt secret Geheim3",
    )
    assert again.render() == text


def test_passwords_show_in_clear_until_password_encryption_is_on() -> None:
    tree, _, _ = configure("username ops password cisco", "line vty 0 4", "password cisco", "end")
    assert "username ops password 0 cisco" in rendered(tree)
    assert " password cisco" in rendered(tree)
    configure("service password-encryption", tree=tree)
    text = rendered(tree)
    assert "username ops password 7 02050D480809" in text and " password 7 02050D480809" in text
    configure("no service password-encryption", tree=tree)
    assert "no service password-encryption" in rendered(tree)
    assert "username ops password 7 02050D480809" in rendered(tree)  # nothing is decrypted


def test_snmp_users_are_kept_but_never_shown() -> None:
    tree, _, results = configure(
        "snmp-server group MON v3 priv",
        "snmp-server user mon MON v3 auth sha Auth-1234 priv aes 128 Priv-5678",
    )
    assert not any(r.failed for r in results)
    assert "snmp-server group MON v3 priv" in rendered(tree)
    assert not [line for line in rendered(tree) if "snmp-server user" in line or "1234" in line]
    user = tree.snmp_users["mon"]
    assert (user.group, user.auth, user.priv) == ("MON", "SHA", "AES128")
    digest = user.secrets_digest
    configure("snmp-server user mon MON v3 auth sha Other-1234 priv aes 128 Priv-5678", tree=tree)
    assert tree.snmp_users["mon"].secrets_digest != digest
    configure("no snmp-server user mon MON v3", tree=tree)
    assert tree.snmp_users == {}


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("snmp-server user mon MON v4", 25),
        ("snmp-server user mon MON v3 auth sha256 x", 33),
        ("snmp-server user mon MON v3 auth sha a priv aes 100 b", 48),
        ("snmp-server user mon MON v3 auth sha a extra", 39),
    ],
)
def test_bad_snmp_users_are_refused_at_the_word_ios_marks(line: str, column: int) -> None:
    tree, _, (result,) = configure(line)
    assert result.failed and result.error_column == column
    assert tree.snmp_users == {}


def test_interface_range_is_accepted_and_shown_per_interface() -> None:
    tree, ctx, results = configure("int range gi1/0/1 - 3 , Gi1/0/7", "sw mode acc", "desc Pool")
    assert not any(r.failed for r in results)
    assert ctx.mode is Mode.CONFIG_IF_RANGE
    for port in ("1", "2", "3", "7"):
        assert section(tree, f"interface GigabitEthernet1/0/{port}") == [
            "description Pool",
            "switchport mode access",
        ]
    assert section(tree, "interface GigabitEthernet1/0/4") == []
    assert not [line for line in rendered(tree) if "range" in line]
    _, _, (bad,) = configure("interface range gi1/0/47 - 49")
    assert bad.failed and bad.error_column == 16


def test_aaa_new_model_adds_the_session_id_line_ios_adds() -> None:
    tree = ConfigTree.factory_default("sw1")
    assert "no aaa new-model" in rendered(tree)
    assert "spanning-tree mode pvst" in rendered(tree) and "spanning-tree extend system-id" in rendered(tree)
    configure("aaa new-model", "aaa authentication login default local", tree=tree)
    lines = [line for line in rendered(tree) if line.startswith("aaa ")]
    assert lines == ["aaa new-model", "aaa authentication login default local", "aaa session-id common"]


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
    # IOS 15.x order, as in the captures cited in tests/data/real_ios/README.md
    assert lines == [
        "version 15.2",
        "service timestamps log datetime msec",
        "no service password-encryption",
        "hostname sw1",
        "username a secret 5 $1$abc$def",
        "aaa new-model",
        "aaa session-id common",
        "clock timezone CET 1 0",
        "vtp mode transparent",
        "ip domain-name lab.example",
        "spanning-tree mode rapid-pvst",
        "spanning-tree extend system-id",
        "vlan 10",
        "ip ssh version 2",
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
