"""The one Jinja2 environment for device templates: StrictUndefined, compiled templates cached.

Templates live in ``templates/<platform>/<role>.j2`` of the toolkit (:func:`templates_dir`: packaged
with ksm-provision, or a checkout's, or ``$KSM_PROJECT_DIR/templates``). Every value a template prints
passes :func:`_finalize`, which refuses anything with a control character (a newline in a value
would start a new command on the device), so no inventory value can inject a command even if it
bypassed model validation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from ksm_provision.network import filters
from ksm_provision.network.filters import TemplateValueError
from ksm_provision.resources import templates_dir

#: The registry of device-template filters; tests check that every public filter is listed.
FILTERS: dict[str, Callable[..., Any]] = {
    "vlan_list": filters.vlan_list,
    "netmask": filters.netmask,
    "wildcard": filters.wildcard,
    "network_address": filters.network_address,
    "ip_netmask": filters.ip_netmask,
    "is_point_to_point": filters.is_point_to_point,
    "cli_word": filters.cli_word,
    "ios_banner": filters.ios_banner,
    "ascii_text": filters.ascii_text,
}


def _finalize(value: object) -> object:
    if isinstance(value, str | int | float) or value is None:
        text = "" if value is None else str(value)
    else:
        text = str(value)
    for char in text:
        if not char.isprintable():
            raise TemplateValueError(
                f"the value {text[:40]!r} contains the control character {char!r}; "
                "device templates only print one line of printable text per value"
            )
    return value


def build_environment(directory: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # device CLI text, not HTML; injection is prevented by _finalize
        finalize=_finalize,
        cache_size=400,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env


_lock = threading.Lock()
_environments: dict[Path, jinja2.Environment] = {}


def environment(directory: Path | None = None) -> jinja2.Environment:
    """The shared environment for *directory* (default: the toolkit's templates), built once."""
    key = (directory or templates_dir()).resolve()
    with _lock:
        env = _environments.get(key)
        if env is None:
            env = _environments[key] = build_environment(key)
        return env


def template_name(platform: str, role: str) -> str:
    return f"{platform}/{role}.j2"
