"""Safe YAML loading that keeps file:line for every value.

The C parser (libyaml) builds the node graph; we construct plain Python values from it ourselves so
that we can reject duplicate keys, bound alias expansion ("billion laughs") and remember the line of
every mapping entry and sequence item in a :class:`SourceMap`.

Values are read as YAML 1.2 core would read them *and* as YAML 1.1 (PyYAML, Ansible) would, and a
value on which the two disagree is either kept as text or refused with file:line and a fix:

- **Tags** are refused, every explicit one (``!vault``, ``!unsafe``, ``!!python/...``, ``!!binary``,
  ``!!set``, ``!!omap``, ``!!timestamp``, ``!foo``, the non-specific ``!``) and ``!!str`` too: it
  adds nothing that quotes do not, and one rule without exceptions is easier to trust.
- **Numbers** are plain decimal integers (``-?(0|[1-9][0-9]*)``). Any other plain scalar that YAML 1.1
  or 1.2 reads as a number is refused: leading zeros (``0155`` is octal 109 in YAML 1.1), ``0x6e``,
  ``0o155``, ``0b101``, ``1_10``, ``+110``, floats (``110.0``, ``1e2``, ``.5``, ``.inf``, ``.nan``):
  no inventory field is a float. Quoted, they are text.
- **Kept as text**: base-60 numbers (MAC addresses such as ``52:54:00:41:08:14``), yes/no/on/off
  (only true/false are booleans), dates and times (``2026-01-01``: YAML 1.2 has no timestamp type)
  and ``=``.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ksm_provision.errors import InventoryError, Problem
from ksm_provision.inventory.files import MAX_FILE_BYTES, read_inventory_file, shown_path
from ksm_provision.inventory.source import Loc, SourceMap

try:  # libyaml is 15-40x faster; fall back to the pure-Python parser where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: Upper bound on constructed nodes per file, counting every alias expansion.
MAX_NODES = 5_000_000

_YAML = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_YAML + t for t in ("str", "int", "float", "bool", "null"))
#: The only form of number an inventory holds (at most 40 digits: no value needs more).
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,39})")
#: Numbers of the YAML 1.2 core schema (plus leading zeros) that YAML 1.1 reads as text: 0o17, 1e3, 09.
_YAML12_NUMBER = re.compile(
    r"[-+]?(?:0o[0-7]+|0x[0-9a-fA-F]+|[0-9]+|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
)
#: Where a tag can start (a "!" at the start of a token); a miss would only leave a tag unreported:
#: values are never constructed from a tag, so ``!!python/...`` stays inert text even then.
_MAYBE_TAG = re.compile(r"(?:^|[\s\[{,:?-])!", re.MULTILINE)
#: A node's start (line, column) and kind: where an event carried an explicit tag.
_Mark = tuple[int, int, str]


@dataclass(frozen=True)
class LoadedDocument:
    path: Path
    data: Any
    source: SourceMap


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: loading creates millions of acyclic objects and GC passes cost 3x."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_yaml_file(path: Path, max_bytes: int = MAX_FILE_BYTES, max_nodes: int = MAX_NODES) -> LoadedDocument:
    """Load one YAML file; raise :class:`InventoryError` with file:line for anything unsafe or broken.

    Only a regular file is read, never through a link and at most *max_bytes* of it (see
    :mod:`ksm_provision.inventory.files`).
    """
    shown = shown_path(path)
    raw = read_inventory_file(path, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InventoryError(
            [
                Problem(
                    shown, line, f"byte 0x{raw[exc.start]:02x} is not valid UTF-8", "save the file as UTF-8"
                )
            ]
        ) from None
    return load_yaml_text(text, shown, max_nodes)


def load_yaml_text(text: str, shown: str, max_nodes: int = MAX_NODES) -> LoadedDocument:
    try:
        with gc_paused():
            node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or exc.context or "malformed YAML"
        raise InventoryError(
            [Problem(shown, line, f"malformed YAML: {what}", "check indentation and quoting")]
        ) from None
    except yaml.YAMLError as exc:
        raise InventoryError(
            [Problem(shown, 1, f"malformed YAML: {exc}", "check the file's syntax")]
        ) from None
    source = SourceMap(shown)
    if node is None:
        return LoadedDocument(Path(shown), None, source)
    if "&" in text:  # anchors exist: measure the expansion before building anything (cheap, no copies)
        check_expansion(node, shown, max_nodes)
    tags = explicit_tags(text) if _MAYBE_TAG.search(text) else {}  # skip the second pass if no tag
    builder = _Builder(shown, source, max_nodes, tags)
    with gc_paused():
        data = builder.build(node, ())
    if builder.problems:
        raise InventoryError(builder.problems)
    return LoadedDocument(Path(shown), data, source)


def explicit_tags(text: str) -> dict[_Mark, str]:
    r"""Where *text* writes an explicit tag: node start (line, column, kind) -> tag.

    The composed graph cannot tell ``!!str 5`` from ``"5"`` nor ``!!map`` from nothing; the parser's
    events can, so this second pass runs over the events (only when a ``!`` could start a tag).

    >>> explicit_tags("a: !!str 5\nb: [!vault x, 'y']\n")
    {(0, 3, 'scalar'): 'tag:yaml.org,2002:str', (1, 4, 'scalar'): '!vault'}
    """
    kinds = {
        yaml.ScalarEvent: "scalar",
        yaml.SequenceStartEvent: "sequence",
        yaml.MappingStartEvent: "mapping",
    }
    found: dict[_Mark, str] = {}
    with gc_paused():
        for event in yaml.parse(text, Loader=_Loader):
            tag, mark = getattr(event, "tag", None), event.start_mark
            if tag is not None and mark is not None:
                found[(mark.line, mark.column, kinds[type(event)])] = tag
    return found


def _mark_of(node: yaml.Node) -> _Mark:
    kind = "scalar" if isinstance(node, yaml.ScalarNode) else "mapping"
    if isinstance(node, yaml.SequenceNode):
        kind = "sequence"
    return (node.start_mark.line, node.start_mark.column, kind)


class _AliasBombError(Exception):
    pass


def check_expansion(root: yaml.Node, shown: str, max_nodes: int) -> None:
    """Refuse a document whose aliases would expand to more than *max_nodes* values.

    Aliases share the anchored node object, so sizes are memoised per node: the check costs one pass
    over the distinct nodes however large the expansion. A recursive alias counts as infinite.
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = max_nodes + 1  # while in progress: a cycle back here is a recursive alias
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        sizes[id(node)] = total
        if total > max_nodes:
            raise InventoryError(
                [
                    Problem(
                        shown,
                        node.start_mark.line + 1,
                        f"this value expands to more than {max_nodes} values through aliases "
                        "(alias expansion bomb or recursive alias)",
                        "use fewer nested aliases; ranges describe many identical clients",
                    )
                ]
            )
        return total

    try:
        size(root)
    except RecursionError:
        raise InventoryError(
            [
                Problem(
                    shown,
                    root.start_mark.line + 1,
                    "the document is nested too deeply",
                    "flatten the structure; inventories need only a few levels",
                )
            ]
        ) from None


