"""Two versions of one inventory file, compared entry by entry (clients by hostname, sites by id, ...).

An entry counts as changed only when the models read it differently, so ``vlan: 110`` and
``vlan: "110"`` are the same; every difference can name its ``FILE:LINE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ksm_provision.errors import InventoryError
from ksm_provision.inventory.loader import load_yaml_text
from ksm_provision.inventory.source import SourceMap


@dataclass(frozen=True)
class FileVersion:
    """One version of one YAML file: its data and lines; ``broken`` when it could not be parsed."""

    shown: str
    data: dict[str, Any] = field(default_factory=dict)
    source: SourceMap = field(default_factory=lambda: SourceMap(""))
    broken: bool = False

    def at(self, *loc: str | int) -> str:
        return f"{self.shown}:{self.source.line_of(loc)}"


def parse_version(text: str, shown: str) -> FileVersion:
    try:
        document = load_yaml_text(text, shown)
    except InventoryError:
        return FileVersion(shown, broken=True)
    data = document.data if isinstance(document.data, dict) else {}
    return FileVersion(shown, data, document.source, broken=not isinstance(document.data, dict))


@dataclass(frozen=True)
class EntryDiff:
    """One entry of a keyed list (or mapping) that differs between the two versions."""

    key: str
    old: Any
    new: Any
    old_index: int | str | None
    new_index: int | str | None

    @property
    def fields(self) -> tuple[str, ...]:
        if not isinstance(self.old, dict) or not isinstance(self.new, dict):
            return ()
        return tuple(sorted(k for k in {*self.old, *self.new} if self.old.get(k) != self.new.get(k)))

    def value(self, name: str, old: bool = False) -> Any:
        entry = self.old if old else self.new
        return entry.get(name) if isinstance(entry, dict) else None


def _keyed(items: Any, key: str | None) -> dict[str, tuple[int | str, Any]]:
    """List entries by their identifying field (mappings by their key); first one wins."""
    if key is None:
        return {str(k): (str(k), v) for k, v in items.items()} if isinstance(items, dict) else {}
    result: dict[str, tuple[int | str, Any]] = {}
    for index, item in enumerate(items if isinstance(items, list) else []):
        name = item.get(key) if isinstance(item, dict) else None
        result.setdefault(str(name) if name is not None else f"#{index}", (index, item))
    return result


def _same(old: Any, new: Any, model: type[BaseModel] | None) -> bool:
    """Equal raw values, or values the model reads as equal (``vlan: 110`` vs ``vlan: "110"``)."""
    if old == new:
        return True
    if model is None or not isinstance(old, dict) or not isinstance(new, dict):
        return False
    try:
        return model.model_validate(old) == model.model_validate(new)
    except ValidationError:
        return False


def diff_entries(
    old: Any, new: Any, key: str | None, model: type[BaseModel] | None = None
) -> list[EntryDiff]:
    """Entries added, removed or changed between two versions of a keyed list or mapping."""
    before, after = _keyed(old, key), _keyed(new, key)
    diffs = []
    for name in sorted({*before, *after}):
        old_index, old_item = before.get(name, (None, None))
        new_index, new_item = after.get(name, (None, None))
        if not _same(old_item, new_item, model):
            diffs.append(EntryDiff(name, old_item, new_item, old_index, new_index))
    return diffs


def entry_at(old: FileVersion, new: FileVersion, d: EntryDiff, *prefix: str | int) -> str:
    """``FILE:LINE`` of the entry: in the new version, or in the old one when it was removed."""
    if d.new is not None:
        return new.at(*prefix, d.new_index if d.new_index is not None else 0)
    return old.at(*prefix, d.old_index if d.old_index is not None else 0)


def what_changed(diff: EntryDiff) -> str:
    if diff.old is None:
        return "added"
    fields = diff.fields
    return f"changed ({', '.join(fields)})" if fields else "changed"


def changed_sections(old: FileVersion, new: FileVersion, notes: list[str]) -> list[str]:
    """Top-level keys of a file whose content differs; a note when only formatting changed."""
    changed = [k for k in sorted({*old.data, *new.data}) if old.data.get(k) != new.data.get(k)]
    if not changed:
        notes.append(f"{new.shown}: only comments or formatting changed — nothing to plan")
    return changed
