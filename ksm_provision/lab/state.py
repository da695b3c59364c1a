"""The lab's typed state, kept in ``<lab dir>/state.json``.

Every machine-wide resource is recorded *before* it is created (an intent log), so ``lab down``
can remove what a crashed ``lab up`` left half-built. Secrets are not in here: a node's
credentials are a reference into ``secrets.json`` (mode 0600) or to the lab's key file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ksm_provision.errors import LabError
from ksm_provision.fileio import write_atomic
from ksm_provision.lab.addresses import assert_loopback
from ksm_provision.lab.system import ProcessRef

STATE_VERSION = 1

NodeName = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,40}[a-z0-9])?$")]
HostName = Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$")]
#: Interface names as Linux accepts them (a router's interfaces become links in its netns).
LinkName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,15}$")]


class LabModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NodeKind(StrEnum):
    HOST = "host"
    ROUTER = "router"
    SWITCH = "switch"
    #: The Linux side of a router: a lab host whose commands run in the router's network namespace.
    GATEWAY = "gateway"


class LabNodeSpec(LabModel):
    """One stand-in the lab should run.

    ``represents`` lists the inventory hostnames this node stands in for (one lab host can stand in
    for hundreds of identical clients). A gateway names its ``router``: the router node whose
    network namespace every command on the gateway runs in.
    """

    name: NodeName
    kind: NodeKind
    authority: str
    address: str
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    represents: tuple[str, ...] = ()
    platform: str = ""
    #: A switch's hardware model (the simulator presents that model's ports); "" when not given.
    model: str = ""
    hostname: HostName
    interfaces: tuple[LinkName, ...] = ()
    router: NodeName | None = None

    @field_validator("address")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        assert_loopback(value)
        return value


class CredentialRef(LabModel):
    """How to log in to a node. Never the secret itself.

    ``method="key"``: ``key_file`` is the lab's private key. ``method="password"``: the password
    (and enable secret) are ``secrets.json[secret_id]``.
    """

    username: str
    method: Literal["key", "password"]
    key_file: Path | None = None
    secret_id: str | None = None


class NodeResources(LabModel):
    """What the lab created for one node outside plain files of its node directory."""

    processes: dict[str, ProcessRef] = Field(default_factory=dict)
    mounts: tuple[Path, ...] = ()
    netns: str | None = None
    #: further namespaces the node owns (its stand-in clients)
    namespaces: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    #: Files and directories created outside the node directory (removed by ``down``).
    paths: tuple[Path, ...] = ()


class NodeState(LabModel):
    spec: LabNodeSpec
    node_dir: Path
    credentials: CredentialRef | None = None
    resources: NodeResources = NodeResources()


class LabState(LabModel):
    version: int = STATE_VERSION
    lab_dir: Path
    instance: int
    nodes: dict[str, NodeState] = Field(default_factory=dict)


def load_state(path: Path) -> LabState | None:
    """The saved state, or None when no lab has been built in this directory."""
    if not path.exists():
        return None
    try:
        state = LabState.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise LabError(
            f"cannot read the lab state {path}: {exc}",
            hint="if the lab is gone, remove the file; otherwise repair or restore it",
        ) from exc
    if state.version != STATE_VERSION:
        raise LabError(f"{path} has state version {state.version}, expected {STATE_VERSION}")
    return state


def save_state(path: Path, state: LabState) -> None:
    """Write atomically; the lab can be rebuilt, so no fsync on every node's change."""
    write_atomic(path, state.model_dump_json(indent=2) + "\n", durable=False)


class StateStore:
    """The lab state shared by worker threads; every change is saved immediately."""

    def __init__(self, path: Path, state: LabState) -> None:
        self._path = path
        self._state = state
        self._lock = threading.Lock()

    @property
    def state(self) -> LabState:
        with self._lock:
            return self._state

    def put(self, node: NodeState) -> None:
        with self._lock:
            self._state = self._state.model_copy(
                update={"nodes": {**self._state.nodes, node.spec.name: node}}
            )
            save_state(self._path, self._state)

    def remove(self, name: str) -> None:
        with self._lock:
            nodes = {k: v for k, v in self._state.nodes.items() if k != name}
            self._state = self._state.model_copy(update={"nodes": nodes})
            save_state(self._path, self._state)


class ResourceLog:
    """Per-node recorder: each ``add_*`` is persisted before the caller creates the resource."""

    def __init__(self, node: NodeState, persist: Callable[[NodeState], None]) -> None:
        self._node = node
        self._persist = persist

    @property
    def node(self) -> NodeState:
        return self._node

    @property
    def resources(self) -> NodeResources:
        return self._node.resources

    def _update(self, **changes: object) -> None:
        resources = self._node.resources.model_copy(update=changes)
        self._node = self._node.model_copy(update={"resources": resources})
        self._persist(self._node)

    def set_credentials(self, credentials: CredentialRef) -> None:
        self._node = self._node.model_copy(update={"credentials": credentials})
        self._persist(self._node)

    def add_mount(self, path: Path) -> None:
        if path not in self.resources.mounts:
            self._update(mounts=(*self.resources.mounts, path))

    def set_netns(self, name: str) -> None:
        if self.resources.netns != name:
            self._update(netns=name)

    def add_namespace(self, name: str) -> None:
        if name not in self.resources.namespaces:
            self._update(namespaces=(*self.resources.namespaces, name))

    def add_user(self, user: str) -> None:
        if user not in self.resources.users:
            self._update(users=(*self.resources.users, user))

    def add_path(self, path: Path) -> None:
        if path not in self.resources.paths:
            self._update(paths=(*self.resources.paths, path))

    def set_process(self, key: str, ref: ProcessRef) -> None:
        self._update(processes={**self.resources.processes, key: ref})

    def drop_process(self, key: str) -> None:
        if key in self.resources.processes:
            self._update(processes={k: v for k, v in self.resources.processes.items() if k != key})
