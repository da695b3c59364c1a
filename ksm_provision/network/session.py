"""Netmiko sessions to network devices: where and as whom to connect, and the few things ksm does.

Where and as whom comes from the run's target (:class:`ksm_provision.targets.TargetResolver`):
in production the device's ``connection:`` (address or DNS name, port, jump host, timeouts; default
its management address on port 22), the authority's ``network_settings.username`` and the password
/ enable secret from the authority's own vault, host keys (the jump host's too) checked against the
authority's managed known_hosts; in the lab the stand-in with the lab's generated credentials.
Every address passes :func:`ksm_provision.safety.check_address` again before a socket opens.

ksm opens the TCP connection itself (directly, or as a ``direct-tcpip`` channel through the jump
host) so that it can turn on TCP keepalive (probes and ``TCP_USER_TIMEOUT`` from
``Timeouts.keepalive``) next to SSH keepalives: a device that vanishes is noticed within about two
keepalive intervals, one that closes the session at once; never only at the command timeout.

Configuration commands are typed one at a time; after each one ksm reads its echo and the next
prompt, and stops AT the first command the device refuses (:func:`~.platforms.refusal`) or after
which it is no longer in configuration mode. :attr:`DeviceSession.sent` lists exactly what was typed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import time
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from ksm_provision.errors import ConnectionFailedError
from ksm_provision.hostkeys import open_jump, tcp_connection
from ksm_provision.inventory.hosts import Device
from ksm_provision.network.platforms import PlatformInfo, platform_info, refusal, typed_command
from ksm_provision.safety import check_address
from ksm_provision.targets import DeviceEndpoint

#: Flash file that holds the running config while a push is in progress (IOS rollback point).
ROLLBACK_FILE = "flash:ksm-rollback.cfg"

#: Lines of ``show running-config`` that change without a configuration change.
_VOLATILE = re.compile(
    r"^(Building configuration\.\.\.|Current configuration ?:.*|! Last configuration change.*"
    r"|! NVRAM config last updated.*|ntp clock-period .*)$"
)
#: Any prompt at the very end of the output (the hostname may change during a push).
_ANY_PROMPT = re.compile(r"(?:^|[\r\n])([^\s>#]+)([>#])[ \t]*$")
#: A privileged EXEC prompt (any hostname) at the very end of the output.
_EXEC_PROMPT = re.compile(r"(?:^|[\r\n])([^\s>#(]+)#[ \t]*$")
_CONFIG_MODE = re.compile(r"\(config[^)]*\)$")
_FREE = re.compile(r"\((\d+) bytes free\)")
#: How often the session is polled for output and liveness while waiting.
_POLL_SECONDS = 0.01


class DeviceCommandError(ConnectionFailedError):
    """The device refused or did not complete a command (its output is in the message, redacted)."""


class DeviceRefusedError(DeviceCommandError):
    """The device refused a configuration command; nothing after it was sent."""


class SessionLostError(DeviceCommandError):
    """The session died: closed by the device, a transport error, or no keepalive answer."""


class CommandTimeoutError(DeviceCommandError):
    """No complete reply within the command timeout while the session itself was alive."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``device`` bounds the whole job of one device (checked between its steps).

    A device's ``connection.timeouts`` in the inventory override ``connect``, ``command`` and
    ``keepalive`` for that device (:meth:`for_device`).
    """

    connect: float = 15.0
    #: Longest wait for one command's complete reply (from a session that is alive).
    command: float = 30.0
    #: SSH and TCP keepalive interval: a vanished device is noticed within about twice this.
    keepalive: float = 5.0
    device: float = 600.0

    def for_device(self, reach: DeviceEndpoint) -> Timeouts:
        """These timeouts with the device's own values (its inventory entry) where it has them."""
        own = reach.timeouts
        return replace(
            self,
            connect=own.connect or self.connect,
            command=own.command or self.command,
            keepalive=own.keepalive or self.keepalive,
        )


