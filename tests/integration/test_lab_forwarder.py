"""The lab's TCP forwarder against a real network namespace with an echo server inside it.

Every test gets its own 127.254.x.y listen address (outside every range the lab uses, see
ksm_provision/lab/addresses.py) and a throwaway namespace ``ksmtest-fwd-<random>``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.forwarder import forwards_into, start_forwarder

pytestmark = pytest.mark.integration

# pytest-xdist workers run in separate processes: the pid keeps their addresses apart.
_THIRD_OCTET = 1 + os.getpid() % 250
_host_numbers = itertools.count(1)
PORT = 2222
BANNER = b"echo-ready\n"

# Greets every connection with BANNER, then echoes until the client's EOF, then closes. A connection
# that starts with AT_EOF is answered only after the client's EOF (so the reply needs a half-close).
AT_EOF = b"at-eof:"
ECHO_SERVER = r"""
import socket, sys, threading
def serve(conn):
    with conn:
        conn.sendall(b"echo-ready\n")
        held = b""
        while data := conn.recv(65536):
            if held or data.startswith(b"at-eof:"):
                held += data
            else:
                conn.sendall(data)
        conn.sendall(held)
        conn.shutdown(socket.SHUT_WR)
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


@dataclass(frozen=True)
class Namespace:
    name: str
    path: Path


@dataclass(frozen=True)
class Forwarded:
    address: str
    port: int
    log: Path
    ref: system.ProcessRef


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def netns() -> Iterator[Namespace]:
    if os.geteuid() != 0:
        pytest.fail("the forwarder tests need root (network namespaces); run the suite as root like CI does")
    if shutil.which("ip") is None:
        pytest.fail("`ip` is missing: install the Debian package iproute2")
    name = f"ksmtest-fwd-{secrets.token_hex(3)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        yield Namespace(name, Path("/run/netns") / name)
    finally:
        _ip("netns", "del", name)


@pytest.fixture
def echo_port(netns: Namespace) -> Iterator[int]:
    """Port of an echo server listening on 127.0.0.1 inside *netns*."""
    argv = ["ip", "netns", "exec", netns.name, sys.executable, "-c", ECHO_SERVER]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.isdigit(), f"echo server did not start (exit {proc.poll()})"
        yield int(line)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _listen_address() -> str:
    return f"127.254.{_THIRD_OCTET}.{next(_host_numbers)}"


def _forwarder(netns: Namespace, tmp_path: Path, port: int) -> Iterator[Forwarded]:
    address = _listen_address()
    ref = start_forwarder(
        listen_address=address,
        listen_port=PORT,
        netns_file=netns.path,
        node_dir=tmp_path,
        name="test",
        target=("127.0.0.1", port),
    )
    try:
        assert forwards_into(ref, netns.path)
        assert not forwards_into(ref, Path("/proc/self/ns/net"))
        yield Forwarded(address, PORT, tmp_path / "forwarder.log", ref)
    finally:
        system.stop(ref)


@pytest.fixture
def forwarded(netns: Namespace, echo_port: int, tmp_path: Path) -> Iterator[Forwarded]:
    """A forwarder to the echo server."""
    yield from _forwarder(netns, tmp_path, echo_port)


@pytest.fixture
def forwarded_to_nothing(netns: Namespace, tmp_path: Path) -> Iterator[Forwarded]:
    """A forwarder to a port nothing listens on inside the namespace."""
    yield from _forwarder(netns, tmp_path, 9)


def _connect(target: Forwarded) -> socket.socket:
    sock = socket.create_connection((target.address, target.port), timeout=10)
    assert _recv_exactly(sock, len(BANNER)) == BANNER
    return sock


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"connection closed after {len(data)} of {size} bytes"
        data += chunk
    return data


def _recv_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _closed_by_peer(sock: socket.socket) -> bool:
    """True when the peer closed (FIN) or reset the connection, False if it sent data."""
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def test_bytes_round_trip_both_ways(forwarded: Forwarded) -> None:
    with _connect(forwarded) as sock:  # the banner came from the server unprompted
        for message in (b"hello\n", b"\x00\xff binary \r\n", b"x"):
            sock.sendall(message)
            assert _recv_exactly(sock, len(message)) == message


def test_large_payload_arrives_intact(forwarded: Forwarded) -> None:
    payload = os.urandom(8 * 1024 * 1024)
    with _connect(forwarded) as sock:

        def send() -> None:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        received = _recv_all(sock)
        sender.join(timeout=30)
    assert len(received) == len(payload)
    assert received == payload


