"""Where the toolkit's own files live: roles/, playbooks/ and device templates/ (one place for all stages)."""

from __future__ import annotations

import os
from pathlib import Path


def project_dir() -> Path:
    """The ksm-provision checkout (override with KSM_PROJECT_DIR for an installed toolkit)."""
    override = os.environ.get("KSM_PROJECT_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[1]


def roles_dir() -> Path:
    return project_dir() / "roles"


def playbook(name: str = "site.yml") -> Path:
    return project_dir() / "playbooks" / name


def build_dir() -> Path:
    """Generated, disposable output (git-ignored)."""
    return Path(os.environ.get("KSM_BUILD_DIR", str(project_dir() / "build")))
