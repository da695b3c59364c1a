"""Resolve a host's effective settings.

Precedence, defined once here: provider defaults < authority < site < client profile < host.
Scalars and lists replace the value of an earlier level; admin accounts accumulate (provider-wide
admins everywhere, plus the authority's own), a later account of the same name replacing an earlier.
A setting no level sets keeps the model's default (``None``: not set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import AdminAccount, Settings
from ksm_provision.inventory.source import Loc, SourceMap

T = TypeVar("T")


class Level(StrEnum):
    """Where an effective value comes from: a level of the precedence, or the model's default."""

    DEFAULT = "default"
    PROVIDER = "provider"
    AUTHORITY = "authority"
    SITE = "site"
    PROFILE = "profile"
    #: a ``clients:``/``servers:`` entry or the ``client_ranges:`` entry a host is a member of
    HOST = "host"
    #: a ``network_devices:`` entry
    DEVICE = "device"

    @property
    def label(self) -> str:
        """The level as shown to a reader: ``default (ksm)`` for a built-in default."""
        return "default (ksm)" if self is Level.DEFAULT else self.value


@dataclass(frozen=True)
class SettingsLevel:
    """One level of a host's settings and where its ``settings:`` mapping is written (or would be)."""

    level: Level
    settings: Settings
    source: SourceMap
    loc: Loc


def settings_levels(inventory: Inventory, host: Host) -> list[SettingsLevel]:
    """The levels of *host*'s settings, earliest (weakest) first."""
    aid = host.authority
    authority = inventory.authorities[aid]
    source = inventory.source_of(aid)
    site = next(i for i, s in enumerate(authority.sites) if s.id == host.site)
    provider = inventory.provider
    levels = [
        SettingsLevel(Level.PROVIDER, provider.defaults, inventory.provider_source, ("defaults",)),
        SettingsLevel(Level.AUTHORITY, authority.settings, source, ("settings",)),
        SettingsLevel(Level.SITE, authority.sites[site].settings, source, ("sites", site, "settings")),
    ]
    if host.profile is not None and host.profile in provider.client_profiles:
        levels.append(
            SettingsLevel(
                Level.PROFILE,
                provider.client_profiles[host.profile].settings,
                inventory.provider_source,
                ("client_profiles", host.profile, "settings"),
            )
        )
    levels.append(SettingsLevel(Level.HOST, host.entry.settings, source, (*host.loc, "settings")))
    return levels


def settings_chain(inventory: Inventory, host: Host) -> list[Settings]:
    return [level.settings for level in settings_levels(inventory, host)]


@dataclass(frozen=True)
class Merged(Generic[T]):
    """Merged settings and, for each field set somewhere and each admin account, its level's tag."""

    settings: Settings
    fields: dict[str, T]
    admins: dict[str, T]


def merge_tagged(chain: Sequence[tuple[T, Settings]]) -> Merged[T]:
    """Merge the tagged levels of *chain* (weakest first), remembering which tag each value came from.

    >>> a, b = Settings(locale="C.UTF-8", log_port=514), Settings(log_port=10514)
    >>> merged = merge_tagged([("a", a), ("b", b)])
    >>> merged.settings.log_port, merged.fields
    (10514, {'locale': 'a', 'log_port': 'b'})
    """
    values: dict[str, object] = {}
    fields: dict[str, T] = {}
    admins: dict[str, AdminAccount] = {}
    admin_tags: dict[str, T] = {}
    for tag, level in chain:
        for name in Settings.model_fields:
            value = getattr(level, name)
            if value is None:
                continue
            if name == "admins":
                for account in value:
                    admins[account.name] = account
                    admin_tags[account.name] = tag
            else:
                values[name] = value
                fields[name] = tag
    values["admins"] = list(admins.values())
    return Merged(Settings.model_validate(values), fields, admin_tags)


def merge_settings(chain: list[Settings]) -> Settings:
    return merge_tagged([(None, level) for level in chain]).settings


def effective_settings(inventory: Inventory, host: Host) -> Settings:
    return merge_settings(settings_chain(inventory, host))
