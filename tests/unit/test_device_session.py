"""DeviceSession's command loop against a scripted channel: refusals stop the push AT the refused
command, a dead session is reported as such (not as a timeout), full device messages are kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ksm_provision.network.platforms import platform_info, refusal
from ksm_provision.network.session import (
    CommandTimeoutError,
    DeviceCommandError,
    DeviceRefusedError,
    DeviceSession,
    Endpoint,
    SessionLostError,
    Timeouts,
    describe,
)
from ksm_provision.targets import DeviceEndpoint


class FakeTransport:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active


class FakeChannel:
    def __init__(self) -> None:
        self.closed = False
        self.eof_received = False
        self.transport = FakeTransport()

    def get_transport(self) -> FakeTransport:
        return self.transport


Answer = Callable[[str, str], tuple[str, str]]


class FakeConn:
    """A device: each typed line gets its echo, the handler's output and the next prompt."""

    RETURN = "\n"

    def __init__(self, answer: Answer, die_after: int | None = None) -> None:
        self.answer = answer
        self.mode = "sw1#"
        self.pending = ""
        self.typed: list[str] = []
        self.remote_conn = FakeChannel()
        self.base_prompt = "sw1"
        self.die_after = die_after

    def write_channel(self, data: str) -> None:
        if self.remote_conn.closed:
            raise OSError("Socket is closed")
        line = data.rstrip("\n")
        self.typed.append(line)
        if self.die_after is not None and len(self.typed) > self.die_after:
            self.pending += line + "\n"  # echoed, then the device is gone
            self.remote_conn.closed = True
            return
        output, self.mode = self.answer(line, self.mode)
        self.pending += line + "\n" + output + self.mode

    def read_channel(self) -> str:
        data, self.pending = self.pending, ""
        return data


def ios(refuse: dict[str, str] | None = None) -> Answer:
    refuse = refuse or {}

    def answer(line: str, mode: str) -> tuple[str, str]:
        if line == "configure terminal":
            return "Enter configuration commands, one per line.  End with CNTL/Z.\n", "sw1(config)#"
        if line == "end":
            return "", "sw1#"
        if line in refuse:
            return refuse[line] + "\n", mode
        if line.startswith(("interface ", "line ")):
            return "", "sw1(config-if)#"
        if line == "exit":
            return "", "sw1#" if mode == "sw1(config)#" else "sw1(config)#"
        return "", mode

    return answer


def session(conn: FakeConn, timeouts: Timeouts | None = None) -> DeviceSession:
    s = DeviceSession.__new__(DeviceSession)
    s.endpoint = Endpoint("sw1", "lup", platform_info("cisco_ios"), DeviceEndpoint("127.0.0.1", 22, "u", "p"))
    s.timeouts = timeouts or Timeouts(command=5)
    s.sent = []
    s._jump = None
    s._conn = conn
    return s


PUSH = ["interface GigabitEthernet1/0/1", "description a", "exit", "ntp server 10.0.0.1", "vlan 20"]

REFUSALS = [
    "        ^\n% Invalid input detected at '^' marker.",
    "% Incomplete command.",
    '% Ambiguous command:  "ntp server 10.0.0.1"',
    "%Default VLAN 1 may not be deleted.",
    "% Unknown command: ntp server 10.0.0.1",
    "No such command: ntp server 10.0.0.1",
    "Invalid command",
    "Incomplete command",
    "Ambiguous command",
    "Error: bad value",
]


@pytest.mark.parametrize("said", REFUSALS)
def test_every_refusal_form_stops_the_push_at_that_command(said: str) -> None:
    conn = FakeConn(ios({"ntp server 10.0.0.1": said}))
    s = session(conn)
    with pytest.raises(DeviceRefusedError) as caught:
        s.send_config(PUSH)
    assert s.sent == PUSH[:4]  # exactly up to and including the refused command
    assert "vlan 20" not in conn.typed and "end" not in conn.typed
    assert said.strip().splitlines()[-1] in str(caught.value)  # the device's own words, in full


@pytest.mark.parametrize(
    "said", ["% Access VLAN does not exist. Creating vlan 10", "%Warning: weak", "%SYS-5-CONFIG_I: x"]
)
def test_informational_messages_are_not_refusals(said: str) -> None:
    assert refusal(said) is None
    conn = FakeConn(ios({"ntp server 10.0.0.1": said}))
    s = session(conn)
    s.send_config(PUSH)
    assert s.sent == PUSH and conn.typed[-1] == "end"


def test_a_command_echoing_an_error_word_is_not_a_refusal() -> None:
    conn = FakeConn(ios())
    s = session(conn)
    s.send_config(["interface GigabitEthernet1/0/1", "description Error: Invalid port", "exit"])
    assert len(s.sent) == 3


def test_leaving_configuration_mode_stops_the_push() -> None:
    """A refused section header (`line con 0`) must not turn the next `exit` into a logout."""
    conn = FakeConn(ios({"line con 0": "No such command 'line'"}))
    s = session(conn)
    with pytest.raises(DeviceRefusedError):
        s.send_config(["line con 0", "exec-timeout 5 0", "exit", "exit", "ntp server 10.0.0.1"])
    assert s.sent == ["line con 0"]
    conn = FakeConn(ios())
    s = session(conn)
    with pytest.raises(DeviceCommandError, match="left configuration mode"):
        s.send_config(["exit", "ntp server 10.0.0.1"])
    assert s.sent == ["exit"]


def test_a_dead_session_is_reported_as_lost_not_as_a_timeout() -> None:
    conn = FakeConn(ios(), die_after=3)  # configure terminal + 2 commands, then gone
    s = session(conn, Timeouts(command=20))
    with pytest.raises(SessionLostError) as caught:
        s.send_config(PUSH)
    assert not isinstance(caught.value, CommandTimeoutError)
    assert s.sent == PUSH[:3]
    assert "the session ended while waiting for" in str(caught.value)


def test_a_living_but_silent_device_hits_the_command_timeout() -> None:
    conn = FakeConn(ios())
    conn.answer = lambda line, mode: ("", "")  # echo only, no prompt ever
    s = session(conn, Timeouts(command=0.2))
    with pytest.raises(CommandTimeoutError, match=r"no reply for 0\.2 s"):
        s.send_config(PUSH)


def test_describe_keeps_every_line() -> None:
    text = describe(OSError("Server '[10.0.0.1]:2222' not found in known_hosts\n\nsecond line"))
    assert text == "OSError: Server '[10.0.0.1]:2222' not found in known_hosts\nsecond line"


def test_timeouts_take_the_devices_own_values() -> None:
    from ksm_provision.targets import SessionTimeouts

    reach = DeviceEndpoint("127.0.0.1", 22, "u", "p", timeouts=SessionTimeouts(command=7, keepalive=2))
    merged = Timeouts(connect=9, command=30, keepalive=5).for_device(reach)
    assert (merged.connect, merged.command, merged.keepalive) == (9, 7, 2)
