"""Lab routers: real FRRouting daemons in a network namespace per router, behind a real SSH login.

Per router: ``ip netns add ksm-<name>`` with the router's interfaces as links inside; zebra,
staticd, ospfd and bgpd started with ``-N <pathspace>`` (own /etc/frr/<pathspace>/ and
/var/run/frr/<pathspace>/) in that namespace and in a UTS namespace carrying the device's hostname;
a system user ``ksmfrr-<name>`` whose shell execs ``vtysh -N <pathspace>``; and an sshd bound only
to the router's 127.x address. To Netmiko's ``cisco_ios`` driver that is a router CLI.
"""

from __future__ import annotations

import grp
import pwd
import shutil
import threading
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import credentials, fabric, system
from ksm_provision.lab.config import FRR_ETC, FRR_RUN, SHELL_DIR, LabConfig
from ksm_provision.lab.state import CredentialRef, NodeState, ResourceLog

DAEMONS: tuple[str, ...] = ("zebra", "staticd", "ospfd", "bgpd")
#: watchfrr only watches (``--dry``: it never restarts anything), and it is what makes ``write memory``
#: save cleanly: vtysh hands the write to it instead of writing (and failing to chown) as the login.
WATCHFRR = "watchfrr"
PROCESSES: tuple[str, ...] = (*DAEMONS, WATCHFRR)
FRR_BIN = Path("/usr/lib/frr")
SSHD = "sshd"
#: "dummy" where the kernel has it, else "ifb" (remembered after the first try).
_link_kind: list[str] = []
#: useradd/chpasswd/userdel edit /etc/passwd and /etc/shadow: one at a time.
ACCOUNTS_LOCK = threading.Lock()


# --------------------------------------------------------------------------- network namespace


def _links(netns: str) -> set[str]:
    out = system.run(["ip", "-n", netns, "-o", "link", "show"]).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def _add_link(netns: str, name: str) -> None:
    """A stand-alone link (``dummy``; ``ifb`` on kernels built without the dummy driver)."""
    kinds = _link_kind or ["dummy", "ifb"]
    last = ""
    for kind in kinds:
        proc = system.run(["ip", "-n", netns, "link", "add", name, "type", kind], check=False)
        if proc.returncode == 0:
            _link_kind[:] = [kind]
            return
        last = proc.stderr.strip()
    raise LabError(
        f"cannot create interface {name} in {netns}: {last}", hint="load the 'dummy' kernel module"
    )


def _ensure_netns(node: ResourceLog, netns: str, interfaces: tuple[str, ...]) -> None:
    """The router's namespace; interfaces the data plane did not cable become stand-alone links."""
    fabric.ensure_namespace(node, netns)
    present = _links(netns)
    for name in interfaces:
        if name not in present:
            _add_link(netns, name)
        system.run(["ip", "-n", netns, "link", "set", name, "up"])


# --------------------------------------------------------------------------- FRR files and daemons


def frr_etc(config: LabConfig, name: str) -> Path:
    return FRR_ETC / config.pathspace(name)


def frr_run(config: LabConfig, name: str) -> Path:
    return FRR_RUN / config.pathspace(name)


def _initial_config(hostname: str) -> str:
    """A new router's frr.conf: nothing but its name (ksm pushes the rest)."""
    return (
        "frr defaults traditional\n"
        f"hostname {hostname}\n"
        "log stdout informational\n"
        "service integrated-vtysh-config\n"
        "!\n"
        "line vty\n"
        "!\n"
    )


def _daemons_file() -> str:
    lines = [f"{d}=yes" for d in DAEMONS if d != "zebra"] + ["vtysh_enable=yes"]
    return (
        "# Written by ksm lab; the lab starts these daemons itself (no watchfrr).\n" + "\n".join(lines) + "\n"
    )


def _chown(path: Path, user: str, group: str, mode: int) -> None:
    shutil.chown(path, user, group)
    path.chmod(mode)


