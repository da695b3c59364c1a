"""Which :class:`~ksm_provision.targets.TargetResolver` a run uses: production here, the lab lazily.

This is the one place that maps ``--target`` to an implementation. The lab's resolver lives with
the lab (:mod:`ksm_provision.lab.targets`) and is imported only when a run asks for it, so
production code never loads the lab.
"""

from __future__ import annotations

from collections.abc import Collection

from ksm_provision.errors import ConnectionFailedError
from ksm_provision.hostkeys import known_hosts_file
from ksm_provision.inventory.hosts import Device, Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import ClientRange
from ksm_provision.render.gateway_vars import gateway_hosts
from ksm_provision.safety import check_address
from ksm_provision.targets import (
    DEVICE_SESSION,
    HOST_CONNECTION,
    Connection,
    DeviceEndpoint,
    JumpEndpoint,
    SessionTimeouts,
    Target,
    TargetResolver,
)
from ksm_provision.vault import NetworkSecrets


def host_address(inventory: Inventory, host: Host) -> str:
    """Where a host is reached: its address, or for a client-range member its DNS name.

    Range members lease from their network's dynamic pool, so which PC holds which pool address is
    not known in advance; the authority's DNS must resolve ``<hostname>.<authority domain>``.
    """
    if isinstance(host.entry, ClientRange):
        return f"{host.hostname}.{inventory.authorities[host.authority].authority.domain}"
    return str(host.address)


class ProductionTargets:
    """Every node at its inventory address, host keys checked against its authority's file.

    Hosts log in as the automation account on port 22; devices as the authority's
    ``network_settings.username`` with the password and enable secret from its own vault, at the
    address, port and jump host of their ``connection:`` block (default: management address, 22).
    """

    @property
    def target(self) -> Target:
        return Target.PRODUCTION

    def hosts(self, inventory: Inventory, only: Collection[str] | None = None) -> dict[str, Connection]:
        connections = {
            h.hostname: Connection(
                address=host_address(inventory, h),
                known_hosts=str(known_hosts_file(inventory.root, h.authority)),
            )
            for h in [*inventory.hosts, *gateway_hosts(inventory)]  # routers' Linux sides: management address
            if only is None or h.hostname in only
        }
        for connection in connections.values():
            check_address(connection.address, HOST_CONNECTION)
        return connections

    def device(self, inventory: Inventory, device: Device, secrets: NetworkSecrets) -> DeviceEndpoint:
        if secrets.authority != device.authority:
            raise ConnectionFailedError(
                f"refusing to log in to {device.hostname} (authority '{device.authority}') with the "
                f"credentials of '{secrets.authority}'",
                "each device is reached with its own authority's vault only",
            )
        connection = device.model.connection
        # the authority's managed known_hosts (`ksm hostkeys scan`), checked strictly, jump host too
        known_hosts = known_hosts_file(inventory.root, device.authority)
        jump = connection.jump_host
        endpoint = DeviceEndpoint(
            address=str(connection.host or device.model.management.address),
            port=connection.port,
            username=inventory.authorities[device.authority].network_settings.username,
            password=secrets.password,
            enable_secret=secrets.enable_secret,
            known_hosts=known_hosts,
            jump=None
            if jump is None
            else JumpEndpoint(str(jump.host), jump.port, jump.user, known_hosts=known_hosts),
            timeouts=SessionTimeouts(
                connect=connection.timeouts.connect,
                command=connection.timeouts.command,
                keepalive=connection.timeouts.keepalive,
            ),
            rollback=connection.rollback.value,
        )
        for address in endpoint.addresses():
            check_address(address, DEVICE_SESSION)
        return endpoint


def resolver_for(target: Target) -> TargetResolver:
    """The resolver of *target*: :class:`ProductionTargets`, or the running lab twin's stand-ins."""
    if target is Target.LAB:
        from ksm_provision.lab.targets import LabTargets

        return LabTargets()
    return ProductionTargets()