class _Builder:
    """Turns a composed node graph into dicts, lists and scalars, recording lines."""

    def __init__(self, shown: str, source: SourceMap, max_nodes: int, tags: dict[_Mark, str]) -> None:
        self.shown = shown
        self.source = source
        self.max_nodes = max_nodes
        self.tags = tags
        self.count = 0
        self.problems: list[Problem] = []
        self._reported: set[_Mark] = set()  # an alias visits its node again: report it once

    def _report(self, node: yaml.Node, message: str, hint: str) -> None:
        mark = _mark_of(node)
        if mark not in self._reported:
            self._reported.add(mark)
            self.problems.append(Problem(self.shown, node.start_mark.line + 1, message, hint))

    def _tagged(self, node: yaml.Node) -> bool:
        """Report an explicit tag on *node*; True if there was one."""
        if not self.tags:
            return False
        tag = self.tags.get(_mark_of(node))
        if tag is None:
            return False
        self._report(node, f"YAML tags are not allowed ({_tag_shown(tag)})", _tag_hint(tag))
        return True

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.source.lines[loc] = node.start_mark.line + 1
        try:
            return self._node(node, loc)
        except _AliasBombError:
            self.problems.append(
                Problem(
                    self.shown,
                    node.start_mark.line + 1,
                    f"document expands to more than {self.max_nodes} values (alias expansion bomb?)",
                    "use fewer nested aliases; ranges describe many identical clients",
                )
            )
            return None

    def _node(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise _AliasBombError
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        self._tagged(node)  # a tagged collection is still built: its content may have more problems
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        items = []
        for index, item in enumerate(node.value):
            item_loc = (*loc, index)
            self.source.lines[item_loc] = item.start_mark.line + 1
            items.append(self._node(item, item_loc))
        return items

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(
                        self.shown,
                        key_node.start_mark.line + 1,
                        "merge keys (<<) are not supported",
                        "write the values out or use the settings/profile mechanism",
                    )
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(
                        self.shown,
                        key_node.start_mark.line + 1,
                        "mapping keys must be plain strings",
                        "e.g. `hostname: sn-rh-fs01`",
                    )
                )
                continue
            key = self._scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.problems.append(
                    Problem(
                        self.shown,
                        line,
                        f"duplicate key '{key}'",
                        f"it is already set on line {first_line[key]}; keep one of them",
                    )
                )
                continue
            first_line[key] = line
            child_loc = (*loc, key)
            self.source.lines[child_loc] = line
            result[key] = self._node(value_node, child_loc)
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        """The value of a scalar node, read the same under YAML 1.1 and 1.2 (see the module doc)."""
        tag, value = node.tag, node.value
        if self._tagged(node):
            return value
        plain = not node.style  # "" from libyaml, None from the pure-Python parser
        if tag == _STR:
            if plain and _YAML12_NUMBER.fullmatch(value):
                self._number(node)
            return value
        if tag in (_INT, _FLOAT):
            if ":" in value:  # base 60 in YAML 1.1, text in YAML 1.2: MAC addresses stay text
                return value
            if tag == _INT and _DECIMAL.fullmatch(value):
                return int(value)
            self._number(node)
            return value
        if tag == _BOOL:  # only true/false: yes/no/on/off are country codes and answers, i.e. text
            lowered = value.lower()
            return lowered == "true" if lowered in ("true", "false") else value
        if tag == _NULL:
            return None
        return value  # timestamp and "=" (no such types in YAML 1.2); other tags are explicit, reported

    def _number(self, node: yaml.ScalarNode) -> None:
        reason, meant = number_reading(node.value)
        fix = f"write {meant} (plain decimal)" if meant is not None else "write a whole number, e.g. 110,"
        self._report(
            node,
            f"{_shorten(node.value)} is not a plain decimal number ({reason})",
            f"{fix} or quote it if it is text",
        )


