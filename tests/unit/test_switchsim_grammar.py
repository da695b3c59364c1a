"""Switch simulator: tokens, keyword abbreviation, value normalisation (plain data, no sockets)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from ksm_switchsim import grammar as g
from ksm_switchsim.exec_commands import PRIV_SPECS, USER_SPECS, parse_location
from ksm_switchsim.ios_rules import interface_sort_key, line_key


@pytest.mark.parametrize(
    "module",
    ["grammar", "ios_rules", "config_tree", "passwords", "modes", "shell", "faults"],
)
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"ksm_switchsim.{module}"))
    assert result.failed == 0


@pytest.mark.parametrize(
    ("typed", "keywords"),
    [
        ("conf t", ("configure", "terminal")),
        ("sh run", ("show", "running-config")),
        ("wr", ("write",)),
        ("wr mem", ("write", "memory")),
        ("copy run start", ("copy",)),
        ("sh vlan br", ("show", "vlan", "brief")),
    ],
)
def test_keywords_may_be_abbreviated(typed: str, keywords: tuple[str, ...]) -> None:
    result = g.match_command(PRIV_SPECS, typed.split())
    assert isinstance(result, g.Matched)
    assert result.spec.keywords == keywords


def test_matching_reports_the_first_bad_word() -> None:
    assert g.match_command(PRIV_SPECS, ["show", "runningconfig"]) == g.Invalid(1)
    assert g.match_command(PRIV_SPECS, ["frobnicate"]) == g.Invalid(0)
    assert g.match_command(PRIV_SPECS, ["terminal", "length", "x"]) == g.Invalid(2)
    assert g.match_command(PRIV_SPECS, ["terminal", "length", "0", "1"]) == g.Invalid(3)
    assert g.match_command(PRIV_SPECS, ["terminal", "length"]) == g.Incomplete()
    assert isinstance(g.match_command(PRIV_SPECS, ["d"]), g.Ambiguous)  # dir, disable, delete


def test_user_exec_has_no_privileged_commands() -> None:
    assert g.match_command(USER_SPECS, ["show", "running-config"]) == g.Invalid(1)
    assert g.match_command(USER_SPECS, ["configure", "terminal"]) == g.Invalid(0)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Gi1/0/1", "GigabitEthernet1/0/1"),
        ("g1/1/4", "GigabitEthernet1/1/4"),
        ("GigabitEthernet1/0/48", "GigabitEthernet1/0/48"),
        ("vlan10", "Vlan10"),
        ("Vlan 20", "Vlan20"),
        ("Fa0/1", None),
        ("Gi", None),
    ],
)
def test_interface_names_are_normalised(typed: str, name: str | None) -> None:
    assert g.normalise_interface(typed) == name


def test_vlan_lists_expand_and_compress_like_ios() -> None:
    assert g.vlan_list_to_ids("1,5-7,3") == [1, 3, 5, 6, 7]
    assert g.ids_to_vlan_list([1, 2, 3, 5, 7, 8]) == "1-3,5,7,8"
    for bad in ("0", "4095", "7-5", "a", "1,,2"):
        with pytest.raises(ValueError, match="VLAN"):
            g.vlan_list_to_ids(bad)


def test_line_keys_decide_what_replaces_what() -> None:
    assert line_key("hostname a") == line_key("hostname b")
    assert line_key("ntp server 10.0.0.1") != line_key("ntp server 10.0.0.2")
    assert line_key("username a privilege 15 secret 9 x") == "username a"
    assert line_key("switchport mode trunk", "interface Vlan1") == "switchport mode"
    assert line_key("login local", "line vty 0 4") == line_key("login", "line con 0")


def test_interfaces_sort_in_port_order_then_svis() -> None:
    names = ["Vlan2", "GigabitEthernet1/1/1", "Vlan10", "GigabitEthernet1/0/10", "GigabitEthernet1/0/9"]
    assert sorted(names, key=interface_sort_key) == [
        "GigabitEthernet1/0/9",
        "GigabitEthernet1/0/10",
        "GigabitEthernet1/1/1",
        "Vlan2",
        "Vlan10",
    ]


def test_locations_of_copy_and_configure_replace() -> None:
    assert str(parse_location("run")) == "running-config"
    assert str(parse_location("nvram:startup-config")) == "startup-config"
    assert str(parse_location("flash:/a.cfg")) == "flash:a.cfg"
    assert parse_location("tftp://x/y") is None
