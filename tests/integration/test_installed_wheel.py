"""The toolkit as a repository of inventories uses it: built as a wheel, installed into a fresh venv.

``python -m build`` makes the sdist and, from it, the wheel (so MANIFEST.in and setup.py's copy of
roles/, playbooks/ and templates/ are both exercised); the wheel goes into a new venv outside the
checkout, and the installed ``ksm`` runs in a directory that holds nothing but a copy of
``inventories/``. Nothing of the checkout is importable there (no PYTHONPATH, another working
directory), so every roles/playbook/template path has to come from the installed package. What it
uses and renders is compared with the same source snapshot run as a checkout (the files copied for
the build), so edits made in the checkout meanwhile do not matter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.resources import TOOLKIT_DIRS
from tests.conftest import LabTwin

REPO = Path(__file__).resolve().parents[2]
#: What the build needs from the checkout (pyproject.toml, setup.py and MANIFEST.in name the rest).
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "ksm_provision", *TOOLKIT_DIRS)
#: Variables that could point the installed toolkit back at the checkout.
CHECKOUT_VARIABLES = ("PYTHONPATH", "KSM_PROJECT_DIR", "KSM_INVENTORY", "VIRTUAL_ENV", "PYTHONHOME")

#: Prints what the installed toolkit uses, and the input hashes of a plan touching hosts and devices.
PROBE = """
import importlib.resources, json, sys
from pathlib import Path

import ksm_provision
from ksm_provision import resources
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.workflow.inputs import Selection, input_hashes

