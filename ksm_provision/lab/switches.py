"""Lab switches: one IOS-style SSH simulator process per switch (``ksm_provision.lab.switchsim``).

The simulator is started as ``python -m ksm_provision.lab.switchsim --listen ADDR --port PORT
--hostname H --username U --state-dir DIR``; the password and enable secret reach it through the
environment (``KSM_SIM_PASSWORD``, ``KSM_SIM_ENABLE_SECRET``), never on the command line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ksm_provision.lab import credentials, system
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.state import CredentialRef, NodeState, ResourceLog

PROCESS = "switchsim"
USERNAME = "ksmadmin"
SIM_MODULE = "ksm_provision.lab.switchsim"


def state_dir(node: NodeState) -> str:
    return str(node.node_dir / "device")


def ensure_switch(node: ResourceLog, *, config: LabConfig) -> None:
    """Start (or restart) the switch's simulator unless it is already answering."""
    spec, node_dir = node.node.spec, node.node.node_dir
    secret_id = f"switch:{spec.name}"
    node.set_credentials(CredentialRef(username=USERNAME, method="password", secret_id=secret_id))
    secret = credentials.device_secret(config.secrets_file, secret_id)
    current = node.resources.processes.get(PROCESS)
    if system.is_running(current) and system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-"):
        return
    system.stop_tree(current)
    node.drop_process(PROCESS)
    system.require_port_free(f"lab switch {spec.name}", spec.address, spec.port)
    (node_dir / "device").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "KSM_SIM_PASSWORD": secret.password,
            "KSM_SIM_ENABLE_SECRET": secret.enable_secret,
            "PYTHONPATH": os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH", "")) if p),
        }
    )
    argv = [
        sys.executable, "-m", SIM_MODULE,
        "--listen", spec.address, "--port", str(spec.port),
        "--hostname", spec.hostname, "--username", USERNAME,
        "--state-dir", state_dir(node.node),
    ]  # fmt: skip
    log = node_dir / "switchsim.log"
    ref = system.spawn_detached(
        argv, pidfile=node_dir / "switchsim.pid", log=log, command=f"{spec.name} switchsim", env=env
    )
    node.set_process(PROCESS, ref)
    system.wait_for_ssh(f"lab {spec.kind} {spec.name}", spec.address, spec.port, log=log, timeout=20)


def _package_root() -> str:
    """Directory that holds the ``ksm_provision`` package (so the simulator imports this same tree)."""
    import ksm_provision

    return str(Path(ksm_provision.__file__).resolve().parent.parent)


def switch_problems(node: NodeState) -> list[str]:
    spec = node.spec
    if not system.is_running(node.resources.processes.get(PROCESS)):
        return ["simulator is not running"]
    if not system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-"):
        return [f"simulator does not answer on {spec.address}:{spec.port}"]
    return []
