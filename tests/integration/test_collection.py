"""The collection ksm.provision as a user gets it: built, installed into a clean path, used from elsewhere.

The tarball comes from the same code as ``make collection``; ``ansible-galaxy collection install
--offline`` puts it into a fresh collections path, and every command then runs in a directory
outside the checkout that holds only a copy of ``inventories/`` and inventory source files, with
``ANSIBLE_COLLECTIONS_PATH`` naming that path and no ansible.cfg of the repository in reach.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ksm_provision import __version__
from ksm_provision.ansible_plugins.collection import (
    INVENTORY_PLUGIN,
    build_collection,
    collection_root,
    link_collection,
)
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.workflow.role_targets import role_patterns

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())


def _tool(name: str) -> str:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: install the dev extras (make venv, or pip install -e '.[dev]')")
    return str(path)


@dataclass(frozen=True)
class Site:
    """A directory outside the checkout with inventories/, and the path the collection is installed in."""

    directory: Path
    collections: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(self.collections), ANSIBLE_HOME=str(self.directory / ".ansible")
        )
        return {**env, **extra}

    def source(self, name: str, **options: Any) -> Path:
        path = self.directory / name
        path.write_text(yaml.safe_dump({"plugin": INVENTORY_PLUGIN, **options}), encoding="utf-8")
        return path

    def run(self, *command: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=self.directory, env=self.env(**extra), capture_output=True, text=True, timeout=300
        )

    def inventory(self, source: Path, **extra: str) -> dict[str, Any]:
        done = self.run(_tool("ansible-inventory"), "-i", str(source), "--list", **extra)
        assert done.returncode == 0, done.stderr
        data: dict[str, Any] = json.loads(done.stdout)
        return data


def _plain(value: Any) -> Any:
    """A value of ``ansible-inventory --list``: untrusted strings come as ``{"__ansible_unsafe": ...}``."""
    if isinstance(value, dict):
        return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else value
    return value


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_collection(tmp_path_factory.mktemp("collection-build"), REPO)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, tarball: Path) -> Site:
    base = tmp_path_factory.mktemp("collection-site")
    assert REPO not in base.parents
    collections = base / "collections"
    site = Site(base / "site", collections)
    site.directory.mkdir()
    shutil.copytree(REPO / "inventories", site.directory / "inventories")
    done = site.run(
        _tool("ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections), str(tarball)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def test_tarball_holds_roles_playbook_plugin_and_metadata(tarball: Path) -> None:
    assert tarball.name == f"ksm-provision-{__version__}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
        runtime = yaml.safe_load(archive.extractfile("meta/runtime.yml"))  # type: ignore[arg-type]
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("ksm", "provision", __version__)
    assert info["license"] == ["EUPL-1.2"]
    assert runtime["requires_ansible"] == ">=2.19.0"
    assert {"playbooks/site.yml", "plugins/inventory/ksm_inventory.py", "README.md"} <= names
    assert {f"roles/{role}/tasks/main.yml" for role in ROLES} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_inventory_source_lists_every_authority_from_outside_the_repo(site: Site) -> None:
    source = site.source("ksm_inventory.yml", path="inventories")
    done = site.run(_tool("ansible-inventory"), "-i", str(source), "--graph")
    assert done.returncode == 0, done.stderr
    authorities = load_inventory(site.directory / "inventories").authorities
    for authority in authorities:
        assert f"@authority_{authority}:" in done.stdout
    assert "@gateways:" in done.stdout and "@clients:" in done.stdout
    assert "WARNING" not in done.stderr, done.stderr


def test_inventory_hosts_and_variables_match_the_repository_plugin(site: Site) -> None:
    """The installed plugin and the checkout's (by the repository's ansible.cfg) agree host by host."""
    installed = site.inventory(site.source("ksm_inventory.yml", path="inventories"))
    checkout = subprocess.run(
        [_tool("ansible-inventory"), "-i", "inventories/ksm.yml", "--list"],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert installed["_meta"]["hostvars"] == json.loads(checkout.stdout)["_meta"]["hostvars"]


def test_keyed_groups_groups_compose_and_authorities(site: Site) -> None:
    source = site.source(
        "schwerin.ksm.yml",
        path=str(site.directory / "inventories"),  # an absolute path works as well
        authorities=["schwerin"],
        strict=True,
        keyed_groups=[{"key": "ksm_authority", "prefix": "tenant"}, {"key": "ksm_kind", "prefix": "kind"}],
        groups={"dhcp_servers": "'dhcp' in ksm_roles"},
        compose={"ksm_fqdn": "inventory_hostname ~ '.' ~ ksm_authority ~ '.example'"},
    )
    data = site.inventory(source)
    hostvars = {h: {k: _plain(v) for k, v in hv.items()} for h, hv in data["_meta"]["hostvars"].items()}
    assert hostvars and {v["ksm_authority"] for v in hostvars.values()} == {"schwerin"}
    assert "authority_lup" not in data and "tenant_lup" not in data
    assert set(data["tenant_schwerin"]["hosts"]) == set(hostvars)
    assert set(data["kind_client"]["hosts"]) == {h for h, v in hostvars.items() if v["ksm_kind"] == "client"}
    assert set(data["dhcp_servers"]["hosts"]) == set(data["role_dhcp"]["hosts"])
    assert all(v["ksm_fqdn"] == f"{h}.schwerin.example" for h, v in hostvars.items())


def test_strict_compose_fails_on_an_unknown_variable(site: Site) -> None:
    source = site.source("strict.ksm.yml", strict=True, compose={"x": "no_such_variable + 1"})
    done = site.run(
        _tool("ansible-inventory"), "-i", str(source), "--graph", ANSIBLE_INVENTORY_UNPARSED_FAILED="1"
    )
    assert done.returncode != 0
    assert "no_such_variable" in done.stderr


def test_missing_inventory_directory_fails_loudly(site: Site) -> None:
    source = site.source("missing.ksm.yml", path="no-such-directory")
    failed = site.run(
        _tool("ansible-inventory"), "-i", str(source), "--graph", ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1"
    )
    assert failed.returncode != 0
    assert f"no ksm.yml in {site.directory / 'no-such-directory'}" in failed.stderr
    assert "set `path` to the directory that holds ksm.yml" in failed.stderr
    # AWX's inventory updates set ANSIBLE_INVENTORY_UNPARSED_FAILED
    unparsed = site.run(
        _tool("ansible-inventory"), "-i", str(source), "--list", ANSIBLE_INVENTORY_UNPARSED_FAILED="True"
    )
    assert unparsed.returncode != 0 and "no ksm.yml in" in unparsed.stderr


def test_unknown_authority_fails_loudly(site: Site) -> None:
    source = site.source("unknown.ksm.yml", authorities=["atlantis"])
    done = site.run(
        _tool("ansible-inventory"), "-i", str(source), "--graph", ANSIBLE_INVENTORY_UNPARSED_FAILED="1"
    )
    assert done.returncode != 0 and "unknown authorities atlantis" in done.stderr


def test_ansible_doc_shows_options_and_examples(site: Site) -> None:
    done = site.run(_tool("ansible-doc"), "-t", "inventory", INVENTORY_PLUGIN)
    assert done.returncode == 0, done.stderr
    for text in ("ksm_inventory.yml", "authorities", "keyed_groups", "compose", "strict", "EXAMPLES"):
        assert text in done.stdout, text
    as_json = json.loads(site.run(_tool("ansible-doc"), "-t", "inventory", "--json", INVENTORY_PLUGIN).stdout)
    doc = as_json[INVENTORY_PLUGIN]
    assert {"plugin", "path", "authorities", "compose", "groups", "keyed_groups", "strict"} <= set(
        doc["doc"]["options"]
    )
    examples = list(yaml.safe_load_all(doc["examples"]))
    assert all(e["plugin"] == INVENTORY_PLUGIN for e in examples)


def test_site_playbook_resolves_every_role_by_fqcn(site: Site) -> None:
    source = site.source("ksm_inventory.yml", path="inventories")
    done = site.run(_tool("ansible-playbook"), "-i", str(source), "ksm.provision.site", "--list-tasks")
    assert done.returncode == 0, done.stdout + done.stderr
    for role in ROLES:
        if role in role_patterns(REPO / "playbooks" / "site.yml", REPO / "roles"):
            assert f"ksm.provision.{role} : " in done.stdout, role


def test_linked_collection_is_the_one_ksm_runs_use(tmp_path: Path) -> None:
    """ksm plan/apply lay out the collection as links to their own toolkit (see runner.run_playbook)."""
    root = collection_root(link_collection(tmp_path / "collections", REPO))
    assert (root / "roles").resolve() == (REPO / "roles").resolve()
    assert (root / "playbooks" / "site.yml").resolve() == (REPO / "playbooks" / "site.yml").resolve()
    assert (root / "plugins" / "inventory" / "ksm_inventory.py").resolve() == (
        REPO / "ksm_provision" / "ansible_plugins" / "inventory" / "ksm_inventory.py"
    ).resolve()
    link_collection(tmp_path / "collections", REPO)  # again: replaces, never nests
    assert sorted(p.name for p in root.iterdir()) == ["playbooks", "plugins", "roles"]
