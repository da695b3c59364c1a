"""Command-line grammar: tokens, keyword abbreviation, argument checks, IOS value normalisation.

Commands are declared as keyword tuples plus an argument check. Matching follows IOS: every keyword
may be abbreviated to any unique prefix (``conf t``, ``sh run``), and a failure reports the index
of the first token that did not fit, so the CLI can put the ``^`` marker under it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

H = TypeVar("H")


@dataclass(frozen=True)
class Token:
    text: str
    column: int


def tokenize(line: str) -> list[Token]:
    """Split a command line into words, remembering where each starts.

    >>> [(t.text, t.column) for t in tokenize("  vlan  10")]
    [('vlan', 2), ('10', 8)]
    """
    return [Token(m.group(), m.start()) for m in re.finditer(r"\S+", line)]


# --- argument checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadArg:
    """The argument at ``index`` is invalid."""

    index: int


@dataclass(frozen=True)
class MissingArg:
    """The command needs more arguments ("% Incomplete command.")."""


ArgProblem = BadArg | MissingArg
ArgCheck = Callable[[Sequence[str]], ArgProblem | None]
Predicate = Callable[[str], bool]


def no_args(args: Sequence[str]) -> ArgProblem | None:
    return BadArg(0) if args else None


def positional(*predicates: Predicate, optional: int = 0, rest: bool = False) -> ArgCheck:
    """Arguments checked one by one; the last ``optional`` may be omitted; ``rest`` allows more."""
    required = len(predicates) - optional

    def check(args: Sequence[str]) -> ArgProblem | None:
        for index, predicate in enumerate(predicates):
            if index >= len(args):
                return MissingArg() if index < required else None
            if not predicate(args[index]):
                return BadArg(index)
        if len(args) > len(predicates) and not rest:
            return BadArg(len(predicates))
        return None

    return check


def free_text(min_words: int = 1) -> ArgCheck:
    def check(args: Sequence[str]) -> ArgProblem | None:
        return MissingArg() if len(args) < min_words else None

    return check


def any_word(_word: str) -> bool:
    return True


def int_between(low: int, high: int) -> Predicate:
    def check(word: str) -> bool:
        return word.isdigit() and low <= int(word) <= high

    return check


def one_of(*words: str) -> Predicate:
    allowed = frozenset(words)
    return allowed.__contains__


def is_ipv4(word: str) -> bool:
    try:
        ipaddress.IPv4Address(word)
    except ValueError:
        return False
    return True


def is_netmask(word: str) -> bool:
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{word}")
    except ValueError:
        return False
    return True


def is_vlan_id(word: str) -> bool:
    return word.isdigit() and 1 <= int(word) <= 4094


def is_vlan_list(word: str) -> bool:
    try:
        return bool(vlan_list_to_ids(word))
    except ValueError:
        return False


# --- VLAN lists ----------------------------------------------------------------------------------


def vlan_list_to_ids(text: str) -> list[int]:
    """Expand an IOS VLAN list; raises ValueError on anything else.

    >>> vlan_list_to_ids("30-32,10,20")
    [10, 20, 30, 31, 32]
    """
    ids: set[int] = set()
    for part in text.split(","):
        low_text, _, high_text = part.partition("-")
        if not low_text.isdigit() or (high_text and not high_text.isdigit()):
            raise ValueError(f"not a VLAN list: {text!r}, expected e.g. 10,20,30-32")
        low, high = int(low_text), int(high_text or low_text)
        if not 1 <= low <= high <= 4094:
            raise ValueError(f"VLAN ids must be 1-4094 in ascending ranges: {text!r}")
        ids.update(range(low, high + 1))
    return sorted(ids)


def ids_to_vlan_list(ids: Sequence[int]) -> str:
    """Compress VLAN ids like IOS: ascending, runs of three or more as ranges.

    >>> ids_to_vlan_list([32, 10, 11, 30, 31])
    '10,11,30-32'
    """
    ordered = sorted(set(ids))
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(v) for v in ordered[start : end + 1])
        start = end + 1
    return ",".join(parts)


def ids_to_stp_list(ids: Sequence[int]) -> str:
    """VLAN ids as IOS prints them in ``spanning-tree vlan``: any run of two or more as a range.

    >>> ids_to_stp_list([110, 111, 130])
    '110-111,130'
    """
    ordered = sorted(set(ids))
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        parts.append(str(ordered[start]) if end == start else f"{ordered[start]}-{ordered[end]}")
        start = end + 1
    return ",".join(parts)


# --- interface names -----------------------------------------------------------------------------

_INTERFACE_TYPES: Final[tuple[str, ...]] = ("GigabitEthernet", "Vlan")
_INTERFACE_RE: Final = re.compile(r"^([A-Za-z-]+)\s*(\d+(?:/\d+)*)$")


def normalise_interface(text: str) -> str | None:
    """The full IOS name of an interface as typed (any unique type prefix), or None.

    >>> normalise_interface("gi1/0/1"), normalise_interface("vlan 10"), normalise_interface("x1")
    ('GigabitEthernet1/0/1', 'Vlan10', None)
    """
    match = _INTERFACE_RE.match(text.strip())
    if not match:
        return None
    typed, number = match.groups()
    candidates = [t for t in _INTERFACE_TYPES if t.lower().startswith(typed.lower())]
    if len(candidates) != 1:
        return None
    return f"{candidates[0]}{number}"


# --- command matching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandSpec(Generic[H]):
    """A command: its full keywords, a check for the words after them, and what runs it."""

    keywords: tuple[str, ...]
    args: ArgCheck
    handler: H


@dataclass(frozen=True)
class Matched(Generic[H]):
    spec: CommandSpec[H]
    args: tuple[str, ...]
    #: Index into the token list where the arguments start.
    arg_offset: int


@dataclass(frozen=True)
class Invalid:
    """The token at ``index`` is unknown or wrong ("% Invalid input detected at '^' marker.")."""

    index: int


@dataclass(frozen=True)
class Incomplete:
    """More words are needed ("% Incomplete command.")."""


@dataclass(frozen=True)
class Ambiguous:
    """A keyword abbreviation fits more than one command ("% Ambiguous command: ...")."""

    index: int


MatchResult = Matched[H] | Invalid | Incomplete | Ambiguous


def match_command(
    specs: Sequence[CommandSpec[H]], words: Sequence[str], *, partial_args: bool = False
) -> MatchResult[H]:
    """Find the command that ``words`` invoke.

    With ``partial_args`` (used for ``no ...``) missing arguments are accepted.
    """
    candidates = list(specs)
    consumed = 0
    for index, word in enumerate(words):
        lowered = word.lower()
        continuing = [s for s in candidates if len(s.keywords) > index]
        fitting = [s for s in continuing if s.keywords[index].startswith(lowered)]
        if not fitting:
            break
        exact = [s for s in fitting if s.keywords[index] == lowered]
        if exact:
            fitting = exact
        elif len({s.keywords[index] for s in fitting}) > 1:
            return Ambiguous(index)
        # Specs whose keywords are already used up are dropped: a keyword match takes precedence.
        candidates = fitting
        consumed = index + 1
    complete = [s for s in candidates if len(s.keywords) == consumed]
    if not complete:
        if consumed < len(words):
            return Invalid(consumed)
        return Incomplete()
    spec = complete[0]
    args = tuple(words[consumed:])
    problem = spec.args(args)
    if isinstance(problem, BadArg):
        return Invalid(consumed + problem.index)
    if isinstance(problem, MissingArg) and not partial_args:
        return Incomplete()
    return Matched(spec, args, consumed)
