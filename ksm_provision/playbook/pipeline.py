"""Plan, apply and verify hosts: scope -> Ansible workspace -> ansible-runner -> typed results."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ksm_provision.digests import digest_key
from ksm_provision.hostkeys import run_known_hosts
from ksm_provision.playbook.results import PlaybookRun, RunMode
from ksm_provision.playbook.runner import ProgressCallback, RunSettings, run_playbook
from ksm_provision.playbook.scope import HostScope
from ksm_provision.render.ansible_inventory import write_ansible_inventory
from ksm_provision.resources import build_dir
from ksm_provision.vault import Redactor, VaultAccess, read_vault, redactable, vault_access
from ksm_provision.verify.expectations import host_spec
from ksm_provision.verify.runner import VerifyResult, run_checks


def vaults_and_redactor(
    scope: HostScope, explicit: dict[str, Path] | None = None
) -> tuple[list[VaultAccess], Redactor]:
    vaults, redact, _ = vaults_redactor_and_keys(scope, explicit)
    return vaults, redact


def vaults_redactor_and_keys(
    scope: HostScope, explicit: dict[str, Path] | None = None
) -> tuple[list[VaultAccess], Redactor, dict[str, bytes]]:
    """The vaults in scope, a redactor of all their values, and each authority's digest key."""
    vaults = vault_access(scope.inventory, explicit)
    values = {v.authority: redactable(read_vault(v)) for v in vaults}
    keys = {authority: digest_key(secrets) for authority, secrets in values.items()}
    return vaults, Redactor([value for secrets in values.values() for value in secrets]), keys


def run_hosts(
    scope: HostScope,
    mode: RunMode,
    settings: RunSettings | None = None,
    progress: ProgressCallback | None = None,
    explicit_vaults: dict[str, Path] | None = None,
) -> PlaybookRun:
    vaults, redact, keys = vaults_redactor_and_keys(scope, explicit_vaults)
    build = build_dir()
    build.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="inventory-", dir=build) as tmp:
        hosts_file = write_ansible_inventory(
            scope.inventory,
            scope.hosts,
            Path(tmp) / "ansible",
            scope.connections,
            {v.authority: v.vault_file for v in vaults},
        )
        return run_playbook(
            hosts_file,
            scope.authority_of,
            mode,
            vaults,
            redact,
            settings,
            progress,
            connections=scope.connections,
            digest_keys=keys,
        )


def verify_hosts(
    scope: HostScope, junit: Path | None = None, explicit_vaults: dict[str, Path] | None = None
) -> VerifyResult:
    _, redact = vaults_and_redactor(scope, explicit_vaults)
    run_known_hosts(scope.connections, scope.authority_of)  # a host without a known key: refused here
    specs = [host_spec(scope.inventory, h, scope.connections[h.hostname]) for h in scope.hosts]
    return run_checks(specs, redact, junit)
