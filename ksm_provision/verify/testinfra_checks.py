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


def _sshd_effective(host: Any) -> dict[str, str]:
    """``sshd -T``: the configuration the daemon runs with (after a reload), keyword -> value."""
    effective: dict[str, str] = {}
    for line in host.check_output("/usr/sbin/sshd -T 2>/dev/null").splitlines():
        keyword, _, value = line.strip().partition(" ")
        effective.setdefault(keyword.lower(), value.strip())
    return effective


#: ``sshd -T`` prints PermitRootLogin prohibit-password under its older name.
_ROOT_LOGIN_ALIASES = {"prohibit-password": "without-password"}


def check_sshd_login(host: Any, p: dict[str, Any]) -> None:
    """Key-only login, root login and session limits as the inventory configures them."""
    effective = _sshd_effective(host)
    wanted = {
        "permitrootlogin": _ROOT_LOGIN_ALIASES.get(p["permit_root_login"], p["permit_root_login"]),
        "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no",
        "permitemptypasswords": "no",
        "pubkeyauthentication": "yes",
        "maxauthtries": str(p["max_auth_tries"]),
        "clientaliveinterval": str(p["client_alive_interval"]),
        "clientalivecountmax": str(p["client_alive_count_max"]),
    }
    wrong = [
        f"{k} {effective.get(k, '(unset)')} (expected {v})"
        for k, v in wanted.items()
        if effective.get(k) != v
    ]
    assert not wrong, "sshd -T: " + ", ".join(wrong)


def check_sshd_crypto(host: Any, p: dict[str, Any]) -> None:
    """The daemon offers exactly the configured ciphers, MACs and key exchange methods."""
    effective = _sshd_effective(host)
    wanted = {"ciphers": p["ciphers"], "macs": p["macs"], "kexalgorithms": p["kex_algorithms"]}
    wrong = [
        f"{k} {effective.get(k, '(unset)')} (expected {','.join(v)})"
        for k, v in wanted.items()
        if effective.get(k, "").split(",") != list(v)
    ]
    assert not wrong, "sshd -T: " + "; ".join(wrong)


#: Servers of protocols SSH replaces (telnet, rlogin/rsh/rexec, FTP): Debian package names.
CLEARTEXT_REMOTE_PACKAGES = (
    "telnetd",
    "inetutils-telnetd",
    "telnetd-ssl",
    "rsh-server",
    "rsh-redone-server",
    "ftpd",
    "inetutils-ftpd",
    "vsftpd",
    "proftpd-basic",
    "proftpd-core",
    "pure-ftpd",
    "tnftpd",
)
#: ftp, telnet, rexec, rlogin (514/tcp is rsh but also syslog over TCP: the packages cover rsh).
CLEARTEXT_REMOTE_PORTS = ("21", "23", "512", "513")


def check_no_cleartext_remote(host: Any, _: dict[str, Any]) -> None:
    """No telnet, rsh/rlogin or FTP server installed, nothing listening on their ports."""
    listed = host.run(
        "dpkg-query -W -f='${Package} ${db:Status-Abbrev}\\n' "
        + " ".join(CLEARTEXT_REMOTE_PACKAGES)
        + " 2>/dev/null"
    ).stdout
    installed = sorted(line.split()[0] for line in listed.splitlines() if line.split()[1:2] == ["ii"])
    assert not installed, f"servers of protocols SSH replaces are installed: {', '.join(installed)}"
    ports = {s.rsplit(":", 1)[1] for s in host.socket.get_listening_sockets() if s.startswith("tcp://")}
    open_ports = sorted(set(CLEARTEXT_REMOTE_PORTS) & ports)
    assert not open_ports, f"something listens on tcp/{', tcp/'.join(open_ports)} (ftp/telnet/rexec/rlogin)"


def check_unattended_upgrades(host: Any, p: dict[str, Any]) -> None:
    """APT's periodic jobs as the inventory says: daily lists and unattended upgrades from the
    approved origins (``apt-config dump``: what apt really reads). Whether apt's timers run the
    jobs is not checked: the role does not manage them, and the lab twin switches them off."""
    dump = host.check_output("apt-config dump 2>/dev/null")
    wanted = "1" if p["enabled"] else "0"
    for key in ("APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"):
        value = re.search(rf'^{re.escape(key)} "([^"]*)";$', dump, re.MULTILINE)
        shown = value[1] if value else "(unset)"
        assert shown == wanted, f'{key} is "{shown}", expected "{wanted}"'
    if not p["enabled"]:
        return
    assert host.package("unattended-upgrades").is_installed, "package unattended-upgrades not installed"
    origins = re.findall(r'^Unattended-Upgrade::Origins-Pattern:: "([^"]*)";$', dump, re.MULTILINE)
    missing = [origin for origin in p["origins"] if origin not in origins]
    assert not missing, f"origins not approved for unattended upgrades: {', '.join(missing)}"


def _covers(selector: str, facility: str) -> bool:
    """Whether an rsyslog *selector* (``*.*``, ``auth,authpriv.*;mail.none``) selects *facility*.

    >>> [_covers(s, "authpriv") for s in ("*.*", "auth,authpriv.*", "*.*;authpriv.none", "kern.*")]
    [True, True, False, False]
    """
    selected = False
    for part in selector.split(";"):
        facilities, _, priority = part.partition(".")
        if "*" in facilities.split(",") or facility in facilities.split(","):
            selected = priority.strip() != "none"
    return selected


def check_syslog_auth(host: Any, p: dict[str, Any]) -> None:
    """A forwarding rule to the log host selects the auth and authpriv facilities (logins, sudo)."""
    config = _text(host, "/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf")
    target = re.compile(rf"^(\S+)\s+@@?\[?{re.escape(p['host'])}\]?(?::\d+)?\s*$")
    selectors = [m[1] for line in config.splitlines() if (m := target.match(line.strip()))]
    assert selectors, f"no rule forwards to {p['host']}"
    for facility in ("auth", "authpriv"):
        assert any(_covers(s, facility) for s in selectors), f"{facility} is not forwarded to {p['host']}"


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
    "sshd_login": check_sshd_login,
    "sshd_crypto": check_sshd_crypto,
    "no_cleartext_remote": check_no_cleartext_remote,
    "unattended_upgrades": check_unattended_upgrades,
    "syslog_auth": check_syslog_auth,
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
