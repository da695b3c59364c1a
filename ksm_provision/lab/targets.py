"""The lab twin as a target: each host and device is reached through its stand-in on 127.x.

One lab stand-in can represent many inventory hosts (identical clients); a run then reaches the
first host it represents, through the stand-in. A device's stand-in must belong to the device's
own authority. A router's Linux side (its gateway host, Ansible group ``gateways``) is reached
through the router's gateway node, whose logins run in the router's network namespace. Every address
passes the lab-only guard like production's.
"""

from __future__ import annotations

from collections.abc import Collection

from ksm_provision.errors import LabError
from ksm_provision.hostkeys import lab_host_key_known
from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.lab.manager import Lab
from ksm_provision.lab.state import LabState, NodeKind
from ksm_provision.render.gateway_vars import gateway_hosts
from ksm_provision.safety import check_address
from ksm_provision.targets import DEVICE_SESSION, HOST_CONNECTION, Connection, DeviceEndpoint, Target
from ksm_provision.vault import NetworkSecrets

#: Stand-ins Ansible reaches (hosts, and gateways: routers' Linux sides) and device stand-ins.
_HOST_KINDS = (NodeKind.HOST, NodeKind.GATEWAY)
_DEVICE_KINDS = (NodeKind.ROUTER, NodeKind.SWITCH)


class LabTargets:
    """The stand-ins of a running lab twin (by default the one ``KSM_LAB_DIR`` points at)."""

    def __init__(self, lab: Lab | None = None) -> None:
        self.lab = lab or Lab()

    @property
    def target(self) -> Target:
        return Target.LAB

    def _state(self) -> LabState:
        state = self.lab.state()
        if state is None:
            raise LabError(f"no lab twin is running in {self.lab.config.lab_dir}", "run `ksm lab up` first")
        return state

    def hosts(self, inventory: Inventory, only: Collection[str] | None = None) -> dict[str, Connection]:
        """Representative inventory host -> its stand-in, for the authorities of *inventory*."""
        known_hosts = self.lab.config.known_hosts_file  # written by `ksm lab up`: checked when it has the key
        connections: dict[str, Connection] = {}
        gateways = {h.hostname for h in gateway_hosts(inventory)}
        for node in self._state().nodes.values():
            if node.spec.kind not in _HOST_KINDS or node.spec.authority not in inventory.authorities:
                continue
            representative = node.spec.represents[0] if node.spec.represents else node.spec.hostname
            known = gateways if node.spec.kind is NodeKind.GATEWAY else inventory.hosts_by_name
            if representative not in known:
                continue
            if only is not None and not any(n in only for n in node.spec.represents or (representative,)):
                continue
            login = self.lab.login(node.spec.name)
            check_address(login.address, HOST_CONNECTION)
            connections[representative] = Connection(
                address=login.address,
                port=login.port,
                user=login.username,
                key_file=str(login.key_file) if login.key_file else None,
                become=False,
                known_hosts=str(known_hosts),
                check_host_key=lab_host_key_known(known_hosts, login.address, login.port),
            )
        return connections

    # The interface's arguments: the lab needs neither the inventory nor the vault's credentials.
    def device(
        self,
        inventory: Inventory,  # noqa: ARG002
        device: Device,
        secrets: NetworkSecrets,  # noqa: ARG002
    ) -> DeviceEndpoint:
        return self.stand_in(device)

    def stand_in(self, device: Device) -> DeviceEndpoint:
        """The stand-in for *device*, with the lab's own credentials (no vault is needed)."""
        node = next(
            (
                n
                for n in self._state().nodes.values()
                if n.spec.kind in _DEVICE_KINDS
                and (device.hostname in n.spec.represents or n.spec.hostname == device.hostname)
            ),
            None,
        )
        if node is None:
            raise LabError(
                f"the lab twin has no stand-in for device {device.hostname}",
                f"run `ksm lab up --authority {device.authority}`",
            )
        if node.spec.authority != device.authority:
            raise LabError(
                f"lab node {node.spec.name} stands in for {device.hostname} but belongs to authority "
                f"'{node.spec.authority}', not '{device.authority}'",
                "rebuild the lab twin with `ksm lab up`",
            )
        login = self.lab.login(node.spec.name)
        check_address(login.address, DEVICE_SESSION)
        return DeviceEndpoint(
            address=login.address,
            port=login.port,
            username=login.username,
            password=login.password or "",
            enable_secret=login.enable_secret or "",
            check_host_key=False,
        )
