"""The one exception hierarchy of ksm.

Every message says what is wrong, where (``FILE:LINE`` when it comes from an inventory) and how to
fix it. The CLI maps these to exit codes; nothing else may escape to the user as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1
#: ``plan --detailed-exitcode`` and ``drift``: the run worked and found changes pending (terraform's
#: ``-detailed-exitcode`` convention). Nothing else ends in 2, so CI may allow exactly this code.
EXIT_CHANGES_PENDING = 2
#: The command line was wrong (bad option, missing argument or subcommand, unknown authority):
#: ``EX_USAGE`` of sysexits.h, apart from 2 so that a broken call never passes for "changes pending".
EXIT_USAGE = 64
#: Interrupted by Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about an input file: ``FILE:LINE: message — hint``.

    *involves* names the authorities a conflict across authorities concerns besides the one whose
    file it is reported in (e.g. both owners of a duplicated host name), so that a validation scoped
    to one authority still shows it. It is not part of the text, nor of equality and order.
    """

    file: str
    line: int
    message: str
    hint: str = ""
    involves: frozenset[str] = field(default=frozenset(), compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" + (f" — {self.hint}" if self.hint else "")

    def as_dict(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "message": self.message, "hint": self.hint}


class KsmError(Exception):
    """Root of every error ksm reports to a user."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f" — {self.hint}" if self.hint else "")


class UsageError(KsmError):
    """The command line asks for something impossible (unknown authority, missing scope...)."""

    exit_code = EXIT_USAGE


class InventoryError(KsmError):
    """One or more problems in the inventory files; all of them, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{len(self.problems)} {noun} in the inventory")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class SafetyError(KsmError):
    """A guard refused an action (lab-only mode, tenant scope, stale plan, lock held)."""


class LabError(KsmError):
    """The lab twin could not be built, repaired or torn down."""


class ConnectionFailedError(KsmError):
    """A host or device could not be reached or refused the session."""


def relative_path(path: Path | str) -> str:
    """Show *path* relative to the working directory when it lies below it (shorter messages)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # elsewhere, or a symlink loop (RuntimeError on 3.11)
        return str(p)


def with_article(word: str) -> str:
    """*word* with its indefinite article, for messages.

    >>> with_article("access_switch"), with_article("router"), with_article("FRR router")
    ('an access_switch', 'a router', 'an FRR router')
    """
    first = word[:1]
    vowel = first.lower() in "aeiou" or (first in "FHLMNRSX" and word[1:2].isupper())
    return f"{'an' if vowel and first else 'a'} {word}"
