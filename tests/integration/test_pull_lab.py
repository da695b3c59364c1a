"""Pull mode in the lab twin: clients fetch their authority's repository from the pull server on
127.x (through a forwarder out of their own namespace), apply their own host with ansible-pull, and
report; ``ksm report`` then counts them as current."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import LabTwin
from tests.integration.lab_helpers import SSH_OPTIONS, ksm, ksm_json

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

AUTHORITY = "lup"
#: What the timer does, started by hand. In the lab's containers (cgroup v1) a unit started within
#: seconds of a run the timer began can fail with 219/CGROUP while the old cgroup is released: retry once.
START = (
    "systemctl start ksm-pull.service || "
    "(sleep 5; systemctl reset-failed ksm-pull.service; systemctl start ksm-pull.service)"
)


def on_host(lab: Any, host: str, command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    login = lab.login(host)
    return subprocess.run(
        ["ssh", *SSH_OPTIONS, "-i", str(login.key_file), "-p", str(login.port),
         f"{login.username}@{login.address}", command],
        capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pull_clients(lab_twin: LabTwin) -> Iterator[list[str]]:
    from ksm_provision.pull import lab as pull_lab

    lab = lab_twin.lab
    clients = [
        s.spec.represents[0]
        for s in lab.state().nodes.values()  # type: ignore[attr-defined]
        if s.spec.kind == "host" and s.spec.authority == AUTHORITY and s.spec.represents
        and ("-ws" in s.spec.represents[0] or "-kfz" in s.spec.represents[0])
    ]  # fmt: skip
    assert clients, "the lab twin has no client of lup"
    probe = on_host(lab, clients[0], "command -v ansible-pull git", timeout=60)
    if probe.returncode != 0:
        pytest.fail(
            "the lab image has no ansible-pull/git: CHROOT_PACKAGES in ksm_provision/lab/rootfs.py "
            "must name 'git' and 'ansible-core' (the cached image is rebuilt on the next `ksm lab up`)"
        )
    try:
        yield clients
    finally:
        # the twin is shared with later lab tests: no timer may start a run (and fail) during theirs
        for host in clients:
            on_host(lab, host, "systemctl disable --now ksm-pull.timer", timeout=60)
        pull_lab.stop(lab.config)  # type: ignore[attr-defined]


def test_clients_pull_apply_and_report(lab_twin: LabTwin, pull_clients: list[str]) -> None:
    env, lab = lab_twin.env, lab_twin.lab
    enabled = ksm_json(
        env, "pull", "enable", "--authority", AUTHORITY, "--target", "lab", "--limit", ",".join(pull_clients)
    )
    assert sorted(enabled["hosts"]) == sorted(pull_clients) and not enabled["failed"]
    assert enabled["server_url"].startswith("http://127.")

    for host in pull_clients:
        timer = on_host(lab, host, "systemctl is-enabled ksm-pull.timer; systemctl is-active ksm-pull.timer")
        assert timer.stdout.split() == ["enabled", "active"], timer.stdout + timer.stderr

    # trigger the timer's service once on every client (what the timer does), all at the same time
    command = f"{START}; journalctl -u ksm-pull.service --no-pager -o cat | tail -n 25"
    with ThreadPoolExecutor(len(pull_clients)) as pool:
        results = pool.map(lambda h: on_host(lab, h, command), pull_clients)
        runs = dict(zip(pull_clients, results, strict=True))
    for host, run in runs.items():
        assert run.returncode == 0, f"{host}: {run.stdout[-3000:]}{run.stderr[-2000:]}"
        assert "ksm-pull-run: reported" in run.stdout, f"{host}: {run.stdout[-3000:]}"

    status = ksm_json(env, "pull", "status", "--authority", AUTHORITY, check_codes=(0, 1))
    states = {c["host"]: c["state"] for c in status["clients"]}
    journals = "\n".join(f"--- {h}:\n{r.stdout[-2500:]}" for h, r in runs.items())
    assert states == dict.fromkeys(pull_clients, "current"), journals
    for client in status["clients"]:
        assert client["last_run"]["commit"] == enabled["commit"]
        assert client["last_run"]["failed"] == 0

    report = ksm_json(env, "report", "--authority", AUTHORITY)
    pull = report["authorities"][0]["pull"]
    assert (pull["enrolled"], pull["current"], pull["stale"], pull["failing"]) == (
        len(pull_clients),
        len(pull_clients),
        0,
        0,
    )
    assert report["totals"]["pull"]["current"] == len(pull_clients)
    assert "Pull-Modus" in ksm(env, "report", "--authority", AUTHORITY).stdout


def test_a_client_cannot_read_another_authoritys_repository(
    lab_twin: LabTwin, pull_clients: list[str]
) -> None:
    from ksm_provision.pull.lab import server_url

    url = server_url(lab_twin.lab.config)  # type: ignore[attr-defined]
    host = pull_clients[0]
    # its own credentials (git's header) against schwerin's repository: refused by the server
    git = "GIT_CONFIG_GLOBAL=/etc/ksm-pull/gitconfig git ls-remote"
    probe = on_host(
        lab_twin.lab,
        host,
        f"{git} {url}/schwerin/repo.git 2>&1; echo rc=$?; {git} {url}/{AUTHORITY}/repo.git 2>&1; echo rc=$?",
        timeout=60,
    )
    _, _, second = probe.stdout.partition("rc=")
    assert second.startswith("128"), probe.stdout
    assert "refs/heads/main" in second and second.rstrip().endswith("rc=0"), probe.stdout
