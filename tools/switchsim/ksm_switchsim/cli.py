"""``ksm-switchsim`` (or ``python -m ksm_switchsim``): run one simulated switch in the foreground.

Secrets come from the environment (``KSM_SIM_PASSWORD``, ``KSM_SIM_ENABLE_SECRET``) so that they do
not show in ``ps``; ``--password``/``--enable-secret`` exist for quick manual use.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from ksm_switchsim.config_tree import DEFAULT_MODEL, MODEL_PORTS
from ksm_switchsim.dataplane import DataPlane, PortMap, Wanted, wanted_addresses, wanted_state
from ksm_switchsim.device import Device
from ksm_switchsim.server import SimulatorConfig, SwitchSimulator

PASSWORD_ENV = "KSM_SIM_PASSWORD"
ENABLE_SECRET_ENV = "KSM_SIM_ENABLE_SECRET"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ksm-switchsim",
        description="IOS-style SSH switch simulator (lab stand-in for platform cisco_ios).",
    )
    parser.add_argument("--listen", required=True, help="address in 127.0.0.0/8, e.g. 127.199.0.1")
    parser.add_argument("--port", type=int, default=22, help="TCP port (default 22; 0 picks a free one)")
    parser.add_argument("--hostname", default="Switch", help="hostname until a startup-config sets one")
    parser.add_argument("--username", required=True, help="SSH login name")
    parser.add_argument("--password", help=f"SSH password; prefer the environment variable {PASSWORD_ENV}")
    parser.add_argument(
        "--enable-secret", help=f"enable secret; prefer the environment variable {ENABLE_SECRET_ENV}"
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        choices=sorted(MODEL_PORTS),
        help=f"switch model, decides the front-panel ports (default {DEFAULT_MODEL})",
    )
    parser.add_argument("--state-dir", required=True, type=Path, help="directory for nvram, flash, host key")
    parser.add_argument(
        "--dataplane",
        type=Path,
        help="JSON port map (namespace, links per port): forward between them as the running-config says",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _start_dataplane(device: Device, port_map_file: Path) -> DataPlane:
    port_map = PortMap.load(port_map_file)

    def wanted() -> tuple[Wanted, tuple[dict[str, str], str | None]]:
        with device.lock:
            links = wanted_state(device.running, port_map.ports, port_map.bridge_prefix)
            return links, wanted_addresses(device.running, port_map.bridge_prefix)

    plane = DataPlane(port_map, wanted)
    plane.start()
    return plane


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_ENV) or args.password
    enable_secret = os.environ.get(ENABLE_SECRET_ENV) or args.enable_secret
    if not password or not enable_secret:
        parser.error(f"set {PASSWORD_ENV} and {ENABLE_SECRET_ENV} (or pass --password/--enable-secret)")
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = SimulatorConfig(
            address=args.listen,
            port=args.port,
            hostname=args.hostname,
            username=args.username,
            password=password,
            enable_secret=enable_secret,
            state_dir=args.state_dir,
            model=args.model,
        )
    except ValidationError as exc:
        # Field errors only: pydantic does not echo SecretStr input values.
        print(f"switchsim: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        simulator = SwitchSimulator(config)
        simulator.bind()
    except OSError as exc:
        print(f"switchsim: cannot listen on {config.address}:{config.port}: {exc}", file=sys.stderr)
        return 1

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        simulator.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.dataplane is not None:
        _start_dataplane(simulator.device, args.dataplane)
    simulator.serve_forever()
    return 0
