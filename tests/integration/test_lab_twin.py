"""The lab twin against the real parts: overlay hosts over SSH, FRR routers over Netmiko.

The suite builds throw-away labs (``tests.testlab``: a claimed instance other than 0,
its own addresses and names, state under /var/tmp/ksm-lab-tests), so it never touches an engineer's
running lab or another test run's. The debootstrap cache is shared.
"""

from __future__ import annotations

import doctest
import importlib
import ipaddress
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import paramiko
import pytest
from netmiko import BaseConnection

from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.addresses import node_address
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.manager import Lab, NodeLogin
from ksm_provision.lab.state import LabNodeSpec, NodeKind
from ksm_provision.lab.topology import Cable, End, HostAddress, RouterVlan, StandinClient, Topology
from tests.integration.lab_helpers import device_session
from tests.testlab import throwaway_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]


def specs_for(instance: int) -> tuple[LabNodeSpec, ...]:
    """Two authorities: hosts (one standing in for two clients), an FRR router, a switch."""

    def at(kind: str, authority: int, n: int) -> str:
        return node_address(kind, authority, n, instance)

    return (
        LabNodeSpec(
            name="lup-srv-01",
            kind=NodeKind.HOST,
            authority="lup",
            address=at("host", 1, 1),
            hostname="lup-srv-01",
            represents=("lup-srv-01",),
        ),
        LabNodeSpec(
            name="lup-pc-profile-a",
            kind=NodeKind.HOST,
            authority="lup",
            address=at("host", 1, 2),
            hostname="lup-pc-0001",
            represents=("lup-pc-0001", "lup-pc-0002"),
        ),
        LabNodeSpec(
            name="sn-srv-01",
            kind=NodeKind.HOST,
            authority="sn",
            address=at("host", 2, 1),
            hostname="sn-srv-01",
        ),
        LabNodeSpec(
            name="lup-rtr-01",
            kind=NodeKind.ROUTER,
            authority="lup",
            address=at("router", 1, 1),
            hostname="lup-rtr-01",
            platform="frr",
            interfaces=("eth0", "eth1"),
        ),
        LabNodeSpec(
            name="lup-sw-01",
            kind=NodeKind.SWITCH,
            authority="lup",
            address=at("switch", 1, 1),
            hostname="lup-sw-01",
            platform="cisco_ios",
        ),
    )


