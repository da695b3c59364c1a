"""Netmiko sessions to network devices: where and as whom to connect, and the few things ksm does.

Where and as whom comes from the run's target (:class:`ksm_provision.targets.TargetResolver`):
in production the device's management address, the authority's ``network_settings.username`` and
the password/enable secret from the authority's own vault, host keys checked against the
authority's managed known_hosts; in the lab the stand-in with the lab's generated credentials.
Every address passes :func:`ksm_provision.safety.check_address` again before a socket opens.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ksm_provision.errors import ConnectionFailedError
from ksm_provision.inventory.hosts import Device
from ksm_provision.network.platforms import ERROR_PATTERN, PlatformInfo, platform_info, typed_command
from ksm_provision.safety import check_address
from ksm_provision.targets import DeviceEndpoint

#: Flash file that holds the running config while a push is in progress (IOS rollback point).
ROLLBACK_FILE = "flash:ksm-rollback.cfg"

#: Lines of ``show running-config`` that change without a configuration change.
_VOLATILE = re.compile(
    r"^(Building configuration\.\.\.|Current configuration ?:.*|! Last configuration change.*"
    r"|! NVRAM config last updated.*|ntp clock-period .*)$"
)


class DeviceCommandError(ConnectionFailedError):
    """The device refused or did not complete a command (its output is in the message, redacted)."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``device`` bounds the whole job of one device (checked between its steps)."""

    connect: float = 15.0
    #: Longest wait for one command's answer; also how long a silently dropped session goes unnoticed.
    command: float = 30.0
    device: float = 600.0


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


class DeviceSession:
    """One Netmiko session in privileged mode; use as a context manager."""

    def __init__(self, endpoint: Endpoint, timeouts: Timeouts | None = None) -> None:
        self.endpoint = endpoint
        self.timeouts = timeouts or Timeouts()
        reach = endpoint.reach
        check_address(reach.address, f"SSH session to device {endpoint.hostname}")
        from netmiko import ConnectHandler

        # A dropped session is reported in the device's result; paramiko's own log line is noise.
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)

        params: dict[str, Any] = {
            "device_type": endpoint.info.netmiko_device_type,
            "host": reach.address,
            "port": reach.port,
            "username": reach.username,
            "password": reach.password,
            "secret": reach.enable_secret,
            "conn_timeout": self.timeouts.connect,
            "auth_timeout": self.timeouts.connect,
            "banner_timeout": self.timeouts.connect,
            "read_timeout_override": self.timeouts.command,
            "ssh_strict": reach.check_host_key,
            # with a managed known_hosts only its keys count, not the engineer's own ~/.ssh ones
            "system_host_keys": reach.check_host_key and reach.known_hosts is None,
            "allow_agent": False,
            "use_keys": False,
        }
        if reach.known_hosts is not None:
            params.update(alt_host_keys=True, alt_key_file=str(reach.known_hosts))
        started = time.monotonic()
        try:
            self._conn = ConnectHandler(**params)
            if not self._conn.check_enable_mode():
                self._conn.enable()
        except Exception as exc:
            raise ConnectionFailedError(
                f"cannot open a session to {endpoint.hostname} ({reach.address}:{reach.port}): "
                f"{type(exc).__name__}: {_first_line(exc)}",
                "check that the device is reachable and the credentials in the vault are right",
            ) from None
        self.connect_seconds = time.monotonic() - started

    def __enter__(self) -> DeviceSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the session is gone either way
            self._conn.disconnect()

    @property
    def prompt(self) -> str:
        return str(self._conn.base_prompt)

    def running_config(self) -> str:
        output = self._conn.send_command(
            self.endpoint.info.running_config_command, read_timeout=self.timeouts.command
        )
        text = clean_running(str(output))
        if len(text.strip()) < 2 or "hostname" not in text:
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: `{self.endpoint.info.running_config_command}` returned no "
                "configuration",
                "check the account's privilege level",
            )
        return text

    def send_config(self, commands: list[str]) -> str:
        """Type *commands* in configuration mode; raise on the first line the device refuses."""
        from netmiko.exceptions import ConfigInvalidException

        typed = [typed_command(self.endpoint.info, c) for c in commands]
        try:
            return str(
                self._conn.send_config_set(
                    typed,
                    error_pattern=ERROR_PATTERN,
                    read_timeout=self.timeouts.command,
                    # Wait for each command's echo and prompt (fast and exact); Netmiko would turn
                    # this off for a whole set that contains a banner and then wait 2 s per line.
                    cmd_verify=True,
                    bypass_commands="",
                )
            )
        except ConfigInvalidException as exc:
            raise DeviceCommandError(f"{self.endpoint.hostname} refused a command: {exc}") from None

    def save(self) -> str:
        output = str(
            self._conn.send_command(
                self.endpoint.info.save_command, read_timeout=self.timeouts.command, expect_string=r"#\s*$"
            )
        )
        if "[OK]" not in output:
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: saving the configuration failed: {output.strip()}"
            )
        return output

    def dialogue(self, command: str, answers: tuple[tuple[str, str], ...]) -> str:
        """Run an EXEC command that may ask questions: each (question regex, reply) is answered."""
        conn = self._conn
        # Netmiko keeps only the first 16 characters of a Cisco prompt as base_prompt.
        prompt = re.escape(self.prompt) + r"\S*[>#]\s*$"
        pattern = "|".join([prompt, *(q for q, _ in answers)])
        conn.write_channel(command + conn.RETURN)
        output = ""
        for _ in range(len(answers) + 3):
            chunk = str(conn.read_until_pattern(pattern=pattern, read_timeout=self.timeouts.command))
            output += chunk
            if re.search(prompt, chunk):
                return output
            reply = next((r for q, r in answers if re.search(q, chunk)), None)
            if reply is None:
                break
            conn.write_channel(reply + conn.RETURN)
        raise DeviceCommandError(
            f"{self.endpoint.hostname}: `{command}` did not finish: {output.strip()[-200:]}"
        )

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
            raise DeviceCommandError(f"{self.endpoint.hostname}: backup to {target} failed: {output.strip()}")

    def configure_replace(self, source: str = ROLLBACK_FILE) -> None:
        output = self.dialogue(f"configure replace {source} force", ((r"\? \[no\]:", "y"),))
        if "Rollback Done" not in output:
            raise DeviceCommandError(
                f"{self.endpoint.hostname}: configure replace {source} failed: {output.strip()}"
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no details"
