"""Lab switches: one IOS-style SSH simulator process per switch.

The simulator is test infrastructure with its own package (``tools/switchsim``, ``ksm-switchsim``,
installed by ``make install``); the lab starts its command ``ksm-switchsim --listen ADDR --port PORT
--hostname H --username U --state-dir DIR`` like any other program. The password and enable secret
reach it through the environment (``KSM_SIM_PASSWORD``, ``KSM_SIM_ENABLE_SECRET``), never on the
command line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import credentials, system
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.state import CredentialRef, NodeState, ResourceLog

PROCESS = "switchsim"
USERNAME = "ksmadmin"
SIM_COMMAND = "ksm-switchsim"


def state_dir(node: NodeState) -> str:
    return str(node.node_dir / "device")


def simulator_command() -> str:
    """The ``ksm-switchsim`` program: next to this Python (its venv) first, then on PATH."""
    beside = Path(sys.executable).parent / SIM_COMMAND
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(SIM_COMMAND)
    if found is None:
        raise LabError(
            f"the lab's switch simulator '{SIM_COMMAND}' is not installed (looked in "
            f"{beside.parent} and on PATH)",
            hint="install the lab extra: pip install ksm-switchsim (tools/switchsim of the ksm-provision "
            "repository) / make install",
        )
    return found


def ensure_switch(node: ResourceLog, *, config: LabConfig, port_map: dict[str, object] | None = None) -> None:
    """Start (or restart) the switch's simulator unless it is already answering.

    With *port_map* (see :func:`ksm_provision.lab.fabric.switch_port_map`) the simulator also
    forwards between its cabled ports as its running-config says; a changed map restarts it.
    """
    spec, node_dir = node.node.spec, node.node.node_dir
    secret_id = f"switch:{spec.name}"
    node.set_credentials(CredentialRef(username=USERNAME, method="password", secret_id=secret_id))
    secret = credentials.device_secret(config.secrets_file, secret_id)
    current = node.resources.processes.get(PROCESS)
    node_dir.mkdir(parents=True, exist_ok=True)
    map_file = node_dir / "dataplane.json"
    map_text = json.dumps(port_map, indent=2, sort_keys=True) + "\n" if port_map is not None else ""
    map_same = (map_file.read_text() if map_file.exists() else "") == map_text
    if (
        map_same
        and system.is_running(current)
        and system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-")
    ):
        return
    if port_map is None:
        map_file.unlink(missing_ok=True)
    else:
        map_file.write_text(map_text)
    command = simulator_command()
    system.stop_tree(current)
    node.drop_process(PROCESS)
    system.require_port_free(f"lab switch {spec.name}", spec.address, spec.port)
    (node_dir / "device").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "KSM_SIM_PASSWORD": secret.password,
            "KSM_SIM_ENABLE_SECRET": secret.enable_secret,
        }
    )
    argv = [
        command,
        "--listen", spec.address, "--port", str(spec.port),
        "--hostname", spec.hostname, "--username", USERNAME,
        "--state-dir", state_dir(node.node),
        *(["--model", spec.model] if spec.model else []),
        *(["--dataplane", str(map_file)] if port_map is not None else []),
    ]  # fmt: skip
    log = node_dir / "switchsim.log"
    ref = system.spawn_detached(
        argv, pidfile=node_dir / "switchsim.pid", log=log, command=f"{spec.name} switchsim", env=env
    )
    node.set_process(PROCESS, ref)
    system.wait_for_ssh(f"lab {spec.kind} {spec.name}", spec.address, spec.port, log=log, timeout=20)


def switch_problems(node: NodeState) -> list[str]:
    spec = node.spec
    if not system.is_running(node.resources.processes.get(PROCESS)):
        return ["simulator is not running"]
    if not system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-"):
        return [f"simulator does not answer on {spec.address}:{spec.port}"]
    return []