inventory = load_inventory(Path("inventories"))
scope = Selection.of(["schwerin"], sys.argv[1].split(","), sys.argv[2].split(","))
packaged = importlib.resources.files("ksm_provision") / "_toolkit"
wheel = packaged.is_dir()  # only an installed wheel has it
print(json.dumps({
    "package": ksm_provision.__file__,
    "project_dir": str(resources.project_dir()),
    "roles_dir": str(resources.roles_dir()),
    "playbook": str(resources.playbook()),
    "templates_dir": str(resources.templates_dir()),
    "build_dir": str(resources.build_dir()),
    "roles": sorted(p.name for p in (packaged / "roles").iterdir() if p.is_dir()) if wheel else None,
    "hashes": input_hashes(inventory, scope),
}))
"""


@dataclass(frozen=True)
class InstalledToolkit:
    """A fresh venv holding only the wheel, and a working directory holding only inventories/."""

    venv: Path
    site: Path
    wheel: Path
    source: Path  # the snapshot of the checkout the wheel was built from

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in (base or os.environ).items() if k not in CHECKOUT_VARIABLES}
        env["PATH"] = os.pathsep.join([str(self.bin), env.get("PATH", "")])
        env["KSM_VAULT_PASSWORDS_DIR"] = str(self.site / "inventories" / "vault" / "sample-passwords")
        env["KSM_LAB_ONLY"] = "1"
        return env

    def run(
        self, *argv: str, env: Mapping[str, str] | None = None, codes: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        """Run *argv* in the site directory (by default with :meth:`env`)."""
        result = subprocess.run(
            argv, cwd=self.site, env=dict(env or self.env()), capture_output=True, text=True, timeout=1200
        )
        assert result.returncode in codes, (
            f"{' '.join(argv)} exited {result.returncode}\nstdout:\n{result.stdout[-4000:]}\n"
            f"stderr:\n{result.stderr[-4000:]}"
        )
        return result

    def ksm(
        self, *args: str, env: Mapping[str, str] | None = None, codes: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "ksm"), *args, env=env, codes=codes)


def _checked(argv: list[str], what: str, timeout: float) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledToolkit:
    base = tmp_path_factory.mktemp("installed-wheel")
    source = base / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    dist = base / "dist"
    _checked([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], "python -m build", 900)
    (wheel,) = dist.glob("ksm_provision-*.whl")
    venv = base / "venv"
    _checked([sys.executable, "-m", "venv", str(venv)], "python -m venv", 300)
    _checked([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], "pip install <wheel>", 1800)
    site = base / "site"
    site.mkdir()
    shutil.copytree(REPO / "inventories", site / "inventories", symlinks=True)
    return InstalledToolkit(venv, site, wheel, source)


def _sample_scope() -> tuple[list[str], list[str]]:
    inventory = load_inventory(REPO / "inventories")
    hosts = sorted(h.hostname for h in inventory.hosts if h.authority == "schwerin")[:3]
    devices = sorted(d.hostname for d in inventory.devices if d.authority == "schwerin")
    return hosts, devices


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.integration
@pytest.mark.slow
def test_installed_wheel_validates_and_renders_outside_the_checkout(installed: InstalledToolkit) -> None:
    hosts, devices = _sample_scope()
    scope = ",".join(hosts), ",".join(devices)
    probe = json.loads(installed.run(str(installed.bin / "python"), "-c", PROBE, *scope).stdout)
    # the same source run as a checkout (what `pip install -e .` gives)
    as_checkout = {**installed.env(), "PYTHONPATH": str(installed.source)}
    reference = json.loads(installed.run(sys.executable, "-c", PROBE, *scope, env=as_checkout).stdout)
    assert Path(reference["project_dir"]) == installed.source, reference

    # the package and every toolkit path come from the venv, none from the checkout
    site_packages = installed.venv.resolve()
    packaged = Path(probe["project_dir"])
    assert Path(probe["package"]).resolve().is_relative_to(site_packages), probe["package"]
    assert packaged.is_relative_to(site_packages) and packaged.name == "_toolkit"
    assert Path(probe["roles_dir"]) == packaged / "roles"
    assert Path(probe["playbook"]) == packaged / "playbooks" / "site.yml"
    assert Path(probe["templates_dir"]) == packaged / "templates"
    assert not Path(probe["build_dir"]).is_relative_to(site_packages), "build output inside the package"

    # importlib.resources finds every role, and the wheel holds exactly the checkout's toolkit files
    assert probe["roles"] == sorted(p.name for p in (installed.source / "roles").iterdir() if p.is_dir())
    for name in TOOLKIT_DIRS:
        assert _tree(packaged / name) == _tree(installed.source / name), f"{name}/ differs from the checkout"

    # a plan made with the installed toolkit hashes the same inputs, code included, as the checkout's
    assert probe["hashes"] == reference["hashes"]
    assert {"ksm_provision", "playbooks/site.yml", "templates/cisco_ios/access_switch.j2"} <= set(
        probe["hashes"]
    )

    # test infrastructure does not ship
    installed.run(str(installed.bin / "python"), "-c", "import ksm_switchsim", codes=(1,))
    assert not list((packaged.parent / "lab").glob("testlab.py"))
    assert not (packaged.parent / "lab" / "switchsim").exists()

    installed.ksm("validate")
    installed.ksm("render", "network", "--out", "network")
    installed.ksm("render", "ansible", "--out", "ansible")
    rendered = _tree(installed.site / "network")
    assert {Path(name).stem for name in rendered} >= set(devices), sorted(rendered)
    assert (installed.site / "ansible" / "hosts.yml").is_file()

    # the same configs as the checkout renders
    installed.run(
        sys.executable, "-m", "ksm_provision", "render", "network", "--out", "reference", env=as_checkout
    )
    assert rendered == _tree(installed.site / "reference")


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.integration
def test_installed_wheel_plans_and_applies_the_lab(installed: InstalledToolkit, lab_twin: LabTwin) -> None:
    env = installed.env(lab_twin.env)
    scope = ("--authority", "schwerin", "--target", "lab")
    plan = _json(installed.ksm("plan", *scope, "--json", env=env))
    assert plan["hosts"]["hosts"] and plan["devices"]["devices"], plan
    assert not [h["host"] for h in plan["hosts"]["hosts"] if h["failed"] or h["unreachable"]]

    applied = _json(installed.ksm("apply", *scope, "--json", env=env))
    assert not [h["host"] for h in applied["hosts"]["hosts"] if h["failed"] or h["unreachable"]]
    statuses = {d["hostname"]: d["status"] for d in applied["devices"]["devices"]}
    assert set(statuses.values()) <= {"changed", "unchanged"}, statuses

    # what the installed toolkit applied is what it plans: nothing left to do
    installed.ksm("plan", *scope, "--detailed-exitcode", env=env)
