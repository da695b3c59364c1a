"""Small helpers for tests against the lab twin: run ksm, run a command on a lab host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SSH_OPTIONS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
]


def ksm(
    env: dict[str, str], *args: str, check_codes: tuple[int, ...] = (0,)
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as a user would; fail with its output when the exit code is unexpected."""
    result = subprocess.run(
        [sys.executable, "-m", "ksm_provision", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert result.returncode in check_codes, (
        f"ksm {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout[-4000:]}\n"
        f"stderr:\n{result.stderr[-4000:]}"
    )
    return result


def ksm_json(env: dict[str, str], *args: str, check_codes: tuple[int, ...] = (0,)) -> Any:
    return json.loads(ksm(env, *args, "--json", check_codes=check_codes).stdout)


def ssh(lab: Any, host: str, command: str) -> str:
    login = lab.login(host)
    result = subprocess.run(
        [
            "ssh",
            *SSH_OPTIONS,
            "-i",
            str(login.key_file),
            "-p",
            str(login.port),
            f"{login.username}@{login.address}",
            command,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def device_session(login: Any) -> Any:
    """A Netmiko ``cisco_ios`` session to a lab router or switch (a ``NodeLogin``), as ksm opens one."""
    from netmiko import ConnectHandler

    return ConnectHandler(
        device_type="cisco_ios",
        host=login.address,
        port=login.port,
        username=login.username,
        password=login.password,
        secret=login.enable_secret,
        fast_cli=False,
    )
