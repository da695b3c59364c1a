"""The switch simulator driven by real Netmiko (``cisco_ios``) and hier_config, over real SSH.

Every test gets its own 127.199.x.y address (only 127.0.0.0/8 is ever used) and a free port.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hier_config import Platform, WorkflowRemediation, get_hconfig
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import ConfigInvalidException, NetmikoAuthenticationException, ReadException

from ksm_provision.lab.switches import simulator_command
from ksm_switchsim import (
    Faults,
    SimulatorConfig,
    SimulatorHandle,
    SwitchSimulator,
    clear_faults,
    set_faults,
)
from ksm_switchsim.config_tree import PHYSICAL_PORTS

pytestmark = pytest.mark.integration

USERNAME, PASSWORD, SECRET = "admin", "lab-password", "lab-enable"
# pytest-xdist workers run in separate processes: the pid keeps their addresses apart.
_THIRD_OCTET = 10 + os.getpid() % 200
_host_numbers = itertools.count(1)


def _next_address() -> str:
    return f"127.199.{_THIRD_OCTET}.{next(_host_numbers)}"


def _config(state_dir: Path, address: str, port: int = 0) -> SimulatorConfig:
    return SimulatorConfig(
        address=address,
        port=port,
        hostname="sw-lab-1",
        username=USERNAME,
        password=PASSWORD,
        enable_secret=SECRET,
        state_dir=state_dir,
    )


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorHandle]:
    handle = SwitchSimulator(_config(tmp_path / "state", _next_address())).start_in_thread()
    yield handle
    handle.stop()


Connect = Callable[[SimulatorHandle], BaseConnection]


@pytest.fixture
def connect() -> Iterator[Connect]:
    opened: list[BaseConnection] = []

    def _connect(handle: SimulatorHandle) -> BaseConnection:
        conn = ConnectHandler(
            device_type="cisco_ios",
            host=handle.address,
            port=handle.port,
            username=USERNAME,
            password=PASSWORD,
            secret=SECRET,
            conn_timeout=10,
        )
        opened.append(conn)
        conn.enable()
        return conn

    yield _connect
    for conn in opened:
        with contextlib.suppress(OSError, EOFError, ReadException):  # the simulator may have hung up
            conn.disconnect()


def test_config_set_is_shown_saved_and_survives_a_restart(
    simulator: SimulatorHandle, connect: Connect, tmp_path: Path
) -> None:
    conn = connect(simulator)
    assert conn.find_prompt() == "sw-lab-1#"
    conn.send_config_set(
        [
            "vlan 10",
            "name USERS",
            "vlan 20",
            "name VOICE",
            "interface Gi1/0/1",
            "description access port",
            "switchport mode access",
            "switchport access vlan 10",
            "spanning-tree portfast",
            "ntp server 10.0.0.1",
        ]
    )
    running = conn.send_command("show running-config")
    for expected in ("vlan 10\n name USERS", "vlan 20\n name VOICE", "ntp server 10.0.0.1"):
        assert expected in running
    assert (
        "interface GigabitEthernet1/0/1\n description access port\n switchport access vlan 10\n"
        " switchport mode access\n spanning-tree portfast\n!"
    ) in running
    assert "[OK]" in conn.save_config()
    conn.disconnect()
    host_key = (tmp_path / "state" / "ssh_host_rsa_key").read_bytes()
    port = simulator.port
    simulator.stop()

    restarted = SwitchSimulator(_config(tmp_path / "state", simulator.address, port)).start_in_thread()
    try:
        conn = connect(restarted)
        assert conn.send_command("show running-config") == running
        assert (tmp_path / "state" / "ssh_host_rsa_key").read_bytes() == host_key
    finally:
        restarted.stop()


def test_unknown_command_answers_the_ios_error_and_changes_nothing(
    simulator: SimulatorHandle, connect: Connect
) -> None:
    conn = connect(simulator)
    before = conn.send_command("show running-config")
    output = conn.send_config_set(["vlan 30", "frobnicate now", "exit"])
    marker = " " * len("sw-lab-1(config-vlan)#") + "^"
    assert (
        f"sw-lab-1(config-vlan)#frobnicate now\n{marker}\n% Invalid input detected at '^' marker.\n" in output
    )

    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(["ip routing-table 1"], error_pattern=r"% Invalid")
    conn.exit_config_mode()
    after = conn.send_command("show running-config")
    added = set(after.splitlines()) - set(before.splitlines())
    assert {line for line in added if not line.startswith("Current configuration")} == {"vlan 30"}


def test_session_dropped_after_two_config_lines_keeps_only_those(
    simulator: SimulatorHandle, connect: Connect, tmp_path: Path
) -> None:
    set_faults(tmp_path / "state", Faults(drop_after_config_lines=2))
    conn = connect(simulator)
    # Netmiko cannot tell a closed channel from a silent one: it times out (ReadTimeout) or fails
    # to write (OSError), as with real gear that drops the session.
    with pytest.raises((ReadException, OSError)):
        conn.send_config_set(["vlan 40", "name FIRST", "vlan 41", "name SECOND"], read_timeout=2)
    clear_faults(tmp_path / "state")

    running = connect(simulator).send_command("show running-config")
    assert "vlan 40\n name FIRST" in running
    assert "vlan 41" not in running and "SECOND" not in running


def test_rejected_commands_fault_raises_in_netmiko(
    simulator: SimulatorHandle, connect: Connect, tmp_path: Path
) -> None:
    set_faults(tmp_path / "state", Faults(reject_commands=(r"^ntp server",)))
    conn = connect(simulator)
    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(["ntp server 10.9.9.9"], error_pattern=r"% Invalid")
    conn.exit_config_mode()
    assert "10.9.9.9" not in conn.send_command("show running-config")


def test_foreign_style_refusal_is_not_an_ios_error(
    simulator: SimulatorHandle, connect: Connect, tmp_path: Path
) -> None:
    """The fault mode for push code that must notice refusals it has no pattern for: Netmiko's IOS
    error pattern does not fire, and the line changed nothing."""
    set_faults(tmp_path / "state", Faults(reject_commands=(r"^ntp server",), reject_style="foreign"))
    conn = connect(simulator)
    output = conn.send_config_set(["ntp server 10.9.9.9"], error_pattern=r"% Invalid|% Incomplete")
    assert (
        "No such command: ntp server 10.9.9.9" in output and "%" not in output.split("ntp server 10.9.9.9")[1]
    )
    conn.exit_config_mode()
    assert "10.9.9.9" not in conn.send_command("show running-config")


def test_snmp_user_is_hidden_listed_by_show_snmp_user_and_kept_by_write_memory(
    simulator: SimulatorHandle, connect: Connect, tmp_path: Path
) -> None:
    conn = connect(simulator)
    conn.send_config_set(
        [
            "snmp-server group MON v3 priv",
            "snmp-server user mon MON v3 auth sha Auth-1234 priv aes 128 Priv-5678",
        ],
        error_pattern=r"% Invalid|% Incomplete",
    )
    running = conn.send_command("show running-config")
    assert "snmp-server group MON v3 priv" in running and "snmp-server user" not in running
    # ntc-templates (the TextFSM templates Netmiko ships with) parses it like a real switch's output
    parsed = conn.send_command("show snmp user", use_textfsm=True)
    assert isinstance(parsed, list) and len(parsed) == 1
    assert parsed[0] == {
        "user_name": "mon",
        "engine_id": parsed[0]["engine_id"],
        "storage_type": "nonvolatile",
        "access_list": "",
        "authentication_protocol": "SHA",
        "privacy_protocol": "AES128",
        "group_name": "MON",
    }
    assert "Building configuration" in conn.send_command("write memory")
    simulator.stop()
    restarted = SwitchSimulator(_config(tmp_path / "state", simulator.address)).start_in_thread()
    try:
        again = connect(restarted)
        assert "User name: mon" in again.send_command("show snmp user")
        assert "snmp-server user" not in again.send_command("show running-config")
    finally:
        restarted.stop()


def test_interface_range_and_abbreviations_as_an_operator_types_them(
    simulator: SimulatorHandle, connect: Connect
) -> None:
    conn = connect(simulator)
    conn.send_config_set(
        ["int range gi1/0/1 - 2", "sw acc vl 30", "sw mode acc", "spanning-tree portf"],
        error_pattern=r"% Invalid|% Incomplete|% Ambiguous",
    )
    running = conn.send_command("show running-config")
    block = " switchport access vlan 30\n switchport mode access\n spanning-tree portfast\n!"
    assert f"interface GigabitEthernet1/0/1\n{block}" in running
    assert f"interface GigabitEthernet1/0/2\n{block}" in running
    assert "range" not in running
    status = conn.send_command("show interfaces status", use_textfsm=True)
    assert isinstance(status, list)
    assert [(r["port"], r["vlan_id"], r["status"]) for r in status[:3]] == [
        ("Gi1/0/1", "30", "notconnect"),
        ("Gi1/0/2", "30", "notconnect"),
        ("Gi1/0/3", "1", "notconnect"),
    ]


def test_backup_to_flash_and_configure_replace_restores_it(
    simulator: SimulatorHandle, connect: Connect
) -> None:
    conn = connect(simulator)
    conn.send_config_set(["vlan 50", "name KEEP"])
    backup = conn.send_command("show running-config")
    output = conn.send_command(
        "copy running-config flash:backup-1.cfg", expect_string=r"Destination filename"
    )
    assert "[backup-1.cfg]?" in output
    assert "bytes copied" in conn.send_command("\n", expect_string=r"#")
    assert "backup-1.cfg" in conn.send_command("dir flash:")

    conn.send_config_set(["no vlan 50", "vlan 51", "name DROP", "hostname renamed"])
    assert conn.find_prompt() == "renamed#"
    output = conn.send_command("configure replace flash:backup-1.cfg force", expect_string=r"sw-lab-1#")
    assert "Rollback Done" in output
    conn.set_base_prompt()
    assert conn.send_command("show running-config") == backup


def test_several_sessions_share_one_running_config(simulator: SimulatorHandle, connect: Connect) -> None:
    first, second = connect(simulator), connect(simulator)
    first.send_config_set(["vlan 60", "name SHARED"])
    assert "vlan 60\n name SHARED" in second.send_command("show running-config")
    assert "60   SHARED" in second.send_command("show vlan brief")


def test_wrong_password_is_refused(simulator: SimulatorHandle) -> None:
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(
            device_type="cisco_ios",
            host=simulator.address,
            port=simulator.port,
            username=USERNAME,
            password="nope",
        )


def _intended(extra_vlan_name: str) -> str:
    # Plain hier_config compares every line, so the intended config must hold the default lines a
    # real IOS shows by itself (ksm's remediation leaves them alone instead: network/hidden_lines.py).
    lines = [
        "hostname sw-lab-1",
        "service timestamps log datetime msec",
        "no service password-encryption",
        "no aaa new-model",
        "spanning-tree mode pvst",
        "spanning-tree extend system-id",
        "no ip http server",
        "ip domain-name lab.example",
        "vlan 10",
        " name USERS",
        "vlan 20",
        f" name {extra_vlan_name}",
    ]
    for port in PHYSICAL_PORTS:
        lines.append(f"interface {port}")
        if port == "GigabitEthernet1/0/1":
            lines += [" description user", " switchport access vlan 10", " switchport mode access"]
        if port == "GigabitEthernet1/1/1":
            lines += [" switchport trunk allowed vlan 10,20", " switchport mode trunk"]
    lines += [
        "interface Vlan10",
        " ip address 10.10.0.2 255.255.255.0",
        "ip default-gateway 10.10.0.1",
        "logging host 10.0.0.5",
        "banner motd ^CAuthorized access only^C",
        "!",
        "line con 0",
        "line vty 0 4",
        " login local",
        " transport input ssh",
        "line vty 5 15",
        " login local",
        " transport input ssh",
        "ntp server 10.0.0.1",
    ]
    return "\n".join(lines) + "\n"


def test_hier_config_remediation_applies_and_then_is_empty(
    simulator: SimulatorHandle, connect: Connect
) -> None:
    conn = connect(simulator)
    conn.send_config_set(["vlan 20", "name OLD", "ntp server 10.0.0.99"])
    for intended in (_intended("VOICE"), _intended("VOICE2")):
        running = get_hconfig(Platform.CISCO_IOS, conn.send_command("show running-config"))
        remediation = WorkflowRemediation(running, get_hconfig(Platform.CISCO_IOS, intended))
        commands = remediation.remediation_config.dump_simple()
        assert commands, "the intended config differs from the running one"
        # Netmiko turns off echo checks for a whole set containing a banner (then waits 2 s per
        # line): push banners on their own.
        banners = [c for c in commands if c.startswith("banner ")]
        others = [c for c in commands if not c.startswith("banner ")]
        for chunk in (others, banners):
            if chunk:
                conn.send_config_set(chunk, error_pattern=r"% Invalid|% Incomplete")
        again = get_hconfig(Platform.CISCO_IOS, conn.send_command("show running-config"))
        assert (
            WorkflowRemediation(
                again, get_hconfig(Platform.CISCO_IOS, intended)
            ).remediation_config.dump_simple()
            == ()
        )


def test_command_line_entry_point_takes_secrets_from_the_environment(tmp_path: Path) -> None:
    address = _next_address()
    env = {**os.environ, "KSM_SIM_PASSWORD": PASSWORD, "KSM_SIM_ENABLE_SECRET": SECRET}
    process = subprocess.Popen(
        [simulator_command(), "--listen", address, "--port", "0",
         "--hostname", "sw-cli", "--username", USERNAME, "--state-dir", str(tmp_path / "state")],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        port = 0
        deadline = time.monotonic() + 15
        log_lines = []
        while not port and time.monotonic() < deadline:
            line = process.stderr.readline()
            log_lines.append(line)
            if match := re.search(rf"listening on {re.escape(address)}:(\d+)", line):
                port = int(match.group(1))
        assert port, "".join(log_lines)
        conn = ConnectHandler(
            device_type="cisco_ios",
            host=address,
            port=port,
            username=USERNAME,
            password=PASSWORD,
            secret=SECRET,
        )
        conn.enable()
        assert conn.find_prompt() == "sw-cli#"
        conn.disconnect()
    finally:
        process.terminate()
        remaining = process.communicate(timeout=10)[1]
    assert process.returncode == 0
    assert PASSWORD not in "".join(log_lines) + remaining and SECRET not in remaining