def _ensure_frr_files(node: ResourceLog, config: LabConfig, initial: str | None = None) -> None:
    spec = node.node.spec
    etc, run = frr_etc(config, spec.name), frr_run(config, spec.name)
    for directory in (etc, run):
        if directory.exists() and directory not in node.resources.paths:
            raise LabError(
                f"{directory} exists but does not belong to this lab",
                hint="another lab runs with the same instance, or remove the leftover directory",
            )
        node.add_path(directory)
    etc.mkdir(exist_ok=True)
    _chown(etc, "frr", "frrvty", 0o2775)  # write memory: the login (group frrvty) replaces frr.conf
    run.mkdir(exist_ok=True)
    _chown(run, "frr", "frr", 0o755)
    frr_conf = etc / "frr.conf"
    if not frr_conf.exists():  # never overwrite: it is the router's saved configuration
        frr_conf.write_text(initial or _initial_config(spec.hostname))
        _chown(frr_conf, "frr", "frrvty", 0o664)
    for file_name, text in (
        ("vtysh.conf", "service integrated-vtysh-config\n"),
        ("daemons", _daemons_file()),
    ):
        (etc / file_name).write_text(text)
        _chown(etc / file_name, "frr", "frrvty", 0o644)


def _daemons_running(node: ResourceLog) -> bool:
    return all(system.is_running(node.resources.processes.get(p)) for p in PROCESSES)


def _start_daemons(node: ResourceLog, config: LabConfig, netns: str) -> None:
    spec = node.node.spec
    for process in reversed(PROCESSES):
        system.stop(node.resources.processes.get(process))
        node.drop_process(process)
    pathspace, run = config.pathspace(spec.name), frr_run(config, spec.name)
    commands = {
        daemon: [str(FRR_BIN / daemon), "-d", "-N", pathspace, "-P", "0", "-u", "frr", "-g", "frr"]
        for daemon in DAEMONS
    }
    commands[WATCHFRR] = [str(FRR_BIN / WATCHFRR), "-d", "-N", pathspace, "--dry", *DAEMONS]
    for daemon, command in commands.items():
        (run / f"{daemon}.pid").unlink(missing_ok=True)
        # Own UTS namespace: the daemons (and so `show running-config`) carry the device's hostname.
        system.run(
            [
                "ip", "netns", "exec", netns,
                "unshare", "--uts", "/bin/sh", "-c", 'hostname "$0" && exec "$@"', spec.hostname, *command,
            ],
            timeout=30,
        )  # fmt: skip
        ref = system.read_pidfile(run / f"{daemon}.pid", f"{spec.name} {daemon}")
        if ref is None:
            raise LabError(f"lab router {spec.name}: {daemon} did not start (no pid in {run})")
        node.set_process(daemon, ref)
    # Integrated configuration: the daemons wait for vtysh to feed them frr.conf.
    system.run(["vtysh", "-N", pathspace, "-b"], timeout=60)


# --------------------------------------------------------------------------- login


def _wrapper(pathspace: str) -> str:
    vtysh = f"/usr/bin/vtysh -N {pathspace}"
    return (
        "#!/bin/sh\n"
        "# Login shell of a ksm lab router: the router CLI and nothing else.\n"
        f'if [ "$1" = "-c" ] && [ -n "$2" ]; then exec {vtysh} -c "$2"; fi\n'
        f"exec {vtysh}\n"
    )


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _ensure_user(node: ResourceLog, config: LabConfig, user: str, password: str) -> None:
    spec = node.node.spec
    shell = SHELL_DIR / user
    node.add_path(shell)
    SHELL_DIR.mkdir(parents=True, exist_ok=True)
    shell.write_text(_wrapper(config.pathspace(spec.name)))
    shell.chmod(0o755)
    for group in ("frr", "frrvty"):
        try:
            grp.getgrnam(group)
        except KeyError as exc:
            raise LabError(f"group {group} is missing", hint="install the Debian package 'frr'") from exc
    with ACCOUNTS_LOCK:
        _create_user(node, user, shell, password)


def _create_user(node: ResourceLog, user: str, shell: Path, password: str) -> None:
    spec = node.node.spec
    if not _user_exists(user):
        node.add_user(user)
        system.run(
            [
                "useradd", "--system", "--no-create-home", "--home-dir", "/",
                "--shell", str(shell), "--gid", "frrvty", "--groups", "frr",
                "--comment", f"ksm lab router {spec.name}", user,
            ]
        )  # fmt: skip
    elif user not in node.resources.users:
        raise LabError(
            f"user {user} exists but does not belong to this lab",
            hint="another lab runs with the same instance: run 'ksm lab down' there or set KSM_LAB_INSTANCE",
        )
    system.run(["chpasswd"], stdin=f"{user}:{password}\n")


