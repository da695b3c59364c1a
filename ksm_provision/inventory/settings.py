"""Resolve a host's effective settings.

Precedence, defined once here: provider defaults < authority < site < client profile < host.
Scalars and lists replace the value of an earlier level; admin accounts accumulate (provider-wide
admins everywhere, plus the authority's own), a later account of the same name replacing an earlier.
"""

from __future__ import annotations

from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import AdminAccount, Settings


def settings_chain(inventory: Inventory, host: Host) -> list[Settings]:
    authority = inventory.authorities[host.authority]
    chain = [inventory.provider.defaults, authority.settings, authority.site(host.site).settings]
    if host.profile is not None and host.profile in inventory.provider.client_profiles:
        chain.append(inventory.provider.client_profiles[host.profile].settings)
    chain.append(host.entry.settings)
    return chain


def merge_settings(chain: list[Settings]) -> Settings:
    values: dict[str, object] = {}
    admins: dict[str, AdminAccount] = {}
    for level in chain:
        for name in Settings.model_fields:
            value = getattr(level, name)
            if value is None:
                continue
            if name == "admins":
                admins.update({account.name: account for account in value})
            else:
                values[name] = value
    values["admins"] = list(admins.values())
    return Settings.model_validate(values)


def effective_settings(inventory: Inventory, host: Host) -> Settings:
    return merge_settings(settings_chain(inventory, host))