def test_half_close_keeps_the_other_direction(forwarded: Forwarded) -> None:
    with _connect(forwarded) as sock:
        sock.sendall(AT_EOF + b"last words")
        time.sleep(0.2)  # the forwarder has passed the data on before the EOF follows
        sock.shutdown(socket.SHUT_WR)
        # the server answers only once it has seen the EOF, then closes its side
        assert _recv_all(sock) == AT_EOF + b"last words"


def test_concurrent_connections(forwarded: Forwarded) -> None:
    socks = [_connect(forwarded) for _ in range(12)]  # all open at once
    try:
        for index, sock in enumerate(socks):
            sock.sendall(f"connection {index}\n".encode())
        for index, sock in enumerate(reversed(socks)):
            expected = f"connection {len(socks) - 1 - index}\n".encode()
            assert _recv_exactly(sock, len(expected)) == expected
    finally:
        for sock in socks:
            sock.close()


def test_namespace_check_holds_while_connections_are_made(forwarded: Forwarded, netns: Namespace) -> None:
    """For the instant of each socket() the forwarder sits in the target namespace: the check must
    not change its answer then (it did, and the lab restarted a healthy forwarder)."""
    ref = forwarded.ref
    stop = threading.Event()

    def keep_connecting() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError), _connect(forwarded):
                pass

    worker = threading.Thread(target=keep_connecting, daemon=True)
    worker.start()
    try:
        own = Path("/proc/self/ns/net")
        answers = {(forwards_into(ref, netns.path), forwards_into(ref, own)) for _ in range(300)}
    finally:
        stop.set()
        worker.join(timeout=10)
    assert answers == {(True, False)}


def test_connection_closed_at_once_when_nothing_listens(forwarded_to_nothing: Forwarded) -> None:
    target = forwarded_to_nothing
    with socket.create_connection((target.address, target.port), timeout=5) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(b"secret-payload")
        assert _closed_by_peer(sock)
    log = target.log.read_text()
    assert "cannot reach 127.0.0.1:9" in log
    assert "ConnectionRefusedError" in log  # refused at once, not given up after the connect timeout
    assert "secret-payload" not in log


def _run_forwarder(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "ksm_provision.lab.forwarder", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("address", ["10.0.0.1", "0.0.0.0", "192.168.1.1"])
def test_refuses_a_listen_address_outside_loopback(netns: Namespace, address: str) -> None:
    proc = _run_forwarder("--listen", f"{address}:{PORT}", "--netns", str(netns.path))
    assert proc.returncode == 2
    assert "outside 127.0.0.0/8" in proc.stderr
    assert proc.stdout == ""


def test_refuses_its_own_namespace() -> None:
    # the child inherits this process's namespace, so this file names the child's own namespace
    own = f"/proc/{os.getpid()}/ns/net"
    proc = _run_forwarder("--listen", f"{_listen_address()}:{PORT}", "--netns", own)
    assert proc.returncode == 2
    assert "own network namespace" in proc.stderr
    assert proc.stdout == ""


def test_start_forwarder_reports_why_it_did_not_come_up(tmp_path: Path) -> None:
    own = Path(f"/proc/{os.getpid()}/ns/net")
    address = _listen_address()
    with pytest.raises(LabError, match="own network namespace") as caught:
        start_forwarder(
            listen_address=address, listen_port=PORT, netns_file=own, node_dir=tmp_path, name="n1"
        )
    assert "n1 forwarder did not come up" in str(caught.value)
    assert system.tcp_port_free(address, PORT)


def test_a_recreated_namespace_is_not_the_one_forwarded_into(netns: Namespace, tmp_path: Path) -> None:
    ref = start_forwarder(
        listen_address=_listen_address(),
        listen_port=PORT,
        netns_file=netns.path,
        node_dir=tmp_path,
        name="n1",
    )
    try:
        assert forwards_into(ref, netns.path)
        _ip("netns", "del", netns.name)
        _ip("netns", "add", netns.name)
        assert not forwards_into(ref, netns.path)  # it still holds (and forwards into) the old one
    finally:
        system.stop(ref)
    assert not forwards_into(ref, netns.path)


def test_sigterm_stops_it(netns: Namespace, echo_port: int) -> None:
    address = _listen_address()
    argv = [sys.executable, "-m", "ksm_provision.lab.forwarder", f"--listen={address}:{PORT}"]
    argv += [f"--netns={netns.path}", f"--to=127.0.0.1:{echo_port}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(f"forwarder: listening on {address}:{PORT}")
        with socket.create_connection((address, PORT), timeout=5) as open_connection:
            assert _recv_exactly(open_connection, len(BANNER)) == BANNER
            proc.terminate()
            out, err = proc.communicate(timeout=10)
            assert open_connection.recv(100) == b""  # open connections are closed, not left hanging
        assert proc.returncode == 0
        assert (out, err) == ("", "")
        assert system.tcp_port_free(address, PORT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
