"""The switch simulator against real Cisco output: same form for an equivalent configuration.

The references are public captures of real devices (``tests/data/real_ios/``, sources in its
README), never ksm's templates. Values that legitimately differ (names, counters, link states,
addresses) are normalised away; what must agree is the line structure, the order of sections and
the column layout of tables. Tables are also parsed with ntc-templates' TextFSM templates, the
parsers Netmiko uses for real switches.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ntc_templates.parse import parse_output

from ksm_provision.network.hidden_lines import HiddenState, intended_user, parse_show_snmp_user
from ksm_switchsim.config_commands import ConfigContext, run_config_line
from ksm_switchsim.config_tree import MODEL_PORTS, ConfigTree
from ksm_switchsim.show import (
    _wrap_ports,
    show_interfaces_status,
    show_snmp_user,
    show_vlan_brief,
)

REAL = Path(__file__).resolve().parents[1] / "data" / "real_ios"


def _real(name: str) -> str:
    return (REAL / name).read_text(encoding="utf-8")


def _configured(*lines: str, model: str = "C9200L-24P-4G") -> ConfigTree:
    tree = ConfigTree.factory_default("sw1", MODEL_PORTS[model])
    ctx = ConfigContext(tree)
    for line in lines:
        result = run_config_line(ctx, line)
        assert not result.failed, (line, result.output)
    return tree


# --- show running-config ---------------------------------------------------------------------

#: Section families both IOS 15 and IOS-XE 17 print in the same relative order. ``ip ssh`` is left
#: out on purpose: IOS-XE 17 prints it after the interfaces, IOS 15 (the simulator) before them.
_FAMILIES = (
    ("version", r"^version "),
    ("service", r"^(no )?service "),
    ("hostname", r"^hostname "),
    ("aaa", r"^(no )?aaa "),
    ("spanning-tree", r"^spanning-tree "),
    ("interface-port", r"^interface GigabitEthernet1/"),
    ("interface-svi", r"^interface Vlan"),
    ("ip-global", r"^ip (http|route|default-gateway) "),
    ("line", r"^line "),
    ("end", r"^end$"),
)


def _family_sequence(text: str) -> list[str]:
    sequence: list[str] = []
    for line in text.splitlines():
        family = next((name for name, pattern in _FAMILIES if re.match(pattern, line)), None)
        if family is not None and (not sequence or sequence[-1] != family):
            sequence.append(family)
    return sequence


def _blocks(text: str, header_re: str) -> dict[str, list[str]]:
    """Section header -> its child lines (``!`` lines dropped), for headers matching *header_re*."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith(" "):
            current = blocks.setdefault(line, []) if re.match(header_re, line) else None
        elif current is not None and line.strip() != "!":
            current.append(line)
    return blocks


def _c9200l_equivalent() -> ConfigTree:
    lines = [
        "hostname SwitchLv3CUB",
        "spanning-tree mode rapid-pvst",
        "ip http server",
        "ip http secure-server",
    ]
    lines += ["interface range gi1/0/1 - 8", "switchport access vlan 53", "switchport trunk allowed vlan 53"]
    lines += ["switchport mode access", "exit"]
    lines += ["int gi1/0/13", "sw acc vlan 54", "sw mode acc", "exit"]
    lines += [
        "interface GigabitEthernet1/0/23",
        "switchport access vlan 33",
        "switchport mode access",
        "exit",
    ]
    lines += [
        "interface GigabitEthernet1/0/24",
        "switchport trunk allowed vlan 10,20,53",
        "switchport mode trunk",
    ]
    lines += ["exit", "interface Vlan1", "ip address 172.16.1.23 255.255.255.0", "shutdown", "exit"]
    lines += ["ip route 0.0.0.0 0.0.0.0 192.168.33.254", "line vty 0 4", "login local", "transport input ssh"]
    return _configured(*lines)


def test_running_config_sections_come_in_the_order_of_a_real_catalyst() -> None:
    real = _real("c9200l_17.6_show_running-config.txt")
    simulated = _c9200l_equivalent().render()
    assert _family_sequence(simulated) == _family_sequence(real) == [
        "version", "service", "hostname", "aaa", "spanning-tree", "interface-port", "interface-svi",
        "ip-global", "line", "end",
    ]  # fmt: skip