def _sshd_config(node_dir: Path, address: str, port: int, user: str) -> str:
    return (
        f"ListenAddress {address}:{port}\n"
        f"HostKey {node_dir / 'ssh_host_ed25519_key'}\n"
        f"PidFile {node_dir / 'sshd.daemon.pid'}\n"
        f"AllowUsers {user}\n"
        "UsePAM no\n"
        "PasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication no\n"
        "PermitRootLogin no\n"
        "PermitEmptyPasswords no\n"
        "AuthorizedKeysFile none\n"
        "X11Forwarding no\n"
        "AllowTcpForwarding no\n"
        "PrintMotd no\n"
        "PrintLastLog no\n"
        "UseDNS no\n"
        "MaxStartups 50:30:200\n"
        "MaxSessions 20\n"
    )


def _ensure_sshd(node: ResourceLog, user: str) -> None:
    spec, node_dir = node.node.spec, node.node.node_dir
    current = node.resources.processes.get(SSHD)
    if system.is_running(current) and system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-"):
        return
    system.stop_tree(current)
    node.drop_process(SSHD)
    system.require_port_free(f"lab router {spec.name}", spec.address, spec.port)
    host_key = node_dir / "ssh_host_ed25519_key"
    if not host_key.exists():
        system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", spec.hostname, "-f", str(host_key)])
    config_file = node_dir / "sshd_config"
    config_file.write_text(_sshd_config(node_dir, spec.address, spec.port, user))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    system.run(["/usr/sbin/sshd", "-t", "-f", str(config_file)])
    argv = [
        "unshare", "--uts", "/bin/sh", "-c", 'hostname "$0" && exec "$@"', spec.hostname,
        "/usr/sbin/sshd", "-D", "-e", "-f", str(config_file),
    ]  # fmt: skip
    log = node_dir / "sshd.log"
    ref = system.spawn_detached(argv, pidfile=node_dir / "sshd.pid", log=log, command=f"{spec.name} sshd")
    node.set_process(SSHD, ref)
    system.wait_for_ssh(f"lab {spec.kind} {spec.name}", spec.address, spec.port, log=log, timeout=15)


# --------------------------------------------------------------------------- public


def ensure_router(node: ResourceLog, *, config: LabConfig, initial_config: str | None = None) -> None:
    """Build or repair one router: namespace, FRR files, daemons, login user, sshd.

    *initial_config* is the frr.conf a new router starts with (the provider core's, which ksm renders
    but does not push); by default only its hostname.
    """
    spec = node.node.spec
    node.node.node_dir.mkdir(parents=True, exist_ok=True)
    user = config.router_user(spec.name)
    secret_id = f"router:{spec.name}"
    node.set_credentials(CredentialRef(username=user, method="password", secret_id=secret_id))
    secret = credentials.device_secret(config.secrets_file, secret_id)
    netns = config.netns(spec.name)
    _ensure_netns(node, netns, spec.interfaces)
    _ensure_frr_files(node, config, initial_config)
    if not _daemons_running(node):
        _start_daemons(node, config, netns)
    _ensure_user(node, config, user, secret.password)
    _ensure_sshd(node, user)


def router_problems(node: NodeState, config: LabConfig) -> list[str]:
    """What is wrong with a router right now (empty when healthy)."""
    spec, problems = node.spec, []
    if config.netns(spec.name) not in fabric.netns_names():
        problems.append(f"network namespace {config.netns(spec.name)} is missing")
    for process in PROCESSES:
        if not system.is_running(node.resources.processes.get(process)):
            problems.append(f"{process} is not running")
    if not _user_exists(config.router_user(spec.name)):
        problems.append(f"login user {config.router_user(spec.name)} is missing")
    if not system.is_running(node.resources.processes.get(SSHD)):
        problems.append("sshd is not running")
    elif not system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-"):
        problems.append(f"sshd does not answer on {spec.address}:{spec.port}")
    return problems


def router_public_key(node: NodeState) -> str | None:
    path = node.node_dir / "ssh_host_ed25519_key.pub"
    return path.read_text().strip() if path.exists() else None
