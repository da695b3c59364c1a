"""Circular remediation tests per platform, driven by data files (the hier_config way).

``tests/data/<platform>/``: ``running.conf`` (a real device's running config, read back from the
lab twin after hand edits), ``intended.conf`` (what ksm renders for it), ``remediation.conf`` and
``rollback.conf`` (what ksm computes, reviewed). Checks: running + remediation -> intended, and
intended + rollback -> running. Refresh the expected files on purpose with
``KSM_UPDATE_GOLDEN=1 pytest tests/unit/test_remediation.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ksm_provision.inventory.models import Platform
from ksm_provision.network.hidden_lines import HiddenState
from ksm_provision.network.platforms import platform_info, typed_command
from ksm_provision.network.remediation import ParsedConfig, parse, predicted, remediate

DATA = Path(__file__).resolve().parents[1] / "data"
PLATFORMS = [Platform.CISCO_IOS, Platform.FRR]


def _read(platform: Platform, name: str) -> str:
    return (DATA / platform.value / name).read_text(encoding="utf-8")


def _golden(platform: Platform, name: str, actual: str) -> str:
    path = DATA / platform.value / name
    if os.environ.get("KSM_UPDATE_GOLDEN") == "1":
        path.write_text(actual + "\n", encoding="utf-8")
    return path.read_text(encoding="utf-8").rstrip("\n")


@pytest.mark.parametrize("platform", PLATFORMS, ids=str)
def test_remediation_matches_the_reviewed_file(platform: Platform) -> None:
    info = platform_info(platform)
    result = remediate(
        parse(info, _read(platform, "running.conf")), parse(info, _read(platform, "intended.conf"))
    )
    assert "\n".join(result.commands) == _golden(platform, "remediation.conf", "\n".join(result.commands))
    assert "\n".join(result.rollback) == _golden(platform, "rollback.conf", "\n".join(result.rollback))


@pytest.mark.parametrize("platform", PLATFORMS, ids=str)
def test_running_plus_remediation_is_intended(platform: Platform) -> None:
    info = platform_info(platform)
    running = parse(info, _read(platform, "running.conf"))
    intended = parse(info, _read(platform, "intended.conf"))
    future = predicted(running, remediate(running, intended))
    assert remediate(ParsedConfig(info, "", future), intended).empty


@pytest.mark.parametrize("platform", PLATFORMS, ids=str)
def test_intended_plus_rollback_is_running(platform: Platform) -> None:
    info = platform_info(platform)
    running = parse(info, _read(platform, "running.conf"))
    intended = parse(info, _read(platform, "intended.conf"))
    result = remediate(running, intended)
    back = predicted(running, result).future(result.rollback_config)
    assert remediate(ParsedConfig(info, "", back), running).empty


@pytest.mark.parametrize("platform", PLATFORMS, ids=str)
def test_intended_against_itself_needs_nothing(platform: Platform) -> None:
    info = platform_info(platform)
    intended = parse(info, _read(platform, "intended.conf"))
    assert remediate(intended, parse(info, _read(platform, "intended.conf"))).empty


def test_switch_ports_missing_from_the_inventory_are_shut_not_deleted() -> None:
    info = platform_info(Platform.CISCO_IOS)
    running = parse(info, "hostname a\ninterface GigabitEthernet1/0/7\n description old\ninterface Vlan9\n")
    intended = parse(info, "hostname a\n")
    commands = remediate(running, intended).commands
    assert "no interface GigabitEthernet1/0/7" not in commands
    assert commands[commands.index("interface GigabitEthernet1/0/7") + 1 :][:2] == [
        "no description old",
        "shutdown",
    ]
    assert "no interface Vlan9" in commands


def test_router_links_missing_from_the_inventory_are_cleared_not_deleted() -> None:
    info = platform_info(Platform.FRR)
    running = parse(info, "hostname r\ninterface wan9\n description old\n ip address 192.0.2.1/30\nexit\n")
    commands = remediate(running, parse(info, "hostname r\n")).commands
    assert commands == ["interface wan9", "no description old", "no ip address 192.0.2.1/30", "exit"]


def test_a_changed_router_address_is_replaced_not_added() -> None:
    info = platform_info(Platform.FRR)
    running = parse(info, "interface vlan1\n ip address 10.0.0.1/24\nexit\n")
    intended = parse(info, "interface vlan1\n ip address 10.0.1.1/24\nexit\n")
    assert remediate(running, intended).commands == [
        "interface vlan1",
        "no ip address 10.0.0.1/24",
        "ip address 10.0.1.1/24",
        "exit",
    ]


def test_replace_in_place_commands_send_only_the_new_line() -> None:
    info = platform_info(Platform.CISCO_IOS)
    running = parse(
        info, "hostname a\ninterface GigabitEthernet1/0/1\n switchport trunk allowed vlan 10,20\n"
    )
    intended = parse(
        info, "hostname b\ninterface GigabitEthernet1/0/1\n switchport trunk allowed vlan 10-30\n"
    )
    assert remediate(running, intended).commands == [
        "hostname b",
        "interface GigabitEthernet1/0/1",
        "switchport trunk allowed vlan 10-30",
        "exit",
    ]


def test_banners_are_typed_with_a_delimiter_that_is_not_in_the_text() -> None:
    info = platform_info(Platform.CISCO_IOS)
    assert typed_command(info, "banner login ^CNo #1 here^C") == "banner login %No #1 here%"
    assert typed_command(platform_info(Platform.FRR), "banner motd line x") == "banner motd line x"


# --- lines IOS hides or adds (network/hidden_lines.py) -------------------------------------------

_USER = "snmp-server user mon MON v3 auth sha Auth-1 priv aes 128 Priv-2"
_SHOWN = (
    "\nUser name: mon\nEngine ID: 800000090300005E00005301\nstorage-type: nonvolatile        active\n"
    "Authentication Protocol: SHA\nPrivacy Protocol: AES128\nGroup-name: MON\n"
)


def test_a_hidden_snmp_user_is_never_planned_from_the_running_config() -> None:
    """Real IOS never shows ``snmp-server user``: comparing it would plan it on every run."""
    info = platform_info(Platform.CISCO_IOS)
    running = parse(info, "hostname a\nsnmp-server group MON v3 priv\n")
    intended = parse(info, f"hostname a\nsnmp-server group MON v3 priv\n{_USER}\n")
    assert remediate(running, intended).empty
    # a backup that still holds the line is no reason to remove it either
    assert remediate(intended, running).empty


def test_a_hidden_user_is_sent_when_the_device_lacks_it_and_removed_by_the_rollback() -> None:
    info = platform_info(Platform.CISCO_IOS)
    running = parse(info, "hostname a\n")
    intended = parse(info, f"hostname a\n{_USER}\n")
    first = remediate(running, intended, HiddenState.from_device(""))
    assert first.commands == [_USER] and first.rollback == ["no snmp-server user mon MON v3"]
    assert remediate(running, intended, HiddenState.from_device(_SHOWN)).empty


def test_a_changed_secret_is_resent_only_through_the_recorded_digest() -> None:
    info = platform_info(Platform.CISCO_IOS)
    running, intended = parse(info, "hostname a\n"), parse(info, f"hostname a\n{_USER}\n")
    shown = HiddenState.from_device(_SHOWN, sent_digest="old")
    assert remediate(running, intended, shown, hidden_digest="old").empty
    resent = remediate(running, intended, shown, hidden_digest="new")
    assert resent.commands == [_USER] and resent.rollback == []  # the old secret cannot be restored


def test_lines_the_device_owns_are_neither_removed_nor_reported() -> None:
    info = platform_info(Platform.CISCO_IOS)
    running = parse(
        info,
        "version 15.2\nno service password-encryption\nhostname a\nboot-start-marker\nboot-end-marker\n"
        "enable secret 5 $1$78b3$xtQa1A6wFCybA2fbZZWeU.\n"
        "username admin privilege 15 secret 5 $1$SUUR$R.rWrThT1MWlk/GocKXzc0\nno aaa new-model\n"
        "spanning-tree mode pvst\nspanning-tree extend system-id\n",
    )
    intended = parse(info, "hostname a\naaa new-model\nspanning-tree mode rapid-pvst\n")
    assert remediate(running, intended).commands == ["aaa new-model", "spanning-tree mode rapid-pvst"]
    after = parse(
        info,
        running.text.replace("no aaa new-model", "aaa new-model\naaa session-id common").replace(
            "mode pvst", "mode rapid-pvst"
        ),
    )
    assert remediate(after, intended).empty


def test_without_a_device_check_hidden_lines_ride_along_with_other_changes_only() -> None:
    info = platform_info(Platform.CISCO_IOS)
    intended = parse(info, f"hostname a\n{_USER}\n")
    assert remediate(parse(info, "hostname b\n"), intended).commands == ["hostname a", _USER]
    assert remediate(parse(info, "hostname a\n"), intended).empty
