"""The inventory format as typed models.

Two kinds of file: ``inventories/ksm.yml`` (:class:`ProviderFile`, provider-wide facts) and one
``inventories/<authority>.yml`` per authority (:class:`AuthorityFile`). All models are frozen and
forbid unknown keys, so a typo in YAML is an error rather than a silently ignored setting.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ksm_provision.inventory.types import (
    SHARES_ROOT,
    Asn,
    BannerText,
    Hostname,
    Identifier,
    InterfaceDescription,
    InterfaceName,
    IPv4,
    IPv4If,
    IPv4Net,
    Locale,
    MacAddress,
    OspfArea,
    PolicyKey,
    PolicyText,
    PolicyValue,
    Port,
    RouteDescription,
    SafeText,
    SafeTree,
    SecretRef,
    SharePath,
    SshKey,
    TimeZone,
    VaultFile,
    VlanId,
)


class KsmModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- shared pieces


class AdminAccount(KsmModel):
    """An administrator who may log in to the authority's hosts."""

    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]
    comment: SafeText = ""
    ssh_keys: list[SshKey] = Field(default_factory=list)
    sudo: bool = True


class Settings(KsmModel):
    """Host settings that can be set at every level.

    Precedence (later wins): provider defaults < authority < site < client profile < host.
    ``None`` means "not set at this level".
    """

    timezone: TimeZone | None = Field(
        default=None, description="a zone of the tz database, e.g. Europe/Berlin"
    )
    locale: Locale | None = Field(default=None, description="e.g. de_DE.UTF-8")
    ntp_servers: list[IPv4 | Hostname] | None = None
    dns_servers: list[IPv4] | None = None
    dns_search: list[Hostname] | None = None
    log_host: IPv4 | Hostname | None = None
    log_port: Port | None = None
    unattended_upgrades: bool | None = None
    admins: list[AdminAccount] | None = None


class Platform(StrEnum):
    CISCO_IOS = "cisco_ios"
    FRR = "frr"


class DeviceRole(StrEnum):
    ACCESS_SWITCH = "access_switch"
    CORE_SWITCH = "core_switch"
    ROUTER = "router"


class NetworkPurpose(StrEnum):
    CLIENTS = "clients"
    SERVERS = "servers"
    MANAGEMENT = "management"
    PRINTERS = "printers"
    VOICE = "voice"
    TRANSIT = "transit"


class ServerRole(StrEnum):
    FILESERVER = "fileserver"
    DHCP = "dhcp"
    FACHVERFAHREN = "fachverfahren"
    LOGHOST = "loghost"
    PRINTSERVER = "printserver"


# --------------------------------------------------------------------------- provider file


class ProviderIdentity(KsmModel):
    name: SafeText
    short_name: SafeText
    domain: Hostname
    bgp_asn: Asn


class AuthorityBlock(KsmModel):
    """One authority's share of the address plan."""

    authority: Identifier
    block: IPv4Net
    vlans: tuple[VlanId, VlanId] = Field(description="first and last VLAN id reserved for the authority")

    @model_validator(mode="after")
    def _vlan_range_ordered(self) -> Self:
        if self.vlans[0] > self.vlans[1]:
            raise ValueError(
                f"VLAN range {list(self.vlans)} is reversed; write [first, last], e.g. [100, 199]"
            )
        return self


class AddressPlan(KsmModel):
    pool: IPv4Net = Field(description="where new authority blocks are taken from by `ksm onboard`")
    block_prefix: Annotated[int, Field(ge=8, le=28)] = 16
    vlans_per_authority: Annotated[int, Field(ge=10, le=1000)] = 100
    first_vlan: VlanId = 100
    core: IPv4Net = Field(description="provider core and transit links (BGP towards the authorities)")
    management: list[IPv4Net] = Field(
        default_factory=list,
        description="the provider's admin networks (jump hosts, the ksm controller): the only sources "
        "allowed into the authorities' management networks",
    )
    parking_vlan: VlanId = Field(
        default=3999, description="VLAN of unused switch ports (shut and parked); in no authority's range"
    )
    native_vlan: VlanId = Field(
        default=3998, description="native (untagged) VLAN of every trunk; carries nothing, never VLAN 1"
    )
    authorities: list[AuthorityBlock]


