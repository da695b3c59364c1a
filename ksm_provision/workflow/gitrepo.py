"""The few git questions the change workflow asks: which files changed since REF, and their old text.

Every call runs ``git`` with ``-C`` on the repository, with ``-z`` where paths are listed, so that
unusual file names survive. Errors say which revision or repository was wrong and how to fix it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ksm_provision.errors import UsageError


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError(
            "git is not installed", "install git (apt-get install git) to use --changed-since"
        ) from None


def repo_top(repo: Path) -> Path:
    """The top directory of the git work tree that holds *repo*."""
    done = _git(repo, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise UsageError(
            f"'{repo}' is not inside a git repository",
            "run ksm from a clone of the inventory repository, or drop --changed-since",
        )
    return Path(done.stdout.decode().strip()).resolve()


def resolve_commit(repo: Path, ref: str) -> str:
    """The full commit id of *ref*; a clear error when the revision is unknown (e.g. a shallow clone)."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"'{ref}' is not a git revision", "pass a commit, branch or tag, e.g. origin/main")
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise UsageError(
            f"unknown git revision '{ref}'",
            f"fetch it first (git fetch origin {ref}); in GitLab CI set GIT_DEPTH: 0 or deepen the clone",
        )
    return done.stdout.decode().strip()


def head_commit(repo: Path) -> str | None:
    """The commit checked out in *repo*, or None outside a repository or before the first commit."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    text = done.stdout.decode().strip()
    return text if done.returncode == 0 and text else None


def changed_files(repo: Path, commit: str) -> list[str]:
    """Paths (relative to the work tree's top) that differ between *commit* and the work tree.

    Committed, staged and unstaged changes count, and so do new files git does not ignore. Renames
    count as a removal plus an addition, so both names are seen.
    """
    diff = _git(repo, "diff", "--name-only", "--no-renames", "-z", commit, "--")
    if diff.returncode != 0:
        raise UsageError(
            f"git diff against {commit[:12]} failed: {diff.stderr.decode().strip()}",
            "check that the repository is not corrupt (git fsck)",
        )
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "-z", "--full-name", ":/")
    names = {p for p in diff.stdout.decode().split("\0") if p}
    if untracked.returncode == 0:
        names.update(p for p in untracked.stdout.decode().split("\0") if p)
    return sorted(names)


def text_at(repo: Path, commit: str, path: str) -> str | None:
    """The text of *path* (relative to the top) at *commit*, or None when it did not exist then."""
    done = _git(repo, "show", f"{commit}:{path}")
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")
