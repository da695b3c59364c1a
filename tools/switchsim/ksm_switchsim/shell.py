"""The IOS command interpreter of one session: lines in, text out, no sockets.

:class:`CliSession` tracks the mode, routes each line to the EXEC or configuration commands, formats
IOS errors (the ``^`` marker goes under the offending word, counted from the start of the prompt)
and applies the session's :class:`Faults`. The terminal layer (:mod:`session`) feeds it lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ksm_switchsim import grammar as g
from ksm_switchsim import show
from ksm_switchsim.config_commands import (
    INCOMPLETE,
    INVALID_INPUT,
    ConfigContext,
    run_config_line,
)
from ksm_switchsim.device import Device
from ksm_switchsim.exec_commands import (
    PRIV_SPECS,
    USER_SPECS,
    ExecInvocation,
    ExecResult,
    ExecState,
    Question,
)
from ksm_switchsim.faults import FOREIGN_REFUSAL, Faults
from ksm_switchsim.modes import Mode, prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """Text to print before the next prompt (``\\n`` line ends), and whether to hang up after it."""

    output: str = ""
    close: bool = False


def invalid_marker(prompt_text: str, column: int) -> str:
    """IOS's error for a bad word: a ``^`` under it, then the message and a blank line.

    >>> print(invalid_marker("SW1(config)#", 0), end="")
                ^
    % Invalid input detected at '^' marker.
    <BLANKLINE>
    """
    return f"{' ' * (len(prompt_text) + column)}^\n{INVALID_INPUT}\n\n"


class CliSession:
    """One user's CLI on a shared :class:`Device`."""

    def __init__(self, device: Device, enable_secret: str, faults: Faults | None = None) -> None:
        self.device = device
        self.faults = faults or Faults()
        self._exec = ExecState(device, enable_secret)
        self._config: ConfigContext | None = None
        self._question: Question | None = None
        self._config_lines = 0

    @property
    def mode(self) -> Mode:
        return self._config.mode if self._config is not None else self._exec.mode

    @property
    def prompt(self) -> str:
        if self._question is not None:
            return self._question.text
        return prompt(self.device.hostname, self.mode)

    @property
    def echo(self) -> bool:
        """False while a password is being typed."""
        return self._question is None or self._question.echo

    def greeting(self) -> str:
        """What a new session prints before its first prompt: the MOTD banner, if any."""
        with self.device.lock:
            node = self.device.running.root.find_by_key("banner motd")
        if node is None:
            return ""
        return node.text[len("banner motd ^C") : -len("^C")] + "\n"

    def handle_line(self, line: str) -> Reply:
        prompt_before = self.prompt
        if self._question is not None:
            question, self._question = self._question, None
            return self._apply(question.answer(line))
        if self._config is not None:
            return self._config_line(line, prompt_before)
        return self._exec_line(line, prompt_before)

    def handle_ctrl_z(self) -> Reply:
        """Ctrl-Z: leave configuration mode from any sub-mode."""
        if self._config is not None:
            self._leave_config()
        return Reply()

    # --- EXEC ------------------------------------------------------------------------------------

    def _exec_line(self, line: str, prompt_before: str, *, privileged: bool = False) -> Reply:
        command, has_pipe, pipe = line.partition("|")
        tokens = g.tokenize(command)
        if not tokens:
            return Reply()
        specs = PRIV_SPECS if privileged or self._exec.mode is Mode.PRIV_EXEC else USER_SPECS
        result = g.match_command(specs, [t.text for t in tokens])
        if isinstance(result, g.Invalid):
            column = tokens[result.index].column if result.index < len(tokens) else len(command)
            return Reply(invalid_marker(prompt_before, column))
        if isinstance(result, g.Incomplete):
            return Reply(INCOMPLETE + "\n\n")
        if isinstance(result, g.Ambiguous):
            return Reply(f'% Ambiguous command:  "{line.strip()}"\n')
        log.debug("exec: %s", " ".join(result.spec.keywords))
        outcome = result.spec.handler(self._exec, ExecInvocation(result.spec.keywords, result.args))
        if has_pipe:
            filtered = show.apply_pipe(outcome.output, pipe)
            if filtered is None:
                return Reply(invalid_marker(prompt_before, len(command) + 1))
            outcome = ExecResult(filtered, outcome.mode, outcome.question, outcome.close)
        if privileged:  # "do" in configuration mode: no mode changes
            outcome = ExecResult(outcome.output, None, outcome.question, outcome.close)
        return self._apply(outcome)

    def _apply(self, result: ExecResult) -> Reply:
        if result.mode is Mode.CONFIG:
            self._config = ConfigContext(self.device.running)
        elif result.mode is not None:
            self._exec.mode = result.mode
        self._question = result.question
        return Reply(result.output, close=result.close)

    # --- configuration ---------------------------------------------------------------------------

    def _leave_config(self) -> None:
        self._config = None
        self._exec.mode = Mode.PRIV_EXEC

    def _config_line(self, line: str, prompt_before: str) -> Reply:
        assert self._config is not None
        tokens = g.tokenize(line)
        drop_after = self.faults.drop_after_config_lines
        if drop_after is not None and self._config_lines >= drop_after:
            return Reply(close=True)
        # Empty lines (Netmiko sends some to find the prompt) are not configuration lines.
        self._config_lines += 1 if tokens else 0
        hang_up = drop_after is not None and self._config_lines >= drop_after
        if tokens and self.faults.rejects(line.strip()):
            if self.faults.reject_style == "foreign":
                return Reply(FOREIGN_REFUSAL.format(line=line.strip()) + "\n", close=hang_up)
            return Reply(invalid_marker(prompt_before, tokens[0].column), close=hang_up)
        with self.device.lock:
            result = run_config_line(self._config, line)
        if tokens:
            log.debug("config %s: %s (%s)", self._config.mode.name, tokens[0].text,
                      "failed" if result.failed else "ok")  # fmt: skip
        if result.error_column is not None:
            output = invalid_marker(prompt_before, result.error_column)
        else:
            # IOS follows its "% ..." errors with an empty line, as it does "% Invalid input"
            blank = "\n" if result.output == INCOMPLETE else ""
            output = result.output + "\n" + blank if result.output else ""
        do_command, self._config.do_command = self._config.do_command, None
        if self._config.mode is Mode.PRIV_EXEC:
            self._leave_config()
        if do_command:
            output += self._exec_line(do_command, prompt_before, privileged=True).output
        return Reply(output, close=hang_up)
