"""The proof's prober against a real network namespace: what it observes for a listener, a closed
port, a route the namespace refuses, and a namespace that is not there.

Addresses live only inside the throwaway namespace ``ksmtest-probe-<random>``: nothing leaves this
machine, and this machine's own namespace is never probed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ksm_provision.prove.probe import NetnsProber, ProbeSource

pytestmark = pytest.mark.integration

SERVER_ADDRESS = "10.77.0.1"
UNREACHABLE_NET = "10.78.0.0/24"
LISTENER = r"""
import socket, sys
listener = socket.create_server((sys.argv[1], 0))
print(listener.getsockname()[1], flush=True)
while True:
    listener.accept()[0].close()
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns() -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.fail("the prober tests need root (network namespaces); run the suite as root like CI does")
    if shutil.which("ip") is None:
        pytest.fail("`ip` is missing: install the Debian package iproute2")
    name = f"ksmtest-probe-{secrets.token_hex(3)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{SERVER_ADDRESS}/24", "dev", "lo")
        _ip("-n", name, "route", "add", "unreachable", UNREACHABLE_NET)
        yield name
    finally:
        _ip("netns", "del", name)


@pytest.fixture
def listening_port(netns: str) -> Iterator[int]:
    argv = ["ip", "netns", "exec", netns, sys.executable, "-c", LISTENER, SERVER_ADDRESS]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.isdigit(), f"listener did not start (exit {proc.poll()})"
        yield int(line)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _source(netns: str) -> ProbeSource:
    return ProbeSource(
        authority="lup", network="pch-clients", site="pch", netns=netns, address=SERVER_ADDRESS
    )


def test_a_listener_is_reached(netns: str, listening_port: int) -> None:
    observation = NetnsProber().tcp(_source(netns), SERVER_ADDRESS, listening_port)
    assert (observation.result, observation.detail) == ("reached", "connected")


def test_a_closed_port_is_reached_but_refused(netns: str, listening_port: int) -> None:
    closed = listening_port + 1 if listening_port < 65535 else listening_port - 1
    observation = NetnsProber().tcp(_source(netns), SERVER_ADDRESS, closed)
    assert observation.result == "reached" and "nothing listens" in observation.detail


def test_a_route_the_namespace_refuses_is_blocked(netns: str) -> None:
    observation = NetnsProber().tcp(_source(netns), "10.78.0.9", 445)
    assert observation.result == "blocked" and "unreachable" in observation.detail


def test_a_missing_namespace_is_an_error_not_blocked() -> None:
    observation = NetnsProber().tcp(_source(f"ksmtest-absent-{secrets.token_hex(3)}"), SERVER_ADDRESS, 445)
    assert observation.result == "error"