def test_running_config_port_blocks_have_the_real_lines_in_the_real_order() -> None:
    real = _blocks(_real("c9200l_17.6_show_running-config.txt"), r"^interface GigabitEthernet1/")
    simulated = _blocks(_c9200l_equivalent().render(), r"^interface GigabitEthernet1/")
    # every front-panel port of the model is listed, configured or not, in port order
    assert list(simulated) == list(real)
    assert simulated == real
    real_svi = _blocks(_real("c9200l_17.6_show_running-config.txt"), r"^interface Vlan1$")
    assert _blocks(_c9200l_equivalent().render(), r"^interface Vlan1$") == real_svi


def test_running_config_defaults_shown_like_a_real_switch() -> None:
    real = _real("c9200l_17.6_show_running-config.txt").splitlines()
    simulated = ConfigTree.factory_default("sw1").render().splitlines()
    for line in ("no aaa new-model", "spanning-tree extend system-id", "line con 0", "line vty 5 15"):
        assert line in real and line in simulated
    # a physical port at its defaults is a bare header followed by "!"
    assert (
        "interface GigabitEthernet1/0/9" in real
        and real[real.index("interface GigabitEthernet1/0/9") + 1] == "!"
    )
    at = simulated.index("interface GigabitEthernet1/0/9")
    assert simulated[at + 1] == "!"


# --- show interfaces status ------------------------------------------------------------------

_STATUS_ROW = re.compile(
    r"^(?P<port>\S+)\s*(?P<name>.{0,18}?)\s+(?P<status>connected|notconnect|disabled|suspended)\s+"
    r"(?P<vlan>\S+)\s+(?P<duplex>\S+)\s+(?P<speed>\S+)\s(?P<type>.+)$"
)


def _columns(line: str) -> tuple[int, int, int, int, int]:
    """Where status and VLAN start and where duplex, speed and type end/start in a status row."""
    match = _STATUS_ROW.match(line)
    assert match is not None, line
    return (
        match.start("status"),
        match.start("vlan"),
        match.end("duplex"),
        match.end("speed"),
        match.start("type"),
    )


def test_show_interfaces_status_has_the_real_header_and_columns() -> None:
    real = _real("ntc_cisco_ios_show_interfaces_status.raw").splitlines()
    tree = _configured(
        "interface Gi1/0/2", "description AccessPoint", "switchport access vlan 8", "exit",
        "interface Gi1/0/7", "description Trunk Example", "switchport mode trunk", "exit",
        "interface Gi1/0/17", "description Multi Space", "shutdown",
    )  # fmt: skip
    simulated = show_interfaces_status(tree).splitlines()
    assert simulated[0] == "" and simulated[1] == real[0]
    # the rows of real Gi1/0/x ports with a standard status (the fixture also holds odd rows)
    real_rows = [line for line in real[1:] if re.match(r"^Gi1/0/\d+ ", line) and _STATUS_ROW.match(line)]
    assert len(real_rows) >= 15
    layouts = {_columns(line) for line in real_rows}
    assert layouts == {(29, 42, 59, 66, 67)}
    assert {_columns(line) for line in simulated[2:]} == layouts
    by_port = {line.split()[0]: line for line in simulated[2:]}
    assert re.sub(r"\s+", " ", by_port["Gi1/0/17"]).startswith("Gi1/0/17 Multi Space disabled 1 auto auto")
    assert by_port["Gi1/0/7"][42:47] == "trunk" and by_port["Gi1/0/2"][10:21] == "AccessPoint"


def test_show_interfaces_status_parses_like_the_real_output() -> None:
    real = parse_output(platform="cisco_ios", command="show interfaces status",
                        data=_real("ntc_cisco_ios_show_interfaces_status.raw"))  # fmt: skip
    simulated = parse_output(
        platform="cisco_ios",
        command="show interfaces status",
        data=show_interfaces_status(_configured("interface Gi1/0/2", "description AccessPoint")),
    )
    assert set(simulated[0]) == set(real[0])
    assert len(simulated) == 28 and simulated[1]["name"] == "AccessPoint"


# --- show vlan brief -------------------------------------------------------------------------


