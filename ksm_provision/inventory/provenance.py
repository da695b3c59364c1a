"""Where each effective setting of a host or device comes from: its level and FILE:LINE.

One :class:`SettingOrigin` per leaf of the effective settings, named by a flattened path:
``ntp_servers``, ``admins[ksm-ops].sudo``, ``connection.timeouts.connect``, ``interfaces[wan0].mode``
(items of a list of models by their ``name``, else by index). A value no file writes is the model's
built-in default: level ``default``, no file. Secrets are ``vault:KEY`` references in the models and
stay references here: the vault is never opened.

A host's settings follow the precedence of :mod:`ksm_provision.inventory.settings` (the same merge,
with each level as its tag); a device's fields come from its ``network_devices:`` entry and its
authority's ``network_settings:``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ksm_provision.inventory.hosts import Device, Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import Settings
from ksm_provision.inventory.settings import Level, merge_tagged, settings_levels
from ksm_provision.inventory.source import Loc, SourceMap


@dataclass(frozen=True)
class SettingOrigin:
    """One effective setting: its value (as in JSON), the level it comes from and where it is written."""

    setting: str
    value: Any
    level: Level
    file: str | None = None
    line: int | None = None

    @property
    def defined_at(self) -> str | None:
        """``FILE:LINE``, or None for a built-in default."""
        return None if self.file is None else f"{self.file}:{self.line}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "level": str(self.level),
            "file": self.file,
            "line": self.line,
            "defined_at": self.defined_at,
        }


@dataclass(frozen=True)
class ResolvedSettings:
    """A host's effective settings and the origin of each of their leaves."""

    settings: Settings
    origins: list[SettingOrigin]


def _written(setting: str, value: Any, level: Level, source: SourceMap, loc: Loc) -> SettingOrigin:
    """*setting* as written at *loc* of *source*, or the model's default where no file writes it."""
    line = source.lines.get(loc)
    if line is None:
        return SettingOrigin(setting, value, Level.DEFAULT)
    return SettingOrigin(setting, value, level, source.file, line)


def _label(item: BaseModel, index: int) -> str:
    name = getattr(item, "name", None)
    return name if isinstance(name, str) else str(index)


def model_origins(
    model: BaseModel, dumped: dict[str, Any], path: str, loc: Loc, level: Level, source: SourceMap
) -> Iterator[SettingOrigin]:
    """The leaves of *model* (written at *loc* of *source*), *dumped* its ``model_dump(mode="json")``."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{path}.{name}" if path else name
        where = (*loc, name)
        if isinstance(value, BaseModel):
            yield from model_origins(value, dumped[name], key, where, level, source)
        elif isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            for index, item in enumerate(value):
                item_key = f"{key}[{_label(item, index)}]"
                yield from model_origins(item, dumped[name][index], item_key, (*where, index), level, source)
        else:
            yield _written(key, dumped[name], level, source, where)


def resolve_host(inventory: Inventory, host: Host) -> ResolvedSettings:
    """*host*'s effective settings, each leaf with the level and the line that set it."""
    levels = settings_levels(inventory, host)
    merged = merge_tagged([(level, level.settings) for level in levels])
    settings = merged.settings
    dumped = settings.model_dump(mode="json")
    origins: list[SettingOrigin] = []
    for name in Settings.model_fields:
        if name == "admins":
            continue
        tag = merged.fields.get(name)
        if tag is None:
            origins.append(SettingOrigin(name, dumped[name], Level.DEFAULT))
            continue
        line = tag.source.line_of((*tag.loc, name))
        origins.append(SettingOrigin(name, dumped[name], tag.level, tag.source.file, line))
    accounts = settings.admins or []
    for index, account in enumerate(accounts):
        tag = merged.admins[account.name]
        written = [i for i, a in enumerate(tag.settings.admins or []) if a.name == account.name][-1]
        origins.extend(
            model_origins(
                account,
                dumped["admins"][index],
                f"admins[{account.name}]",
                (*tag.loc, "admins", written),
                tag.level,
                tag.source,
            )
        )
    if not accounts:
        origins.append(SettingOrigin("admins", [], Level.DEFAULT))
    return ResolvedSettings(settings, origins)


def device_origins(inventory: Inventory, device: Device) -> list[SettingOrigin]:
    """Every field of *device*, then its authority's network settings (secrets as vault references)."""
    source = inventory.source_of(device.authority)
    network = inventory.authorities[device.authority].network_settings
    return [
        *model_origins(
            device.model, device.model.model_dump(mode="json"), "", device.loc, Level.DEVICE, source
        ),
        *model_origins(
            network,
            network.model_dump(mode="json"),
            "network_settings",
            ("network_settings",),
            Level.AUTHORITY,
            source,
        ),
    ]
