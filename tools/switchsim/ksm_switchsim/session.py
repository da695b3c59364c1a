"""The terminal side of a session: bytes from the SSH channel in, echo and replies out.

Behaves like an IOS vty on a pty: echoes typed characters (Netmiko's ``cmd_verify`` waits for the
echo), ends lines on ``\\r``, ``\\n`` or ``\\r\\n``, handles backspace, Ctrl-C/Ctrl-U (discard the
line) and Ctrl-Z (leave configuration mode), and does not echo passwords.
"""

from __future__ import annotations

import codecs
import logging
import time
from typing import Protocol

from ksm_switchsim.shell import CliSession, Reply

log = logging.getLogger(__name__)

_BACKSPACES = ("\x7f", "\x08")
_DISCARD_LINE = ("\x03", "\x15")  # Ctrl-C, Ctrl-U
_CTRL_Z = "\x1a"


class Channel(Protocol):
    """The part of ``paramiko.Channel`` a session uses (a fake one suffices in unit tests)."""

    def recv(self, nbytes: int) -> bytes: ...

    def sendall(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class TerminalSession:
    def __init__(self, channel: Channel, cli: CliSession, *, delay_ms: int = 0) -> None:
        self._channel = channel
        self._cli = cli
        self._delay = delay_ms / 1000
        self._buffer: list[str] = []
        self._after_cr = False
        self._closed = False

    def run(self) -> None:
        """Serve the session until the client leaves or the CLI hangs up."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._send(self._cli.greeting() + self._cli.prompt)
        while not self._closed:
            data = self._channel.recv(4096)
            if not data:
                break
            self.feed(decoder.decode(data))
        self._channel.close()

    def feed(self, text: str) -> None:
        """Process typed characters (public for tests)."""
        for char in text:
            if self._closed:
                return
            after_cr, self._after_cr = self._after_cr, char == "\r"
            if char == "\n" and after_cr:
                continue  # second half of "\r\n"
            if char in ("\r", "\n"):
                self._end_of_line()
            elif char in _BACKSPACES:
                if self._buffer:
                    self._buffer.pop()
                    self._echo("\b \b")
            elif char in _DISCARD_LINE:
                self._buffer.clear()
                self._send("\n" + self._cli.prompt)
            elif char == _CTRL_Z and self._cli.mode.is_config:
                self._ctrl_z()
            elif char == "\t" or (char < " " and char != "\x1b"):
                continue
            else:
                self._buffer.append(char)
                self._echo(char)

    def _ctrl_z(self) -> None:
        # As on IOS, a line typed before Ctrl-Z still runs, then configuration mode ends.
        line = "".join(self._buffer)
        self._buffer.clear()
        self._send("^Z\n")
        reply = self._cli.handle_line(line) if line.strip() else Reply()
        if not reply.close:
            self._cli.handle_ctrl_z()
        self._respond(reply)

    def _end_of_line(self) -> None:
        line = "".join(self._buffer)
        self._buffer.clear()
        self._send("\n")
        self._respond(self._cli.handle_line(line))

    def _respond(self, reply: Reply) -> None:
        if self._delay:
            time.sleep(self._delay)
        if reply.close:
            self._send(reply.output)
            log.info("session closed by the simulator (logout or injected fault)")
            self._closed = True
            self._channel.close()
            return
        self._send(reply.output + self._cli.prompt)

    def _echo(self, text: str) -> None:
        if self._cli.echo:
            self._send(text)

    def _send(self, text: str) -> None:
        if text:
            self._channel.sendall(text.replace("\n", "\r\n").encode())
