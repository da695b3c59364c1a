"""Pull mode in the lab twin: the pull server on a 127.x address and a way to it from each client.

The server (``python -m ksm_provision.pull.server``) runs in this machine's namespace on
:func:`server_address`. A lab client lives in its own network namespace and cannot reach this
machine's loopback, so per client a reverse forwarder (:mod:`.revforward`) listens on the same
address:port inside the client's namespace and connects out to the server: the client's URL is the
server's own. Processes are recorded under ``<lab dir>/pull/`` and stopped by :func:`stop`.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.fabric import netns_file
from ksm_provision.lab.manager import Lab
from ksm_provision.lab.state import NodeKind
from ksm_provision.lab.system import ProcessRef

PORT = 8631
_SERVER = "server"


def server_address(config: LabConfig) -> str:
    """``127.77.<instance>.1``: outside every address the lab plans for nodes (127.100 and up)."""
    return f"127.77.{config.instance}.1"


def server_url(config: LabConfig) -> str:
    return f"http://{server_address(config)}:{PORT}"


def _dir(config: LabConfig) -> Path:
    path = config.lab_dir / "pull"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _ref_file(config: LabConfig, name: str) -> Path:
    return _dir(config) / f"{name}.process.json"


def _running(config: LabConfig, name: str) -> ProcessRef | None:
    try:
        ref = ProcessRef.model_validate_json(_ref_file(config, name).read_text())
    except (OSError, ValueError):
        return None
    return ref if system.is_running(ref) else None


def _start(config: LabConfig, name: str, argv: list[str], ready: tuple[str, int] | None) -> ProcessRef:
    current = _running(config, name)
    if current is not None:
        return current
    log = _dir(config) / f"{name}.log"
    ref = system.spawn_detached(
        argv, pidfile=_dir(config) / f"{name}.pid", log=log, command=f"ksm pull {name}"
    )
    _ref_file(config, name).write_text(ref.model_dump_json())
    if ready is not None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and system.is_running(ref):
            if system.tcp_ready(*ready, timeout=0.3):
                return ref
        tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
        system.stop(ref)
        raise LabError(f"ksm pull {name} did not come up\n{tail}", hint=f"see {log}")
    time.sleep(0.3)
    if not system.is_running(ref):
        raise LabError(f"ksm pull {name} exited at once", hint=f"see {log}")
    return ref


def ensure(lab: Lab, clients: list[str], state_dir: Path) -> str:
    """Server up, a reverse forwarder into each client's node; the URL the clients use."""
    config = lab.config
    address = server_address(config)
    _start(
        config,
        _SERVER,
        [
            sys.executable,
            "-m",
            "ksm_provision.pull.server",
            f"--listen={address}:{PORT}",
            f"--state-dir={state_dir.resolve()}",
        ],
        (address, PORT),
    )
    state = lab.state()
    if state is None:
        raise LabError(f"no lab twin is running in {config.lab_dir}", hint="run `ksm lab up` first")
    for host in clients:
        node = lab.login(host).name
        spec = state.nodes[node].spec
        if spec.kind is not NodeKind.HOST:
            raise LabError(f"lab node {node} is no host")
        _start(
            config,
            f"revforward-{node}",
            [
                sys.executable,
                "-m",
                "ksm_provision.pull.revforward",
                f"--netns={netns_file(config.netns(node))}",
                f"--listen={address}:{PORT}",
            ],
            None,
        )
    return server_url(config)


def processes(config: LabConfig) -> dict[str, ProcessRef]:
    """The lab's running pull processes by name (``server``, ``revforward-<node>``)."""
    directory = config.lab_dir / "pull"
    found = {}
    for ref_file in sorted(directory.glob("*.process.json")) if directory.is_dir() else []:
        name = ref_file.name.removesuffix(".process.json")
        ref = _running(config, name)
        if ref is not None:
            found[name] = ref
    return found


def stop(config: LabConfig) -> list[str]:
    """Stop the lab's pull server and forwarders; the names of what was stopped."""
    stopped = []
    directory = config.lab_dir / "pull"
    for ref_file in sorted(directory.glob("*.process.json")) if directory.is_dir() else []:
        name = ref_file.name.removesuffix(".process.json")
        ref = _running(config, name)
        if ref is not None:
            system.stop(ref)
            stopped.append(name)
        ref_file.unlink(missing_ok=True)
    if directory.is_dir():  # pid files and logs: the lab's directory must be removable by `lab down`
        shutil.rmtree(directory, ignore_errors=True)
    return stopped