def _missing_tools() -> str | None:
    if os.geteuid() != 0:
        return "the lab twin needs root"
    for tool in ("debootstrap", "unshare", "vtysh", "/usr/lib/frr/zebra", "/usr/sbin/sshd", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    reason = _missing_tools()
    if reason:
        pytest.fail(f"the lab twin cannot run here: {reason} (make test installs and runs as root)")
    with throwaway_lab("twin") as the_lab:
        the_lab.up(specs_for(the_lab.config.instance))
        yield the_lab


def specs(lab: Lab) -> tuple[LabNodeSpec, ...]:
    return specs_for(lab.config.instance)


def ssh(lab: Lab, node: str, command: str) -> str:
    """Run *command* on a lab host as root with the lab key; strict host key checking."""
    login = lab.login(node)
    assert login.key_file is not None
    client = paramiko.SSHClient()
    client.load_host_keys(str(lab.config.known_hosts_file))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        login.address,
        port=login.port,
        username=login.username,
        key_filename=str(login.key_file),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    try:
        _, out, err = client.exec_command(command, timeout=20)
        status = out.channel.recv_exit_status()
        text = out.read().decode()
        assert status == 0, f"{command!r} on {node} exited {status}: {err.read().decode()}"
        return text
    finally:
        client.close()


def router_session(login: NodeLogin) -> BaseConnection:
    session: BaseConnection = device_session(login)
    return session


def wait_dead(ref: system.ProcessRef, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while system.is_running(ref) and time.monotonic() < deadline:
        system.reap(ref.pid)
        time.sleep(0.05)
    assert not system.is_running(ref)


def pids(lab: Lab) -> dict[str, dict[str, int]]:
    state = lab.state()
    assert state is not None
    return {n: {k: p.pid for k, p in node.resources.processes.items()} for n, node in state.nodes.items()}


# --------------------------------------------------------------------------- building


def test_every_node_is_healthy_on_its_own_loopback_address(lab: Lab) -> None:
    status = lab.status()
    assert status.healthy, [n for n in status.nodes if not n.healthy]
    assert {n.name for n in status.nodes} == {s.name for s in specs(lab)}
    assert all(IPv4Address(n.address) in IPv4Network("127.0.0.0/8") for n in status.nodes)


def test_sshd_binds_only_the_hosts_own_address(lab: Lab) -> None:
    unused = node_address("host", 1, 250, lab.config.instance)
    with pytest.raises(ConnectionRefusedError), socket.create_connection((unused, 22), timeout=2):
        pass


def test_each_host_has_its_own_hostname_processes_and_file_system(lab: Lab) -> None:
    assert ssh(lab, "lup-srv-01", "hostname").strip() == "lup-srv-01"
    assert ssh(lab, "lup-pc-profile-a", "hostname").strip() == "lup-pc-0001"
    assert ssh(lab, "sn-srv-01", "cat /etc/hostname").strip() == "sn-srv-01"
    # Own PID namespace: systemd is PID 1 and the machine's processes are invisible.
    assert ssh(lab, "lup-srv-01", "cat /proc/1/comm").strip() == "systemd"
    assert ssh(lab, "lup-srv-01", "systemctl is-active ssh").strip() == "active"
    ssh(lab, "lup-srv-01", "echo lup > /root/only-on-lup-srv-01")
    assert ssh(lab, "lup-srv-01", "cat /root/only-on-lup-srv-01").strip() == "lup"
    assert ssh(lab, "sn-srv-01", "test -e /root/only-on-lup-srv-01 && echo yes || echo no").strip() == "no"
    assert not Path("/root/only-on-lup-srv-01").exists()


def test_hosts_carry_the_packages_the_roles_expect(lab: Lab) -> None:
    out = ssh(lab, "lup-srv-01", "python3 --version; command -v sudo chronyd smbd dhcpd; locale -a")
    assert "Python 3" in out
    assert "/usr/sbin/chronyd" in out and "/usr/sbin/smbd" in out
    assert "de_DE.utf8" in out


def test_login_finds_a_node_by_the_inventory_host_it_represents(lab: Lab) -> None:
    assert lab.login("lup-pc-0002").name == "lup-pc-profile-a"
    endpoints = lab.endpoints()
    assert endpoints["lup-pc-0001"] == endpoints["lup-pc-0002"]
    assert endpoints["lup-rtr-01"].address == node_address("router", 1, 1, lab.config.instance)
    with pytest.raises(LabError, match="no node for"):
        lab.login("nowhere-01")


def test_router_speaks_cisco_ios_to_netmiko_and_saves(lab: Lab) -> None:
    login = lab.login("lup-rtr-01")
    assert login.password and login.password not in repr(login)
    with router_session(login) as conn:
        assert conn.find_prompt() == "lup-rtr-01#"
        conn.enable()
        conn.send_config_set(["ip route 192.0.2.0/24 Null0", "interface eth1", " description uplink to core"])
        running = conn.send_command("show running-config")
        assert "ip route 192.0.2.0/24 Null0" in running
        assert " description uplink to core" in running
        saved = conn.save_config()
        assert "[OK]" in saved and "Warning" not in saved
        assert "% Unknown command" in conn.send_command("show no-such-thing")
    pathspace = lab.config.pathspace("lup-rtr-01")
    assert "ip route 192.0.2.0/24 Null0" in Path(f"/etc/frr/{pathspace}/frr.conf").read_text()


def test_switch_simulator_answers_netmiko_with_enable_and_saves(lab: Lab) -> None:
    login = lab.login("lup-sw-01")
    assert login.username and login.password and login.enable_secret
    with router_session(login) as conn:
        assert conn.find_prompt() == "lup-sw-01>"
        conn.enable()
        assert conn.find_prompt() == "lup-sw-01#"
        conn.send_config_set(["vlan 110", " name clients"])
        assert "name clients" in conn.send_command("show running-config")
        assert "[OK]" in conn.save_config()


# --------------------------------------------------------------------------- idempotence and repair


def test_up_twice_changes_nothing(lab: Lab) -> None:
    before = pids(lab)
    status = lab.up(specs(lab))
    assert status.healthy
    assert pids(lab) == before


def test_up_reboots_a_dead_host_and_the_host_keeps_its_files(lab: Lab) -> None:
    ssh(lab, "sn-srv-01", "echo kept > /root/kept")
    state = lab.state()
    assert state is not None
    ref = state.nodes["sn-srv-01"].resources.processes["nspawn"]
    inner = system.descendants(ref.pid)
    assert inner, "the host's systemd runs below systemd-nspawn"
    os.kill(ref.pid, signal.SIGKILL)
    system.kill_all(inner)
    wait_dead(ref)
    assert not lab.status().healthy
    assert lab.up(specs(lab)).healthy
    assert ssh(lab, "sn-srv-01", "cat /root/kept").strip() == "kept"


def test_up_restarts_a_dead_switch_simulator(lab: Lab) -> None:
    state = lab.state()
    assert state is not None
    ref = state.nodes["lup-sw-01"].resources.processes["switchsim"]
    os.kill(ref.pid, signal.SIGKILL)
    wait_dead(ref)
    assert lab.up(specs(lab)).healthy
    with router_session(lab.login("lup-sw-01")) as conn:
        assert conn.find_prompt() == "lup-sw-01>"


def test_up_remounts_a_missing_overlay(lab: Lab) -> None:
    ssh(lab, "lup-srv-01", "echo still-here > /root/mount-test")
    merged = lab.config.node_dir("lup-srv-01") / "merged"
    system.run(["umount", "--lazy", str(merged)])
    assert not system.is_mounted(merged)
    assert any("not mounted" in p for n in lab.status().nodes for p in n.problems)
    assert lab.up(specs(lab)).healthy
    assert system.is_mounted(merged)
    assert ssh(lab, "lup-srv-01", "cat /root/mount-test").strip() == "still-here"


def test_up_restarts_dead_router_daemons_with_the_saved_config(lab: Lab) -> None:
    login = lab.login("lup-rtr-01")
    with router_session(login) as conn:
        conn.send_config_set(["ip route 198.51.100.0/24 Null0"])
        conn.save_config()
    state = lab.state()
    assert state is not None
    zebra = state.nodes["lup-rtr-01"].resources.processes["zebra"]
    sshd = state.nodes["lup-rtr-01"].resources.processes["sshd"]
    os.kill(zebra.pid, signal.SIGKILL)
    os.kill(sshd.pid, signal.SIGKILL)
    wait_dead(zebra)
    wait_dead(sshd)
    problems = next(n.problems for n in lab.status().nodes if n.name == "lup-rtr-01")
    assert "zebra is not running" in problems and "sshd is not running" in problems
    assert lab.up(specs(lab)).healthy
    with router_session(lab.login("lup-rtr-01")) as conn:
        assert "ip route 198.51.100.0/24 Null0" in conn.send_command("show running-config")


# --------------------------------------------------------------------------- input checks


def test_only_loopback_addresses_are_accepted() -> None:
    with pytest.raises(LabError, match=r"outside 127\.0\.0\.0/8"):
        LabNodeSpec(name="x", kind=NodeKind.HOST, authority="a", address="192.0.2.1", hostname="x")


def test_duplicate_addresses_are_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("needs root, as make test and CI run")
    twin = LabNodeSpec(name="twin", kind=NodeKind.HOST, authority="a", address="127.199.9.9", hostname="t")
    other = twin.model_copy(update={"name": "other"})
    with pytest.raises(LabError, match="used by 2 nodes"):  # refused before anything is built
        Lab(LabConfig(lab_dir=tmp_path / "lab", instance=15)).up([twin, other])


@pytest.mark.parametrize("module", ["addresses", "rootfs"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(
        importlib.import_module(f"ksm_provision.lab.{module}"), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0


# --------------------------------------------------------------------------- tear-down


def _listeners(addresses: list[str]) -> list[str]:
    """Listening TCP sockets of this machine's namespace on any of *addresses*."""
    wanted = {socket.inet_aton(a)[::-1].hex().upper() for a in addresses}
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return [line.split()[1] for line in lines if line.split()[3] == "0A" and line.split()[1][:8] in wanted]


def _small_topology() -> Topology:
    """h on an access port of s, s trunked to r (VLAN 10), a stand-in client on s."""
    return Topology(
        cables=[
            Cable(End("h", "eth0"), End("s", "gi1-0-1")),
            Cable(End("s", "gi1-1-1.10"), End("r", "vlan10")),
            Cable(End("s-c10", "eth0"), End("s", "gi1-0-2")),
        ],
        switch_ports={
            "s": {
                "GigabitEthernet1/0/1": {"access": "gi1-0-1"},
                "GigabitEthernet1/0/2": {"access": "gi1-0-2"},
                "GigabitEthernet1/1/1": {"trunk": {"10": "gi1-1-1.10"}},
            }
        },
        router_vlans=[RouterVlan(router="r", name="vlan10", vlan=10, trunk="GigabitEthernet1/1/1")],
        hosts=[
            HostAddress(
                node="h",
                address=ipaddress.IPv4Interface("10.9.0.10/24"),
                gateway=ipaddress.IPv4Address("10.9.0.1"),
                network="n",
                site="x",
            )
        ],
        clients=[
            StandinClient(
                node="s-c10",
                owner="s",
                authority="a",
                site="x",
                network="n",
                end=End("s", "gi1-0-2"),
                dhcp=False,
                static=ipaddress.IPv4Interface("10.9.0.254/24"),
                gateway=ipaddress.IPv4Address("10.9.0.1"),
            )
        ],
    )


def _leftovers(config: LabConfig, recorded_pids: list[system.ProcessRef], addresses: list[str]) -> list[str]:
    found = [f"mount {m}" for m in system.mounts_below(config.lab_dir)]
    found += [f"listener {hexaddr}" for hexaddr in _listeners(addresses)]
    netns = system.run(["ip", "netns", "list"]).stdout.split()
    found += [f"netns {n}" for n in netns if n.startswith(config.netns(""))]
    passwd = Path("/etc/passwd").read_text().splitlines()
    found += [f"user {line.split(':')[0]}" for line in passwd if line.startswith(config.user_prefix)]
    found += [f"process {r.pid} ({r.command})" for r in recorded_pids if system.is_running(r)]
    found += [f"path {p}" for p in Path("/etc/frr").glob(config.pathspace("*"))]
    found += [f"path {p}" for p in Path("/var/run/frr").glob(config.pathspace("*"))]
    if config.lab_dir.exists():
        found += [f"file {p}" for p in config.lab_dir.rglob("*")]
    return found


def test_down_leaves_nothing_behind_and_spares_the_other_lab(lab: Lab) -> None:
    with throwaway_lab("down") as own:
        config = own.config

        def at(kind: str, n: int) -> str:
            return node_address(kind, 1, n, config.instance)

        port = 2201  # any port works, e.g. when the machine's sshd holds 0.0.0.0:22
        nodes = [
            LabNodeSpec(
                name="h", kind=NodeKind.HOST, authority="a", address=at("host", 1), port=port, hostname="h"
            ),
            LabNodeSpec(
                name="r",
                kind=NodeKind.ROUTER,
                authority="a",
                address=at("router", 1),
                port=port,
                hostname="r",
            ),
            LabNodeSpec(
                name="s",
                kind=NodeKind.SWITCH,
                authority="a",
                address=at("switch", 1),
                port=port,
                hostname="s",
            ),
            LabNodeSpec(
                name="r2",
                kind=NodeKind.ROUTER,
                authority="a",
                address=at("router", 2),
                port=port,
                hostname="r2",
            ),
        ]
        assert own.up(nodes, topology=_small_topology()).healthy
        assert ssh(own, "h", "hostname").strip() == "h"
        # the host is cabled: its inventory address sits on eth0 in its own namespace
        assert "10.9.0.10/24" in system.run(["ip", "-n", config.netns("h"), "-br", "addr"]).stdout
        # Reshape: dropping r2 from the list removes it.
        assert {n.name for n in own.up(nodes[:3], topology=_small_topology()).nodes} == {"h", "r", "s"}
        assert config.netns("r2") not in system.run(["ip", "netns", "list"]).stdout
        state = own.state()
        assert state is not None
        recorded = [ref for node in state.nodes.values() for ref in node.resources.processes.values()]
        recorded += [d for ref in recorded for d in system.descendants(ref.pid)]
        with router_session(own.login("r")) as conn:  # an open CLI session must not block userdel
            conn.find_prompt()
            assert sorted(own.down()) == ["h", "r", "s"]
        assert _leftovers(config, recorded, [n.address for n in nodes]) == []
    assert lab.status().healthy, "the other lab was touched"
