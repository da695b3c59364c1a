"""The Ansible collection ``ksm.provision``: its layout, its build, and the copy ksm's own runs use.

The collection holds the toolkit's roles, ``playbooks/site.yml`` and the inventory plugin
``ksm.provision.ksm_inventory``; its metadata (``galaxy.yml``, ``meta/runtime.yml``, README,
changelog) lives in ``collection/`` of the repository. Two layouts are made from the same parts:

* :func:`build_collection` copies them into a staging directory and runs
  ``ansible-galaxy collection build`` there (``make collection``; the tarball goes to
  ``build/collections/``), for ``ansible-galaxy collection install``, AWX projects and
  execution environments;
* :func:`link_collection` lays out ``<dir>/ansible_collections/ksm/provision`` as symbolic links
  to the roles and playbooks ksm itself uses (:func:`ksm_provision.resources.project_dir`: the
  checkout, the installed wheel's ``_toolkit/`` or ``$KSM_PROJECT_DIR``) and to the plugin module
  of the imported package. Every ``ksm plan/apply`` run points ``ANSIBLE_COLLECTIONS_PATH`` at such a
  directory inside its run directory, so the FQCNs in ``site.yml`` resolve to exactly the files
  whose digests the plan recorded, whatever collections are installed elsewhere.

``python -m ksm_provision.ansible_plugins.collection build [--output DIR]`` and
``... link DIR`` run the two from the command line; ``... ee-files DIR`` puts the package's wheel
and the collection tarball (as ``ksm-provision.tar.gz``) into DIR for ``execution-environment.yml``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from ksm_provision import __version__
from ksm_provision.errors import KsmError
from ksm_provision.resources import checkout_dir, project_dir

NAMESPACE = "ksm"
NAME = "provision"
FQCN = f"{NAMESPACE}.{NAME}"
INVENTORY_PLUGIN = f"{FQCN}.ksm_inventory"
#: The collection's own files in the repository: galaxy.yml, meta/runtime.yml, README.md, CHANGELOG.md.
METADATA_DIR = "collection"
#: The inventory plugin module, as shipped in the package (``plugins/inventory/`` of the collection).
PLUGIN_SOURCE = Path(__file__).resolve().parent / "inventory" / "ksm_inventory.py"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.retry", ".*")


def collection_root(collections_path: Path) -> Path:
    """``<collections_path>/ansible_collections/ksm/provision``."""
    return collections_path / "ansible_collections" / NAMESPACE / NAME


def tarball_name(version: str = __version__) -> str:
    return f"{NAMESPACE}-{NAME}-{version}.tar.gz"


def link_collection(collections_path: Path, toolkit: Path | None = None) -> Path:
    """Lay out the collection below *collections_path* as links to *toolkit* (default: ksm's own).

    Returns *collections_path*, the value for ``ANSIBLE_COLLECTIONS_PATH``. Links, not copies: a run
    uses the very files its plan hashed, and laying it out costs a few system calls.
    """
    toolkit = (toolkit or project_dir()).resolve()
    root = collection_root(collections_path)
    if root.is_symlink() or root.is_file():
        root.unlink()
    elif root.exists():
        shutil.rmtree(root)
    (root / "plugins" / "inventory").mkdir(parents=True)
    (root / "roles").symlink_to(toolkit / "roles", target_is_directory=True)
    (root / "playbooks").symlink_to(toolkit / "playbooks", target_is_directory=True)
    (root / "plugins" / "inventory" / PLUGIN_SOURCE.name).symlink_to(PLUGIN_SOURCE)
    return collections_path


def stage_collection(staging: Path, checkout: Path) -> Path:
    """Copy the collection's files from *checkout* into *staging* (a fresh directory); return it."""
    metadata = checkout / METADATA_DIR
    galaxy = _galaxy_metadata(metadata / "galaxy.yml")
    if str(galaxy.get("version")) != __version__:
        raise KsmError(
            f"{metadata / 'galaxy.yml'}: version {galaxy.get('version')} is not the package's {__version__}",
            "set one version in collection/galaxy.yml, pyproject.toml and ksm_provision/__init__.py",
        )
    shutil.copytree(metadata, staging, ignore=_IGNORED)
    shutil.copytree(checkout / "roles", staging / "roles", ignore=_IGNORED)
    (staging / "playbooks").mkdir()
    for playbook in sorted((checkout / "playbooks").glob("*.yml")):
        shutil.copy2(playbook, staging / "playbooks" / playbook.name)
    (staging / "plugins" / "inventory").mkdir(parents=True)
    shutil.copy2(PLUGIN_SOURCE, staging / "plugins" / "inventory" / PLUGIN_SOURCE.name)
    return staging


def build_collection(output: Path, checkout: Path | None = None) -> Path:
    """``ansible-galaxy collection build`` of the staged collection into *output*; the tarball's path."""
    source = checkout or checkout_dir()
    if source is None or not (source / METADATA_DIR / "galaxy.yml").is_file():
        raise KsmError(
            f"the collection is built from a checkout of ksm-provision; none found around {Path(__file__)}",
            "run `make collection` in the repository",
        )
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ksm-collection-") as tmp:
        staging = stage_collection(Path(tmp) / "provision", source)
        command = [_ansible_galaxy(), "collection", "build", str(staging), "--output-path", str(output)]
        done = subprocess.run([*command, "--force"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise KsmError(
            f"ansible-galaxy collection build failed (rc={done.returncode}):\n{done.stdout}{done.stderr}",
            "fix the collection metadata in collection/ (galaxy.yml) or the roles",
        )
    tarball = output / tarball_name()
    if not tarball.is_file():
        raise KsmError(f"ansible-galaxy built no {tarball}:\n{done.stdout}", "see the output above")
    return tarball


#: The collection tarball's name in the execution environment's build files (execution-environment.yml).
EE_TARBALL = f"{NAMESPACE}-{NAME}.tar.gz"


def ee_files(directory: Path, checkout: Path | None = None) -> list[Path]:
    """The wheel of the package and the collection tarball, in an emptied *directory*.

    ``execution-environment.yml`` copies *directory* (``build/ee``) into the build context.
    """
    source = checkout or checkout_dir()
    if source is None:
        raise KsmError(
            "the execution environment's files are built from a checkout", "run it in the repository"
        )
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    tarball = build_collection(directory, source).rename(directory / EE_TARBALL)
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(directory), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(directory.glob("ksm_provision-*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise KsmError(
            f"python -m build --wheel failed (rc={done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}",
            "install the dev extras (pip install -e '.[dev]'), which bring `build`",
        )
    return [*wheels, tarball]


def _galaxy_metadata(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KsmError(f"{path}: {exc}", "restore collection/galaxy.yml from the repository") from None
    if not isinstance(data, dict):
        raise KsmError(f"{path}: not a mapping", "restore collection/galaxy.yml from the repository")
    return data


def _ansible_galaxy() -> str:
    """The ansible-galaxy next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ansible-galaxy"
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("ansible-galaxy")
    if not found:
        raise KsmError("ansible-galaxy is not installed", "install ansible-core (pip install -e '.[dev]')")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ksm_provision.ansible_plugins.collection")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the collection tarball")
    build.add_argument("--output", type=Path, default=Path("build/collections"))
    link = commands.add_parser("link", help="lay out DIR/ansible_collections/ksm/provision as links")
    link.add_argument("directory", type=Path)
    files = commands.add_parser(
        "ee-files", help="the wheel and the collection tarball for the EE's build context"
    )
    files.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(build_collection(args.output))
        elif args.command == "ee-files":
            print("\n".join(map(str, ee_files(args.directory))))
        else:
            print(collection_root(link_collection(args.directory)))
    except KsmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
