"""A TCP forwarder from a loopback address of this machine into a lab node's network namespace.

``python -m ksm_provision.lab.forwarder --listen 127.A.B.C:PORT --netns /run/netns/NAME
[--to 127.0.0.1:22]`` listens in the namespace it was started in and, for every connection it
accepts, connects to *--to* from inside the target namespace. That is how the controller (Ansible,
Netmiko, testinfra) keeps talking only to 127.x addresses of this machine while each lab node's sshd
listens on :22 in its own namespace.

The outgoing socket is created inside the target namespace (a socket keeps the namespace it was
created in), so the process itself only visits that namespace for the instant of a ``socket()``
call; see :class:`NamespaceSockets`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import errno
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING

from ksm_provision.errors import LabError
from ksm_provision.lab.addresses import assert_loopback

if TYPE_CHECKING:
    from ksm_provision.lab.system import ProcessRef

EXIT_USAGE = 2
CLONE_NEWNET = 0x40000000  # <sched.h>
_CHUNK = 64 * 1024
_CONNECT_TIMEOUT = 10.0
_TAIL = 800


class NamespaceSockets:
    """Creates sockets inside a target network namespace; the one place that calls ``setns``.

    Both namespace files are opened once, at start: the own one before any switch, so switching back
    always returns to where the process began. ``setns`` changes the namespace of the *calling
    thread* only. All sockets are made on the event loop's thread, and nothing awaits between the two
    ``setns`` calls, so no other coroutine can run while the thread is in the target namespace: no
    lock is needed (a second thread calling :meth:`socket` would need one).
    """

    def __init__(self, target: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._target = os.open(target, os.O_RDONLY | os.O_CLOEXEC)

    def socket(self) -> socket.socket:
        """A new non-blocking TCP socket that lives in the target namespace."""
        self._setns(self._target)
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            self._restore()
        sock.setblocking(False)
        return sock

    def _restore(self) -> None:
        try:
            self._setns(self._own)
        except OSError as exc:
            # Staying in the node's namespace would make every later socket (and bind) land there:
            # better to die at once than to forward anything from the wrong place.
            print(f"forwarder: cannot return to own network namespace: {exc}", file=sys.stderr, flush=True)
            os._exit(70)

    def _setns(self, fd: int) -> None:
        if int(self._libc.setns(fd, CLONE_NEWNET)) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"setns: {os.strerror(code)}")


def same_namespace(netns_file: Path) -> bool:
    """True when *netns_file* is this process's own network namespace (same nsfs inode)."""
    return _namespace_identity(netns_file) == _namespace_identity(Path("/proc/self/ns/net"))


def parse_endpoint(text: str) -> tuple[str, int]:
    """``"127.0.0.1:22"`` -> ``("127.0.0.1", 22)``; raises ValueError on anything else."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not ADDRESS:PORT (port 1..65535)")
    return str(IPv4Address(host)), int(port)  # IPv4 literals only: no name lookups in the forwarder


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy *reader* to *writer* until EOF, then pass the EOF on (half-close, not close)."""
    while data := await reader.read(_CHUNK):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


