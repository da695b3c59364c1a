"""Where the toolkit's own files live: roles/, playbooks/ and device templates/ (one place for all stages).

They are edited at the top of the repository and shipped inside the wheel as
``ksm_provision/_toolkit/{roles,playbooks,templates}`` (``setup.py`` copies them at build time).
:func:`project_dir` is the directory holding the three, chosen in this order:

1. ``$KSM_PROJECT_DIR``: a site's own copy of roles/, playbooks/ and templates/ (tests use it too);
2. the files installed with the package (``pip install ksm-provision``), found by importlib.resources;
3. the checkout the package is imported from (``pip install -e .``, ``make install``).

Generated, disposable output goes to :func:`build_dir`, never into the installed package.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from ksm_provision.errors import KsmError

#: The toolkit directories shipped in the wheel, below :data:`PACKAGED_DIR` of the package.
TOOLKIT_DIRS = ("roles", "playbooks", "templates")
#: Where the wheel holds them, relative to the ``ksm_provision`` package (see setup.py).
PACKAGED_DIR = "_toolkit"
PROJECT_DIR_ENV = "KSM_PROJECT_DIR"
BUILD_DIR_ENV = "KSM_BUILD_DIR"


def package_dir() -> Path:
    """The directory of the imported ``ksm_provision`` package (its code)."""
    return Path(__file__).resolve().parent


def packaged_toolkit() -> Path | None:
    """The roles/playbooks/templates installed with the package, or None (a checkout)."""
    root = resources.files("ksm_provision") / PACKAGED_DIR
    # Ansible and Jinja2 need real paths: a package imported from a zip file has none.
    if isinstance(root, Path) and root.is_dir():
        return root.resolve()
    return None


def checkout_dir() -> Path | None:
    """The source checkout the package is imported from (an editable install), or None."""
    root = package_dir().parent
    if (root / "pyproject.toml").is_file() and all((root / name).is_dir() for name in TOOLKIT_DIRS):
        return root
    return None


def project_dir() -> Path:
    """The directory that holds the toolkit's roles/, playbooks/ and templates/ (see the module doc)."""
    override = os.environ.get(PROJECT_DIR_ENV)
    if override:
        return Path(override)
    found = packaged_toolkit() or checkout_dir()
    if found is None:
        raise KsmError(
            "the toolkit's roles, playbooks and templates are missing: neither "
            f"{package_dir() / PACKAGED_DIR} nor a checkout around {package_dir()} holds them",
            f"reinstall ksm-provision from a wheel or sdist (pip install ksm-provision), or set "
            f"{PROJECT_DIR_ENV} to a directory with roles/, playbooks/ and templates/",
        )
    return found


def roles_dir() -> Path:
    return project_dir() / "roles"


def playbook(name: str = "site.yml") -> Path:
    return project_dir() / "playbooks" / name


def templates_dir() -> Path:
    """Device templates: ``<platform>/<device-role>.j2`` below it."""
    return project_dir() / "templates"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ksm-provision`` (default ``~/.cache/ksm-provision``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ksm-provision"


def build_dir() -> Path:
    """Generated, disposable output (Ansible run directories and generated inventories).

    ``$KSM_BUILD_DIR`` if set; else ``build/`` of the checkout when running from one (git-ignored);
    else, for an installed toolkit, the user's cache (``~/.cache/ksm-provision/build``): never the
    installed package, and nothing that could end up committed to a repository of inventories.
    """
    override = os.environ.get(BUILD_DIR_ENV)
    if override:
        return Path(override)
    checkout = None if packaged_toolkit() else checkout_dir()
    return checkout / "build" if checkout else user_cache_dir() / "build"
