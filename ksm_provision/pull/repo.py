"""The pull repository of one authority: what its clients fetch with ``ansible-pull``.

One bare git repository per authority (``$KSM_STATE_DIR/pull/<authority>/repo.git``), served by
:mod:`.server` to that authority's clients only. Its tree:

- ``site.yml`` and ``roles/``: the toolkit's playbook and roles, the same files ksm's own runs use;
- ``inventory/<host>.yml``: one inventory per enrolled client, rendered in-process by the same code
  as a push run's (:mod:`ksm_provision.render.ansible_inventory`): every inventory string is tagged
  ``!unsafe``, so Ansible on the client never templates it. The only connection is ``local``;
- ``ansible.cfg``: only the YAML inventory plugin, the repository's roles, no vault.

A client needs no vault key: a host whose variables reference the vault is refused here (the
sample clients reference none; servers with secrets stay in push mode). The inventory files are
the authority's own data and nothing else: no other authority's host is in its repository.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ksm_provision.errors import KsmError
from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.render.ansible_inventory import dump_yaml, inventory_document
from ksm_provision.render.ansible_vars import AnsibleTemplate
from ksm_provision.render.gateway_vars import ansible_host_vars
from ksm_provision.resources import playbook, roles_dir
from ksm_provision.workflow.records import pull_dir

PLAYBOOK = "site.yml"
COLLECTION = "ksm.provision"
COLLECTION_ROLES = "collections/ansible_collections/ksm/provision/roles"
ANSIBLE_CFG = """\
# ksm pull: read by ansible-pull on the client (ansible-pull runs in this checkout)
[defaults]
roles_path = roles
interpreter_python = /usr/bin/python3
retry_files_enabled = False
host_key_checking = True

[inventory]
enable_plugins = yaml
"""
_AUTHOR = ["-c", "user.name=ksm", "-c", "user.email=ksm@localhost", "-c", "commit.gpgsign=false"]


def repo_path(authority: str, base: Path | None = None) -> Path:
    return pull_dir(authority, base) / "repo.git"


def _templates_in(value: Any) -> bool:
    if isinstance(value, AnsibleTemplate):
        return True
    if isinstance(value, dict):
        return any(_templates_in(v) for v in value.values())
    if isinstance(value, list):
        return any(_templates_in(v) for v in value)
    return False


def host_inventory(inventory: Inventory, host: Host) -> str:
    """The client's own inventory: itself (connection local), its groups and its variables."""
    document = inventory_document(inventory, [host])
    variables = ansible_host_vars(inventory, host)
    if _templates_in(variables):
        raise KsmError(
            f"{host.hostname} uses vault secrets: pull mode gives clients no vault key",
            "keep this host in push mode (ksm apply), or move the secret off the client",
        )
    document["all"]["hosts"][host.hostname] = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "/usr/bin/python3",
        **variables,
    }
    return dump_yaml(document)


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KsmError(f"git {' '.join(args[:2])} failed in {cwd}: {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


def roles_destination(playbook_text: str) -> str:
    """Where the roles go: beside the playbook as collection ``ksm.provision`` when the playbook names
    them by FQCN (Ansible finds ``collections/`` next to a playbook), else ``roles/``.

    >>> roles_destination("name: ksm.provision.base"), roles_destination("role: base")
    ('collections/ansible_collections/ksm/provision/roles', 'roles')
    """
    return COLLECTION_ROLES if f"{COLLECTION}." in playbook_text else "roles"


def _write_tree(tree: Path, inventory: Inventory, hosts: Sequence[Host]) -> None:
    text = playbook(PLAYBOOK).read_text(encoding="utf-8")
    (tree / PLAYBOOK).write_text(text, encoding="utf-8")
    destination = tree / roles_destination(text)
    destination.parent.mkdir(parents=True, exist_ok=True)
    # role pull itself is applied by ksm (it holds the client's token), never by the client
    shutil.copytree(roles_dir(), destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "pull"))
    (tree / "ansible.cfg").write_text(ANSIBLE_CFG, encoding="utf-8")
    (tree / "inventory").mkdir()
    for host in hosts:
        (tree / "inventory" / f"{host.hostname}.yml").write_text(
            host_inventory(inventory, host), encoding="utf-8"
        )


def publish(
    inventory: Inventory, authority: str, hosts: Iterable[Host], base: Path | None = None, note: str = ""
) -> str:
    """Commit the authority's current pull tree (a new commit only when it changed); the head commit."""
    chosen = sorted(hosts, key=lambda h: h.hostname)
    foreign = [h.hostname for h in chosen if h.authority != authority]
    if foreign:
        raise KsmError(f"not hosts of {authority}: {', '.join(foreign)}")
    bare = repo_path(authority, base)
    if not (bare / "HEAD").is_file():
        bare.mkdir(parents=True, exist_ok=True)
        _git(bare, "init", "--quiet", "--bare", "--initial-branch=main")
    with tempfile.TemporaryDirectory(prefix="ksm-pull-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        _git(tree, "init", "--quiet", "--initial-branch=main")
        _write_tree(tree, inventory, chosen)
        _git(tree, "add", "-A")
        # the tree alone decides the commit: same tree -> keep the current head
        new_tree = _git(tree, "write-tree")
        head = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "main^{tree}"],
            cwd=bare,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if head == new_tree:
            return _git(bare, "rev-parse", "main")
        parent = _git(bare, "rev-parse", "--verify", "--quiet", "main") if head else ""
        if parent:  # the parent's objects, so that the push below sends only what is new
            _git(tree, "fetch", "--quiet", str(bare), "main")
        message = f"ksm pull: {authority}, {len(chosen)} client(s)" + (f"\n\n{note}" if note else "")
        commit = _git(
            tree, *_AUTHOR, "commit-tree", new_tree, *(["-p", parent] if parent else []), "-m", message
        )
        # objects of the temporary repository into the bare one, then move main
        _git(tree, "push", "--quiet", str(bare), f"{commit}:refs/heads/main")
    # one pack: a client's first clone over dumb HTTP is then one file, not one request per object
    _git(bare, "repack", "-a", "-d", "-q")
    _git(bare, "update-server-info")
    return commit