class CoreRouter(KsmModel):
    """A router of the provider core: the BGP peer of the authorities' routers.

    Its links towards the authorities are not listed here: each is the /30 transfer network an
    authority router's BGP neighbour lies in, so onboarding a commune edits only the commune's file
    and the core's intended configuration gains the new neighbour.
    """

    hostname: Hostname
    platform: Platform = Platform.FRR
    router_id: IPv4
    transfer: IPv4Net = Field(description="where this router's /30 transfer networks are taken from")
    description: RouteDescription = ""


class ClientProfile(KsmModel):
    """A kind of workplace (standard office PC, citizens' office, control-room console...)."""

    description: SafeText
    packages: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9+.-]+$")]] = Field(default_factory=list)
    browser_homepage: PolicyText = ""
    browser_policies: dict[PolicyKey, SafeTree] = Field(default_factory=dict)
    office_policies: dict[PolicyKey, PolicyValue] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)


class ServiceHosting(KsmModel):
    authority: Identifier
    host: Hostname


class SharedService(KsmModel):
    """A specialist application ("Fachverfahren") run once and used by several authorities."""

    id: Identifier
    name: SafeText
    description: SafeText = ""
    hosted_by: ServiceHosting
    port: Port
    consumers: list[Identifier]
    db_password: SecretRef | None = Field(
        default=None, description="reference into the hosting authority's vault"
    )


class SharedSite(KsmModel):
    """A building used by several authorities (e.g. the joint control centre)."""

    id: Identifier
    name: SafeText
    address: SafeText


class ProviderFile(KsmModel):
    provider: ProviderIdentity
    address_plan: AddressPlan
    defaults: Settings
    platforms: list[Platform] = Field(default_factory=lambda: list(Platform))
    client_profiles: dict[Identifier, ClientProfile] = Field(default_factory=dict)
    shared_services: list[SharedService] = Field(default_factory=list)
    shared_sites: list[SharedSite] = Field(default_factory=list)
    core_routers: list[CoreRouter] = Field(default_factory=list)


# --------------------------------------------------------------------------- authority file


class AuthorityIdentity(KsmModel):
    id: Identifier
    name: SafeText
    ags: Annotated[str, Field(pattern=r"^\d{8}$", description="Amtlicher Gemeindeschlüssel, 8 digits")]
    domain: Hostname
    bgp_asn: Asn


class VaultRef(KsmModel):
    """The authority's ansible-vault file; one vault id per authority.

    ``file`` is relative to the inventory directory and lies below ``vault/``; the authority rules
    make it the authority's own (``vault/<id>.yml`` or below ``vault/<id>/``) and ``vault_id`` its id.
    """

    vault_id: Identifier
    file: VaultFile


