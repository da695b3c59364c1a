"""The GitLab CI file as written: its schema, structure, shell, and ksm commands through the real CLI.

The file is checked against GitLab's own JSON Schema of ``.gitlab-ci.yml`` (vendored in
tests/data/gitlab-ci-schema.json, source in gitlab-ci-schema.source.txt). Every ``ksm`` command in
it is resolved by Click exactly as the runner would call it (options, arguments, choices). The
merge-request flow then runs as written on a throw-away inventory repository: the plan job's script
produces plan.json and plan.txt, a merge commit is made, and the apply job's script finds the merge
request, fetches the plan (``curl`` stubbed: no GitLab here) from the ref its kind of pipeline ran
on (plain, merged results, merge train) and applies it; a plan made stale by a later merge is
refused. The change is one that touches no host or device, so no lab is needed; the lab tests apply
real plans.
"""

from __future__ import annotations

import copy
import json
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
from jsonschema.validators import validator_for

REPO = Path(__file__).resolve().parents[2]
CI_FILE = REPO / ".gitlab-ci.yml"
CI_SCHEMA = REPO / "tests" / "data" / "gitlab-ci-schema.json"
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
    """*token* with ``$NAME``, ``${NAME}``, ``${NAME:-default}`` replaced as by the shell (unset: kept)."""

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1) or match.group(3), match.group(2)
        if env.get(name):
            return env[name]
        return expand(default, env) if default is not None else match.group(0)

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", value, token)


def test_expand_as_the_shell_does() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert expand("$A ${A} ${EMPTY:-$A} ${B:-x} $B", env) == "1 1 1 x $B"


# --------------------------------------------------------------------------- GitLab's schema


def schema_errors(document: object) -> list[str]:
    """What GitLab's CI schema finds wrong with *document* (the loaded YAML), as ``path: message``."""
    schema = json.loads(CI_SCHEMA.read_text(encoding="utf-8"))
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    )


def test_the_file_is_valid_by_gitlabs_schema() -> None:
    assert schema_errors(config()) == []


def _rename(job: str, old: str, new: str) -> Any:
    def edit(data: dict[str, Any]) -> None:
        data[job][new] = data[job].pop(old)

    return edit


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (_rename("apply", "resource_group", "resource_grup"), "apply: Additional properties"),
        (lambda d: d["drift"].update(allow_failure={"exit_code": [2]}), "drift/allow_failure: "),
        (lambda d: d["plan"]["artifacts"].update(when="sometimes"), "plan/artifacts/when: 'sometimes'"),
        (
            lambda d: d["verify"]["artifacts"]["reports"].update(junitxml="x.xml"),
            "verify/artifacts/reports: ",
        ),
        (lambda d: d["default"]["cache"].update(paths=".cache/pip"), "default/cache"),
        (lambda d: d["validate"]["rules"].append({"iff": "$CI"}), "validate/rules/2: "),
    ],
    ids=["misspelt-key", "allow-failure-shape", "artifacts-when", "reports-kind", "cache-paths", "rule-key"],
)
def test_the_schema_check_catches_a_broken_file(edit: Any, where: str) -> None:
    """The check is not vacuous: each of these slips in the file would fail it."""
    data = copy.deepcopy(config())
    edit(data)
    errors = schema_errors(data)
    assert any(error.startswith(where) for error in errors), errors


# --------------------------------------------------------------------------- structure


