"""Pull mode without a lab: the collector's rules (own record only, malformed records refused),
current/stale/failing, the rendered pull repository (inventory text stays data), the HTTP server,
and the report's pull figures."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ksm_provision.errors import KsmError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.pull import collector, repo, tokens
from ksm_provision.pull.collector import CollectorRefusedError, accept
from ksm_provision.pull.server import basic_credentials, make_server, repo_file
from ksm_provision.pull.status import ClientState, classify
from ksm_provision.report.collect import collect_report
from ksm_provision.workflow.records import (
    PullEnrollment,
    PullRunRecord,
    load_pull_runs,
    save_pull_enrollment,
    save_pull_run,
)

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
LUP_CLIENTS = ["lup-pch-ws001", "lup-pch-ws002"]
SN_CLIENT = "sn-rh-ws001"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


def enroll(base: Path, authority: str, hosts: list[str], stale_after: float = 24.0) -> bytes:
    save_pull_enrollment(
        PullEnrollment(
            authority=authority,
            time=NOW,
            target="lab",
            server_url="http://127.0.0.1:8631",
            hosts=hosts,
            interval_minutes=60,
            stale_after_hours=stale_after,
            commit="a" * 40,
        ),
        base,
    )
    return tokens.ensure_key(authority, base)


def body(host: str, **changes: Any) -> bytes:
    record = {
        "host": host,
        "commit": "a" * 40,
        "changed": 0,
        "failed": 0,
        "unreachable": 0,
        "ok": 30,
        "rc": 0,
        "duration_s": 12.5,
        "finished": "2026-03-10T17:59:00+00:00",
    }
    record.update(changes)
    return json.dumps(record).encode()


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    return tmp_path, enroll(tmp_path, "lup", LUP_CLIENTS), enroll(tmp_path, "schwerin", [SN_CLIENT])


# --------------------------------------------------------------------------- collector


def test_a_client_writes_its_own_record(state: tuple[Path, bytes, bytes]) -> None:
    base, lup_key, _ = state
    host = LUP_CLIENTS[0]
    record = accept(base, "lup", host, tokens.host_token(lup_key, host), body(host, changed=3))
    assert (record.authority, record.host, record.changed) == ("lup", host, 3)
    assert load_pull_runs("lup", base)[host].changed == 3
    assert (base / "pull/lup/runs" / f"{host}.json").stat().st_mode & 0o777 == 0o600


def test_a_client_cannot_write_another_hosts_record(state: tuple[Path, bytes, bytes]) -> None:
    base, lup_key, _ = state
    me, other = LUP_CLIENTS
    with pytest.raises(CollectorRefusedError) as refused:
        accept(base, "lup", me, tokens.host_token(lup_key, me), body(other))
    assert refused.value.status == 403
    assert load_pull_runs("lup", base) == {}


@pytest.mark.parametrize(
    ("authority", "host", "token_of"),
    [
        ("lup", LUP_CLIENTS[0], "wrong"),  # a made-up token
        ("lup", LUP_CLIENTS[0], LUP_CLIENTS[1]),  # a colleague's token
        ("lup", SN_CLIENT, SN_CLIENT),  # schwerin's client posing as lup's (not enrolled there)
        ("schwerin", LUP_CLIENTS[0], LUP_CLIENTS[0]),  # lup's token against schwerin
        ("lup", "lup-pch-ws999", "lup-pch-ws999"),  # not enrolled
        ("../lup", LUP_CLIENTS[0], LUP_CLIENTS[0]),  # not an authority id
    ],
)
def test_wrong_credentials_are_refused(
    state: tuple[Path, bytes, bytes], authority: str, host: str, token_of: str
) -> None:
    base, lup_key, _ = state
    token = "0" * 64 if token_of == "wrong" else tokens.host_token(lup_key, token_of)
    with pytest.raises(CollectorRefusedError) as refused:
        accept(base, authority, host, token, body(host))
    assert refused.value.status == 401
    assert load_pull_runs("lup", base) == {} and load_pull_runs("schwerin", base) == {}


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        body(LUP_CLIENTS[0], extra="field"),
        body(LUP_CLIENTS[0], changed="3"),  # strings are not counts
        body(LUP_CLIENTS[0], changed=-1),
        body(LUP_CLIENTS[0], failed=True),
        body(LUP_CLIENTS[0], commit="{{ lookup('pipe', 'id') }}"),
        body(LUP_CLIENTS[0], finished="yesterday"),
        body(LUP_CLIENTS[0], finished="2026-03-10T17:59:00"),  # no time zone
        json.dumps({"host": LUP_CLIENTS[0]}).encode(),
        b"{" + b" " * collector.MAX_BODY + b"}",
        b"\xff\xfe",
    ],
)
def test_malformed_records_are_refused(state: tuple[Path, bytes, bytes], raw: bytes) -> None:
    base, lup_key, _ = state
    host = LUP_CLIENTS[0]
    with pytest.raises(CollectorRefusedError) as refused:
        accept(base, "lup", host, tokens.host_token(lup_key, host), raw)
    assert refused.value.status in (400, 413)
    assert load_pull_runs("lup", base) == {}


def test_tokens_differ_per_host_and_authority(tmp_path: Path) -> None:
    lup, sn = tokens.ensure_key("lup", tmp_path), tokens.ensure_key("schwerin", tmp_path)
    assert tokens.ensure_key("lup", tmp_path) == lup  # made once
    assert len({tokens.host_token(lup, "a"), tokens.host_token(lup, "b"), tokens.host_token(sn, "a")}) == 3
    assert tokens.key_file("lup", tmp_path).stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- classification


def run(received: datetime, **changes: Any) -> PullRunRecord:
    values: dict[str, Any] = {
        "authority": "lup",
        "host": "lup-pch-ws001",
        "commit": "a" * 40,
        "changed": 0,
        "failed": 0,
        "rc": 0,
        "duration_s": 1.0,
        "finished": received,
        "received": received,
    }
    return PullRunRecord(**{**values, **changes})


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (None, ClientState.STALE),
        (run(NOW - timedelta(hours=1)), ClientState.CURRENT),
        (run(NOW - timedelta(hours=1), changed=5), ClientState.CURRENT),
        (run(NOW - timedelta(hours=25)), ClientState.STALE),
        (run(NOW - timedelta(hours=1), failed=1), ClientState.FAILING),
        (run(NOW - timedelta(hours=1), unreachable=1), ClientState.FAILING),
        (run(NOW - timedelta(hours=1), rc=2), ClientState.FAILING),  # ansible-pull itself failed (git)
        (run(NOW - timedelta(hours=30), failed=1), ClientState.STALE),  # an old failure: stopped reporting
        # the client's own clock is not trusted: only when the collector received it counts
        (run(NOW - timedelta(hours=30), finished=NOW), ClientState.STALE),
    ],
)
def test_classification(record: PullRunRecord | None, expected: ClientState) -> None:
    assert classify(record, NOW, timedelta(hours=24)) is expected


def test_report_counts_per_authority_and_stays_tenant_safe(inventory: Inventory, tmp_path: Path) -> None:
    enroll(tmp_path, "lup", ["lup-pch-ws001", "lup-pch-ws002", "lup-pch-ws003", "lup-pch-ws004"], 6)
    enroll(tmp_path, "schwerin", [SN_CLIENT])
    save_pull_run(run(NOW - timedelta(hours=1)), tmp_path)
    save_pull_run(run(NOW - timedelta(hours=2), host="lup-pch-ws002", failed=2), tmp_path)
    save_pull_run(run(NOW - timedelta(hours=7), host="lup-pch-ws003", commit="b" * 40), tmp_path)
    # a record in lup's directory claiming to be schwerin's is ignored
    forged = run(NOW, host=SN_CLIENT, authority="schwerin")
    (tmp_path / "pull/lup/runs" / f"{SN_CLIENT}.json").write_text(forged.model_dump_json())

    report = collect_report(inventory, tmp_path, generated_at=NOW)
    by_id = {a.id: a.pull for a in report.authorities}
    lup, sn = by_id["lup"], by_id["schwerin"]
    assert lup is not None and sn is not None
    assert (lup.enrolled, lup.current, lup.stale, lup.failing) == (4, 1, 2, 1)
    assert lup.failing_hosts == ["lup-pch-ws002"] and lup.stale_hosts == ["lup-pch-ws003", "lup-pch-ws004"]
    assert lup.behind == 1
    assert (sn.enrolled, sn.current, sn.stale) == (1, 0, 1)
    assert (report.totals.pull.enrolled, report.totals.pull.current) == (5, 1)

    only_sn = collect_report(inventory.select(("schwerin",)), tmp_path, generated_at=NOW, filtered=True)
    assert [a.id for a in only_sn.authorities] == ["schwerin"]
    assert "lup-pch" not in only_sn.model_dump_json()


# --------------------------------------------------------------------------- the pull repository


def test_host_inventory_keeps_inventory_text_unsafe(inventory: Inventory) -> None:
    host = inventory.hosts_by_name["lup-pch-ws001"]
    text = repo.host_inventory(inventory, host)
    assert "!unsafe" in text and "{{" not in text
    data = yaml.safe_load(text.replace("!unsafe ", ""))
    own = data["all"]["hosts"]["lup-pch-ws001"]
    assert own["ansible_connection"] == "local"
    assert list(data["all"]["hosts"]) == ["lup-pch-ws001"]  # only itself
    assert "clients" in data["all"]["children"] and "authority_lup" in data["all"]["children"]


def test_hosts_that_need_the_vault_are_refused(inventory: Inventory) -> None:
    with pytest.raises(KsmError, match="vault"):
        repo.host_inventory(inventory, inventory.hosts_by_name["lup-pch-app01"])


def test_publish_commits_only_changes_and_serves_dumb_http(inventory: Inventory, tmp_path: Path) -> None:
    hosts = [inventory.hosts_by_name[h] for h in LUP_CLIENTS]
    first = repo.publish(inventory, "lup", hosts, tmp_path)
    assert repo.publish(inventory, "lup", hosts, tmp_path) == first
    second = repo.publish(inventory, "lup", hosts[:1], tmp_path)
    assert second != first
    bare = repo.repo_path("lup", tmp_path)
    assert (bare / "info/refs").read_text().startswith(second)
    files = subprocess.run(
        ["git", "-C", str(bare), "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "site.yml" in files and "ansible.cfg" in files
    assert any(f.endswith("roles/workplace/tasks/main.yml") for f in files)
    assert not any("roles/pull/" in f for f in files)
    assert [f for f in files if f.startswith("inventory/")] == ["inventory/lup-pch-ws001.yml"]
    with pytest.raises(KsmError, match="not hosts of lup"):
        repo.publish(inventory, "lup", [inventory.hosts_by_name[SN_CLIENT]], tmp_path)


def test_repo_file_stays_inside_the_repository(tmp_path: Path) -> None:
    bare = repo.repo_path("lup", tmp_path)
    (bare / "objects").mkdir(parents=True)
    (bare / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / "pull/lup/token.key").write_text("secret\n")
    assert repo_file(tmp_path, "lup", "HEAD") == (bare / "HEAD").resolve()
    for path in ("../token.key", "objects/../../token.key", "objects", "", "a//b"):
        assert repo_file(tmp_path, "lup", path) is None


def test_basic_credentials() -> None:
    header = "Basic " + base64.b64encode(b"lup-pch-ws001:abc").decode()
    assert basic_credentials(header) == ("lup-pch-ws001", "abc")
    for bad in (None, "", "Bearer x", "Basic !!", "Basic " + base64.b64encode(b"nocolon").decode()):
        assert basic_credentials(bad) is None


# --------------------------------------------------------------------------- the server over HTTP


@pytest.fixture
def server(inventory: Inventory, state: tuple[Path, bytes, bytes]) -> Iterator[tuple[str, Path, bytes]]:
    base, lup_key, _ = state
    repo.publish(inventory, "lup", [inventory.hosts_by_name[h] for h in LUP_CLIENTS], base)
    httpd = make_server(("127.0.0.1", 0), base)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", base, lup_key
    finally:
        httpd.shutdown()
        httpd.server_close()


def request(url: str, user: str | None, token: str | None, data: bytes | None = None) -> int:
    headers = {}
    if user is not None and token is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_server_serves_own_repository_and_takes_own_record(server: tuple[str, Path, bytes]) -> None:
    url, base, key = server
    host = LUP_CLIENTS[0]
    token = tokens.host_token(key, host)
    assert request(f"{url}/lup/repo.git/info/refs", None, None) == 401
    assert request(f"{url}/lup/repo.git/info/refs", host, "0" * 64) == 401
    assert request(f"{url}/lup/repo.git/info/refs", host, token) == 200
    assert request(f"{url}/schwerin/repo.git/info/refs", host, token) == 401
    assert request(f"{url}/lup/repo.git/../token.key", host, token) == 404
    assert request(f"{url}/lup/status", host, token, body(LUP_CLIENTS[1])) == 403
    assert request(f"{url}/lup/status", host, token, b"{}") == 400
    assert request(f"{url}/lup/status", host, token, body(host)) == 204
    assert list(load_pull_runs("lup", base)) == [host]


def test_git_clones_with_its_token_only(server: tuple[str, Path, bytes], tmp_path: Path) -> None:
    url, _, key = server
    host = LUP_CLIENTS[0]
    header = base64.b64encode(f"{host}:{tokens.host_token(key, host)}".encode()).decode()
    clone = ["git", "-c", f"http.extraHeader=Authorization: Basic {header}", "clone", "-q"]
    done = subprocess.run(
        [*clone, f"{url}/lup/repo.git", str(tmp_path / "c")], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c/inventory/lup-pch-ws001.yml").is_file()
    env = {"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        ["git", "clone", "-q", f"{url}/lup/repo.git", str(tmp_path / "d")],
        capture_output=True,
        check=False,
        env=env,
    )
    assert done.returncode != 0


def test_plain_http_only_on_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tls"):
        make_server(("0.0.0.0", 0), tmp_path)
