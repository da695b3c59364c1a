"""Ship the toolkit's roles/, playbooks/ and templates/ inside the wheel, as ``ksm_provision/_toolkit/``.

They stay at the top of the repository, where engineers, ansible-lint, CODEOWNERS and the change
planner expect them; the build copies them into the package so that ``pip install ksm-provision``
works in any repository of inventories (``ksm_provision.resources`` finds them with
importlib.resources). An editable install (``pip install -e .``) copies nothing: the package then
uses the checkout's own directories. Everything else is configured in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Keep in step with ksm_provision.resources.TOOLKIT_DIRS / PACKAGED_DIR.
TOOLKIT_DIRS = ("roles", "playbooks", "templates")
PACKAGED_DIR = Path("ksm_provision") / "_toolkit"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.retry", ".*")


class BuildPyWithToolkit(build_py):
    """``build_py`` plus a copy of the toolkit directories into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / PACKAGED_DIR
        for name in TOOLKIT_DIRS:
            source = ROOT / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; build from a checkout or a complete sdist")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name, ignore=IGNORED)


setup(cmdclass={"build_py": BuildPyWithToolkit})
