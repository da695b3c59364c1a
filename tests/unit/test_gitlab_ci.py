"""The GitLab CI file as written: its structure, its shell, and its ksm commands through the real CLI.

Every ``ksm`` command in the file is resolved by Click exactly as the runner would call it (options,
arguments, choices). The merge-request flow then runs as written on a throw-away inventory
repository: the plan job's script produces plan.json and plan.txt, a merge commit is made, and the
apply job's script finds the merge request, fetches the plan (``curl`` stubbed: no GitLab here) and
applies it; a plan made stale by a later merge is refused. The change is one that touches no host
or device, so no lab is needed; the lab tests apply real plans.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CI_FILE = REPO / ".gitlab-ci.yml"
SAMPLE_PASSWORDS = REPO / "inventories" / "vault" / "sample-passwords"
SHELL_OPERATORS = {"||", "&&", "|", ";", ">", ">>", "<", "&", "2>", "2>&1"}
INSTALL_COMMANDS = ("apt-get ", "python3 -m venv ")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def config() -> dict[str, Any]:
    data = yaml.safe_load(CI_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def jobs() -> dict[str, dict[str, Any]]:
    return {name: job for name, job in config().items() if isinstance(job, dict) and "script" in job}


def script_of(job: str, part: str = "script") -> list[str]:
    source = jobs()[job] if part == "script" else config()["default"]
    entries = source.get(part, [])
    return [entries] if isinstance(entries, str) else list(entries)


def ksm_commands() -> list[tuple[str, list[str]]]:
    """``(job, argv)`` of every ksm command in every job's script, up to the first shell operator."""
    found = []
    for job in jobs():
        for entry in script_of(job):
            for line in entry.replace("\\\n", " ").splitlines():
                if not line.strip().startswith("ksm "):
                    continue
                lexer = shlex.shlex(line.strip(), posix=True, punctuation_chars=True)
                lexer.whitespace_split = True
                tokens = list(lexer)
                argv = []
                for token in tokens[1:]:
                    if token in SHELL_OPERATORS:
                        break
                    argv.append(token)
                found.append((job, argv))
    return found


def resolve(argv: list[str]) -> click.Command:
    """Parse *argv* as the ksm CLI would, down to the leaf command, without running it."""
    from ksm_provision.cli import ksm

    command: click.Command = ksm
    ctx = ksm.make_context("ksm", list(argv))
    while isinstance(command, click.Group):
        state = vars(ctx)
        rest = [*state.get("_protected_args", state.get("protected_args", [])), *ctx.args]
        name, sub, args = command.resolve_command(ctx, rest)
        assert name is not None and sub is not None, f"ksm {' '.join(argv)}: no such command"
        ctx = sub.make_context(name, args, parent=ctx)
        command = sub
    return command


def expand(token: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), m.group(0)), token)


# --------------------------------------------------------------------------- structure


