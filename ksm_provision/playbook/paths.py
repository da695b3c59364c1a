"""Where the toolkit's Ansible content lives (roles/, playbooks/ next to the package)."""

from __future__ import annotations

import os
from pathlib import Path


def project_dir() -> Path:
    """The ksm-provision checkout (override with KSM_PROJECT_DIR for an installed toolkit)."""
    override = os.environ.get("KSM_PROJECT_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2]


def roles_dir() -> Path:
    return project_dir() / "roles"


def playbook(name: str = "site.yml") -> Path:
    return project_dir() / "playbooks" / name


def build_dir() -> Path:
    """Generated, disposable output (git-ignored)."""
    return Path(os.environ.get("KSM_BUILD_DIR", str(project_dir() / "build")))
