"""EXEC-mode commands (``show``, ``copy``, ``write``, ``configure``, ...) and their dialogues.

A command either answers at once or asks a :class:`Question` (``Destination filename [x]?``,
``Password:``); the session sends the next typed line to the question's ``answer``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ksm_switchsim import grammar as g
from ksm_switchsim import show
from ksm_switchsim.device import Device
from ksm_switchsim.modes import Mode
from ksm_switchsim.storage import FlashNameError, write_atomically

CONFIG_BANNER: Final = "Enter configuration commands, one per line.  End with CNTL/Z."
_REPLACE_WARNING: Final = (
    "This will apply all necessary additions and deletions\n"
    "to replace the current running configuration with the\n"
    "contents of the specified configuration file, which is\n"
    "assumed to be a complete configuration, not a partial\n"
    "configuration. Enter Y if you are sure you want to proceed. ? [no]: "
)


@dataclass(frozen=True)
class Question:
    """A prompt the next typed line answers; ``echo=False`` for passwords."""

    text: str
    answer: Callable[[str], ExecResult]
    echo: bool = True


@dataclass(frozen=True)
class ExecResult:
    output: str = ""
    mode: Mode | None = None
    question: Question | None = None
    close: bool = False


@dataclass
class ExecState:
    """Per-session EXEC state."""

    device: Device
    enable_secret: str = field(repr=False)
    mode: Mode = Mode.USER_EXEC
    terminal_length: int = 24
    terminal_width: int = 80


@dataclass(frozen=True)
class ExecInvocation:
    keywords: tuple[str, ...]
    args: tuple[str, ...]


ExecHandler = Callable[[ExecState, ExecInvocation], ExecResult]
ExecSpec = g.CommandSpec[ExecHandler]


# --- locations: running-config, startup-config, flash:NAME ----------------------------------------


@dataclass(frozen=True)
class Location:
    kind: str  # "running" | "startup" | "flash"
    name: str = ""

    def __str__(self) -> str:
        return {"running": "running-config", "startup": "startup-config"}.get(self.kind, f"flash:{self.name}")


def parse_location(word: str) -> Location | None:
    """``run``/``running-config``/``system:running-config``, ``start``/``nvram:startup-config``,
    ``flash:NAME`` (also ``flash:/NAME``)."""
    lowered = word.lower()
    for prefix, kind in (("system:", "running"), ("nvram:", "startup")):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :]
            wanted = "running-config" if kind == "running" else "startup-config"
            return Location(kind) if lowered == wanted else None
    if len(lowered) >= 2 and "running-config".startswith(lowered):
        return Location("running")
    if len(lowered) >= 3 and "startup-config".startswith(lowered):
        return Location("startup")
    if lowered.startswith("flash:"):
        return Location("flash", word[len("flash:") :].lstrip("/"))
    return None


def _read(state: ExecState, location: Location) -> str | None:
    if location.kind == "running":
        with state.device.lock:
            return state.device.running.render()
    if location.kind == "startup":
        return state.device.store.read_startup_config()
    path = state.device.store.flash_path(location.name)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _copied(size: int) -> str:
    return f"{size} bytes copied in 0.012 secs ({size * 83} bytes/sec)\n"


# --- handlers ------------------------------------------------------------------------------------


def _enable(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    if state.mode is Mode.PRIV_EXEC:
        return ExecResult()

    def attempt(tries_left: int) -> Question:
        def answer(typed: str) -> ExecResult:
            if hmac.compare_digest(typed.encode(), state.enable_secret.encode()):
                state.mode = Mode.PRIV_EXEC
                return ExecResult(mode=Mode.PRIV_EXEC)
            if tries_left > 1:
                return ExecResult(question=attempt(tries_left - 1))
            return ExecResult(output="% Bad secrets\n")

        return Question("Password: ", answer, echo=False)

    return ExecResult(question=attempt(3))


def _disable(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    state.mode = Mode.USER_EXEC
    return ExecResult(mode=Mode.USER_EXEC)


def _logout(_state: ExecState, _inv: ExecInvocation) -> ExecResult:
    return ExecResult(close=True)


def _terminal_length(state: ExecState, inv: ExecInvocation) -> ExecResult:
    # Stored only: the simulator never pages, as if "terminal length 0" were always set.
    state.terminal_length = int(inv.args[0])
    return ExecResult()


def _terminal_width(state: ExecState, inv: ExecInvocation) -> ExecResult:
    state.terminal_width = int(inv.args[0])
    return ExecResult()


def _configure_terminal(_state: ExecState, _inv: ExecInvocation) -> ExecResult:
    return ExecResult(output=CONFIG_BANNER + "\n", mode=Mode.CONFIG)


def _configure_replace(state: ExecState, inv: ExecInvocation) -> ExecResult:
    location = parse_location(inv.args[0])
    if location is None or location.kind == "running":
        return ExecResult(output=f"%Error opening {inv.args[0]} (Invalid argument)\n")

    def run() -> ExecResult:
        try:
            text = _read(state, location)
        except FlashNameError:
            text = None
        if text is None:
            return ExecResult(output=f"%Error opening {location} (No such file or directory)\n")
        result = state.device.replace(text)
        if not result.ok:
            failed = "\n".join(result.failed_lines)
            return ExecResult(
                output="The following commands are failed to apply to the IOS image.\n"
                f"********\n{failed}\n********\n%Rollback not successful, running-config unchanged\n"
            )
        return ExecResult(output="Total number of passes: 1\nRollback Done\n")

    if len(inv.args) > 1:  # "force"
        return run()

    def confirm(typed: str) -> ExecResult:
        return run() if typed.strip().lower() in ("y", "yes") else ExecResult()

    return ExecResult(question=Question(_REPLACE_WARNING, confirm))


def _write_memory(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    state.device.save()
    return ExecResult(output="Building configuration...\n[OK]\n")


def _copy(state: ExecState, inv: ExecInvocation) -> ExecResult:
    source, destination = parse_location(inv.args[0]), parse_location(inv.args[1])
    if source is None:
        return ExecResult(output=f"%Error parsing {inv.args[0]} (Invalid argument)\n")
    if destination is None or source == destination:
        return ExecResult(output=f"%Error parsing {inv.args[1]} (Invalid argument)\n")
    if destination.kind == "flash" and destination.name:
        try:
            state.device.store.flash_path(destination.name)
        except FlashNameError:
            return ExecResult(output=f"%Error opening {destination} (Invalid argument)\n")
    default_name = destination.name if destination.kind == "flash" else str(destination)

    def answer(typed: str) -> ExecResult:
        name = typed.strip().removeprefix("flash:").lstrip("/") or default_name
        target = Location("flash", name) if destination.kind == "flash" else destination
        if target.kind == "flash":
            try:
                exists = state.device.store.flash_path(target.name).exists()
            except FlashNameError:
                return ExecResult(output=f"%Error opening flash:{target.name} (Invalid argument)\n")
            if exists:
                return ExecResult(
                    output="%Warning:There is a file already existing with this name\n",
                    question=Question(
                        "Do you want to over write? [confirm]",
                        lambda yes: (
                            _do_copy(state, source, target)
                            if yes.strip().lower() in ("", "y", "yes")
                            else ExecResult(output="%Error copying (Operation aborted)\n")
                        ),
                    ),
                )
        return _do_copy(state, source, target)

    return ExecResult(question=Question(f"Destination filename [{default_name}]? ", answer))


def _do_copy(state: ExecState, source: Location, target: Location) -> ExecResult:
    try:
        text = _read(state, source)
    except FlashNameError:
        text = None
    if text is None:
        return ExecResult(output=f"%Error opening {source} (No such file or directory)\n")
    if target.kind == "startup":
        if source.kind == "running":
            state.device.save()
            return ExecResult(output="Building configuration...\n[OK]\n")
        state.device.store.write_startup_config(text)
        return ExecResult(output=_copied(len(text.encode())))
    if target.kind == "running":
        failed = state.device.merge(text)
        errors = "".join(f"% Invalid input: {line.strip()}\n" for line in failed)
        return ExecResult(output=errors + _copied(len(text.encode())))
    if source.kind == "running":
        size = state.device.copy_running_to_flash(target.name)
    else:
        write_atomically(state.device.store.flash_path(target.name), text)
        size = len(text.encode())
    return ExecResult(output=_copied(size))


def _show_running(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    with state.device.lock:
        return ExecResult(output=state.device.running.render_running())


def _show_startup(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    text = state.device.store.read_startup_config()
    if text is None:
        return ExecResult(output="startup-config is not present\n")
    return ExecResult(output=f"Using {len(text.encode())} out of 524288 bytes\n{text}")


def _show_version(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    return ExecResult(output=show.show_version(state.device.hostname, state.device.uptime_seconds()))


def _show_vlan(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    with state.device.lock:
        return ExecResult(output=show.show_vlan_brief(state.device.running, state.terminal_width))


def _show_interfaces_status(state: ExecState, _inv: ExecInvocation) -> ExecResult:
    with state.device.lock:
        return ExecResult(output=show.show_interfaces_status(state.device.running))


def _show_snmp_user(state: ExecState, inv: ExecInvocation) -> ExecResult:
    with state.device.lock:
        users = list(state.device.running.snmp_users.values())
    return ExecResult(output=show.show_snmp_user(users, inv.args[0] if inv.args else None))


def _dir(state: ExecState, inv: ExecInvocation) -> ExecResult:
    if inv.args and inv.args[0].lower().rstrip("/") not in ("flash:", "flash:/"):
        return ExecResult(output=f"%Error opening {inv.args[0]} (No such device)\n")
    return ExecResult(output=show.show_dir(state.device.store.flash_files()))


def _more(state: ExecState, inv: ExecInvocation) -> ExecResult:
    location = parse_location(inv.args[0])
    try:
        text = _read(state, location) if location else None
    except FlashNameError:
        text = None
    if text is None:
        return ExecResult(output=f"%Error opening {inv.args[0]} (No such file or directory)\n")
    return ExecResult(output=text)


def _delete(state: ExecState, inv: ExecInvocation) -> ExecResult:
    force = inv.args[0].lower() == "/force"
    words = inv.args[1:] if force else inv.args
    if len(words) != 1:
        return ExecResult(output="% Incomplete command.\n")
    location = parse_location(words[0])
    if location is None or location.kind != "flash":
        return ExecResult(output=f"%Error deleting {words[0]} (Invalid argument)\n")

    def remove() -> ExecResult:
        try:
            path = state.device.store.flash_path(location.name)
        except FlashNameError:
            return ExecResult(output=f"%Error deleting {location} (Invalid argument)\n")
        if not path.is_file():
            return ExecResult(output=f"%Error deleting {location} (No such file or directory)\n")
        path.unlink()
        return ExecResult()

    if force:
        return remove()
    return ExecResult(
        question=Question(
            f"Delete filename [{location.name}]? ",
            lambda _name: ExecResult(
                question=Question(
                    f"Delete flash:/{location.name}? [confirm]",
                    lambda yes: remove() if yes.strip().lower() in ("", "y", "yes") else ExecResult(),
                )
            ),
        )
    )


# --- command tables ------------------------------------------------------------------------------


def _spec(keywords: str, args: g.ArgCheck, handler: ExecHandler) -> ExecSpec:
    return g.CommandSpec(tuple(keywords.split()), args, handler)


_ANY_EXEC: Final[tuple[ExecSpec, ...]] = (
    _spec("enable", g.no_args, _enable),
    _spec("exit", g.no_args, _logout),
    _spec("logout", g.no_args, _logout),
    _spec("quit", g.no_args, _logout),
    _spec("terminal length", g.positional(g.int_between(0, 512)), _terminal_length),
    _spec("terminal width", g.positional(g.int_between(0, 512)), _terminal_width),
    _spec("show version", g.no_args, _show_version),
    _spec("show vlan", g.no_args, _show_vlan),
    _spec("show vlan brief", g.no_args, _show_vlan),
    _spec("show interfaces status", g.no_args, _show_interfaces_status),
)

USER_SPECS: Final[tuple[ExecSpec, ...]] = _ANY_EXEC

PRIV_SPECS: Final[tuple[ExecSpec, ...]] = (
    *_ANY_EXEC,
    _spec("disable", g.no_args, _disable),
    _spec("configure terminal", g.no_args, _configure_terminal),
    _spec("configure replace", g.positional(g.any_word, g.one_of("force"), optional=1), _configure_replace),
    _spec("write memory", g.no_args, _write_memory),
    _spec("write", g.no_args, _write_memory),
    _spec("copy", g.positional(g.any_word, g.any_word), _copy),
    _spec("show running-config", g.no_args, _show_running),
    _spec("show snmp user", g.positional(g.any_word, optional=1), _show_snmp_user),
    _spec("show startup-config", g.no_args, _show_startup),
    _spec("dir", g.positional(g.any_word, optional=1), _dir),
    _spec("more", g.positional(g.any_word), _more),
    _spec("delete", g.positional(g.any_word, g.any_word, optional=1), _delete),
)
