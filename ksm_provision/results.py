"""What every stage's results share: one pydantic base and one progress callback type.

Results of hosts and devices, change runs, plan files and the records ksm keeps all derive from
:class:`ResultModel`; those that must not change once made (device results, plan files, locks)
from :class:`FrozenResult`.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict


class ResultModel(BaseModel):
    """Base of every typed result (hosts, devices, runs): unknown fields are a bug, not data."""

    model_config = ConfigDict(extra="forbid")


class FrozenResult(ResultModel):
    """A result that cannot change once made (and so can be shared between threads and hashed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


#: Progress of long work, called as ``(node, step, status)``: a host and its task, or a device and
#: its phase, e.g. ``("sn-rh-fs01", "Ensure chrony ...", "changed")``.
ProgressCallback = Callable[[str, str, str], None]