def test_stages_and_when_each_job_runs() -> None:
    data = config()
    assert data["stages"] == ["validate", "plan", "apply", "drift"]
    all_jobs = jobs()
    assert set(all_jobs) == {"validate", "plan", "apply", "drift"}
    rules = {name: " ".join(rule["if"] for rule in job["rules"]) for name, job in all_jobs.items()}
    assert rules["plan"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert rules["apply"] == '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"'
    assert rules["drift"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert all(job["stage"] == name for name, job in all_jobs.items())


def test_plan_artifacts_apply_serialised_drift_warns() -> None:
    all_jobs = jobs()
    assert all_jobs["plan"]["artifacts"]["paths"] == ["plan.json", "plan.txt"]
    assert all_jobs["plan"]["variables"]["GIT_DEPTH"] == "0"
    assert all_jobs["apply"]["resource_group"] == "ksm-apply"
    assert all_jobs["drift"]["allow_failure"] == {"exit_codes": [2]}


def test_every_script_is_valid_shell() -> None:
    for job in jobs():
        script = "\n".join(script_of("", "before_script") + script_of(job))
        done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert done.returncode == 0, f"job {job}: {done.stderr}"


def test_the_file_holds_the_expected_ksm_commands() -> None:
    assert [(job, argv[0]) for job, argv in ksm_commands()] == [
        ("validate", "validate"),
        ("plan", "plan"),
        ("plan", "show"),
        ("apply", "show"),
        ("apply", "apply"),
        ("drift", "drift"),
    ]


@pytest.mark.parametrize(
    ("job", "argv"), ksm_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v)
)
def test_every_ksm_command_parses(
    job: str, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.json").write_text("{}")  # arguments that must name an existing file
    env = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": "0" * 40}
    command = resolve([expand(token, env) for token in argv])
    assert command.callback is not None, f"job {job}: ksm {' '.join(argv)} resolves to no command"


# --------------------------------------------------------------------------- the merge-request flow, run


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An inventory repository: the sample inventories on main, one merge request branch `mr`."""
    repo = tmp_path / "inventory-repo"
    shutil.copytree(REPO / "inventories", repo / "inventories")
    (repo / ".gitignore").write_text(".vault-passwords/\n")
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "mr")
    (repo / "README.md").write_text("# Inventories\n\nWho to call: the KSM service desk.\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "Document the service desk")
    return repo


def ci_env(repo: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CI_PROJECT_DIR": str(repo),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    for name, value in config()["variables"].items():
        env[name] = expand(str(value), env)
    env.update(
        KSM_STATE_DIR=str(tmp_path / "state"),
        KSM_LAB_ONLY="1",
        KSM_DEBUG="1",
        KSM_VAULT_PASS_LUP=str(SAMPLE_PASSWORDS / "lup.pass"),
        KSM_VAULT_PASS_SCHWERIN=str(SAMPLE_PASSWORDS / "schwerin.pass"),
    )
    env.update(extra)
    return env


def run_job(job: str, repo: Path, env: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess[str]:
    """The job's before_script (without the installation lines) and script, as the runner runs them."""
    before = [line for line in script_of("", "before_script") if not line.startswith(INSTALL_COMMANDS)]
    script = "\n".join([prelude, *before, *script_of(job)])
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_only_installation_lines_are_left_out() -> None:
    skipped = [line for line in script_of("", "before_script") if line.startswith(INSTALL_COMMANDS)]
    assert [line.split()[:2] for line in skipped] == [
        ["apt-get", "update"],
        ["apt-get", "install"],
        ["python3", "-m"],
    ]


def test_validate_job_runs(project: Path, tmp_path: Path) -> None:
    done = run_job("validate", project, ci_env(project, tmp_path))
    assert done.returncode == 0, done.stderr
    assert "no problems" in done.stdout
    assert sorted(p.name for p in (project / ".vault-passwords").iterdir()) == ["lup.pass", "schwerin.pass"]


def merge(repo: Path, message: str) -> str:
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "mr", "-m", message)
    return git(repo, "rev-parse", "HEAD")


CURL_STUB = """
curl() {  # stands in for GitLab's API: logs its arguments, serves the plan job's artifact
  printf '%s\\n' "$@" > "$CURL_LOG"
  cp "$ARTIFACT" plan.json
}
"""


def plan_then_merge(project: Path, tmp_path: Path) -> tuple[Path, str]:
    base = git(project, "rev-parse", "main")
    done = run_job("plan", project, ci_env(project, tmp_path, CI_MERGE_REQUEST_DIFF_BASE_SHA=base))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "plan.txt").read_text() in done.stdout
    assert "0 of 0 host(s) and 0 of 0 device(s) would change" in (project / "plan.txt").read_text()
    artifact = tmp_path / "artifact" / "plan.json"
    artifact.parent.mkdir()
    shutil.move(project / "plan.json", artifact)
    (project / "plan.txt").unlink()
    sha = merge(
        project,
        "Merge branch 'mr' into 'main'\n\nDocument the service desk\n\nSee merge request ksm/inventories!42",
    )
    return artifact, sha


def test_merge_request_plan_then_apply_after_merge(project: Path, tmp_path: Path) -> None:
    artifact, sha = plan_then_merge(project, tmp_path)
    log = tmp_path / "curl.log"
    env = ci_env(
        project,
        tmp_path,
        CI_COMMIT_SHA=sha,
        CI_API_V4_URL="https://gitlab.example.invalid/api/v4",
        CI_PROJECT_ID="7",
        CI_JOB_TOKEN="job-token",
        ARTIFACT=str(artifact),
        CURL_LOG=str(log),
    )
    done = run_job("apply", project, env, CURL_STUB)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = log.read_text().splitlines()
    assert "JOB-TOKEN: job-token" in calls
    assert (
        "https://gitlab.example.invalid/api/v4/projects/7/jobs/artifacts/"
        "refs%2Fmerge-requests%2F42%2Fhead/raw/plan.json?job=plan"
    ) in calls


def test_apply_refuses_a_plan_made_stale_by_a_later_merge(project: Path, tmp_path: Path) -> None:
    artifact, _ = plan_then_merge(project, tmp_path)
    path = project / "inventories" / "ksm.yml"
    path.write_text(path.read_text().replace("locale: de_DE.UTF-8", "locale: en_US.UTF-8"))
    git(
        project,
        "commit",
        "-q",
        "-am",
        "Merge branch 'other' into 'main'\n\nSee merge request ksm/inventories!43",
    )
    env = ci_env(
        project,
        tmp_path,
        CI_COMMIT_SHA=git(project, "rev-parse", "HEAD"),
        CI_API_V4_URL="https://x",
        CI_PROJECT_ID="7",
        CI_JOB_TOKEN="t",
        ARTIFACT=str(artifact),
        CURL_LOG=str(tmp_path / "log"),
    )
    done = run_job("apply", project, env, CURL_STUB)
    assert done.returncode == 1
    assert "inventories/ksm.yml changed since the plan was made" in done.stderr


def test_apply_without_a_merge_request_stops(project: Path, tmp_path: Path) -> None:
    git(project, "checkout", "-q", "main")
    env = ci_env(
        project,
        tmp_path,
        CI_COMMIT_SHA=git(project, "rev-parse", "HEAD"),
        CI_API_V4_URL="https://x",
        CI_PROJECT_ID="7",
        CI_JOB_TOKEN="t",
        ARTIFACT="/nonexistent",
        CURL_LOG=str(tmp_path / "log"),
    )
    done = run_job("apply", project, env, CURL_STUB)
    assert done.returncode == 1
    assert "no merge request found" in done.stderr and not (tmp_path / "log").exists()
