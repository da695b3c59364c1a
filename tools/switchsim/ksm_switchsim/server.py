"""The SSH server: one listening address per simulated device, one thread per session."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from typing_extensions import override

from ksm_switchsim.config_tree import DEFAULT_MODEL, MODEL_PORTS
from ksm_switchsim.device import Device
from ksm_switchsim.faults import load_faults
from ksm_switchsim.session import TerminalSession
from ksm_switchsim.shell import CliSession
from ksm_switchsim.storage import DeviceStore

log = logging.getLogger(__name__)

_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_HOSTNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_ACCEPT_POLL_S = 0.2
_HANDSHAKE_TIMEOUT_S = 15.0


class SimulatorConfig(BaseModel):
    """Everything one simulated switch needs. Secrets are :class:`SecretStr`: never printed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: ipaddress.IPv4Address
    #: 0 picks a free port (see :attr:`SimulatorHandle.port`).
    port: int = Field(default=22, ge=0, le=65535)
    #: The hostname until a startup-config sets another one (factory default).
    hostname: str = "Switch"
    username: str = Field(min_length=1)
    password: SecretStr
    enable_secret: SecretStr
    state_dir: Path
    #: The switch model whose front-panel ports the device has (see config_tree.MODEL_PORTS).
    model: str = DEFAULT_MODEL

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str) -> str:
        if model not in MODEL_PORTS:
            raise ValueError(f"unknown model {model!r}; known: {', '.join(sorted(MODEL_PORTS))}")
        return model

    @field_validator("address")
    @classmethod
    def _loopback_only(cls, address: ipaddress.IPv4Address) -> ipaddress.IPv4Address:
        if address not in _LOOPBACK:
            raise ValueError(f"the simulator listens on 127.0.0.0/8 only, got {address}; e.g. 127.199.0.1")
        return address

    @field_validator("hostname")
    @classmethod
    def _valid_hostname(cls, hostname: str) -> str:
        if not _HOSTNAME_RE.match(hostname):
            raise ValueError(f"invalid hostname {hostname!r}, expected e.g. sw-core-1")
        return hostname


def load_or_create_host_key(path: Path) -> paramiko.RSAKey:
    """The device's SSH host key; generated on first start so the key stays stable across restarts."""
    if path.is_file():
        return paramiko.RSAKey(filename=str(path))
    key = paramiko.RSAKey.generate(2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    key.write_private_key_file(str(tmp))
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


class _SshInterface(paramiko.ServerInterface):
    """Password authentication and one interactive shell per connection."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        self.shell_requested = threading.Event()

    @override
    def get_allowed_auths(self, username: str) -> str:
        return "password"

    @override
    def check_auth_password(self, username: str, password: str) -> int:
        user_ok = hmac.compare_digest(username.encode(), self._config.username.encode())
        password_ok = hmac.compare_digest(
            password.encode(), self._config.password.get_secret_value().encode()
        )
        if user_ok and password_ok:
            return AUTH_SUCCESSFUL
        log.warning("%s: authentication failed for user %r", self._config.address, username)
        return AUTH_FAILED

    @override
    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    @override
    def check_channel_pty_request(
        self,
        channel: paramiko.Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        return True

    @override
    def check_channel_window_change_request(
        self, channel: paramiko.Channel, width: int, height: int, pixelwidth: int, pixelheight: int
    ) -> bool:
        return True

    @override
    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell_requested.set()
        return True


@dataclass
class SimulatorHandle:
    """A simulator running in a background thread; ``stop()`` (or leaving ``with``) ends it."""

    simulator: SwitchSimulator
    thread: threading.Thread = field(repr=False)

    @property
    def address(self) -> str:
        return str(self.simulator.config.address)

    @property
    def port(self) -> int:
        return self.simulator.port

    def stop(self, timeout: float = 5.0) -> None:
        self.simulator.stop()
        self.thread.join(timeout)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SwitchSimulator:
    """One simulated IOS switch listening on ``config.address:config.port``."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        store = DeviceStore(config.state_dir)
        self.device = Device(store, config.hostname, MODEL_PORTS[config.model])
        self._host_key = load_or_create_host_key(store.host_key_path)
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._transports: set[paramiko.Transport] = set()
        self._transports_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port actually listened on (differs from the configured one when that was 0)."""
        if self._listener is None:
            return self.config.port
        port: int = self._listener.getsockname()[1]
        return port

    def bind(self) -> None:
        """Open the listening socket (done by ``serve_forever`` if not called before)."""
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((str(self.config.address), self.config.port))
            listener.listen(32)
        except OSError:
            listener.close()
            raise
        listener.settimeout(_ACCEPT_POLL_S)
        self._listener = listener
        log.info(
            "switch simulator %s listening on %s:%d", self.device.hostname, self.config.address, self.port
        )

    def serve_forever(self) -> None:
        """Accept sessions until :meth:`stop`; each runs in its own thread."""
        self.bind()
        assert self._listener is not None
        try:
            while not self._stop.is_set():
                try:
                    conn, peer = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stop.is_set():
                        break
                    raise
                threading.Thread(
                    target=self._serve_connection, args=(conn, peer), daemon=True,
                    name=f"switchsim-{self.config.address}-{peer[1]}",
                ).start()  # fmt: skip
        finally:
            self._listener.close()

    def start_in_thread(self) -> SimulatorHandle:
        """Bind now (so errors surface here) and serve in a daemon thread."""
        self.bind()
        thread = threading.Thread(
            target=self.serve_forever, daemon=True, name=f"switchsim-{self.config.address}"
        )
        thread.start()
        return SimulatorHandle(self, thread)

    def stop(self) -> None:
        """Stop accepting and hang up every open session."""
        self._stop.set()
        with self._transports_lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()

    def _serve_connection(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        transport = paramiko.Transport(conn)
        with self._transports_lock:
            self._transports.add(transport)
        try:
            transport.add_server_key(self._host_key)
            interface = _SshInterface(self.config)
            transport.start_server(server=interface)
            channel = transport.accept(timeout=_HANDSHAKE_TIMEOUT_S)
            if channel is None or not interface.shell_requested.wait(_HANDSHAKE_TIMEOUT_S):
                log.warning("%s: %s:%d opened no shell; closing", self.config.address, *peer)
                return
            try:
                faults = load_faults(self.config.state_dir)
            except ValueError as exc:  # a broken faults.json must be loud, not ignored
                log.error("%s: faults.json is invalid, refusing the session: %s", self.config.address, exc)
                return
            cli = CliSession(self.device, self.config.enable_secret.get_secret_value(), faults)
            log.info("%s: session from %s:%d", self.config.address, *peer)
            TerminalSession(channel, cli, delay_ms=faults.delay_ms).run()
        except (EOFError, OSError, paramiko.SSHException) as exc:
            log.info("%s: session from %s:%d ended: %s", self.config.address, *peer, type(exc).__name__)
        finally:
            transport.close()
            with self._transports_lock:
                self._transports.discard(transport)
