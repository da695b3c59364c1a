"""The dhcpd.conf of every sample DHCP server, rendered by real Ansible and checked by the real dhcpd.

Real ``ansible-playbook`` renders the role's template (``roles/dhcp/templates/dhcpd.conf.j2``) with
the ``template`` module against ksm's generated inventory (host_vars as ``ksm render ansible``
writes them), after the role's own input assertions (``tasks/validate.yml``, which also bring in the
role's defaults at role-default precedence), as a run of the role would. Then:

- ``dhcpd -t`` (config test) accepts every file;
- each file matches its golden copy in tests/data/golden/dhcpd/ (after a deliberate change:
  ``KSM_UPDATE_GOLDEN=1 pytest tests/unit/test_dhcp_config.py`` and review the diff);
- (root) the real dhcpd starts on an interface with the server's address inside a throwaway network
  namespace. ``dhcpd -t`` does not look at interfaces, so the control case shows that only the start
  tells a config without the server's own subnet apart: ``-t`` passes it, the start refuses it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.inventory.models import Server
from ksm_provision.render.ansible_inventory import write_ansible_inventory

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
GOLDEN = REPO / "tests" / "data" / "golden" / "dhcpd"
UPDATE = os.environ.get("KSM_UPDATE_GOLDEN") == "1"
DHCPD = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
#: Only a guard against a hang (e.g. dhcpd waiting on something unforeseen), never an assertion.
HANG_GUARD_SECONDS = 120

RENDER_PLAYBOOK = """\
- name: Render the role's dhcpd.conf as a run of the role would
  hosts: role_dhcp
  gather_facts: false
  tasks:
    - name: Check the variables with the role's own assertions, its defaults below the host_vars
      ansible.builtin.include_role:
        name: dhcp
        tasks_from: validate
        public: true
    - name: Render dhcpd.conf with the role's template
      ansible.builtin.template:
        src: "{{ role_dir }}/templates/dhcpd.conf.j2"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.conf"
        mode: "0644"
"""


def dhcp_servers(inventory: Inventory) -> list[Host]:
    return [h for h in inventory.hosts if "dhcp" in h.roles]


def served_by(server: Host) -> set[str]:
    assert isinstance(server.entry, Server) and server.entry.dhcp is not None
    return set(server.entry.dhcp.serves)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@dataclass(frozen=True)
class Render:
    """A render set-up: run it again and again into the same directory."""

    hosts_file: Path
    playbook: Path
    out: Path
    base: Path

    def run(self) -> str:
        """ansible-playbook's output; fails the test unless the run succeeds."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_LOCAL_TEMP=str(self.base / "ansible-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_ROLES_PATH=str(REPO / "roles"),
            PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        )
        command = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.hosts_file), "-c", "local"]
        command += ["-e", f"ansible_python_interpreter={sys.executable}"]
        command += ["-e", f"role_dir={REPO / 'roles' / 'dhcp'} out_dir={self.out}", str(self.playbook)]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout


@pytest.fixture(scope="module")
def render(inventory: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Render:
    base = tmp_path_factory.mktemp("dhcpd")
    servers = dhcp_servers(inventory)
    assert len(servers) >= 3, "the samples have three DHCP servers"
    hosts_file = write_ansible_inventory(inventory, servers, base / "inventory")
    playbook = base / "render.yml"
    playbook.write_text(RENDER_PLAYBOOK, encoding="utf-8")
    (base / "out").mkdir()
    return Render(hosts_file, playbook, base / "out", base)


@pytest.fixture(scope="module")
def rendered(inventory: Inventory, render: Render) -> dict[str, str]:
    """hostname -> dhcpd.conf, rendered by ansible-playbook from the generated inventory."""
    render.run()
    configs = {path.stem: path.read_text(encoding="utf-8") for path in render.out.glob("*.conf")}
    assert set(configs) == {h.hostname for h in dhcp_servers(inventory)}
    return configs


def test_second_render_changes_nothing(
    inventory: Inventory, render: Render, rendered: dict[str, str]
) -> None:
    """Idempotent: the same variables give byte-identical files, so Ansible's template task reports ok."""
    recap = render.run().split("PLAY RECAP", 1)[1]
    for server in dhcp_servers(inventory):
        line = next(line for line in recap.splitlines() if line.startswith(server.hostname))
        assert re.search(r"\bchanged=0\b", line), line
        assert (render.out / f"{server.hostname}.conf").read_text(encoding="utf-8") == rendered[
            server.hostname
        ]


def dhcpd_test(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DHCPD, "-t", "-q", "-4", "-cf", str(config)], capture_output=True, text=True, timeout=60, check=False
    )


