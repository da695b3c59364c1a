"""Lab only: the reverse of :mod:`ksm_provision.lab.forwarder`, from inside a client's namespace out.

``python -m ksm_provision.pull.revforward --netns /run/netns/NAME --listen 127.A.B.C:PORT
[--to 127.A.B.C:PORT]`` listens on *--listen* **inside** the client's network namespace (its own
loopback) and connects each accepted connection to *--to* in this machine's namespace: so a lab
client reaches the pull server on the controller's 127.x address, and nothing else of the machine.
In production the client reaches the server over its network; only this hop is simulated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab.addresses import assert_loopback
from ksm_provision.lab.forwarder import NamespaceSockets, parse_endpoint, same_namespace

_CHUNK = 64 * 1024
_CONNECT_TIMEOUT = 10.0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(_CHUNK):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _handler(target: tuple[str, int]) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(*target), _CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as exc:
                print(
                    f"revforward: cannot reach {target[0]}:{target[1]}: {exc!r}", file=sys.stderr, flush=True
                )
                await _close(writer)
                return
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            except OSError:
                pass
            finally:
                await asyncio.gather(_close(writer), _close(up_writer))

    return handle


def listener_in(netns: Path, listen: tuple[str, int]) -> socket.socket:
    """A listening socket bound inside *netns* (a socket keeps the namespace it was made in)."""
    sock = NamespaceSockets(netns).socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(listen)
    sock.listen(64)
    return sock


async def serve(sock: socket.socket, target: tuple[str, int]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(_handler(target), sock=sock)
    print(f"revforward: {sock.getsockname()} in the client's namespace -> {target}", flush=True)
    async with server:
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ksm_provision.pull.revforward")
    parser.add_argument("--netns", required=True, type=Path)
    parser.add_argument("--listen", required=True, help="127.x:PORT inside the namespace")
    parser.add_argument(
        "--to", default=None, help="127.x:PORT in this machine's namespace (default: --listen)"
    )
    args = parser.parse_args(argv)
    try:
        listen = parse_endpoint(args.listen)
        target = parse_endpoint(args.to or args.listen)
        assert_loopback(listen[0])
        assert_loopback(target[0])  # the client reaches one loopback service here, never further
        if same_namespace(args.netns):
            raise ValueError(f"{args.netns} is this machine's own network namespace")
        sock = listener_in(args.netns, listen)
    except (ValueError, OSError, LabError) as exc:
        print(f"revforward: refusing: {exc}", file=sys.stderr, flush=True)
        return 2
    asyncio.run(serve(sock, target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