def _brief_table(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("VLAN Name"))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_show_vlan_brief_has_the_real_layout() -> None:
    real = _brief_table(_real("ntc_cisco_ios_show_vlan.raw"))
    tree = _configured("vlan 10", "name Management", "vlan 50", "name VLan50")
    simulated = _brief_table(show_vlan_brief(tree))
    assert simulated[:2] == real[:2]
    assert simulated[-4:] == real[-4:]  # the reserved VLANs, act/unsup
    row = re.compile(r"^(\d{1,4}) +(\S+) +(active|act/unsup)(?: +(.*))?$")
    for lines in (real, simulated):
        for line in lines[2:]:
            if line.startswith(" "):
                assert re.match(r"^ {48}\S", line), line  # continuation lines under the ports column
                continue
            match = row.match(line)
            assert match is not None, line
            assert line.index(match[2]) == 5 and line.index(match[3], 5 + len(match[2])) == 38
            if match[4]:
                assert line.index(match[4]) == 48


def test_show_vlan_brief_wraps_the_ports_as_ios_does() -> None:
    real = _brief_table(_real("ntc_cisco_ios_show_vlan.raw"))
    for vlan in ("50 ", "60 "):
        first = real.index(next(line for line in real if line.startswith(vlan)))
        real_lines = [real[first][48:], real[first + 1].strip()]
        ports = [p.strip() for chunk in real_lines for p in chunk.split(",")]
        # that capture came from a terminal 111-117 columns wide; IOS fills each line up to the width
        assert [_wrap_ports(ports, width) for width in (111, 117)] == [real_lines, real_lines]
        assert _wrap_ports(ports, 80) != real_lines and _wrap_ports(ports, 132) != real_lines
    # at the default 80 columns: three Gi1/0/x per line (the CCNA Official Cert Guide's capture)
    gig = [f"Gi1/0/{n}" for n in range(1, 8)]
    assert _wrap_ports(gig, 80) == ["Gi1/0/1, Gi1/0/2, Gi1/0/3", "Gi1/0/4, Gi1/0/5, Gi1/0/6", "Gi1/0/7"]


def test_show_vlan_brief_parses_with_the_real_template() -> None:
    tree = _configured("vlan 10", "name USERS", "interface range gi1/0/1 - 5", "switchport access vlan 10")
    parsed = parse_output(platform="cisco_ios", command="show vlan", data=show_vlan_brief(tree))
    real = parse_output(platform="cisco_ios", command="show vlan", data=_real("ntc_cisco_ios_show_vlan.raw"))
    assert set(parsed[0]) == set(real[0])
    users = next(entry for entry in parsed if entry["vlan_id"] == "10")
    assert users["interfaces"] == [f"Gi1/0/{n}" for n in range(1, 6)]


# --- show snmp user --------------------------------------------------------------------------


def test_show_snmp_user_matches_the_real_form_and_ksm_reads_both() -> None:
    real = _real("ntc_cisco_ios_show_snmp_user.raw")
    tree = _configured(
        "snmp-server user user_snmp1 managerpriv v3 auth sha Auth-1234 priv aes 128 Priv-5678",
        "snmp-server user user_snmp2 managerpriv v3 auth sha Auth-1234 priv aes 128 Priv-5678 access 10",
    )
    simulated = show_snmp_user(list(tree.snmp_users.values()))

    def masked(text: str) -> str:
        return re.sub(r"Engine ID: \S+", "Engine ID: X", text)

    assert masked(simulated) == masked(real)
    assert parse_show_snmp_user(simulated) == parse_show_snmp_user(real)
    ours = parse_output(platform="cisco_ios", command="show snmp user", data=simulated)
    theirs = parse_output(platform="cisco_ios", command="show snmp user", data=real)
    assert [{**e, "engine_id": ""} for e in ours] == [{**e, "engine_id": ""} for e in theirs]
    wanted = "snmp-server user user_snmp1 managerpriv v3 auth sha A priv aes 128 P"
    assert intended_user(wanted) == parse_show_snmp_user(real)["user_snmp1"]
    assert HiddenState.from_device(real).to_send([wanted]) == []


@pytest.mark.parametrize(
    "wanted",
    [
        "snmp-server user user_snmp1 othergroup v3 auth sha A priv aes 128 P",
        "snmp-server user user_snmp1 managerpriv v3 auth md5 A priv aes 128 P",
        "snmp-server user user_snmp1 managerpriv v3 auth sha A priv aes 256 P",
        "snmp-server user user_snmp3 managerpriv v3 auth sha A priv aes 128 P",
    ],
)
def test_a_user_the_device_does_not_reflect_is_sent(wanted: str) -> None:
    state = HiddenState.from_device(_real("ntc_cisco_ios_show_snmp_user.raw"))
    assert state.to_send([wanted]) == [wanted]
    assert state.unconfirmed([wanted]) == [wanted]
