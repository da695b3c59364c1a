"""Role ``pull``: its templates render to what systemd, git and the run script expect, the run
script reads Ansible's recap, and the role is ansible-lint (production profile) clean."""

from __future__ import annotations

import base64
import json
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

ROLE = Path(__file__).resolve().parents[2] / "roles" / "pull"
TOKEN = "ab" * 32


def render(name: str, **overrides: Any) -> str:
    """A template of the role with its defaults (and Ansible's filters it uses) under plain Jinja2."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["b64encode"] = lambda s: base64.b64encode(str(s).encode()).decode()
    env.filters["regex_replace"] = lambda s, pattern, repl: re.sub(pattern, repl, str(s))
    env.filters["to_nice_json"] = lambda v: json.dumps(v, indent=4, sort_keys=True)
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    variables = {
        **defaults,
        "ansible_managed": "managed by ksm",
        "inventory_hostname": "lup-pch-ws001",
        "pull_hostname": "lup-pch-ws001",
        "pull_server_url": "https://pull.ksm.example/",
        "pull_authority": "lup",
        "pull_token": TOKEN,
        **overrides,
    }
    return env.from_string((ROLE / "templates" / name).read_text()).render(**variables)


def test_gitconfig_sends_the_token_only_to_the_pull_server() -> None:
    text = render("gitconfig.j2")
    assert '[http "https://pull.ksm.example/"]' in text
    header = re.search(r"extraHeader = Authorization: Basic (\S+)", text)
    assert header is not None
    assert base64.b64decode(header[1]).decode() == f"lup-pch-ws001:{TOKEN}"


def test_settings_and_units() -> None:
    settings = json.loads(render("pull.json.j2"))
    assert settings == {
        "server_url": "https://pull.ksm.example",
        "authority": "lup",
        "host": "lup-pch-ws001",
        "checkout": "/var/lib/ksm-pull/checkout",
        "config_dir": "/etc/ksm-pull",
        "playbook": "site.yml",
    }
    timer = render("ksm-pull.timer.j2", pull_interval_minutes=30, pull_random_delay_minutes=10)
    assert "OnUnitActiveSec=30min" in timer and "RandomizedDelaySec=10min" in timer
    service = render("ksm-pull.service.j2")
    assert "Type=oneshot" in service and "GIT_CONFIG_GLOBAL=/etc/ksm-pull/gitconfig" in service
    assert TOKEN not in service + timer  # the token lives only in files mode 0600


def test_units_pass_systemd_analyze(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd")
    for name in ("ksm-pull.service", "ksm-pull.timer"):
        (tmp_path / name).write_text(render(f"{name}.j2"))
    (tmp_path / "ksm-pull-run").write_text("#!/bin/sh\n")
    (tmp_path / "ksm-pull-run").chmod(0o755)
    service = tmp_path / "ksm-pull.service"
    service.write_text(
        service.read_text().replace("/usr/local/sbin/ksm-pull-run", str(tmp_path / "ksm-pull-run"))
    )
    done = subprocess.run(
        ["systemd-analyze", "verify", str(service), str(tmp_path / "ksm-pull.timer")],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        line
        for line in done.stderr.splitlines()
        if "ksm-pull" in line and "network-online" not in line and "Failed to" not in line
    ]
    assert not problems, done.stderr


def test_run_script_reads_the_recap() -> None:
    script = runpy.run_path(str(ROLE / "files/ksm-pull-run"), run_name="not_main")
    output = (
        "PLAY RECAP ****************************************************\n"
        "lup-pch-ws001              : ok=31   changed=2    unreachable=0    failed=1    skipped=4\n"
        "lup-pch-ws0011             : ok=99   changed=99   unreachable=0    failed=0    skipped=0\n"
    )
    assert script["recap"](output, "lup-pch-ws001") == {"ok": 31, "changed": 2, "unreachable": 0, "failed": 1}
    assert script["recap"]("ERROR! the role was not found", "lup-pch-ws001")["ok"] == 0


@pytest.mark.slow
def test_role_is_ansible_lint_production_clean() -> None:
    lint = Path(sys.executable).parent / "ansible-lint"
    if not lint.exists():
        pytest.fail("ansible-lint is missing: make install (the dev extra)")
    done = subprocess.run(
        [str(lint), "--profile", "production", "--nocolor", str(ROLE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROLE.parents[1],
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
