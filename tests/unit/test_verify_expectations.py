"""Service-aware verify checks: derived from the roles' variables, and the testinfra side on fake hosts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.render.gateway_vars import ansible_host_vars, gateway_hosts
from ksm_provision.verify.expectations import Check, checks_for
from ksm_provision.verify.gateway_checks import gateway_checks
from ksm_provision.verify.testinfra_checks import (
    CHECKS,
    check_listening,
    check_ntp_sources,
    check_service,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


def host_checks(inventory: Inventory, hostname: str) -> list[Check]:
    hosts = {h.hostname: h for h in [*inventory.hosts, *gateway_hosts(inventory)]}
    variables = ansible_host_vars(inventory, hosts[hostname])
    return checks_for(variables) + gateway_checks(variables)


def names(checks: list[Check]) -> set[str]:
    return {c.name for c in checks}


BASE = {
    "service ssh running and enabled",
    "sshd listens on tcp/22",
    "service chrony running and enabled",
    "chrony uses the ntp servers",
    "service rsyslog running and enabled",
    "log forwarding",
}


@pytest.mark.parametrize("hostname", ["lup-pch-fs01", "lup-pch-dhcp01", "lup-pch-app01", "lup-pch-rt01"])
def test_every_host_checks_the_base_services_with_unique_readable_names(
    inventory: Inventory, hostname: str
) -> None:
    checks = host_checks(inventory, hostname)
    assert names(checks) >= BASE
    assert len(names(checks)) == len(checks), "check names are the JUnit/JSON ids: unique per host"
    assert {c.kind for c in checks} <= set(CHECKS), "every kind has a testinfra function"


def test_fileserver_runs_smbd_on_445_and_no_nmbd(inventory: Inventory) -> None:
    checks = names(host_checks(inventory, "lup-pch-fs01"))
    assert {
        "service smbd running and enabled",
        "smbd listens on tcp/445",
        "service nmbd stopped and disabled",
    } <= checks
    assert not any("dhcp" in name for name in checks)


def test_dhcp_server_runs_dhcpd_on_udp_67(inventory: Inventory) -> None:
    checks = host_checks(inventory, "lup-pch-dhcp01")
    (service,) = [c for c in checks if c.name == "service isc-dhcp-server running and enabled"]
    assert service.params == {"unit": "isc-dhcp-server", "wanted": True, "process": "dhcpd"}
    assert "dhcpd listens on udp/67" in names(checks)
    assert not any("smbd" in name for name in names(checks))


def test_a_stopped_dhcp_service_is_expected_stopped(inventory: Inventory) -> None:
    variables = ansible_host_vars(inventory, inventory.hosts_by_name["lup-pch-dhcp01"])
    checks = names(checks_for({**variables, "dhcp_service_enabled": False}))
    assert "service isc-dhcp-server stopped and disabled" in checks
    assert "dhcpd listens on udp/67" not in checks


def test_fachverfahren_host_listens_on_the_service_port(inventory: Inventory) -> None:
    assert "fachverfahren kfz listens on tcp/8443" in names(host_checks(inventory, "lup-pch-app01"))


def test_gateway_runs_nftables_and_the_relay(inventory: Inventory) -> None:
    checks = names(host_checks(inventory, "lup-pch-rt01"))
    assert {
        "service nftables running and enabled",
        "nftables table inet ksm",
        "service isc-dhcp-relay running and enabled",
        "dhcrelay listens on udp/67",
    } <= checks


def test_gateway_without_relay_servers_expects_the_relay_stopped(inventory: Inventory) -> None:
    (host,) = [h for h in gateway_hosts(inventory) if h.hostname == "lup-pch-rt01"]
    variables = {**ansible_host_vars(inventory, host), "gateway_relay_servers": []}
    checks = names(gateway_checks(variables))
    assert "service isc-dhcp-relay stopped and disabled" in checks
    assert "dhcrelay listens on udp/67" not in checks


# --------------------------------------------------------------------------- testinfra side


class FakeHost:
    """The few testinfra calls the service checks make."""

    def __init__(
        self,
        active: bool = True,
        enabled: bool = True,
        processes: tuple[str, ...] = (),
        sockets: tuple[str, ...] = (),
        chronyc: str = "",
    ) -> None:
        self._service = SimpleNamespace(is_running=active, is_enabled=enabled)
        self._processes = processes
        self.socket = SimpleNamespace(get_listening_sockets=lambda: list(sockets))
        self.process = SimpleNamespace(filter=lambda comm: [comm] if comm in self._processes else [])
        self._chronyc = chronyc

    def service(self, _name: str) -> Any:
        return self._service

    def run(self, command: str, *_args: str) -> Any:
        if command.startswith("chronyc"):
            return SimpleNamespace(rc=0, stdout=self._chronyc, stderr="")
        return SimpleNamespace(rc=0, stdout="active exited success", stderr="")


DHCPD = {"unit": "isc-dhcp-server", "wanted": True, "process": "dhcpd"}


def test_service_check_passes_a_running_enabled_daemon() -> None:
    check_service(FakeHost(processes=("dhcpd",)), DHCPD)


def test_service_check_sees_an_lsb_unit_whose_daemon_died() -> None:
    with pytest.raises(AssertionError, match="no dhcpd process"):
        check_service(FakeHost(processes=()), DHCPD)


def test_service_check_sees_a_unit_not_enabled_at_boot() -> None:
    with pytest.raises(AssertionError, match="does not start at boot"):
        check_service(FakeHost(enabled=False, processes=("dhcpd",)), DHCPD)


def test_service_check_of_a_stopped_service() -> None:
    params = {"unit": "nmbd", "wanted": False, "process": "nmbd"}
    check_service(FakeHost(active=False, enabled=False), params)
    with pytest.raises(AssertionError, match="nmbd runs"):
        check_service(FakeHost(active=True, enabled=False), params)


def test_listening_check_takes_ipv4_only_sockets_and_the_protocol() -> None:
    host = FakeHost(sockets=("udp://0.0.0.0:67", "tcp://0.0.0.0:22", "tcp://:::22"))
    check_listening(host, {"protocol": "udp", "port": 67})
    check_listening(host, {"protocol": "tcp", "port": 22})
    with pytest.raises(AssertionError, match="nothing listens on tcp/67"):
        check_listening(host, {"protocol": "tcp", "port": 67})


def test_ntp_sources_check_reads_chronyc_csv() -> None:
    host = FakeHost(chronyc="^,?,10.40.0.123,0,6,0,4294967295,0.0,0.0,0.0\n")
    check_ntp_sources(host, {"servers": ["10.40.0.123", "ntp.example"]})  # a name is not compared
    with pytest.raises(AssertionError, match=r"does not use 10\.40\.1\.123"):
        check_ntp_sources(host, {"servers": ["10.40.0.123", "10.40.1.123"]})
