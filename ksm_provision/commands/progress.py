"""Progress display on stderr for long runs (silent when not a terminal or with --json)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ksm_provision.commands.common import console
from ksm_provision.playbook.runner import ProgressCallback
from ksm_provision.terminal import visible


@contextmanager
def task_progress(title: str, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    counts = {"ok": 0, "changed": 0, "failed": 0}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # host and task names are data
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    ) as progress:
        task_id = progress.add_task(visible(title, one_line=True))

        def update(host: str, task: str, status: str) -> None:
            key = "failed" if status.startswith("failed") or status == "unreachable" else "ok"
            counts[key] += 1
            progress.update(task_id, description=description(title, host, task, counts))

        yield update


def description(title: str, host: str, task: str, counts: dict[str, int]) -> str:
    """The progress line: one line, control characters visible (shown without markup)."""
    line = f"{title}: {host} — {task} [{counts['ok']} ok, {counts['failed']} failed]"
    return visible(line, one_line=True)