def test_dhcpd_accepts_every_sample_config(rendered: dict[str, str], tmp_path: Path) -> None:
    for hostname, text in rendered.items():
        config = tmp_path / f"{hostname}.conf"
        config.write_text(text, encoding="utf-8")
        result = dhcpd_test(config)
        assert result.returncode == 0, f"{hostname}: dhcpd -t refused it:\n{result.stdout}{result.stderr}"


def test_dhcpd_refuses_a_broken_config(rendered: dict[str, str], tmp_path: Path) -> None:
    """Control: the config test does reject what dhcpd cannot parse (a range outside every subnet)."""
    config = tmp_path / "broken.conf"
    text = next(iter(rendered.values()))
    config.write_text(
        text + "\nsubnet 192.0.2.0 netmask 255.255.255.0 {\n  range 198.51.100.1 198.51.100.9;\n}\n"
    )
    assert dhcpd_test(config).returncode != 0


@pytest.mark.parametrize("hostname", ["lup-pch-dhcp01", "lup-lwl-dhcp01", "sn-rh-dhcp01"])
def test_config_matches_golden(rendered: dict[str, str], hostname: str) -> None:
    golden = GOLDEN / f"{hostname}.conf"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered[hostname], encoding="utf-8")
    assert rendered[hostname] == golden.read_text(encoding="utf-8")


def subnet_blocks(text: str) -> dict[str, str]:
    """``network/netmask`` -> the body of its subnet declaration."""
    return {
        f"{m['network']}/{m['netmask']}": m["body"]
        for m in re.finditer(
            r"^subnet (?P<network>\S+) netmask (?P<netmask>\S+) \{\n(?P<body>.*?)^\}", text, re.M | re.S
        )
    }


def test_own_network_and_served_networks_are_declared(inventory: Inventory, rendered: dict[str, str]) -> None:
    for server in dhcp_servers(inventory):
        authority = inventory.authorities[server.authority]
        served = served_by(server)
        blocks = subnet_blocks(rendered[server.hostname])
        networks = {n.id: n for n in authority.networks}
        own = networks[server.network]
        own_key = f"{own.subnet.network_address}/{own.subnet.netmask}"
        assert own_key in blocks, f"{server.hostname}: no subnet for its own network {own.subnet}"
        if own.id not in served:
            assert blocks[own_key].strip() == "", f"{server.hostname}: own network must be declared empty"
        for network_id in served:
            network = networks[network_id]
            body = blocks[f"{network.subnet.network_address}/{network.subnet.netmask}"]
            assert f"option routers {network.gateway};" in body
            assert f'option domain-name "{authority.authority.domain}";' in body
            assert "option domain-name-servers " in body
            pools = [
                (r.first_address, r.first_address + (r.count - 1))
                for r in authority.client_ranges
                if r.network == network_id
            ]
            if network.dhcp is not None:
                pools.append((network.dhcp.start, network.dhcp.end))
            assert pools, f"{network_id} hands out nothing"
            for start, end in pools:
                assert f"range {start} {end};" in body
        assert len(blocks) == len(served | {own.id})


def test_reservations_only_for_clients_with_a_mac(inventory: Inventory, rendered: dict[str, str]) -> None:
    for server in dhcp_servers(inventory):
        authority = inventory.authorities[server.authority]
        served = served_by(server)
        text = rendered[server.hostname]
        expected = {c.hostname: c for c in authority.clients if c.network in served}
        hosts = dict(re.findall(r"^host (\S+) \{\n  hardware ethernet (\S+);", text, re.M))
        assert hosts == {name: client.mac for name, client in expected.items()}
        for client in expected.values():
            assert f"fixed-address {client.address};" in text
        assert "02:00:" not in text, "an invented MAC of a range client"


