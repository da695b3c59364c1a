"""Host keys: production runs check strictly against known_hosts.d/<authority>; missing keys stop a run
before any connection; scan/verify against a throw-away sshd; the lab-only guard before any scan."""

from __future__ import annotations

import doctest
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ksm_provision.cli import ksm
from ksm_provision.errors import SafetyError
from ksm_provision.hostkeys import (
    HostKey,
    HostKeyError,
    KnownHosts,
    Node,
    compare,
    known_hosts_file,
    run_known_hosts,
    scan,
)
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.playbook.results import RunMode
from ksm_provision.playbook.runner import RunSettings, ansible_cfg, run_playbook
from ksm_provision.playbook.scope import host_scope
from ksm_provision.target_resolution import ProductionTargets
from ksm_provision.targets import Connection

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "data" / "minimal"
SSHD = Path("/usr/sbin/sshd")
KEY_A = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
KEY_B = "AAAAC3NzaC1lZDI1NTE5AAAAIHxK3tV0+2Bq6w1k6pY8sS1T9tA5f1H0oNfZ1hZ2nq8x"


def test_production_ssh_args_check_host_keys(tmp_path: Path) -> None:
    cfg = ansible_cfg(RunSettings(), tmp_path, tmp_path / "known_hosts")
    assert "host_key_checking = True" in cfg
    assert f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={tmp_path / 'known_hosts'}" in cfg
    assert "StrictHostKeyChecking=no" not in cfg and "UserKnownHostsFile=/dev/null" not in cfg


def test_doctests() -> None:
    from ksm_provision import hostkeys
    from ksm_provision.playbook import runner

    assert doctest.testmod(hostkeys).failed == 0
    assert doctest.testmod(runner).failed == 0


def test_unchecked_ssh_args_only_on_request(tmp_path: Path) -> None:
    cfg = ansible_cfg(RunSettings(), tmp_path, None, check_host_keys=False)
    assert "host_key_checking = False" in cfg
    assert "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" in cfg
    assert "StrictHostKeyChecking=yes" in ansible_cfg(RunSettings(), tmp_path)  # no file: ssh's own


def test_production_connections_use_the_authoritys_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSM_LAB_ONLY")  # host_scope only resolves addresses; nothing connects
    inventory = load_inventory(MINIMAL)
    scope = host_scope(inventory, ProductionTargets())
    for host in scope.hosts:
        connection = scope.connections[host.hostname]
        assert connection.check_host_key
        assert connection.known_hosts == str(MINIMAL / "known_hosts.d" / host.authority)


