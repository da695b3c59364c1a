"""The lab twin as one object: ``up`` (build or repair), ``status``, ``down``, and logins.

``up(specs)`` converges the lab to exactly *specs*: missing nodes are built, broken ones repaired
(a dead sshd restarted, a missing mount remounted), nodes whose spec changed are rebuilt, nodes no
longer wanted are removed. Nodes are built in parallel. ``down()`` removes everything the state
records: processes, mounts, network namespaces, users, files. Gateways (a router's Linux side) are
built after every other node, since each enters its router's network namespace.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ksm_provision.errors import LabError
from ksm_provision.lab import cleanup, credentials, fabric, hosts, probes, rootfs, routers, switches, system
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.leases import Lease
from ksm_provision.lab.state import (
    LabModel,
    LabNodeSpec,
    LabState,
    NodeKind,
    NodeState,
    ResourceLog,
    StateStore,
    load_state,
)
from ksm_provision.lab.topology import Topology
from ksm_provision.prove.probe import ProbeSource

DEFAULT_WORKERS = 8
#: Nodes that are an overlay of the cached root filesystem (hosts, and gateways: a router's Linux side).
_ROOTFS_KINDS = (NodeKind.HOST, NodeKind.GATEWAY)
T = TypeVar("T")
R = TypeVar("R")


class NodeStatus(LabModel):
    name: str
    kind: NodeKind
    authority: str
    hostname: str
    address: str
    port: int
    represents: tuple[str, ...]
    username: str | None
    healthy: bool
    problems: tuple[str, ...] = ()


class LabStatus(LabModel):
    lab_dir: Path
    instance: int
    exists: bool
    nodes: tuple[NodeStatus, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.exists and all(n.healthy for n in self.nodes)


@dataclass(frozen=True)
class NodeLogin:
    """Everything needed to open a session on a lab node. Holds secrets: its repr hides them."""

    name: str
    address: str
    port: int
    username: str
    key_file: Path | None = None
    password: str | None = field(default=None, repr=False)
    enable_secret: str | None = field(default=None, repr=False)


class Lab:
    """One lab twin, living in ``config.lab_dir``. Everything but ``login`` needs root."""

    def __init__(self, config: LabConfig | None = None, *, cache: Path | None = None) -> None:
        self.config = config or LabConfig.from_env()
        self._cache = cache
        #: the stand-in clients' DHCP leases of the last :meth:`probe_sources` (or why none came)
        self.leases: dict[str, Lease | str] = {}
        #: the data-plane addresses of the last :meth:`probe_sources`
        self.present: tuple[str, ...] = ()

    # ------------------------------------------------------------------ reading

    def state(self) -> LabState | None:
        return load_state(self.config.state_file)

    def login(self, name: str) -> NodeLogin:
        """Connection data for node *name*, or for the node that represents inventory host *name*."""
        node = self._find(name)
        cred = node.credentials
        if cred is None:
            raise LabError(f"lab node {node.spec.name} has not been built yet", hint="run 'ksm lab up'")
        base = NodeLogin(
            name=node.spec.name, address=node.spec.address, port=node.spec.port, username=cred.username
        )
        if cred.method == "key":
            return NodeLogin(**{**base.__dict__, "key_file": cred.key_file})
        secret = credentials.lookup(self.config.secrets_file, cred.secret_id or node.spec.name)
        return NodeLogin(
            **{**base.__dict__, "password": secret.password, "enable_secret": secret.enable_secret}
        )

    def endpoints(self) -> dict[str, NodeLogin]:
        """Inventory host name -> login of the lab node standing in for it (for ``--target lab``)."""
        state = self.state()
        if state is None:
            return {}
        logins = {name: self.login(name) for name, node in state.nodes.items() if node.credentials}
        return {
            represented: logins[name]
            for name, node in state.nodes.items()
            if name in logins
            for represented in (node.spec.represents or (node.spec.hostname,))
        }

    def _find(self, name: str) -> NodeState:
        state = self.state()
        if state is None:
            raise LabError(f"no lab in {self.config.lab_dir}", hint="run 'ksm lab up' first")
        if name in state.nodes:
            return state.nodes[name]
        # a router's name finds the router (its CLI) before its gateway (its Linux side)
        for node in sorted(state.nodes.values(), key=lambda n: n.spec.kind is NodeKind.GATEWAY):
            if name in node.spec.represents or name == node.spec.hostname:
                return node
        raise LabError(
            f"the lab has no node for {name!r}", hint=f"lab nodes: {', '.join(sorted(state.nodes))}"
        )

    def probe_sources(self) -> dict[str, ProbeSource]:
        """One source per network for ``ksm prove`` (stand-in clients lease their address by DHCP);
        the leases (or why none came) are kept in :attr:`leases`, the twin's addresses in :attr:`present`."""
        found = probes.probe_sources(self.config)
        self.leases = found.leases
        self.present = found.present
        return found.sources

    def status(self) -> LabStatus:
        """Health of every node, checked now (processes, mounts, namespaces, SSH banners)."""
        state = self.state()
        if state is None:
            return LabStatus(lab_dir=self.config.lab_dir, instance=self.config.instance, exists=False)
        nodes = self._parallel(list(state.nodes.values()), self._node_status)
        return LabStatus(
            lab_dir=self.config.lab_dir,
            instance=state.instance,
            exists=True,
            nodes=tuple(sorted(nodes, key=lambda n: (n.authority, n.kind, n.name))),
        )

    def _node_status(self, node: NodeState) -> NodeStatus:
        problems: list[str]
        if node.spec.kind in _ROOTFS_KINDS:
            problems = hosts.host_problems(node, self._netns_file(node.spec))
        elif node.spec.kind is NodeKind.ROUTER:
            problems = routers.router_problems(node, self.config)
        else:
            problems = switches.switch_problems(node)
        spec = node.spec
        return NodeStatus(
            name=spec.name,
            kind=spec.kind,
            authority=spec.authority,
            hostname=spec.hostname,
            address=spec.address,
            port=spec.port,
            represents=spec.represents,
            username=node.credentials.username if node.credentials else None,
            healthy=not problems,
            problems=tuple(problems),
        )

    # ------------------------------------------------------------------ changing

    def up(
        self,
        specs: Sequence[LabNodeSpec],
        *,
        topology: Topology | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> LabStatus:
        """Build, repair or reshape the lab so that it runs exactly *specs*. Idempotent.

        With *topology* (:func:`ksm_provision.lab.topology.derive`) the nodes are also cabled into
        the inventory's data plane: hosts with their inventory addresses behind switches and routers.
        """
        _require_root()
        _check_specs(specs)
        with self._locked():
            state = self.state() or LabState(lab_dir=self.config.lab_dir, instance=self.config.instance)
            if state.instance != self.config.instance:
                raise LabError(
                    f"the lab in {self.config.lab_dir} was built as instance {state.instance}, "
                    f"not {self.config.instance}",
                    hint="run 'ksm lab down' first, or use the instance it was built with",
                )
            store = StateStore(self.config.state_file, state)
            wanted = {s.name: s for s in specs}
            stale = [n for n in state.nodes.values() if wanted.get(n.spec.name) != n.spec]
            self._parallel(stale, lambda n: self._remove_node(store, n), workers=workers)

            key_file = credentials.ensure_key(self.config.key_file)
            system.ensure_inotify_instances(sum(s.kind in _ROOTFS_KINDS for s in specs))
            base = (
                rootfs.ensure_rootfs(cache=self._cache)
                if any(s.kind in _ROOTFS_KINDS for s in specs)
                else None
            )

            def log_for(spec: LabNodeSpec) -> ResourceLog:
                node = store.state.nodes.get(spec.name) or NodeState(
                    spec=spec, node_dir=self.config.node_dir(spec.name)
                )
                store.put(node)
                return ResourceLog(node, store.put)

            # the data plane first: every namespace and cable exists before daemons start in them
            self._cable(specs, topology, log_for)

            def build(spec: LabNodeSpec) -> str | None:
                log = log_for(spec)
                try:
                    if spec.kind in _ROOTFS_KINDS:
                        assert base is not None
                        hosts.ensure_host(
                            log,
                            rootfs=base,
                            key_file=key_file,
                            netns_file=self._netns_file(spec),
                            standins=topology.standins.get(spec.name, []) if topology else [],
                        )
                    elif spec.kind is NodeKind.ROUTER:
                        initial = topology.core_configs.get(spec.name) if topology else None
                        routers.ensure_router(log, config=self.config, initial_config=initial)
                    else:
                        port_map = (
                            fabric.switch_port_map(topology, spec.name, self.config.netns(spec.name))
                            if topology is not None
                            else None
                        )
                        switches.ensure_switch(log, config=self.config, port_map=port_map)
                except LabError as exc:
                    return f"{spec.name}: {exc}"
                return None

            # gateways boot in their routers' network namespaces: routers first
            first = [s for s in specs if s.kind is not NodeKind.GATEWAY]
            then = [s for s in specs if s.kind is NodeKind.GATEWAY]
            failures = [
                f for batch in (first, then) for f in self._parallel(batch, build, workers=workers) if f
            ]
            self._write_known_hosts(store.state)
        if failures:
            raise LabError(
                "the lab is only partly up:\n" + "\n".join(failures),
                hint="fix the cause and run 'ksm lab up' again (it repairs), or 'ksm lab down'",
            )
        return self.status()

    def down(self, *, workers: int = DEFAULT_WORKERS) -> tuple[str, ...]:
        """Remove every node and every file of the lab; return the names of the removed nodes."""
        _require_root()
        if not self.config.lab_dir.exists():
            return ()
        with self._locked():
            state = self.state()
            removed: tuple[str, ...] = ()
            if state is not None:
                store = StateStore(self.config.state_file, state)
                nodes = list(state.nodes.values())
                self._parallel(nodes, lambda n: self._remove_node(store, n), workers=workers)
                removed = tuple(sorted(n.spec.name for n in nodes))
            for path in (self.config.state_file, self.config.secrets_file, probes.record_file(self.config)):
                path.unlink(missing_ok=True)
            shutil.rmtree(self.config.lab_dir / "clients", ignore_errors=True)
            shutil.rmtree(self.config.key_file.parent, ignore_errors=True)
            with contextlib.suppress(OSError):
                (self.config.lab_dir / "nodes").rmdir()
        self.config.lock_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.config.lab_dir.rmdir()
        return removed

    def _remove_node(self, store: StateStore, node: NodeState) -> None:
        cleanup.teardown_node(node)
        here = self.config.node_dir(node.spec.name)
        if here != node.node_dir and here.exists():  # the lab dir was moved since the node was built
            cleanup.remove_path(here)
        if node.credentials and node.credentials.secret_id:
            credentials.forget(self.config.secrets_file, node.credentials.secret_id)
        store.remove(node.spec.name)

    # ------------------------------------------------------------------ helpers

    def _cable(
        self,
        specs: Sequence[LabNodeSpec],
        topology: Topology | None,
        log_for: Callable[[LabNodeSpec], ResourceLog],
    ) -> None:
        """Namespaces of every node (gateways use their router's), then the topology's cables."""
        with_netns = [s for s in specs if s.kind is not NodeKind.GATEWAY]
        for spec in with_netns:
            fabric.ensure_namespace(log_for(spec), self.config.netns(spec.name))
        if topology is None:
            return
        wanted = {s.name: s for s in specs}
        namespace_of = {s.name: self.config.netns(s.name) for s in with_netns}
        for client in topology.clients:
            namespace_of[client.node] = self.config.netns(client.node)
            owner = wanted.get(client.owner)
            if owner is not None:
                fabric.ensure_namespace(log_for(owner), namespace_of[client.node], own=False)
        fabric.Fabric(topology, namespace_of).build()
        probes.save(self.config, topology, specs)

    def _netns_file(self, spec: LabNodeSpec) -> Path:
        """The network namespace a node lives in: its own, or for a gateway its router's."""
        if spec.kind is not NodeKind.GATEWAY:
            return fabric.netns_file(self.config.netns(spec.name))
        if spec.router is None:
            raise LabError(f"lab gateway {spec.name} names no router", hint="plan the lab again")
        return fabric.netns_file(self.config.netns(spec.router))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One ``up``/``down`` at a time per lab directory."""
        self.config.lab_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        with self.config.lock_file.open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise LabError(
                    f"another 'ksm lab' command is working on {self.config.lab_dir}",
                    hint="wait for it to finish",
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @staticmethod
    def _parallel(items: list[T], fn: Callable[[T], R], *, workers: int = DEFAULT_WORKERS) -> list[R]:
        if len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
            return list(pool.map(fn, items))

    def _write_known_hosts(self, state: LabState) -> None:
        """``<lab dir>/ssh/known_hosts``: host keys of hosts and routers, for strict host key checking."""
        lines = []
        for node in sorted(state.nodes.values(), key=lambda n: n.spec.name):
            spec = node.spec
            key = (
                hosts.host_public_key(node) if spec.kind in _ROOTFS_KINDS else routers.router_public_key(node)
            )
            if key:
                where = spec.address if spec.port == 22 else f"[{spec.address}]:{spec.port}"
                lines.append(f"{where} {' '.join(key.split()[:2])}\n")
        path = self.config.known_hosts_file
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text("".join(lines))


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab twin needs root (mounts, namespaces, users)", hint="run it with sudo")


def _check_specs(specs: Sequence[LabNodeSpec]) -> None:
    problems = []
    for label, values in (
        ("node name", [s.name for s in specs]),
        ("address", [f"{s.address}:{s.port}" for s in specs]),
    ):
        problems += [f"{label} {v} is used by {n} nodes" for v, n in Counter(values).items() if n > 1]
    routers = {s.name for s in specs if s.kind is NodeKind.ROUTER}
    problems += [
        f"gateway {s.name} names router {s.router!r}, which is not a router of the list"
        for s in specs
        if s.kind is NodeKind.GATEWAY and s.router not in routers
    ]
    if problems:
        raise LabError(
            "invalid lab node list: " + "; ".join(problems),
            hint="every node needs its own name and address, every gateway its router",
        )
