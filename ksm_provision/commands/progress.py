"""Progress of long runs on stderr, so that a 20-minute plan or apply is never silent.

How it shows depends on where stderr goes:

- a terminal: one transient line, a bar of the hosts (or devices) done, ``n/total``, with the host
  or device being worked on and its task;
- a log (CI, a pipe), without ``--json``: a line when the run's devices or hosts start, one line per
  device or host as it finishes (``[3/14] lup-fs01: ok=12 changed=0 failed=0 (41 s)``,
  ``[2/11] sn-sw01: 3 lines changed (12 s)``, ``... FAILED: <reason>``) and a heartbeat naming
  the running task whenever nothing was printed for :data:`HEARTBEAT` seconds;
- ``--json``: no progress; only Ansible's own output with ``-v`` and where a failed run's artifacts
  were kept.

Why a heartbeat: a device is done when its session ends, but an Ansible host is known to be done
only when it fails (Ansible runs nothing more on it) or when the run ends; the next play may name
it again (see ``_EventCollector._finish`` in :mod:`ksm_provision.playbook.runner`). So in a log the
hosts' result lines come at the end, and the heartbeat says in between what the run is doing.

Host, device and task names, reasons and Ansible's output are data: shown with control characters
visible (:func:`~ksm_provision.terminal.visible`), never as markup.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ksm_provision.commands.common import console
from ksm_provision.terminal import visible
from ksm_provision.workflow.records import state_dir

#: Seconds without a line after which a log gets a heartbeat line.
HEARTBEAT = 30.0
#: Longest reason shown in a result line (the full one is in the result tables).
REASON_WIDTH = 160
#: Statuses of task and device results that count as failed.
FAILED_STATUSES = frozenset({"failed", "unreachable", "rolled_back", "refused"})
#: ... and as changed (``changes``: a device plan with a remediation).
CHANGED_STATUSES = frozenset({"changed", "changes"})

Kind = Literal["hosts", "devices"]


class Display(Enum):
    #: stderr is a terminal: one transient progress line.
    BAR = "bar"
    #: stderr is a log: a line per finished host or device, and heartbeats.
    LINES = "lines"
    #: ``--json``: only Ansible's output (``-v``) and notes such as kept artifacts.
    QUIET = "quiet"


@dataclass
class _Stage:
    """The devices or the hosts of a run, while they run."""

    kind: Kind
    total: int
    started: float
    done: int = 0
    #: Of those done, how many failed.
    failed: int = 0
    node: str = ""
    play: str = ""
    step: str = ""
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "changed": 0, "failed": 0})

    @property
    def running(self) -> bool:
        return self.done < self.total


class RunProgress:
    """What the user sees of a change run: both a ``HostProgress`` (``playbook.runner``) and a
    ``DeviceProgress`` (``network.pipeline``); thread-safe (devices report from a thread pool).

    *write* gets every line for stderr (tests pass ``list.append``); *clock* is ``time.monotonic``.
    """

    def __init__(
        self,
        title: str,
        display: Display,
        *,
        verbosity: int = 0,
        artifacts_dir: Path | None = None,
        run_name: str = "",
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        self.title = title
        self.display = display
        self.verbosity = verbosity
        self.artifacts_dir = artifacts_dir
        self.run_name = run_name or title
        self.clock = clock
        self.heartbeat = heartbeat
        self._write = write or _to_stderr
        self._lock = threading.RLock()
        self._stage: _Stage | None = None
        self._bar: tuple[Progress, TaskID] | None = None
        self._last_line = clock()

    # ------------------------------------------------------------------ what the stages call

    def __call__(self, node: str, step: str, status: str) -> None:
        with self._lock:
            stage = self._stage
            if stage is None:
                return
            stage.node, stage.step = node, step
            if status in FAILED_STATUSES or status.startswith("failed"):
                stage.counts["failed"] += 1
            elif status in CHANGED_STATUSES:
                stage.counts["changed"] += 1
            elif status in ("ok", "in_sync", "unchanged"):
                stage.counts["ok"] += 1
            self._update_bar()

    def hosts_started(self, hosts: Sequence[str]) -> None:
        self._start("hosts", len(hosts))

    def devices_started(self, devices: Sequence[str]) -> None:
        self._start("devices", len(devices))

    def task_started(self, play: str, task: str) -> None:
        with self._lock:
            if self._stage is not None:
                self._stage.play, self._stage.step = play, task
                self._update_bar()

    def host_finished(self, host: str, summary: str, failed: bool, seconds: float) -> None:
        self._finish(host, summary, failed, seconds)

    def device_finished(self, device: str, summary: str, failed: bool, seconds: float) -> None:
        self._finish(device, summary, failed, seconds)

    def show(self, text: str) -> None:
        """Text for stderr as it is (Ansible's output under ``-v``, notes), control characters visible."""
        text = text.replace("\r\n", "\n").strip("\n")  # Ansible writes to a pty: CRLF line ends
        if text:
            with self._lock:
                self._line(visible(text))

    # ------------------------------------------------------------------ the heartbeat

    def beat(self) -> None:
        """In a log, a line on the running stage when nothing was printed for :attr:`heartbeat` s."""
        with self._lock:
            stage = self._stage
            now = self.clock()
            if self.display is not Display.LINES or stage is None or not stage.running:
                return
            if now - self._last_line < self.heartbeat:
                return
            self._line(heartbeat_line(self.title, stage, now - stage.started))

    @contextmanager
    def running(self) -> Iterator[RunProgress]:
        """Show the progress while the block runs: the bar (terminal) or the heartbeat (log)."""
        if self.display is Display.BAR:
            with _bar() as progress:
                self._bar = (progress, progress.add_task(visible(self.title, one_line=True)))
                self._write = lambda line: progress.console.print(line, markup=False, highlight=False)
                try:
                    yield self
                finally:
                    self._bar = None
                    self._write = _to_stderr
            return
        if self.display is not Display.LINES:
            yield self
            return
        stop = threading.Event()
        beats = threading.Thread(target=self._beat_until, args=(stop,), name="ksm-heartbeat", daemon=True)
        beats.start()
        try:
            yield self
        finally:
            stop.set()
            beats.join()

    # ------------------------------------------------------------------ inside

    def _beat_until(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            self.beat()

    def _start(self, kind: Kind, total: int) -> None:
        with self._lock:
            self._stage = _Stage(kind, total, self.clock())
            if self.display is Display.LINES:
                self._line(f"{self.title}: {total} {kind if total != 1 else kind.removesuffix('s')}")
            if self._bar is not None:
                progress, task = self._bar
                progress.reset(task, total=total, completed=0)
                self._update_bar()

    def _finish(self, node: str, summary: str, failed: bool, seconds: float) -> None:
        with self._lock:
            stage = self._stage
            if stage is None:
                return
            stage.done += 1
            stage.failed += failed
            if self.display is Display.LINES:
                self._line(result_line(stage.done, stage.total, node, summary, seconds))
            if self._bar is not None:
                progress, task = self._bar
                progress.update(task, completed=stage.done)

    def _update_bar(self) -> None:
        if self._bar is None or self._stage is None:
            return
        progress, task = self._bar
        stage = self._stage
        counts = stage.counts  # as Ansible counts: a changed result is ok too
        shown = {"ok": counts["ok"] + counts["changed"], "failed": counts["failed"]}
        progress.update(
            task, description=description(f"{self.title} {stage.kind}", stage.node, stage.step, shown)
        )

    def _line(self, line: str) -> None:
        self._write(line)
        self._last_line = self.clock()


def result_line(done: int, total: int, node: str, summary: str, seconds: float) -> str:
    """One finished host or device, as a log shows it: one line, its reason cut short.

    >>> result_line(3, 14, "lup-fs01", "ok=12 changed=0 failed=0", 41.2)
    '[3/14] lup-fs01: ok=12 changed=0 failed=0 (41 s)'
    >>> result_line(1, 2, "sw", "FAILED: timeout\\nafter 30 s", 30)
    '[1/2] sw: FAILED: timeout … (30 s)'
    """
    first, _, more = summary.partition("\n")
    if len(first) > REASON_WIDTH or more:
        first = first[:REASON_WIDTH].rstrip() + " …"
    return visible(f"[{done}/{total}] {node}: {first} ({seconds:.0f} s)", one_line=True)


def heartbeat_line(title: str, stage: _Stage, elapsed: float) -> str:
    """What a log shows of a running stage when nothing else was printed for a while."""
    counts = stage.counts
    if stage.kind == "hosts":
        running = f'task "{stage.step}" of play "{stage.play}"' if stage.step else "Ansible"
        running += f" [task results: ok={counts['ok']} changed={counts['changed']} failed={counts['failed']}]"
    else:
        running = f"devices, last started {stage.node} ({stage.step})" if stage.node else "devices"
    failed = f" ({stage.failed} failed)" if stage.failed else ""
    done = f"{stage.done}/{stage.total} {stage.kind} done{failed}"
    return visible(f"{title}: {done} after {elapsed:.0f} s; running {running}", one_line=True)


def description(title: str, host: str, task: str, counts: dict[str, int]) -> str:
    """The progress line: one line, control characters visible (shown without markup)."""
    line = f"{title}: {host} — {task} [{counts['ok']} ok, {counts['failed']} failed]"
    return visible(line, one_line=True)


def _to_stderr(line: str) -> None:
    click.echo(line, err=True)


def _bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # host and task names are data
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    )


@contextmanager
def task_progress(
    title: str, enabled: bool = True, *, verbosity: int = 0, run_name: str | None = None
) -> Iterator[RunProgress | None]:
    """The progress of a run titled *title*; *enabled* False (``--json``) shows none.

    *verbosity* is Ansible's ``-v`` count (its output then goes to stderr, redacted). With a
    *run_name* (the command: ``plan``, ``apply``, ``drift``) a failed Ansible run keeps its
    artifacts under ``$KSM_STATE_DIR/artifacts/<time>-<run_name>/``. Yields None when there is
    nothing to show or keep.
    """
    if not (enabled or verbosity or run_name):
        yield None
        return
    display = Display.QUIET if not enabled else Display.BAR if sys.stderr.isatty() else Display.LINES
    progress = RunProgress(
        title,
        display,
        verbosity=verbosity,
        artifacts_dir=state_dir() / "artifacts" if run_name else None,
        run_name=run_name or "",
    )
    with progress.running():
        yield progress
