"""Guards that run before any connection is made.

``KSM_LAB_ONLY=1`` (set by ``make test``, ``make demo`` and CI) refuses every address outside
127.0.0.0/8 before a socket opens or Ansible starts, so the sample inventories' production
addresses can never be contacted from a developer machine or CI. Every address a connection
uses is checked, not only its destination: a device's jump host too, and DNS names (a device's
``connection.host``) are refused outright, since resolving one already sends traffic.
"""

from __future__ import annotations

import ipaddress
import os

from ksm_provision.errors import SafetyError

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


def lab_only() -> bool:
    return os.environ.get("KSM_LAB_ONLY", "") not in ("", "0", "false", "no")


def check_address(address: str, what: str = "connection") -> None:
    """Raise :class:`SafetyError` when lab-only mode is on and *address* is not a 127.x address.

    Names are refused too: resolving them would already be traffic we cannot vouch for.
    """
    if not lab_only():
        return
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise SafetyError(
            f"KSM_LAB_ONLY=1 refuses the {what} to '{address}': not a 127.0.0.0/8 address",
            "use --target lab, or unset KSM_LAB_ONLY to work on production",
        ) from None
    if not (isinstance(ip, ipaddress.IPv4Address) and ip in LOOPBACK):
        raise SafetyError(
            f"KSM_LAB_ONLY=1 refuses the {what} to {address}: outside 127.0.0.0/8",
            "use --target lab, or unset KSM_LAB_ONLY to work on production",
        )