class Printer(KsmModel):
    """A network printer at a site; clients of the site get it as a print queue."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    location: SafeText = ""
    address: IPv4
    default: bool = False


class Site(KsmModel):
    id: Identifier
    name: SafeText
    address: SafeText = ""
    shared_site: Identifier | None = Field(default=None, description="id of a provider shared site")
    printers: list[Printer] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)


class DhcpPool(KsmModel):
    start: IPv4
    end: IPv4


class Network(KsmModel):
    id: Identifier
    site: Identifier
    vlan: VlanId
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    subnet: IPv4Net
    gateway: IPv4
    purpose: NetworkPurpose
    dhcp: DhcpPool | None = None


class Client(KsmModel):
    """A single client PC."""

    hostname: Hostname
    site: Identifier
    network: Identifier
    address: IPv4
    mac: MacAddress
    profile: Identifier
    settings: Settings = Field(default_factory=Settings)


class ClientRange(KsmModel):
    """Many identical client PCs from one entry, expanded deterministically.

    Host ``i`` (0-based) is ``hostname_pattern.format(index=start + i)`` at ``first_address + i``.
    Members have no MAC in the inventory: the range is a dynamic DHCP pool of its network, and in
    production ksm reaches a member by its DNS name (``<hostname>.<authority domain>``).
    """

    name: Identifier
    hostname_pattern: Annotated[str, Field(pattern=r"^[a-z0-9-]*\{index(:0\dd)?\}[a-z0-9-]*$")]
    count: Annotated[int, Field(ge=1, le=65536)]
    start: Annotated[int, Field(ge=0, le=999_999)] = 1
    site: Identifier
    network: Identifier
    first_address: IPv4
    profile: Identifier
    settings: Settings = Field(default_factory=Settings)


class FileShare(KsmModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_$-]{1,64}$")]
    path: SharePath = Field(description=f"a directory below {SHARES_ROOT}, e.g. {SHARES_ROOT}/bauamt")
    comment: SafeText = ""
    department: SafeText = ""
    group: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]
    writable: bool = True
    browseable: bool = True


class FileServerConfig(KsmModel):
    workgroup: Annotated[str, Field(pattern=r"^[A-Z0-9-]{1,15}$")]
    shares: list[FileShare]


class DhcpServerConfig(KsmModel):
    serves: list[Identifier] = Field(description="ids of the networks whose clients this server serves")


class Server(KsmModel):
    hostname: Hostname
    site: Identifier
    network: Identifier
    address: IPv4
    mac: MacAddress | None = None
    os: Annotated[str, Field(pattern=r"^[a-z0-9.-]+$")] = "debian12"
    roles: list[ServerRole] = Field(default_factory=list)
    description: SafeText = ""
    fileserver: FileServerConfig | None = None
    dhcp: DhcpServerConfig | None = None
    settings: Settings = Field(default_factory=Settings)


class InterfaceMode(StrEnum):
    ACCESS = "access"
    TRUNK = "trunk"
    ROUTED = "routed"


class Interface(KsmModel):
    name: InterfaceName
    description: InterfaceDescription = ""
    mode: InterfaceMode
    network: Identifier | None = Field(
        default=None, description="access mode: the network (VLAN) of the port"
    )
    networks: list[Identifier] = Field(default_factory=list, description="trunk mode: networks carried")
    address: IPv4If | None = Field(
        default=None, description="routed mode: address/prefix, e.g. 10.10.255.1/30"
    )
    ospf: bool = False
    shutdown: bool = False

    @model_validator(mode="after")
    def _fields_fit_mode(self) -> Self:
        if self.mode is InterfaceMode.ACCESS and self.network is None:
            raise ValueError(
                "an access port needs `network:` (the id of its network), e.g. network: pch-clients"
            )
        if self.mode is InterfaceMode.TRUNK and not self.networks:
            raise ValueError("a trunk needs `networks:`, a list of network ids, e.g. [pch-clients, pch-mgmt]")
        if self.mode is InterfaceMode.ROUTED and self.address is None:
            raise ValueError("a routed interface needs `address:`, e.g. 10.10.255.1/30")
        return self


class Uplink(KsmModel):
    interface: InterfaceName
    peer: Hostname
    peer_interface: InterfaceName


class StaticRoute(KsmModel):
    prefix: IPv4Net
    next_hop: IPv4
    description: RouteDescription = ""


class BgpNeighbor(KsmModel):
    address: IPv4
    remote_as: Asn
    description: RouteDescription = ""


class Routing(KsmModel):
    ospf_area: OspfArea = 0
    router_id: IPv4 | None = None
    static_routes: list[StaticRoute] = Field(default_factory=list)
    bgp_neighbors: list[BgpNeighbor] = Field(default_factory=list)
    advertise: list[IPv4Net] = Field(default_factory=list, description="prefixes announced to the core")


class Management(KsmModel):
    network: Identifier
    address: IPv4


class DeviceRollback(StrEnum):
    """How a failed push is undone on a device (see ``ksm_provision.network.push``)."""

    #: The platform's method; on IOS ``configure replace`` when the device has room in flash for
    #: the rollback copy (checked with ``dir flash:`` before each push), else the reverse remediation.
    AUTO = "auto"
    #: IOS: copy the running config to flash, ``configure replace`` it back.
    CONFIGURE_REPLACE = "configure_replace"
    #: Push the remediation from the current config back to the backup (devices without
    #: ``configure replace`` or without free flash; FRR always).
    REMEDIATION = "remediation"


class JumpHost(KsmModel):
    """An SSH jump host (ProxyJump) in front of a device's management network.

    ksm logs in with the engineer's SSH agent or default keys (never a password) and checks the
    jump host's key against the authority's managed known_hosts, like every other key.
    """

    host: IPv4 | Hostname = Field(description="address or DNS name of the jump host")
    port: Port = 22
    user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")] = Field(
        description="login on the jump host, e.g. ksm-jump"
    )


class DeviceTimeouts(KsmModel):
    """Seconds. Unset values keep the run's defaults (``ksm apply --timeout`` etc.)."""

    connect: Annotated[float, Field(gt=0, le=300)] | None = Field(
        default=None, description="TCP connect, SSH handshake and login"
    )
    command: Annotated[float, Field(gt=0, le=3600)] | None = Field(
        default=None, description="longest wait for one command's reply"
    )
    keepalive: Annotated[float, Field(gt=0, le=300)] | None = Field(
        default=None, description="SSH/TCP keepalive interval; a dead session is noticed within ~2x this"
    )