@dataclass(frozen=True)
class Endpoint:
    """A device's session endpoint: the device, its platform, and how its target reaches it."""

    hostname: str
    authority: str
    info: PlatformInfo
    reach: DeviceEndpoint

    @classmethod
    def of(cls, device: Device, reach: DeviceEndpoint) -> Endpoint:
        """The session endpoint of *device*, reached as its target resolved it (*reach*)."""
        return cls(device.hostname, device.authority, platform_info(device.model.platform), reach)

    @property
    def where(self) -> str:
        """``address:port``, and the jump host if there is one (for messages)."""
        reach = self.reach
        jump = reach.jump
        via = f" via jump host {jump.user}@{jump.address}:{jump.port}" if jump else ""
        return f"{reach.address}:{reach.port}{via}"


def describe(exc: BaseException) -> str:
    """*exc* in full (every line, blank ones dropped), with its type unless it is one of ksm's.

    >>> describe(OSError("Server 'x' not found in known_hosts\\n\\nCommon causes: ..."))
    "OSError: Server 'x' not found in known_hosts\\nCommon causes: ..."
    """
    lines = [line.rstrip() for line in str(exc).strip().splitlines() if line.strip()]
    text = "\n".join(lines) or type(exc).__name__
    if type(exc).__module__.startswith("ksm_provision"):
        return text
    return f"{type(exc).__name__}: {text}"


def _tcp(address: str, port: int, timeouts: Timeouts) -> socket.socket:
    return tcp_connection(address, port, timeouts.connect, timeouts.keepalive)


def clean_running(text: str) -> str:
    """``show running-config`` without the lines that change on their own; ``\\n`` line ends.

    >>> clean_running("Building configuration...\\n\\nCurrent configuration : 9 bytes\\n!\\nhostname a\\n")
    '!\\nhostname a\\n'
    """
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    kept = [line for line in lines if not _VOLATILE.match(line)]
    while kept and not kept[0]:
        kept.pop(0)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept) + "\n"


def _reply(output: str, echo: str) -> tuple[str, str]:
    """(what the device printed after the echo of *echo*, the prompt it ended with) of one command."""
    text = output.replace("\r\n", "\n").replace("\r", "\n")
    position = text.find(echo.strip())
    after = text[position + len(echo.strip()) :] if position >= 0 else text
    match = _ANY_PROMPT.search(after)
    body = after[: match.start()] if match else after
    prompt = match.group(1) + match.group(2) if match else ""
    return body.strip("\n"), prompt