# --------------------------------------------------------------------------- the real start (root)


@dataclass(frozen=True)
class Namespace:
    name: str
    interface: str


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> Iterator[Namespace]:
    if os.geteuid() != 0:
        pytest.fail("starting dhcpd on an interface needs root (network namespaces): run as root, like CI")
    name = f"ksm-dhcpd-test-{os.getpid()}-{request.node.name.rsplit('[', 1)[-1].strip(']')}"[:60]
    name = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        # both ends inside the namespace: nothing of it reaches this machine's own interfaces
        subprocess.run(
            ["ip", "-n", name, "link", "add", "srv0", "type", "veth", "peer", "name", "peer0"], check=True
        )
        for link in ("srv0", "peer0", "lo"):
            subprocess.run(["ip", "-n", name, "link", "set", link, "up"], check=True)
        yield Namespace(name, "srv0")
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


@dataclass(frozen=True)
class Start:
    started: bool
    output: str


def start_dhcpd(namespace: Namespace, config: Path, work: Path) -> Start:
    """Start dhcpd in the foreground on the namespace's interface: did it reach "Server starting service."?

    dhcpd prints that line once it listens; when it cannot serve the interface it exits instead. Either
    way the outcome is read from its output, not from any time limit.
    """
    leases = work / "dhcpd.leases"
    leases.touch()
    command = ["ip", "netns", "exec", namespace.name, DHCPD, "-f", "-d", "-4", "-cf", str(config)]
    command += ["-lf", str(leases), "-pf", str(work / "dhcpd.pid"), namespace.interface]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    guard = threading.Timer(HANG_GUARD_SECONDS, process.kill)
    guard.start()
    lines: list[str] = []
    started = False
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Server starting service."):
                started = True
                break
    finally:
        guard.cancel()
        process.terminate()
        process.wait(timeout=60)
    return Start(started, "".join(lines))


def own_address(inventory: Inventory, hostname: str) -> str:
    host = inventory.hosts_by_name[hostname]
    network = next(n for n in inventory.authorities[host.authority].networks if n.id == host.network)
    return f"{host.address}/{network.subnet.prefixlen}"


@pytest.mark.parametrize("hostname", ["lup-pch-dhcp01", "lup-lwl-dhcp01", "sn-rh-dhcp01"])
def test_dhcpd_starts_on_the_servers_own_interface(
    inventory: Inventory, rendered: dict[str, str], namespace: Namespace, tmp_path: Path, hostname: str
) -> None:
    subprocess.run(
        ["ip", "-n", namespace.name, "addr", "add", own_address(inventory, hostname), "dev", "srv0"],
        check=True,
    )
    config = tmp_path / "dhcpd.conf"
    config.write_text(rendered[hostname], encoding="utf-8")
    start = start_dhcpd(namespace, config, tmp_path)
    assert start.started, f"{hostname}: dhcpd did not start:\n{start.output}"


def test_control_without_own_subnet_passes_the_test_but_cannot_start(
    inventory: Inventory, rendered: dict[str, str], namespace: Namespace, tmp_path: Path
) -> None:
    hostname = "lup-pch-dhcp01"
    subprocess.run(
        ["ip", "-n", namespace.name, "addr", "add", own_address(inventory, hostname), "dev", "srv0"],
        check=True,
    )
    own = "subnet 10.41.8.0 netmask 255.255.255.0 {\n}\n"
    assert own in rendered[hostname]
    config = tmp_path / "dhcpd.conf"
    config.write_text(rendered[hostname].replace(own, ""), encoding="utf-8")
    assert dhcpd_test(config).returncode == 0, "dhcpd -t checks no interfaces: it passes this config"
    start = start_dhcpd(namespace, config, tmp_path)
    assert not start.started, "dhcpd started without a subnet declaration for its own interface"
    assert "No subnet declaration for srv0" in start.output, start.output
