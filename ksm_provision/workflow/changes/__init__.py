"""Which authorities, hosts and devices a change since a git revision touches.

``ksm plan --changed-since REF`` plans only these. The old (``git show REF:path``) and new versions
of every changed inventory file are parsed and compared entry by entry (clients and servers by
hostname, ranges by name, sites and networks by id, ...), so a one-line change to one client plans
one host whatever the size of the estate. Inherited settings widen the scope to whoever inherits
them; roles, playbooks and device templates to the hosts and devices they apply to; a change to the
toolkit's code to everything. Every item carries the reasons it is in scope, ``FILE:LINE`` first.

The modules, in the order a change passes them: :mod:`.routing` sends each changed file to its rule;
:mod:`.authority_file` and :mod:`.provider_file` compare the two versions of an inventory file
(:mod:`.versions`) section by section; :mod:`.scope` collects the hosts and devices with reasons.
"""

from __future__ import annotations

from pathlib import Path

from ksm_provision.inventory.inventory import Inventory
from ksm_provision.workflow.changes.routing import FileRouter, RepoLayout
from ksm_provision.workflow.changes.scope import (
    ChangeScope,
    Collector,
    iter_reasons,
    scope_devices,
    scope_hosts,
    whole_scope,
)
from ksm_provision.workflow.changes.versions import diff_entries
from ksm_provision.workflow.gitrepo import changed_files, repo_top, resolve_commit

__all__ = [
    "ChangeScope",
    "RepoLayout",
    "changed_scope",
    "diff_entries",
    "iter_reasons",
    "scope_devices",
    "scope_hosts",
    "whole_scope",
]


def changed_scope(inventory: Inventory, ref: str, repo: Path) -> ChangeScope:
    """Hosts and devices of *inventory* whose inputs changed between git revision *ref* and the work tree.

    *repo* is any directory inside the git work tree. Raises :class:`UsageError` for an unknown
    revision or an inventory outside the repository.
    """
    top = repo_top(repo)
    commit = resolve_commit(top, ref)
    files = changed_files(top, commit)
    collector = Collector(inventory)
    router = FileRouter(collector, RepoLayout.of(inventory, top), top, commit)
    for name in files:
        router.route(name)
    return collector.scope(ref, commit, files)
