"""Load a directory of inventory files into one typed :class:`Inventory`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ksm_provision.errors import InventoryError, Problem, UsageError
from ksm_provision.inventory.errors_map import problems_from_validation
from ksm_provision.inventory.files import shown_path
from ksm_provision.inventory.hosts import Device, Host, authority_devices, authority_hosts
from ksm_provision.inventory.loader import LoadedDocument, gc_paused, load_yaml_file
from ksm_provision.inventory.models import AuthorityFile, ProviderFile
from ksm_provision.inventory.source import SourceMap

PROVIDER_FILE = "ksm.yml"


@dataclass(frozen=True)
class Inventory:
    """The provider file plus every authority file, validated against the models."""

    root: Path
    provider: ProviderFile
    provider_source: SourceMap
    authorities: dict[str, AuthorityFile]
    sources: dict[str, SourceMap]
    files: dict[str, Path] = field(default_factory=dict)
    #: Every authority loaded, also those a :meth:`select` left out. Read-only context for the
    #: promises that cross authorities: a consumer's packet filter needs the address of the host that
    #: serves it, whichever authority is being applied. ``None``: nothing was left out.
    context: dict[str, AuthorityFile] | None = None

    @cached_property
    def hosts(self) -> list[Host]:
        return [h for a in self.authorities.values() for h in authority_hosts(a)]

    @cached_property
    def devices(self) -> list[Device]:
        return [d for a in self.authorities.values() for d in authority_devices(a)]

    @cached_property
    def hosts_by_name(self) -> dict[str, Host]:
        return {h.hostname: h for h in self.hosts}

    @cached_property
    def devices_by_name(self) -> dict[str, Device]:
        return {d.hostname: d for d in self.devices}

    def authority_in_context(self, authority_id: str) -> AuthorityFile | None:
        """The authority *authority_id* as loaded, in scope or not (for cross-authority lookups)."""
        return (self.context if self.context is not None else self.authorities).get(authority_id)

    def source_of(self, authority: str) -> SourceMap:
        return self.sources[authority]

    def select(self, authority_ids: Iterable[str]) -> Inventory:
        """A new inventory with only the named authorities (the provider file stays whole)."""
        wanted = list(dict.fromkeys(authority_ids))
        unknown = [a for a in wanted if a not in self.authorities]
        if unknown:
            raise UsageError(
                f"unknown authority '{unknown[0]}'",
                f"known authorities: {', '.join(self.authorities) or 'none'}",
            )
        return replace(
            self,
            authorities={a: self.authorities[a] for a in wanted},
            sources={a: self.sources[a] for a in wanted},
            files={a: self.files[a] for a in wanted},
            context=self.context if self.context is not None else self.authorities,
        )


def _validate(doc: LoadedDocument, model: type[BaseModel]) -> tuple[Any, list[Problem]]:
    if not isinstance(doc.data, dict):
        return None, [
            Problem(
                doc.source.file,
                1,
                "the file must be a mapping of top-level keys",
                f"start with e.g. `{next(iter(model.model_fields))}:`",
            )
        ]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        return None, problems_from_validation(exc, doc.data, doc.source, model)


def authority_files(root: Path) -> list[Path]:
    """Every authority file: top-level ``*.yml`` except the provider file, ``_``-prefixed drafts and
    hidden ``.``-prefixed names (editor locks such as ``.#aa.yml``).

    Every name found is returned whatever it is (link, directory, FIFO...): the loader refuses what is
    not a regular file with a problem instead of skipping it silently (see
    :mod:`ksm_provision.inventory.files`).
    """
    return sorted(
        p for p in root.glob("*.yml") if p.name != PROVIDER_FILE and not p.name.startswith(("_", "."))
    )


def load_inventory(root: Path) -> Inventory:
    """Load and model-check every file; raise one :class:`InventoryError` listing all problems."""
    with gc_paused():  # millions of acyclic objects: cyclic GC passes would cost more than the parse
        return _load_inventory(root)


def _load_inventory(root: Path) -> Inventory:
    if not root.is_dir():
        raise UsageError(
            f"inventory directory '{root}' does not exist", "pass --inventory DIR or set KSM_INVENTORY"
        )
    problems: list[Problem] = []
    provider: ProviderFile | None = None
    provider_source = SourceMap(shown_path(root / PROVIDER_FILE))
    provider_path = root / PROVIDER_FILE
    if not os.path.lexists(provider_path):  # a dangling link is there, and refused by the loader
        problems.append(
            Problem(
                shown_path(provider_path),
                0,
                "provider file is missing",
                "every inventory needs ksm.yml with the address plan and defaults; see README 'Inventory'",
            )
        )
    else:
        try:
            doc = load_yaml_file(provider_path)
            provider_source = doc.source
            provider, found = _validate(doc, ProviderFile)
            problems.extend(found)
        except InventoryError as exc:
            problems.extend(exc.problems)
    authorities: dict[str, AuthorityFile] = {}
    sources: dict[str, SourceMap] = {}
    files: dict[str, Path] = {}
    for path in authority_files(root):
        try:
            doc = load_yaml_file(path)
        except InventoryError as exc:
            problems.extend(exc.problems)
            continue
        authority, found = _validate(doc, AuthorityFile)
        problems.extend(found)
        if authority is None:
            continue
        aid = authority.authority.id
        if path.stem != aid:
            problems.append(
                Problem(
                    doc.source.file,
                    doc.source.line_of(("authority", "id")),
                    f"authority id '{aid}' does not match the file name '{path.name}'",
                    f"rename the file to {aid}.yml or change the id to '{path.stem}'",
                )
            )
            continue
        authorities[aid] = authority
        sources[aid] = doc.source
        files[aid] = path
    if problems or provider is None:
        raise InventoryError(problems)
    return Inventory(root, provider, provider_source, authorities, sources, files)