def test_production_reaches_range_members_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A range member leases some address of its pool, so production connects to its DNS name."""
    monkeypatch.delenv("KSM_LAB_ONLY")  # resolving connections makes none
    inventory = load_inventory(MINIMAL)
    connections = ProductionTargets().hosts(inventory)
    for host in inventory.hosts:
        domain = inventory.authorities[host.authority].authority.domain
        expected = (
            f"{host.hostname}.{domain}" if host.mac is None and host.kind == "client" else str(host.address)
        )
        assert connections[host.hostname].address == expected
    assert any(c.address.endswith(".aa.tst.internal") for c in connections.values())
    assert any(c.address.startswith("10.") for c in connections.values())


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_a_host_missing_from_its_file_stops_the_run(tmp_path: Path) -> None:
    aa = known_hosts_file(tmp_path, "aa")
    connections = {"aa-fs01": Connection("10.41.8.10", known_hosts=str(aa))}
    with pytest.raises(HostKeyError) as missing_file:
        run_known_hosts(connections, {"aa-fs01": "aa"})
    assert str(missing_file.value) == (
        f"no host key for aa-fs01 (10.41.8.10) in {aa} — run `ksm hostkeys scan --authority aa` "
        "and review/commit the file"
    )
    write(aa, f"aa-other,10.41.8.11 ssh-ed25519 {KEY_A}")
    with pytest.raises(HostKeyError, match="no host key for aa-fs01"):
        run_known_hosts(connections, {"aa-fs01": "aa"})


def test_a_run_trusts_only_its_hosts_keys_from_their_own_authority(tmp_path: Path) -> None:
    aa = write(
        known_hosts_file(tmp_path, "aa"),
        f"aa-fs01,10.41.8.10 ssh-ed25519 {KEY_A}",
        f"aa-fs02,10.41.8.11 ssh-ed25519 {KEY_B}",
    )
    bb = write(known_hosts_file(tmp_path, "bb"), f"evil,10.41.8.10 ssh-ed25519 {KEY_B}")
    connections = {
        "aa-fs01": Connection("10.41.8.10", known_hosts=str(aa)),
        "bb-fs01": Connection("10.42.8.10", known_hosts=str(bb)),
    }
    with pytest.raises(HostKeyError, match=r"no host key for bb-fs01 \(10.42.8.10\) in .*known_hosts.d/bb"):
        run_known_hosts(connections, {"aa-fs01": "aa", "bb-fs01": "bb"})
    text = run_known_hosts({"aa-fs01": connections["aa-fs01"]}, {"aa-fs01": "aa"})
    assert text == f"aa-fs01,10.41.8.10 ssh-ed25519 {KEY_A}\n"


def test_lab_stand_ins_without_recorded_keys_run_unchecked(tmp_path: Path) -> None:
    lab = {"x": Connection("127.0.1.5", port=2222, known_hosts=str(tmp_path / "kh"), check_host_key=False)}
    assert run_known_hosts(lab, {"x": "aa"}) is None
    write(tmp_path / "kh", f"[127.0.1.5]:2222 ssh-ed25519 {KEY_A}")
    checked = {"x": Connection("127.0.1.5", port=2222, known_hosts=str(tmp_path / "kh"))}
    assert run_known_hosts(checked, {"x": "aa"}) == f"[127.0.1.5]:2222 ssh-ed25519 {KEY_A}\n"


def test_run_playbook_refuses_before_ansible_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSM_BUILD_DIR", str(tmp_path / "build"))
    connections = {"aa-fs01": Connection("10.41.8.10", known_hosts=str(tmp_path / "none"))}
    with pytest.raises(HostKeyError, match="no host key for aa-fs01"):
        run_playbook(
            tmp_path / "hosts.yml", {"aa-fs01": "aa"}, RunMode.PLAN, [], str, connections=connections
        )
    assert not (tmp_path / "build").exists() or not any((tmp_path / "build").iterdir())


def test_devices_need_their_key_before_any_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from ksm_provision.network.pipeline import device_scope

    monkeypatch.delenv("KSM_LAB_ONLY")  # device_scope makes no connection
    inventory = load_inventory(REPO / "inventories").select(["schwerin"])
    with pytest.raises(HostKeyError, match=r"no host key for sn-\S+ \(\S+\) in .*known_hosts.d/schwerin"):
        device_scope(inventory, ProductionTargets())


def test_merge_replaces_scanned_hosts_and_keeps_the_others(tmp_path: Path) -> None:
    path = write(
        tmp_path / "aa",
        "# comment",
        f"a,10.0.0.1 ssh-ed25519 {KEY_A}",
        f"b,10.0.0.2 ssh-ed25519 {KEY_A}",
    )
    fresh = HostKey(("a", "10.0.0.1"), "ssh-ed25519", KEY_B)
    KnownHosts.read(path).merged({"a": [fresh]}).write()
    assert KnownHosts.read(path).keys == (fresh, HostKey(("b", "10.0.0.2"), "ssh-ed25519", KEY_A))


def test_scan_is_refused_for_production_addresses_in_lab_only_mode(tmp_path: Path) -> None:
    assert os.environ["KSM_LAB_ONLY"] == "1"
    with pytest.raises(
        SafetyError, match=r"KSM_LAB_ONLY=1 refuses the host key scan of aa-fs01 to 10\.41\.8\.10"
    ):
        scan([Node("lo", "aa", "127.0.0.1"), Node("aa-fs01", "aa", "10.41.8.10")])


def test_cli_scan_refused_in_lab_only_mode_writes_nothing(tmp_path: Path) -> None:
    inventory = tmp_path / "inventories"
    shutil.copytree(MINIMAL, inventory)
    result = CliRunner().invoke(ksm, ["--inventory", str(inventory), "hostkeys", "scan", "--authority", "aa"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SafetyError)
    assert not (inventory / "known_hosts.d").exists()


# --------------------------------------------------------------------------- a real sshd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A throw-away sshd on 127.0.0.1 with a fresh host key; yields (port, public key file)."""
    if not SSHD.exists():
        pytest.fail("this test needs /usr/sbin/sshd (apt-get install openssh-server)")
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    port = free_port()
    process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", "/dev/null", "-p", str(port), "-h", str(key),
         "-o", "ListenAddress=127.0.0.1", "-o", "PidFile=none"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"sshd did not start: {process.stderr.read() if process.stderr else ''}"
                    ) from exc
                time.sleep(0.1)
        yield port, key.with_suffix(".pub")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.integration
def test_scan_and_verify_against_a_real_sshd(tmp_path: Path, sshd: tuple[int, Path]) -> None:
    port, public = sshd
    node = Node("lo-fs01", "aa", "127.0.0.1", port)
    result = scan([node])
    assert result.failed == {}
    key_type, key = public.read_text().split()[:2]
    assert result.keys == {"lo-fs01": [HostKey(("lo-fs01", f"[127.0.0.1]:{port}"), key_type, key)]}

    path = known_hosts_file(tmp_path, "aa")
    KnownHosts.read(path).merged(result.keys).write()
    assert f"lo-fs01,[127.0.0.1]:{port} {key_type} {key}" in path.read_text()
    assert compare([(node, KnownHosts.read(path))], result) == []

    tampered = path.read_text().replace(key, KEY_B)
    path.write_text(tampered)
    [mismatch] = compare([(node, KnownHosts.read(path))], scan([node]))
    expected = HostKey((), key_type, KEY_B).fingerprint
    found = HostKey((), key_type, key).fingerprint
    assert str(mismatch) == (
        f"lo-fs01 ([127.0.0.1]:{port}): HOST KEY MISMATCH — file has {key_type} {expected}; "
        f"host presents {key_type} {found}"
    )


@pytest.mark.integration
def test_a_closed_port_is_a_failed_scan(tmp_path: Path) -> None:
    port = free_port()
    result = scan([Node("gone", "aa", "127.0.0.1", port)], timeout=2)
    assert result.keys == {}
    assert result.failed == {"gone": f"no SSH host key from [127.0.0.1]:{port} (unreachable or no sshd)"}
