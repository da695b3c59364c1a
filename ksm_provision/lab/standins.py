"""Lab-only stand-ins for the Fachverfahren (shared specialist applications).

A Fachverfahren is vendor software the lab does not have. So that a lab host that hosts one listens
on the service's port as in production (for the verify checks and the probes), the lab writes into
that host's root filesystem, before it boots, one systemd unit per hosted service: a plain HTTP
server (``python3 -m http.server``, no TLS, an empty directory) on the service's port, run as an
unprivileged dynamic user and restarted on failure, enabled through ``multi-user.target.wants``.

Nothing here is provisioned on real hosts and no role knows these units: there the vendor's own
packaging runs the service, the role ``fachverfahren`` only writes its configuration.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

UNIT_PREFIX = "ksm-lab-standin-"
UNIT_DIR = Path("etc/systemd/system")
WANTS_DIR = UNIT_DIR / "multi-user.target.wants"
#: The role's service ids (roles/fachverfahren: ``fachverfahren_hosted`` ids): safe in a file name.
_SERVICE_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def unit_name(service_id: str) -> str:
    """
    >>> unit_name("kfz")
    'ksm-lab-standin-kfz.service'
    """
    return f"{UNIT_PREFIX}{service_id}.service"


def unit_text(service_id: str, port: int) -> str:
    """The unit of one stand-in; a port below 1024 works too (ambient CAP_NET_BIND_SERVICE only)."""
    return f"""\
# ksm-provision lab only: stand-in for the Fachverfahren {service_id}, vendor software the lab lacks.
[Unit]
Description=Lab stand-in for Fachverfahren {service_id} (tcp/{port})
After=network.target

[Service]
DynamicUser=yes
RuntimeDirectory={UNIT_PREFIX}{service_id}
WorkingDirectory=/run/{UNIT_PREFIX}{service_id}
ExecStart=/usr/bin/python3 -m http.server --bind 0.0.0.0 {port}
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
"""


def write_fachverfahren_standins(merged: Path, services: Sequence[tuple[str, int]]) -> None:
    """Make the root filesystem *merged* run exactly one stand-in per ``(service id, port)``.

    Idempotent: unchanged units are not rewritten; stand-ins of services no longer in *services*
    are removed with their enablement link.
    """
    wanted: dict[str, str] = {}
    for service_id, port in services:
        if not _SERVICE_ID.match(service_id):
            raise ValueError(f"not a Fachverfahren id: {service_id!r}")
        if not 0 < port < 65536:
            raise ValueError(f"Fachverfahren {service_id}: port {port} out of range")
        wanted[unit_name(service_id)] = unit_text(service_id, port)
    units, wants = merged / UNIT_DIR, merged / WANTS_DIR
    wants.mkdir(parents=True, exist_ok=True)
    for stale in [*units.glob(f"{UNIT_PREFIX}*.service"), *wants.glob(f"{UNIT_PREFIX}*.service")]:
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        unit = units / name
        if not unit.is_file() or unit.read_text() != text:
            unit.write_text(text)
        unit.chmod(0o644)
        link, target = wants / name, f"/{UNIT_DIR / name}"  # as the host's systemd sees it
        if link.is_symlink() and str(link.readlink()) == target:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(target)