class DeviceConnection(KsmModel):
    """How ksm reaches a device in production; every field is optional.

    By default: the management address, port 22, no jump host, the run's timeouts, rollback ``auto``.
    """

    host: IPv4 | Hostname | None = Field(
        default=None, description="address or DNS name to connect to (default: management.address)"
    )
    port: Port = 22
    jump_host: JumpHost | None = None
    timeouts: DeviceTimeouts = Field(default_factory=DeviceTimeouts)
    rollback: DeviceRollback = DeviceRollback.AUTO


class NetworkDevice(KsmModel):
    hostname: Hostname
    platform: Platform
    role: DeviceRole
    site: Identifier
    model: SafeText = ""
    management: Management
    interfaces: list[Interface] = Field(default_factory=list)
    uplinks: list[Uplink] = Field(default_factory=list)
    routing: Routing | None = None
    connection: DeviceConnection = Field(default_factory=DeviceConnection)


class NetworkSettings(KsmModel):
    """Settings of the authority's network gear; secrets are vault references."""

    username: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] = "ksm-automation"
    password: SecretRef
    enable_secret: SecretRef
    snmp_user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = "ksm-monitoring"
    snmp_auth: SecretRef
    snmp_priv: SecretRef
    banner: BannerText = "Zugriff nur fuer berechtigte Personen. Unbefugte Nutzung wird verfolgt."


class AuthorityFile(KsmModel):
    authority: AuthorityIdentity
    vault: VaultRef
    settings: Settings = Field(default_factory=Settings)
    network_settings: NetworkSettings
    sites: list[Site]
    networks: list[Network] = Field(default_factory=list)
    clients: list[Client] = Field(default_factory=list)
    client_ranges: list[ClientRange] = Field(default_factory=list)
    servers: list[Server] = Field(default_factory=list)
    network_devices: list[NetworkDevice] = Field(default_factory=list)
    consumes: list[Identifier] = Field(default_factory=list, description="ids of shared services used")

    def site(self, site_id: str) -> Site:
        """The site *site_id* of a validated authority (validation guarantees it exists)."""
        return next(s for s in self.sites if s.id == site_id)
