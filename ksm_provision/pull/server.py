"""``ksm pull serve``: the authorities' pull repositories and the status collector over HTTP(S).

- ``GET /<authority>/repo.git/<path>``: the authority's pull repository, git's "dumb" HTTP protocol
  (static files of a bare repository; ``git update-server-info`` runs on each publish);
- ``POST /<authority>/status``: one status record (:mod:`.collector`).

Every request authenticates with HTTP Basic: user = the client's host name, password = its token.
A client reads only its own authority's repository and writes only its own record. Without
``--tls-cert``/``--tls-key`` the server listens only on loopback (the lab; or behind a TLS proxy on
the same machine): tokens never cross a network in clear text.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import ipaddress
import re
import signal
import ssl
import sys
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from ksm_provision.pull.collector import MAX_BODY, CollectorRefusedError, accept, authenticate
from ksm_provision.workflow.records import pull_dir, state_dir

_GIT_PATH = re.compile(r"^/(?P<authority>[a-z][a-z0-9-]{0,31})/repo\.git/(?P<path>[A-Za-z0-9._/-]{1,200})$")
_STATUS_PATH = re.compile(r"^/(?P<authority>[a-z][a-z0-9-]{0,31})/status$")


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``Basic base64(user:password)`` -> (user, password); None for anything else."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def repo_file(base: Path, authority: str, path: str) -> Path | None:
    """The file *path* inside the authority's bare repository, or None when it is not one."""
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    root = (pull_dir(authority, base) / "repo.git").resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


class PullHandler(BaseHTTPRequestHandler):
    server_version = "ksm-pull"
    sys_version = ""
    base: ClassVar[Path] = Path(".ksm-state")

    def log_message(self, format: str, *args: object) -> None:
        # one line per request, never a header (tokens travel in headers)
        sys.stderr.write(f"ksm-pull: {self.address_string()} {format % args}\n")

    def _answer(self, status: int, text: str = "", *, challenge: bool = False) -> None:
        body = (text + "\n").encode() if text else b""
        self.send_response(status)
        if challenge:
            self.send_header("WWW-Authenticate", 'Basic realm="ksm-pull"')
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _client(self, authority: str) -> tuple[str, str]:
        credentials = basic_credentials(self.headers.get("Authorization"))
        if credentials is None:
            raise CollectorRefusedError(401, "authentication required")
        authenticate(self.base, authority, *credentials)
        return credentials

    def do_GET(self) -> None:
        match = _GIT_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._answer(HTTPStatus.NOT_FOUND, "not found")
            return
        try:
            self._client(match["authority"])
        except CollectorRefusedError as refusal:
            self._answer(refusal.status, str(refusal), challenge=refusal.status == 401)
            return
        found = repo_file(self.base, match["authority"], match["path"])
        if found is None:
            self._answer(HTTPStatus.NOT_FOUND, "not found")
            return
        data = found.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        match = _STATUS_PATH.match(self.path)
        if match is None:
            self._answer(HTTPStatus.NOT_FOUND, "not found")
            return
        try:
            host, token = self._client(match["authority"])
            length = int(self.headers.get("Content-Length") or "0")
            if length > MAX_BODY or length < 0:
                raise CollectorRefusedError(413, f"a status record is at most {MAX_BODY} bytes")
            accept(self.base, match["authority"], host, token, self.rfile.read(length))
        except ValueError:
            self._answer(HTTPStatus.BAD_REQUEST, "bad Content-Length")
        except CollectorRefusedError as refusal:
            self._answer(refusal.status, str(refusal), challenge=refusal.status == 401)
        else:
            self._answer(HTTPStatus.NO_CONTENT)


def make_server(
    listen: tuple[str, int], base: Path, tls: tuple[Path, Path] | None = None
) -> ThreadingHTTPServer:
    """A server for *base* (the state dir); plain HTTP only on a loopback address."""
    address = ipaddress.ip_address(listen[0])
    if tls is None and not address.is_loopback:
        raise ValueError(f"{listen[0]} is not a loopback address: serve with --tls-cert and --tls-key")
    handler = type("BoundPullHandler", (PullHandler,), {"base": base.resolve()})
    server = ThreadingHTTPServer(listen, handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def serve_forever(server: ThreadingHTTPServer) -> None:
    """Serve until SIGTERM or SIGINT."""

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with server:
        server.serve_forever()


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not ADDRESS:PORT")
    return str(ipaddress.ip_address(host)), int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ksm_provision.pull.server")
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--tls-cert", type=Path, default=None)
    parser.add_argument("--tls-key", type=Path, default=None)
    args = parser.parse_args(argv)
    tls = (args.tls_cert, args.tls_key) if args.tls_cert and args.tls_key else None
    try:
        server = make_server(parse_listen(args.listen), args.state_dir or state_dir(), tls)
    except (ValueError, OSError) as exc:
        print(f"ksm-pull: cannot serve on {args.listen}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"ksm-pull: serving on {args.listen}", flush=True)
    serve_forever(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