def test_stages_and_when_each_job_runs() -> None:
    data = config()
    assert data["stages"] == ["validate", "plan", "apply", "verify", "drift"]
    all_jobs = jobs()
    assert set(all_jobs) == {"validate", "plan", "apply", "verify", "drift"}
    rules = {name: " ".join(rule["if"] for rule in job["rules"]) for name, job in all_jobs.items()}
    push_to_main = '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"'
    assert rules["plan"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert rules["apply"] == push_to_main
    assert rules["verify"] == f'{push_to_main} $CI_PIPELINE_SOURCE == "schedule"'
    assert rules["drift"] == '$CI_PIPELINE_SOURCE == "schedule"'
    assert all(job["stage"] == name for name, job in all_jobs.items())


def test_plan_artifacts_apply_serialised_drift_warns() -> None:
    all_jobs = jobs()
    assert all_jobs["plan"]["artifacts"]["paths"] == ["plan.json", "plan.txt"]
    assert all_jobs["plan"]["variables"]["GIT_DEPTH"] == "0"
    assert all_jobs["apply"]["resource_group"] == "ksm-apply"
    assert all_jobs["drift"]["allow_failure"] == {"exit_codes": [2]}


def test_jobs_that_read_live_state_wait_for_the_apply() -> None:
    """verify and drift share apply's resource group: they never see a half-applied state."""
    all_jobs = jobs()
    assert all_jobs["verify"]["resource_group"] == all_jobs["drift"]["resource_group"] == "ksm-apply"
    assert all_jobs["drift"]["needs"] == []  # a failed verify does not skip the drift check


def test_verify_publishes_its_junit_report() -> None:
    job = jobs()["verify"]
    (argv,) = [argv for name, argv in ksm_commands() if name == "verify"]
    junit = argv[argv.index("--junit") + 1]
    assert job["artifacts"]["reports"] == {"junit": junit}
    assert job["artifacts"]["when"] == "always"


def test_pip_downloads_are_cached_in_the_project() -> None:
    data = config()
    assert data["variables"]["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip"
    assert data["default"]["cache"]["paths"] == [".cache/pip"]


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
        ("verify", "verify"),
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
        **{name: value for name, value in os.environ.items() if not name.startswith("CI_")},
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
curl() {  # stands in for GitLab's API: logs each call, serves plan.json on the MR's $ARTIFACT_REF
  printf '%s\\n' "$@" >> "$CURL_LOG"
  case "${@: -1}" in  # the URL
    */refs%2Fmerge-requests%2F*%2F"$ARTIFACT_REF"/raw/plan.json?job=plan) cp "$ARTIFACT" plan.json ;;
    *) echo "curl: (22) The requested URL returned error: 404" >&2; return 22 ;;
  esac
}
"""
API = "https://gitlab.example.invalid/api/v4"
MERGE_MESSAGE = (
    "Merge branch 'mr' into 'main'\n\nDocument the service desk\n\nSee merge request ksm/inventories!42"
)


def artifact_url(iid: int, kind: str) -> str:
    return f"{API}/projects/7/jobs/artifacts/refs%2Fmerge-requests%2F{iid}%2F{kind}/raw/plan.json?job=plan"


def keep_artifact(project: Path, tmp_path: Path) -> Path:
    """Take plan.json away as GitLab keeps a job's artifact; the work tree is clean again."""
    artifact = tmp_path / "artifact" / "plan.json"
    artifact.parent.mkdir()
    shutil.move(project / "plan.json", artifact)
    (project / "plan.txt").unlink()
    return artifact


def run_plan(project: Path, tmp_path: Path, **variables: str) -> str:
    """The plan job with the merge request pipeline's *variables*; plan.txt as it was written."""
    done = run_job("plan", project, ci_env(project, tmp_path, **variables))
    assert done.returncode == 0, done.stdout + done.stderr
    text = (project / "plan.txt").read_text()
    assert text in done.stdout
    return text


def plan_then_merge(project: Path, tmp_path: Path) -> tuple[Path, str]:
    """A plain merge request pipeline (the merge request's head), then the merge into main."""
    base = git(project, "rev-parse", "main")
    text = run_plan(
        project, tmp_path, CI_MERGE_REQUEST_DIFF_BASE_SHA=base, CI_MERGE_REQUEST_EVENT_TYPE="detached"
    )
    assert "0 of 0 host(s) and 0 of 0 device(s) would change" in text
    artifact = keep_artifact(project, tmp_path)
    return artifact, merge(project, MERGE_MESSAGE)