def _tag_shown(tag: str) -> str:
    r"""A tag as the user wrote it (``!!`` for the YAML namespace), printable and at most 60 characters.

    >>> _tag_shown("tag:yaml.org,2002:python/name:os.system"), _tag_shown("!e\x1b[2J")
    ('!!python/name:os.system', '!e\\x1b[2J')
    """
    short = "!!" + tag.removeprefix(_YAML) if tag.startswith(_YAML) else tag
    short = "".join(c if c.isprintable() and c.isascii() else ascii(c)[1:-1] for c in short)
    return _shorten(short, 60)


def _tag_hint(tag: str) -> str:
    if tag == "!vault":
        return (
            "secrets belong in the authority's vault file; write a reference such as "
            "'vault:network_enable_secret'"
        )
    if tag == "!unsafe":
        return "ksm marks every inventory value as unsafe for Ansible itself; write the value without the tag"
    return "write the value without the tag, in quotes if it is text (tags can build other types or objects)"


def number_reading(value: str) -> tuple[str, int | None]:
    """Why *value* is not a plain decimal number, and the whole number it most likely means.

    >>> number_reading("0155")
    ('a leading 0 makes YAML 1.1 read it as octal 109', 155)
    >>> number_reading("0x6e"), number_reading("1_10"), number_reading("110.0")
    (('hexadecimal 110', 110), ("digit separator '_'", 110), ('a floating-point number', 110))
    >>> number_reading(".nan"), number_reading("1.5")
    (('a floating-point not-a-number', None), ('a floating-point number', None))
    """
    digits = value.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    body = digits.lstrip("+-")
    lower = body.lower()
    if lower == ".nan":
        return "a floating-point not-a-number", None
    if lower == ".inf":
        return "a floating-point infinity", None
    for prefix, base, name in (("0x", 16, "hexadecimal"), ("0o", 8, "octal"), ("0b", 2, "binary")):
        if lower.startswith(prefix):
            number = _parse_int(body[2:], base)
            if number is None:
                return name, None
            return f"{name} {sign * number}", sign * number
    if re.fullmatch(r"0[0-9]+", body):
        octal = _parse_int(body, 8)
        reason = (
            "a leading 0" if octal is None else f"a leading 0 makes YAML 1.1 read it as octal {sign * octal}"
        )
        meant = _parse_int(body, 10)
        return reason, None if meant is None else sign * meant
    if any(c in lower for c in ".e"):
        try:
            real = float(digits)
        except ValueError:
            return "a floating-point number", None
        whole = int(real) if math.isfinite(real) and real.is_integer() else None
        return "a floating-point number", whole
    if "_" in value or value.startswith("+"):
        return "digit separator '_'" if "_" in value else "'+' sign", _parse_int(digits, 10)
    return "more than 40 digits", None


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_int(text: str, base: int) -> int | None:
    if len(text) > 40:  # nothing in an inventory is that large; int() refuses > 4300 decimal digits
        return None
    try:
        return int(text, base)
    except ValueError:
        return None
