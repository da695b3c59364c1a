"""Where ``ksm prove`` starts its probes in the twin: stand-in clients and lab hosts, by network.

``ksm lab up`` records the data plane's sources in ``<lab dir>/dataplane.json``; :func:`probe_sources`
then gives each network one source: a stand-in client (its address taken by a real DHCP lease when
the inventory serves the network by DHCP), else a lab host of that network at its inventory address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.fileio import write_atomic
from ksm_provision.lab import leases
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.state import LabModel, LabNodeSpec
from ksm_provision.lab.topology import HOST_LINK, Topology
from ksm_provision.prove.probe import ProbeSource


class SourceRecord(LabModel):
    authority: str
    site: str
    network: str
    netns: str
    #: inventory address/prefix (hosts) or the fallback static address (stand-in clients)
    address: str
    gateway: str
    dhcp: bool = False
    standin: bool = False


class DataPlaneRecord(LabModel):
    sources: tuple[SourceRecord, ...] = ()
    #: addresses something of the lab answers on (a probe to any other address proves nothing)
    present: tuple[str, ...] = ()


def record_file(config: LabConfig) -> Path:
    return config.lab_dir / "dataplane.json"


def save(config: LabConfig, topology: Topology, specs: Sequence[LabNodeSpec]) -> None:
    by_name = {s.name: s for s in specs}
    records = [
        SourceRecord(
            authority=c.authority,
            site=c.site,
            network=c.network,
            netns=config.netns(c.node),
            address=str(c.static),
            gateway=str(c.gateway),
            dhcp=c.dhcp,
            standin=True,
        )
        for c in topology.clients
    ]
    for host in (h for h in topology.hosts if h.cabled):  # a loose cable proves nothing
        spec = by_name[host.node]
        records.append(
            SourceRecord(
                authority=spec.authority,
                site=host.site,
                network=host.network,
                netns=config.netns(host.node),
                address=str(host.address),
                gateway=str(host.gateway),
            )
        )
    record = DataPlaneRecord(sources=tuple(records), present=tuple(sorted(topology.present)))
    text = record.model_dump_json(indent=2) + "\n"
    write_atomic(record_file(config), text, durable=False)


def _load(config: LabConfig) -> DataPlaneRecord:
    path = record_file(config)
    if not path.exists():
        raise LabError(
            f"the lab in {config.lab_dir} has no data plane", hint="run 'ksm lab up' (it cables the twin)"
        )
    return DataPlaneRecord.model_validate_json(path.read_text())


class Sources(LabModel):
    sources: dict[str, ProbeSource]
    present: tuple[str, ...]
    #: stand-in client network key -> its lease, or why it got none
    leases: dict[str, leases.Lease | str]


def _prepare(config: LabConfig, record: SourceRecord) -> tuple[str, leases.Lease | str | None]:
    """Address a stand-in client by DHCP (returning the lease), else statically (returning why no
    lease came, if one was wanted); hosts keep their inventory address."""
    if not record.standin:
        return record.address.split("/")[0], None
    work = config.lab_dir / "clients" / record.netns
    if record.dhcp:
        try:
            lease = leases.acquire(record.netns, HOST_LINK, work)
        except LabError as exc:
            failed = str(exc)
        else:
            return lease.address, lease
    else:
        failed = None
    # no DHCP (or no lease): the network's last address, so the other cells can still be probed
    leases.set_static(
        record.netns,
        HOST_LINK,
        ipaddress.IPv4Interface(record.address),
        ipaddress.IPv4Address(record.gateway),
    )
    return record.address.split("/")[0], failed


def probe_sources(config: LabConfig) -> Sources:
    """One probe source per network (stand-in clients first); stand-in clients lease their address."""
    records = _load(config).sources
    with ThreadPoolExecutor(max_workers=4) as pool:
        prepared = list(pool.map(lambda r: _prepare(config, r), records))
    sources: dict[str, ProbeSource] = {}
    got: dict[str, leases.Lease | str] = {}
    for record, (address, lease) in zip(records, prepared, strict=True):
        key = f"{record.authority}/{record.network}"
        if lease is not None:
            got[key] = lease
        if not address or key in sources:
            continue
        sources[key] = ProbeSource(
            authority=record.authority,
            network=record.network,
            site=record.site,
            netns=record.netns,
            address=address,
        )
    return Sources(sources=sources, leases=got, present=_load(config).present)