def run_apply(
    project: Path, tmp_path: Path, sha: str, artifact: Path | str, ref: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The apply job for merge commit *sha*, GitLab serving the plan on the merge request's *ref*."""
    log = tmp_path / "curl.log"
    env = ci_env(
        project,
        tmp_path,
        CI_COMMIT_SHA=sha,
        CI_API_V4_URL=API,
        CI_PROJECT_ID="7",
        CI_JOB_TOKEN="job-token",
        ARTIFACT=str(artifact),
        ARTIFACT_REF=ref,
        CURL_LOG=str(log),
    )
    done = run_job("apply", project, env, CURL_STUB)
    calls = log.read_text().splitlines() if log.exists() else []
    return done, calls


@pytest.mark.parametrize("ref", ["head", "merge", "train"])
def test_merge_request_plan_then_apply_after_merge(project: Path, tmp_path: Path, ref: str) -> None:
    """Wherever the merge request's pipeline ran, the apply job finds its plan: train, merge, then head."""
    artifact, sha = plan_then_merge(project, tmp_path)
    done, calls = run_apply(project, tmp_path, sha, artifact, ref)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "JOB-TOKEN: job-token" in calls
    tried = [call for call in calls if "/jobs/artifacts/" in call]
    kinds = ["train", "merge", "head"]
    assert tried == [artifact_url(42, kind) for kind in kinds[: kinds.index(ref) + 1]]
    assert f"reviewed plan: job plan of merge request !42 on refs/merge-requests/42/{ref}" in done.stdout


def test_merged_results_pipeline_plans_the_merge_and_apply_finds_it(project: Path, tmp_path: Path) -> None:
    """A merged-results pipeline: main moved on, the plan is made on GitLab's temporary merge commit.

    Only the merge request's change is planned (against the target's head, not the diff base: main's
    own change would plan every host), and the real merge applies that plan: same inputs.
    """
    base = git(project, "rev-parse", "main")
    head = git(project, "rev-parse", "mr")
    git(project, "checkout", "-q", "main")
    path = project / "inventories" / "ksm.yml"
    path.write_text(path.read_text().replace("locale: de_DE.UTF-8", "locale: en_US.UTF-8"))
    git(
        project,
        "commit",
        "-q",
        "-am",
        "Merge branch 'other' into 'main'\n\nSee merge request ksm/inventories!43",
    )
    target = git(project, "rev-parse", "main")
    git(project, "checkout", "-q", "--detach", target)  # refs/merge-requests/42/merge
    git(project, "merge", "-q", "--no-ff", "mr", "-m", f"Merge {head} into {target}")
    text = run_plan(
        project,
        tmp_path,
        CI_MERGE_REQUEST_EVENT_TYPE="merged_result",
        CI_COMMIT_SHA=git(project, "rev-parse", "HEAD"),
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=head,
        CI_MERGE_REQUEST_TARGET_BRANCH_SHA=target,
        CI_MERGE_REQUEST_DIFF_BASE_SHA=base,
    )
    assert f"; changes since {target}\n" in text
    assert "0 of 0 host(s) and 0 of 0 device(s) would change" in text
    artifact = keep_artifact(project, tmp_path)
    done, calls = run_apply(project, tmp_path, merge(project, MERGE_MESSAGE), artifact, "merge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [call for call in calls if "/jobs/artifacts/" in call] == [
        artifact_url(42, "train"),
        artifact_url(42, "merge"),
    ]


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
    done, _ = run_apply(project, tmp_path, git(project, "rev-parse", "HEAD"), artifact, "head")
    assert done.returncode == 1
    assert "inventories/ksm.yml changed since the plan was made" in done.stderr


def test_apply_without_a_plan_of_the_merge_request_stops(project: Path, tmp_path: Path) -> None:
    sha = merge(project, MERGE_MESSAGE)
    done, calls = run_apply(project, tmp_path, sha, "/nonexistent", "none")
    assert done.returncode == 1
    assert "no plan.json of a successful plan job of merge request !42" in done.stderr
    assert [call for call in calls if "/jobs/artifacts/" in call] == [
        artifact_url(42, kind) for kind in ["train", "merge", "head"]
    ]
    assert not (project / "plan.json").exists()


def test_apply_without_a_merge_request_stops(project: Path, tmp_path: Path) -> None:
    git(project, "checkout", "-q", "main")
    done, calls = run_apply(project, tmp_path, git(project, "rev-parse", "HEAD"), "/nonexistent", "head")
    assert done.returncode == 1
    assert "no merge request found" in done.stderr and calls == []
