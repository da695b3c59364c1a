"""Safe YAML loading that keeps file:line for every value.

The C parser (libyaml) builds the node graph; we construct plain Python values from it ourselves so
that we can reject duplicate keys, bound alias expansion ("billion laughs") and remember the line of
every mapping entry and sequence item in a :class:`SourceMap`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ksm_provision.errors import InventoryError, Problem, relative_path
from ksm_provision.inventory.source import Loc, SourceMap

try:  # libyaml is 15-40x faster; fall back to the pure-Python parser where it is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: Larger inventory files are refused before parsing (a 100,000-host estate stays far below this).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Upper bound on constructed nodes per file, counting every alias expansion.
MAX_NODES = 5_000_000

_SCALAR_CONSTRUCTOR = yaml.SafeLoader("")  # only used for its scalar resolution (bool, int, null)


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
    """Load one YAML file; raise :class:`InventoryError` with file:line for anything unsafe or broken."""
    shown = relative_path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InventoryError([Problem(shown, 0, "file not found", "check the path or --inventory")]) from None
    if size > max_bytes:
        raise InventoryError(
            [
                Problem(
                    shown,
                    1,
                    f"file is {size} bytes, more than the limit of {max_bytes}",
                    "split the authority into smaller files or use client ranges instead of single entries",
                )
            ]
        )
    raw = path.read_bytes()
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
    builder = _Builder(shown, source, max_nodes)
    with gc_paused():
        data = builder.build(node, ())
    if builder.problems:
        raise InventoryError(builder.problems)
    return LoadedDocument(Path(shown), data, source)


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

    def __init__(self, shown: str, source: SourceMap, max_nodes: int) -> None:
        self.shown = shown
        self.source = source
        self.max_nodes = max_nodes
        self.count = 0
        self.problems: list[Problem] = []

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
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                item_loc = (*loc, index)
                self.source.lines[item_loc] = item.start_mark.line + 1
                items.append(self._node(item, item_loc))
            return items
        return self._scalar(node)

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

    @staticmethod
    def _scalar(node: yaml.Node) -> Any:
        tag, value = node.tag, node.value
        if tag == "tag:yaml.org,2002:str" or _is_yaml11_only(tag, value):
            return value
        return _SCALAR_CONSTRUCTOR.construct_object(node)


def _is_yaml11_only(tag: str, value: str) -> bool:
    """YAML 1.1 readings that YAML 1.2 dropped; we keep such scalars as text.

    Base-60 numbers turn MAC addresses (52:54:00:41:08:14) into integers, and yes/no/on/off turn
    country codes and answers into booleans.
    """
    if tag == "tag:yaml.org,2002:int" or tag == "tag:yaml.org,2002:float":
        return ":" in value
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() not in ("true", "false")
    return False
