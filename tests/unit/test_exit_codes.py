"""Exit codes that CI can trust: 2 only for "changes pending", 64 for every usage error, 0 for --help.

``plan --detailed-exitcode`` and ``drift`` end in 2 when they find changes (terraform's convention),
so a pipeline allows exactly that code; a broken call (bad option, missing argument or command,
unknown authority) ends in 64 (``EX_USAGE`` of sysexits.h) and fails the job instead of passing for
drift.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from ksm_provision import cli
from ksm_provision.cli import EPILOG, main
from ksm_provision.commands import change
from ksm_provision.errors import (
    EXIT_CHANGES_PENDING,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    KsmError,
    SafetyError,
    UsageError,
)
from ksm_provision.vault import VaultError

REPO = Path(__file__).resolve().parents[2]
SAMPLES = str(REPO / "inventories")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    assert isinstance(code, int), code
    return code, out, err


def test_the_codes_are_the_documented_numbers() -> None:
    """The numbers themselves are the contract with CI files: a changed constant must fail here."""
    assert (EXIT_OK, EXIT_FAILURE, EXIT_CHANGES_PENDING, EXIT_USAGE, EXIT_INTERRUPTED) == (0, 1, 2, 64, 130)


def test_help_and_docstring_list_every_code() -> None:
    for text in (EPILOG, cli.__doc__ or ""):
        listed = {int(code) for code in re.findall(r"^ +(\d+) +\S", text, flags=re.MULTILINE)}
        assert listed == {EXIT_OK, EXIT_FAILURE, EXIT_CHANGES_PENDING, EXIT_USAGE, EXIT_INTERRUPTED}, text


def test_no_error_class_ends_in_the_changes_pending_code() -> None:
    def subclasses(cls: type[KsmError]) -> list[type[KsmError]]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    codes = {cls.__name__: cls.exit_code for cls in subclasses(KsmError)}
    assert EXIT_CHANGES_PENDING not in codes.values(), codes
    assert codes["UsageError"] == codes["VaultError"] == EXIT_USAGE


# --------------------------------------------------------------------------- through the real CLI


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "No such option '--bogus'"),
        (["validate", "--bogus"], "No such option '--bogus'"),
        (["plan", "--only", "printers"], "'printers' is not one of"),
        (["show"], "Missing argument 'PLAN'"),
        (["nonsense"], "No such command 'nonsense'"),
        (["--inventory", SAMPLES, "validate", "--authority", "nowhere"], "unknown authority 'nowhere'"),
        (["--inventory", SAMPLES, "plan", "--authority", "lup", "--all"], "exclude each other"),
    ],
    ids=[
        "bad-option",
        "bad-sub-option",
        "bad-choice",
        "missing-argument",
        "no-such-command",
        "unknown-authority",
        "ksm-usage-error",
    ],
)
def test_usage_errors_exit_64(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == EXIT_USAGE == 64
    assert message in err and out == ""
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [[], ["render"], ["lock"]], ids=["ksm", "ksm-render", "ksm-lock"])
def test_a_missing_command_shows_the_help_as_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``ksm`` alone: the help on stderr (stdout stays clean for pipes) and 64, like any usage error."""
    code, out, err = run(argv, capsys)
    assert code == EXIT_USAGE
    assert out == ""
    assert err.startswith(f"Usage: ksm {' '.join(argv)}".rstrip() + " [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in err


@pytest.mark.parametrize(
    "argv", [["--help"], ["-h"], ["plan", "--help"], ["render", "network", "-h"], ["--version"]]
)
def test_help_and_version_exit_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == EXIT_OK
    assert out and err == ""


def test_the_help_shows_the_codes_without_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--help"], capsys)
    assert "  64   usage error" in out and "  2    changes pending" in out
    assert not re.search(r"[\x00-\x09\x0b-\x1f]", out)  # a "\b" marker of Click shown as text


@dataclass(frozen=True)
class FoundChanges:
    """What ``plan``/``drift`` see from a run that found changes (stands in for ChangeResult)."""

    changes_pending: int = 3
    failed: tuple[str, ...] = ()


@pytest.fixture
def changes_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The change commands' run finds 3 changes; options, scope and exit mapping stay the real ones."""
    monkeypatch.setattr(change, "_run", lambda *_args, **_kwargs: FoundChanges())
    monkeypatch.setattr(change, "_emit", lambda *_args, **_kwargs: None)


@pytest.mark.usefixtures("changes_found")
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["plan", "--all", "--detailed-exitcode"], EXIT_CHANGES_PENDING),
        (["plan", "--all"], EXIT_OK),
        (["drift", "--all"], EXIT_CHANGES_PENDING),
        (["drift", "--authority", "lup", "--json"], EXIT_CHANGES_PENDING),
    ],
)
def test_changes_pending_stays_2(argv: list[str], expected: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--inventory", SAMPLES, *argv], capsys)
    assert code == expected
    assert "Usage:" not in err


# --------------------------------------------------------------------------- main()'s mapping


def raising(exc: BaseException) -> Callable[..., object]:
    def fake_main(*_args: object, **_kwargs: object) -> object:
        raise exc

    return fake_main


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (click.exceptions.Exit(0), EXIT_OK),
        (click.exceptions.Exit(EXIT_CHANGES_PENDING), EXIT_CHANGES_PENDING),
        (click.UsageError("bad"), EXIT_USAGE),
        (click.BadParameter("bad"), EXIT_USAGE),
        (click.ClickException("no"), EXIT_FAILURE),
        (click.Abort(), EXIT_FAILURE),
        (UsageError("unknown authority 'x'"), EXIT_USAGE),
        (VaultError("cannot decrypt"), EXIT_USAGE),
        (SafetyError("lock held"), EXIT_FAILURE),
        (KsmError("failed"), EXIT_FAILURE),
        (FileNotFoundError(2, "No such file", "x.yml"), EXIT_FAILURE),
        (KeyboardInterrupt(), EXIT_INTERRUPTED),
        (RuntimeError("bug"), EXIT_FAILURE),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_main_maps_each_exception_to_its_code(
    exc: BaseException, expected: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KSM_DEBUG", raising=False)
    monkeypatch.setattr(cli.ksm, "main", raising(exc))
    code, _, err = run(["anything"], capsys)
    assert code == expected
    assert "Traceback" not in err


def test_a_command_returning_a_code_exits_with_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without standalone mode Click returns the code of ``Exit`` raised in a command: passed on."""
    monkeypatch.setattr(cli.ksm, "main", lambda *_a, **_k: EXIT_CHANGES_PENDING)
    assert run(["drift"], capsys)[0] == EXIT_CHANGES_PENDING


def test_real_process_usage_error_and_bare_ksm() -> None:
    """As CI runs it: a separate process, the exit status the shell sees."""
    bare = subprocess.run(
        [sys.executable, "-m", "ksm_provision"], capture_output=True, text=True, check=False
    )
    assert bare.returncode == 64 and bare.stdout == "" and "Exit codes:" in bare.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "ksm_provision", "drift", "--al"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 64 and "No such option '--al'" in bad.stderr