class Forwarder:
    """Pipes each accepted connection to *target* inside the namespace of *sockets*."""

    def __init__(self, sockets: NamespaceSockets, target: tuple[str, int], label: str) -> None:
        self._sockets = sockets
        self._target = target
        self._label = label

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sock = self._sockets.socket()
        try:
            await asyncio.wait_for(
                asyncio.get_running_loop().sock_connect(sock, self._target), _CONNECT_TIMEOUT
            )
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        """Serve one accepted connection (the ``asyncio.start_server`` callback)."""
        # Only shutdown cancels a connection. Python 3.11's StreamReaderProtocol prints a traceback for
        # a callback task that ends cancelled, so end quietly instead; both ends are closed by then.
        with contextlib.suppress(asyncio.CancelledError):
            await self._forward(client_reader, client_writer)

    async def _forward(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        peer = client_writer.get_extra_info("peername")
        try:
            upstream_reader, upstream_writer = await self.connect()
        except (OSError, TimeoutError) as exc:
            print(
                f"forwarder: connection from {peer}: cannot reach {self._target[0]}:{self._target[1]} "
                f"in {self._label}: {exc!r}",
                file=sys.stderr,
                flush=True,
            )
            await _close(client_writer)
            return
        try:
            # Each direction ends on its own EOF; only an error (or both EOFs) ends the connection.
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        except OSError:
            pass
        finally:
            await asyncio.gather(_close(client_writer), _close(upstream_writer))


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def serve(listen: tuple[str, int], forwarder: Forwarder, banner: str) -> None:
    """Accept connections on *listen* until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(forwarder.handle, listen[0], listen[1])
    print(banner, flush=True)
    async with server:
        await stop.wait()
    # asyncio.run cancels the connections still open; their handlers close both ends.


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ksm_provision.lab.forwarder",
        description="Forward a loopback address of this machine to an address inside a network namespace.",
    )
    parser.add_argument("--listen", required=True, help="127.x.y.z:PORT in this machine's namespace")
    parser.add_argument("--netns", required=True, type=Path, help="e.g. /run/netns/ksm-host1")
    parser.add_argument("--to", default="127.0.0.1:22", help="ADDRESS:PORT inside the namespace")
    return parser.parse_args(argv)


def _refuse(message: str) -> int:
    print(f"forwarder: {message}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        listen = parse_endpoint(args.listen)
        assert_loopback(listen[0])
    except (ValueError, LabError) as exc:
        return _refuse(f"refusing --listen {args.listen}: {exc}")
    try:
        target = parse_endpoint(args.to)
    except ValueError as exc:
        return _refuse(f"refusing --to {args.to}: {exc}")
    try:
        if same_namespace(args.netns):
            return _refuse(f"refusing --netns {args.netns}: it is this machine's own network namespace")
        sockets = NamespaceSockets(args.netns)
        sockets.socket().close()  # fail now, not on the first connection: not a netns, no privilege
    except OSError as exc:
        detail = "not a network namespace file" if exc.errno == errno.EINVAL else str(exc)
        return _refuse(f"cannot use --netns {args.netns}: {detail}")
    banner = f"forwarder: listening on {listen[0]}:{listen[1]} -> {target[0]}:{target[1]} in {args.netns}"
    try:
        asyncio.run(serve(listen, Forwarder(sockets, target, str(args.netns)), banner))
    except OSError as exc:  # e.g. the listen address is taken
        print(f"forwarder: cannot listen on {listen[0]}:{listen[1]}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def start_forwarder(
    *,
    listen_address: str,
    listen_port: int,
    netns_file: Path,
    node_dir: Path,
    name: str,
    target: tuple[str, int] = ("127.0.0.1", 22),
) -> ProcessRef:
    """Start a detached forwarder for lab node *name* and wait until it accepts connections."""
    # Imported here, not at the top: the forwarder daemon itself never needs pydantic (faster start,
    # smaller resident size for one process per node).
    from ksm_provision.lab import system

    assert_loopback(listen_address)
    what = f"{name} forwarder"
    system.require_port_free(what, listen_address, listen_port)
    log = node_dir / "forwarder.log"
    argv = [
        sys.executable,
        "-m",
        "ksm_provision.lab.forwarder",
        f"--listen={listen_address}:{listen_port}",
        f"--netns={netns_file}",
        f"--to={target[0]}:{target[1]}",
    ]
    try:
        ref = system.spawn_detached(argv, pidfile=node_dir / "forwarder.pid", log=log, command=what)
    except LabError as exc:  # e.g. it refused its arguments and exited before its pid was read
        raise _not_up(what, listen_address, listen_port, log) from exc
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and system.is_running(ref):
        # still running once the port answers: so it is ours that answers
        if system.tcp_ready(listen_address, listen_port, timeout=0.2) and system.is_running(ref):
            return ref
    system.stop(ref)
    raise _not_up(what, listen_address, listen_port, log)


def forwards_into(ref: ProcessRef, netns_file: Path) -> bool:
    """True when the forwarder *ref* forwards into the namespace *netns_file* names right now.

    The forwarder holds that namespace open, so a namespace deleted and re-created under the same
    name is a *different* one: a forwarder still running from before points into the old one.
    The caller's own namespace never counts, although the forwarder holds it too (to return to it
    after each ``socket()``). Comparing with the forwarder's *current* namespace instead would race:
    for the instant of a ``socket()`` call the forwarder's thread is inside the target namespace.
    """
    from ksm_provision.lab import system

    proc = Path(f"/proc/{ref.pid}")
    try:
        wanted, caller = _namespace_identity(netns_file), _namespace_identity(Path("/proc/self/ns/net"))
        fds = list((proc / "fd").iterdir())
    except OSError:
        return False
    held = set()
    for fd in fds:
        with contextlib.suppress(OSError):  # an fd closed since the listing
            held.add(_namespace_identity(fd))
    return wanted != caller and wanted in held and system.is_running(ref)


def _namespace_identity(path: Path) -> tuple[int, int]:
    info = path.stat()  # follows /proc's magic links to the namespace (nsfs inode) itself
    return info.st_dev, info.st_ino


def _not_up(what: str, address: str, port: int, log: Path) -> LabError:
    tail = log.read_text(errors="replace")[-_TAIL:] if log.exists() else ""
    return LabError(f"{what} did not come up on {address}:{port}\n{tail}", hint=f"see {log}")


if __name__ == "__main__":
    sys.exit(main())
