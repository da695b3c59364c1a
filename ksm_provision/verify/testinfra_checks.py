"""pytest-testinfra checks, parametrised from the spec file named by ``KSM_VERIFY_SPEC``.

Run by :mod:`ksm_provision.verify.runner` as ``pytest <this file>``; not collected by the
project's own test suite (it only runs with a spec).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import testinfra

from ksm_provision.hostkeys import host_key_args
from ksm_provision.verify.gateway_checks import TESTINFRA_CHECKS as GATEWAY_CHECKS


def _spec() -> list[dict[str, Any]]:
    path = os.environ.get("KSM_VERIFY_SPEC")
    if not path:
        return []
    data: list[dict[str, Any]] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


_HOSTS: dict[str, Any] = {}


def _connect(spec: dict[str, Any]) -> Any:
    key = spec["host"]
    if key not in _HOSTS:
        known_hosts = Path(spec["known_hosts"]) if spec["known_hosts"] else None
        # testinfra sets ControlMaster but no ControlPath, which multiplexes nothing: every check
        # would log in anew (a PAM session each on a systemd host). %C keeps the socket path short.
        control_dir = os.environ.get("KSM_VERIFY_CONTROL_DIR") or tempfile.gettempdir()
        ssh_options = (
            host_key_args(known_hosts, spec["check_host_key"])
            + " -o LogLevel=ERROR -o ControlMaster=auto -o ControlPersist=60s"
            + f" -o ControlPath={control_dir}/%C"
        )
        kwargs: dict[str, Any] = {"ssh_extra_args": ssh_options, "sudo": spec["become"]}
        if spec["key_file"]:
            kwargs["ssh_identity_file"] = spec["key_file"]
        _HOSTS[key] = testinfra.get_host(f"ssh://{spec['user']}@{spec['address']}:{spec['port']}", **kwargs)
    return _HOSTS[key]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        cases = [(spec, check) for spec in _spec() for check in spec["checks"]]
        metafunc.parametrize("case", cases, ids=[f"{s['host']}::{c['name']}" for s, c in cases])


def _text(host: Any, *paths: str) -> str:
    return str(host.run("cat " + " ".join(paths) + " 2>/dev/null").stdout)


def test_host(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    spec, check = case
    host = _connect(spec)
    CHECKS[check["kind"]](host, check["params"])


def check_hostname(host: Any, p: dict[str, Any]) -> None:
    actual = host.file("/etc/hostname").content_string.strip()
    assert actual == p["hostname"], f"hostname is {actual!r}, expected {p['hostname']!r}"


def check_timezone(host: Any, p: dict[str, Any]) -> None:
    assert host.file("/etc/timezone").content_string.strip() == p["timezone"]
    assert host.file("/etc/localtime").linked_to.endswith(p["timezone"])


def check_ntp(host: Any, p: dict[str, Any]) -> None:
    config = _text(
        host, "/etc/chrony/chrony.conf", "/etc/chrony/conf.d/*.conf", "/etc/chrony/sources.d/*.sources"
    )
    for server in p["servers"]:
        assert f"server {server}" in config or f"pool {server}" in config, (
            f"NTP server {server} not configured"
        )


def check_dns(host: Any, p: dict[str, Any]) -> None:
    resolv = host.file("/etc/resolv.conf").content_string
    for server in p["servers"]:
        assert f"nameserver {server}" in resolv, f"DNS server {server} missing in /etc/resolv.conf"
    if p["search"]:
        assert "search " + " ".join(p["search"]) in resolv


def check_sshd(host: Any, _: dict[str, Any]) -> None:
    effective = host.check_output("/usr/sbin/sshd -T 2>/dev/null").lower()
    assert "passwordauthentication no" in effective
    assert "permitrootlogin yes" not in effective
    assert "x11forwarding no" in effective


def check_service(host: Any, p: dict[str, Any]) -> None:
    unit, process = p["unit"], p["process"]
    service = host.service(unit)
    if not p["wanted"]:
        assert not service.is_running, f"{unit} runs, but the role stops it"
        assert not service.is_enabled, f"{unit} starts at boot, but the role disables it"
        return
    assert service.is_running, f"{unit} is not running: {_status(host, unit)}"
    assert service.is_enabled, f"{unit} does not start at boot (systemctl is-enabled: not enabled)"
    if process:  # an LSB unit stays active after its daemon died
        assert host.process.filter(comm=process), f"{unit} is active but no {process} process runs"


def _status(host: Any, unit: str) -> str:
    state = host.run("systemctl show --property=ActiveState,SubState,Result --value %s", unit).stdout.split()
    return "/".join(state) or "unknown unit"


def check_listening(host: Any, p: dict[str, Any]) -> None:
    # testinfra's socket("udp://67").is_listening wants IPv4 and IPv6; dhcpd listens on IPv4 only
    wanted = f"{p['protocol']}://"
    listening = [s for s in host.socket.get_listening_sockets() if s.startswith(wanted)]
    ports = {s.rsplit(":", 1)[1] for s in listening}
    assert str(p["port"]) in ports, f"nothing listens on {p['protocol']}/{p['port']}"


def check_ntp_sources(host: Any, p: dict[str, Any]) -> None:
    """The running chronyd has the configured servers as sources: it read the current chrony.conf."""
    sources = host.run("chronyc -n -c sources")
    assert sources.rc == 0, f"chronyc gets no answer from chronyd: {sources.stderr.strip()[:200]}"
    addresses = {line.split(",")[2] for line in sources.stdout.splitlines() if line.count(",") >= 2}
    missing = [server for server in p["servers"] if _is_address(server) and server not in addresses]
    assert not missing, f"chronyd does not use {', '.join(missing)} (sources: {sorted(addresses)})"


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False  # a name: chronyc -n shows the address it resolved to
    return True


def check_admin(host: Any, p: dict[str, Any]) -> None:
    user = host.user(p["name"])
    assert user.exists, f"admin account {p['name']} missing"
    keys = host.file(f"{user.home}/.ssh/authorized_keys")
    for key in p["ssh_keys"]:
        assert keys.contains(key.split()[1]), f"SSH key of {p['name']} not authorised"
    if p["sudo"]:
        sudoers = _text(host, "/etc/sudoers.d/*")
        assert p["name"] in sudoers, f"{p['name']} has no sudo rule"


def check_syslog(host: Any, p: dict[str, Any]) -> None:
    assert p["host"] in _text(host, "/etc/rsyslog.d/*.conf"), "log forwarding not configured"


def check_package(host: Any, p: dict[str, Any]) -> None:
    assert host.package(p["name"]).is_installed, f"package {p['name']} not installed"


def check_share(host: Any, p: dict[str, Any]) -> None:
    config = host.check_output("testparm -s 2>/dev/null")
    assert f"[{p['name']}]" in config, f"share {p['name']} not in smb.conf"
    assert f"path = {p['path']}" in config
    directory = host.file(p["path"])
    assert directory.is_directory and directory.group == p["group"]


def check_dhcp(host: Any, p: dict[str, Any]) -> None:
    test = host.run("/usr/sbin/dhcpd -t -q -4 -cf /etc/dhcp/dhcpd.conf")
    assert test.rc == 0, f"dhcpd -t refuses /etc/dhcp/dhcpd.conf: {test.stdout}{test.stderr}"
    config = host.file("/etc/dhcp/dhcpd.conf").content_string
    for subnet in p["subnets"]:
        assert f"subnet {subnet['network']} netmask {subnet['netmask']} {{" in config, (
            f"no subnet declaration for {subnet['network']}/{subnet['netmask']}"
        )
        for start, end in subnet["ranges"]:
            assert f"range {start} {end};" in config, f"no range {start}-{end}"
    wanted = {r["hostname"]: r for r in p["reservations"]}
    declared = set(re.findall(r"^host (\S+) \{", config, re.MULTILINE))
    assert declared == set(wanted), f"reservations differ: {sorted(declared ^ set(wanted))}"
    for reservation in wanted.values():
        assert f"hardware ethernet {reservation['mac']};" in config, (
            f"no reservation for {reservation['hostname']}"
        )
        assert f"fixed-address {reservation['address']};" in config


def check_fv_server(host: Any, p: dict[str, Any]) -> None:
    config = host.file(f"/etc/ksm/fachverfahren/{p['id']}/server.yml")
    assert config.exists, "server.yml missing"
    assert config.mode == 0o640, f"server.yml has mode {config.mode:o}, expected 640"
    # the file holds the database password: compare to a boolean so that a failing assert
    # cannot print the file's content
    port_configured = str(p["port"]) in config.content_string
    assert port_configured, f"port {p['port']} not configured in server.yml"


def check_fv_client(host: Any, p: dict[str, Any]) -> None:
    assert p["url"] in host.file(f"/etc/ksm/fachverfahren/{p['id']}/client.conf").content_string


CHECKS = {
    **GATEWAY_CHECKS,
    "hostname": check_hostname,
    "timezone": check_timezone,
    "ntp": check_ntp,
    "dns": check_dns,
    "sshd": check_sshd,
    "service": check_service,
    "listening": check_listening,
    "ntp_sources": check_ntp_sources,
    "admin": check_admin,
    "syslog": check_syslog,
    "package": check_package,
    "share": check_share,
    "dhcp": check_dhcp,
    "fv_server": check_fv_server,
    "fv_client": check_fv_client,
}
