"""Switch simulator: modes, dialogues, stored configs and the terminal layer (no sockets)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ksm_switchsim import Faults, clear_faults, load_faults, set_faults
from ksm_switchsim.device import Device
from ksm_switchsim.modes import Mode
from ksm_switchsim.session import TerminalSession
from ksm_switchsim.shell import CliSession
from ksm_switchsim.storage import DeviceStore

SECRET = "enable-me"


@pytest.fixture
def device(tmp_path: Path) -> Device:
    return Device(DeviceStore(tmp_path / "state"), "sw1")


def privileged(device: Device, faults: Faults | None = None) -> CliSession:
    cli = CliSession(device, SECRET, faults)
    cli.handle_line("enable")
    cli.handle_line(SECRET)
    assert cli.mode is Mode.PRIV_EXEC
    return cli


def run(cli: CliSession, *lines: str) -> str:
    return "".join(cli.handle_line(line).output for line in lines)


def test_enable_asks_for_the_secret_without_echo(device: Device) -> None:
    cli = CliSession(device, SECRET)
    assert cli.prompt == "sw1>"
    cli.handle_line("enable")
    assert (cli.prompt, cli.echo) == ("Password: ", False)
    cli.handle_line("wrong")
    cli.handle_line("wrong again")
    assert cli.handle_line("still wrong").output == "% Bad secrets\n"
    assert (cli.prompt, cli.echo) == ("sw1>", True)
    cli.handle_line("en")
    cli.handle_line(SECRET)
    assert cli.prompt == "sw1#"
    cli.handle_line("disable")
    assert cli.prompt == "sw1>"


def test_configuration_modes_and_prompts(device: Device) -> None:
    cli = privileged(device)
    assert run(cli, "configure terminal") == (
        "Enter configuration commands, one per line.  End with CNTL/Z.\n"
    )
    prompts = []
    for line in ("interface Gi1/0/1", "exit", "vlan 5", "line con 0", "hostname edge-7", "end"):
        cli.handle_line(line)
        prompts.append(cli.prompt)
    assert prompts == [
        "sw1(config-if)#",
        "sw1(config)#",
        "sw1(config-vlan)#",
        "sw1(config-line)#",
        "edge-7(config)#",
        "edge-7#",
    ]
    run(cli, "conf t", "interface Vlan9")
    cli.handle_ctrl_z()
    assert cli.prompt == "edge-7#"


def test_invalid_input_marker_stands_under_the_bad_word(device: Device) -> None:
    cli = privileged(device)
    assert run(cli, "show runn-config") == " " * 9 + "^\n% Invalid input detected at '^' marker.\n\n"
    run(cli, "configure terminal")
    assert run(cli, "vlan 10 x").startswith(" " * len("sw1(config)#vlan 10 ") + "^\n")
    assert run(cli, "hostname") == "% Incomplete command.\n\n"


def test_write_memory_persists_and_is_loaded_at_boot(device: Device, tmp_path: Path) -> None:
    cli = privileged(device)
    run(cli, "conf t", "vlan 77", "name PERSIST", "end")
    assert run(cli, "write memory") == "Building configuration...\n[OK]\n"
    cli.handle_line("copy running-config startup-config")
    assert cli.prompt == "Destination filename [startup-config]? "
    assert run(cli, "") == "Building configuration...\n[OK]\n"
    rebooted = Device(DeviceStore(tmp_path / "state"), "ignored")
    assert rebooted.hostname == "sw1"
    assert rebooted.running.render() == device.running.render()
    assert "vlan 77\n name PERSIST" in run(privileged(rebooted), "show startup-config")


def test_copy_to_flash_dir_and_configure_replace(device: Device) -> None:
    cli = privileged(device)
    run(cli, "conf t", "vlan 10", "end")
    saved = device.running.render()
    cli.handle_line("copy run flash:base.cfg")
    assert cli.prompt == "Destination filename [base.cfg]? "
    assert run(cli, "").endswith("bytes copied in 0.012 secs (" + str(len(saved) * 83) + " bytes/sec)\n")
    assert "base.cfg" in run(cli, "dir flash:")
    cli.handle_line("copy running-config flash:base.cfg")
    assert run(cli, "") == "%Warning:There is a file already existing with this name\n"
    assert cli.prompt == "Do you want to over write? [confirm]"
    run(cli, "")

    run(cli, "conf t", "no vlan 10", "vlan 11", "end")
    cli.handle_line("configure replace flash:base.cfg")
    assert cli.prompt.endswith("Enter Y if you are sure you want to proceed. ? [no]: ")
    assert run(cli, "y") == "Total number of passes: 1\nRollback Done\n"
    assert device.running.render() == saved
    assert "No such file" in run(cli, "configure replace flash:missing.cfg force")
    assert "Invalid argument" in run(cli, "copy run flash:../escape")


def test_configure_replace_with_a_broken_file_changes_nothing(device: Device) -> None:
    device.store.flash_path("bad.cfg").write_text("hostname x\nfrobnicate\n")
    before = device.running.render()
    output = run(privileged(device), "configure replace flash:bad.cfg force")
    assert "frobnicate" in output and "Rollback not successful" in output
    assert device.running.render() == before


def test_do_runs_exec_commands_from_configuration_mode(device: Device) -> None:
    cli = privileged(device)
    run(cli, "conf t", "interface Gi1/0/2")
    assert run(cli, "do show vlan brief").startswith("\nVLAN Name")
    assert cli.mode is Mode.CONFIG_IF


def test_pipes_filter_show_output(device: Device) -> None:
    cli = privileged(device)
    assert run(cli, "show running-config | include ^hostname") == "hostname sw1\n"
    assert run(cli, "show running-config | section vty 5") == "line vty 5 15\n"


def test_faults_reject_commands_and_drop_the_session(device: Device, tmp_path: Path) -> None:
    set_faults(tmp_path / "state", Faults(drop_after_config_lines=2, reject_commands=(r"^ntp",)))
    faults = load_faults(tmp_path / "state")
    cli = privileged(device, faults)
    run(cli, "configure terminal")
    assert "% Invalid input" in run(cli, "ntp server 10.0.0.1")
    assert "ntp server" not in device.running.render()
    assert cli.handle_line("").close is False  # empty lines do not count
    assert cli.handle_line("vlan 3").close is True
    clear_faults(tmp_path / "state")
    assert load_faults(tmp_path / "state") == Faults()


def test_faults_reject_bad_settings() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        Faults(reject_commands=("(",))
    with pytest.raises(ValueError, match="extra"):
        Faults.model_validate({"drop_after": 1})


class FakeChannel:
    def __init__(self, *chunks: bytes) -> None:
        self.incoming = list(chunks)
        self.sent = b""
        self.closed = False

    def recv(self, nbytes: int) -> bytes:
        chunk = self.incoming.pop(0) if self.incoming else b""
        assert len(chunk) <= nbytes
        return chunk

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        self.closed = True


def transcript(device: Device, *chunks: bytes) -> str:
    channel = FakeChannel(*chunks)
    TerminalSession(channel, CliSession(device, SECRET)).run()
    assert channel.closed
    return channel.sent.decode()


def test_terminal_echoes_and_accepts_every_line_ending(device: Device) -> None:
    text = transcript(
        device, b"terminal length 0\r\n", b"terminal width 511\r", b"\nshow vx\x7f\x7fversion\n"
    )
    assert text.startswith("sw1>terminal length 0\r\nsw1>terminal width 511\r\nsw1>")
    assert "show vx\b \b\b \bversion\r\nCisco IOS Software" in text
    assert text.count("sw1>") == 4  # "\r\n" is one line end, not two


def test_terminal_hides_the_enable_secret(device: Device) -> None:
    text = transcript(device, f"enable\r{SECRET}\rconf t\rvlan 2\x1a".encode())
    assert SECRET not in text
    assert "Password: \r\nsw1#conf t\r\n" in text
    assert text.endswith("sw1(config)#vlan 2^Z\r\nsw1#")
    assert "vlan 2\n!" in device.running.render()


def test_delay_fault_slows_every_answer(device: Device) -> None:
    channel = FakeChannel(b"\r\r\r")
    started = time.monotonic()
    TerminalSession(channel, CliSession(device, SECRET), delay_ms=40).run()
    assert time.monotonic() - started >= 0.12


def test_terminal_shows_the_motd_banner_first(device: Device) -> None:
    cli = privileged(device)
    run(cli, "conf t", "banner motd ^CLab switch^C", "end")
    assert transcript(device, b"exit\r").startswith("Lab switch\r\nsw1>exit\r\n")


def test_ios_errors_have_the_ios_form(device: Device) -> None:
    cli = privileged(device)
    run(cli, "configure terminal")
    assert run(cli, "frobnicate 1") == "            ^\n% Invalid input detected at '^' marker.\n\n"
    assert run(cli, "ip default-gateway") == "% Incomplete command.\n\n"
    assert run(cli, "s") == '% Ambiguous command:  "s"\n'
    run(cli, "int range gi1/0/1 - 2")
    assert cli.prompt == "sw1(config-if-range)#"


def test_foreign_refusal_fault_answers_in_no_ios_style(device: Device) -> None:
    cli = privileged(device, Faults(reject_commands=(r"^ntp",), reject_style="foreign"))
    run(cli, "configure terminal")
    output = run(cli, "ntp server 10.0.0.1")
    assert output == "No such command: ntp server 10.0.0.1\n"
    assert "%" not in output and "^" not in output
    assert "ntp server" not in device.running.render()


def test_show_snmp_user_lists_what_the_running_config_hides(device: Device) -> None:
    cli = privileged(device)
    run(
        cli,
        "configure terminal",
        "snmp-server user mon MON v3 auth sha Auth-1234 priv aes 256 Priv-5678",
        "end",
    )
    assert "snmp-server user" not in run(cli, "show running-config")
    assert run(cli, "show snmp user mon") == (
        "\nUser name: mon\nEngine ID: 800000090300005E00005301\nstorage-type: nonvolatile        active\n"
        "Authentication Protocol: SHA\nPrivacy Protocol: AES256\nGroup-name: MON\n"
    )
    assert run(cli, "show snmp user other") == ""
