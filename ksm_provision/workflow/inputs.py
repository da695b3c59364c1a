"""Hashes of every input a plan depends on, so that ``ksm apply plan.json`` can refuse a stale plan.

Keys are stable across machines and checkouts: inventory files as ``<inventory dir name>/<path>``
(``inventories/lup.yml``), toolkit files relative to the toolkit (``roles/base/tasks/main.yml``),
and ``ksm_provision`` for the toolkit's version and code. The toolkit files are the ones ksm runs
(:mod:`ksm_provision.resources`): the copies installed with the package, a checkout's, or
``$KSM_PROJECT_DIR``'s, under the same keys in every case. Vault files are hashed as stored
(encrypted); no secret value is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ksm_provision import __version__
from ksm_provision.errors import InventoryError
from ksm_provision.inventory.files import read_inventory_file, read_vault_file
from ksm_provision.inventory.inventory import PROVIDER_FILE, Inventory
from ksm_provision.resources import PACKAGED_DIR, package_dir, project_dir, templates_dir

#: The key under which the toolkit's version and code are hashed.
TOOLKIT_KEY = "ksm_provision"
#: The value of a key whose file does not exist.
MISSING = "missing"
_CODE_SUFFIXES = (".py", ".j2", ".json")


class ScopeLike(Protocol):
    """What a plan covers: :class:`~ksm_provision.workflow.changes.ChangeScope`, a plan file, ..."""

    @property
    def authorities(self) -> Collection[str]: ...

    @property
    def host_names(self) -> Collection[str]: ...

    @property
    def device_names(self) -> Collection[str]: ...


@dataclass(frozen=True)
class Selection:
    """A plain :class:`ScopeLike`, e.g. for a plan without ``--changed-since``."""

    authorities: tuple[str, ...]
    host_names: frozenset[str] = frozenset()
    device_names: frozenset[str] = frozenset()

    @staticmethod
    def of(authorities: Iterable[str], hosts: Iterable[str] = (), devices: Iterable[str] = ()) -> Selection:
        return Selection(tuple(sorted(set(authorities))), frozenset(hosts), frozenset(devices))


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes, or :data:`MISSING`."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return MISSING


def _files_below(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def toolkit_hash() -> str:
    """sha256 over the toolkit's version and the source files of the imported package.

    The roles, playbooks and templates a wheel ships inside the package (``_toolkit/``) are left
    out here: :func:`input_hashes` hashes them one by one, as it does a checkout's.
    """
    package = package_dir()
    digest = hashlib.sha256(f"ksm-provision {__version__}\n".encode())
    for path in _files_below(package):
        if path.suffix in _CODE_SUFFIXES and path.relative_to(package).parts[0] != PACKAGED_DIR:
            digest.update(f"{path.relative_to(package).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _tenant_file_hash(read: Callable[[Path], bytes], path: Path) -> str:
    """sha256 of an inventory or vault file, read as safely as the loader reads it, or :data:`MISSING`."""
    try:
        return hashlib.sha256(read(path)).hexdigest()
    except InventoryError:  # missing, a link or a special file: the loader refuses those already
        return MISSING


def _inventory_inputs(inventory: Inventory, authorities: Iterable[str]) -> dict[str, str]:
    root = inventory.root
    hashes = {f"{root.name}/{PROVIDER_FILE}": _tenant_file_hash(read_inventory_file, root / PROVIDER_FILE)}
    for aid in authorities:
        hashes[f"{root.name}/{aid}.yml"] = _tenant_file_hash(read_inventory_file, root / f"{aid}.yml")
        model = inventory.authorities.get(aid)
        if model is not None:
            vault = root / model.vault.file
            hashes[f"{root.name}/{model.vault.file}"] = _tenant_file_hash(read_vault_file, vault)
    return hashes


def _toolkit_inputs(directories: Iterable[str], files: Iterable[str] = ()) -> dict[str, str]:
    base = project_dir()
    hashes = {}
    for name in directories:
        for path in _files_below(base / name):
            hashes[path.relative_to(base).as_posix()] = file_hash(path)
    for name in files:
        if (base / name).exists():
            hashes[name] = file_hash(base / name)
    return hashes


def _device_platforms(inventory: Inventory, scope: ScopeLike) -> set[str]:
    wanted = set(scope.device_names)
    return {
        d.platform.value
        for aid in scope.authorities
        if aid in inventory.authorities
        for d in inventory.authorities[aid].network_devices
        if d.hostname in wanted
    }


def input_hashes(inventory: Inventory, scope: ScopeLike) -> dict[str, str]:
    """sha256 of every input file that affects *scope*, keyed by a location-independent name.

    Inventory: ksm.yml, the authority files and vault files in scope. Hosts: roles/, playbooks/,
    ansible.cfg. Devices: the templates of their platforms plus shared templates. Always: the toolkit.
    """
    hashes = _inventory_inputs(inventory, sorted(scope.authorities))
    if scope.host_names:
        hashes.update(_toolkit_inputs(["roles", "playbooks"], ["ansible.cfg"]))
    if scope.device_names:
        templates = templates_dir()
        shared = [p for p in _files_below(templates) if len(p.relative_to(templates).parts) == 1]
        hashes.update({f"templates/{p.name}": file_hash(p) for p in shared})
        hashes.update(_toolkit_inputs(f"templates/{p}" for p in sorted(_device_platforms(inventory, scope))))
    hashes[TOOLKIT_KEY] = toolkit_hash()
    return dict(sorted(hashes.items()))


def plan_hash(hashes: dict[str, str]) -> str:
    """One sha256 over all input hashes (order-independent).

    >>> plan_hash({"b": "2", "a": "1"}) == plan_hash({"a": "1", "b": "2"})
    True
    """
    return hashlib.sha256(json.dumps(sorted(hashes.items())).encode()).hexdigest()