class DeviceSession:
    """One Netmiko session in privileged mode; use as a context manager."""

    def __init__(self, endpoint: Endpoint, timeouts: Timeouts | None = None) -> None:
        self.endpoint = endpoint
        reach = endpoint.reach
        self.timeouts = (timeouts or Timeouts()).for_device(reach)
        #: Configuration commands typed in this session, in order, as ksm planned them (unredacted).
        self.sent: list[str] = []
        for address in reach.addresses():
            check_address(address, f"SSH session to device {endpoint.hostname}")
        # A dropped session is reported in the device's result; paramiko's own log line is noise.
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
        self._jump: Any = None
        started = time.monotonic()
        try:
            self._conn = self._connect()
            if not self._conn.check_enable_mode():
                self._conn.enable()
        except Exception as exc:
            self.close()
            raise ConnectionFailedError(
                f"cannot open a session to {endpoint.hostname} ({endpoint.where}): {describe(exc)}",
                _connect_hint(exc),
            ) from None
        self.connect_seconds = time.monotonic() - started

    def _connect(self) -> Any:
        from netmiko import ConnectHandler

        reach, timeouts = self.endpoint.reach, self.timeouts
        if reach.jump is not None:
            self._jump, sock = open_jump(
                reach.jump, reach.address, reach.port, timeouts.connect, timeouts.keepalive
            )
        else:
            sock = _tcp(reach.address, reach.port, timeouts)
        params: dict[str, Any] = {
            "device_type": self.endpoint.info.netmiko_device_type,
            "host": reach.address,
            "port": reach.port,
            "username": reach.username,
            "password": reach.password,
            "secret": reach.enable_secret,
            "sock": sock,
            "keepalive": max(1, int(timeouts.keepalive)),
            "conn_timeout": timeouts.connect,
            "auth_timeout": timeouts.connect,
            "banner_timeout": timeouts.connect,
            "read_timeout_override": timeouts.command,
            "ssh_strict": reach.check_host_key,
            # with a managed known_hosts only its keys count, not the engineer's own ~/.ssh ones
            "system_host_keys": reach.check_host_key and reach.known_hosts is None,
            "allow_agent": False,
            "use_keys": False,
        }
        if reach.known_hosts is not None:
            params.update(alt_host_keys=True, alt_key_file=str(reach.known_hosts))
        return ConnectHandler(**params)

    def __enter__(self) -> DeviceSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the session is gone either way
            conn = getattr(self, "_conn", None)
            if conn is not None and self.alive():
                conn.disconnect()
            elif conn is not None:
                conn.remote_conn_pre.close()
        if self._jump is not None:
            with contextlib.suppress(Exception):
                self._jump.close()

    @property
    def prompt(self) -> str:
        return str(self._conn.base_prompt)

    # --- reading ----------------------------------------------------------------------------

    def alive(self) -> bool:
        """Whether the SSH channel is still open (not closed, no EOF, transport active)."""
        channel = getattr(self._conn, "remote_conn", None)
        if channel is None:
            return False
        transport = channel.get_transport() if hasattr(channel, "get_transport") else None
        return not (channel.closed or channel.eof_received or transport is None or not transport.is_active())

    def _lost(self, waiting_for: str, output: str, cause: BaseException | None = None) -> SessionLostError:
        said = output.strip()[-400:]
        detail = f": {describe(cause)}" if cause is not None else ""
        return SessionLostError(
            f"{self.endpoint.hostname}: the session ended while waiting for {waiting_for}{detail}"
            + (f"; the device's last words: {said!r}" if said else ""),
            "the device may have applied part of the change",
        )

    def read_until(
        self, pattern: re.Pattern[str], waiting_for: str, *, start: int = 0, output: str = ""
    ) -> str:
        """*output* plus what the device sends until *pattern* matches from *start* on.

        Fails fast on a dead session: :class:`SessionLostError` as soon as the session closes or
        its transport fails (TCP or SSH keepalive); :class:`CommandTimeoutError` when a living
        session stays silent for the command timeout.
        """
        deadline = time.monotonic() + self.timeouts.command
        while not pattern.search(output, start):
            try:
                chunk = str(self._conn.read_channel())
            except Exception as exc:
                raise self._lost(waiting_for, output, exc) from None
            if chunk:
                output += chunk
                deadline = time.monotonic() + self.timeouts.command
                continue
            if not self.alive():
                raise self._lost(waiting_for, output)
            if time.monotonic() > deadline:
                raise CommandTimeoutError(
                    f"{self.endpoint.hostname}: no reply for {self.timeouts.command:g} s while waiting for "
                    f"{waiting_for}; last output: {output.strip()[-400:]!r}",
                    "raise connection.timeouts.command for this device if it is just slow",
                )
            time.sleep(_POLL_SECONDS)
        return output

    def _write(self, line: str, waiting_for: str) -> None:
        try:
            self._conn.write_channel(line + self._conn.RETURN)
        except Exception as exc:
            raise self._lost(waiting_for, "", exc) from None

    def _typed(self, line: str, prompt: re.Pattern[str], *, record: bool = False) -> str:
        """Type *line*; return the output up to the prompt that follows its echo."""
        self._write(line, f"the reply to `{line}`")
        if record:
            self.sent.append(line)
        echo = line.strip()
        output = self.read_until(re.compile(re.escape(echo)), f"the echo of `{line}`")
        start = output.find(echo) + len(echo)
        return self.read_until(prompt, f"the reply to `{line}`", start=start, output=output)

    def _exec_prompt(self) -> re.Pattern[str]:
        return re.compile(re.escape(self.prompt) + r"[^\s>#]*#[ \t]*$")

    def exec_command(self, command: str) -> str:
        """Run an EXEC command; its output without echo and prompt."""
        output = self._typed(command, self._exec_prompt())
        body, _ = _reply(output, command)
        return body

    # --- what ksm does ------------------------------------------------------------------------

    def running_config(self) -> str:
        command = self.endpoint.info.running_config_command
        text = clean_running(self.exec_command(command))
        if len(text.strip()) < 2 or "hostname" not in text:
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: `{command}` returned no configuration: {text.strip()[:400]!r}",
                "check the account's privilege level (privilege 15 or the enable secret)",
            )
        return text

    def free_flash(self) -> int | None:
        """Free bytes in ``flash:`` (``dir flash:``), None when the device does not say."""
        match = _FREE.search(self.exec_command("dir flash:"))
        return int(match.group(1)) if match else None

    def send_config(self, commands: list[str]) -> str:
        """Type *commands* in configuration mode one at a time; stop AT the first one refused.

        Every command typed is appended to :attr:`sent` once it is written, whatever follows. A
        refusal raises :class:`DeviceRefusedError` with the device's words; leaving configuration
        mode unexpectedly (e.g. an ``exit`` one level too far) raises :class:`DeviceCommandError`.
        """
        typed = [typed_command(self.endpoint.info, c) for c in commands]
        output = self._enter_config()
        for command, line in zip(commands, typed, strict=True):
            answer = self._typed(line, _ANY_PROMPT, record=True)
            self.sent[-1] = command
            output += answer
            body, prompt = _reply(answer, line)
            refused = refusal(body)
            if refused is not None:
                raise DeviceRefusedError(
                    f"{self.endpoint.hostname} refused a command: `{line}`: {refused}",
                    f"nothing after it was sent ({len(self.sent)} of {len(commands)} command(s) typed)",
                )
            if not _CONFIG_MODE.search(prompt[:-1]):
                raise DeviceCommandError(
                    f"{self.endpoint.hostname} left configuration mode after `{line}` (prompt {prompt!r}); "
                    f"the device said: {body.strip()!r}",
                    "nothing after it was sent",
                )
        return output + self._leave_config()

    def _enter_config(self) -> str:
        command = "configure terminal"
        output = self._typed(command, re.compile(r"\(config[^)]*\)#[ \t]*$"))
        _, prompt = _reply(output, command)
        if not _CONFIG_MODE.search(prompt[:-1]):
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: `configure terminal` did not enter configuration mode: "
                f"{output.strip()[-400:]!r}",
                "check the account's privilege level",
            )
        return output

    def _leave_config(self) -> str:
        output = self._typed("end", _EXEC_PROMPT)
        _, prompt = _reply(output, "end")
        if prompt:  # the hostname may have changed: Netmiko keeps the first 16 characters
            self._conn.base_prompt = prompt[:-1][:16]
        return output

    def save(self) -> str:
        command = self.endpoint.info.save_command
        output = self.exec_command(command)
        if "[OK]" not in output:
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: saving the configuration failed: {output.strip()}"
            )
        return output

    def dialogue(self, command: str, answers: tuple[tuple[str, str], ...]) -> str:
        """Run an EXEC command that may ask questions: each (question regex, reply) is answered.

        Any privileged prompt ends it: ``configure replace`` may change the hostname.
        """
        prompt = _EXEC_PROMPT
        pattern = re.compile("|".join([prompt.pattern, *(q for q, _ in answers)]))
        self._write(command, f"the reply to `{command}`")
        output = ""
        for _ in range(len(answers) + 3):
            chunk = self.read_until(pattern, f"the reply to `{command}`")
            output += chunk
            found = prompt.search(chunk)
            if found:
                self._conn.base_prompt = found.group(1)[:16]
                return output
            reply = next((r for q, r in answers if re.search(q, chunk)), None)
            if reply is None:
                break
            self._write(reply, f"the reply to `{command}`")
        raise DeviceCommandError(f"{self.endpoint.hostname}: `{command}` did not finish: {output.strip()}")

    def copy_running_to_flash(self, target: str = ROLLBACK_FILE) -> None:
        output = self.dialogue(
            f"copy running-config {target}",
            (
                (r"Destination filename \[[^\]]*\]\?", ""),
                (r"over ?write\? ?\[confirm\]", "y"),
                (r"\[confirm\]", ""),
            ),
        )
        if "bytes copied" not in output:
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: backup to {target} failed: {output.strip()}",
                "free space in flash:, or set `connection: {rollback: remediation}` for this device",
            )

    def configure_replace(self, source: str = ROLLBACK_FILE) -> None:
        output = self.dialogue(f"configure replace {source} force", ((r"\? \[no\]:", "y"),))
        if "Rollback Done" not in output:
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: configure replace {source} failed: {output.strip()}"
            )


def _connect_hint(exc: BaseException) -> str:
    text = str(exc)
    if "known_hosts" in text or "does not match" in text:
        return (
            "the host key is unknown or changed: check it out of band, then run `ksm hostkeys scan` "
            "for the device's authority and review the diff before committing"
        )
    return "check that the device is reachable (port, jump host) and the credentials in the vault are right"
