"""``ksm pull enable|publish|serve|status|stop``: pull mode for workstations (ansible-pull + collector).

Exit codes: 0 success; 1 a failed run, a refused host, or (``status``) a client stale or failing.
"""

from __future__ import annotations

from pathlib import Path

import click

from ksm_provision.commands.common import (
    CliContext,
    authority_option,
    console,
    echo,
    json_option,
    limit_option,
    pass_context,
    print_json,
    state_dir_option,
    target_option,
)
from ksm_provision.errors import EXIT_FAILURE, UsageError
from ksm_provision.targets import Target


def _one(authorities: tuple[str, ...]) -> str:
    """Exactly one --authority: each authority has its own repository, key and clients."""
    if len(authorities) != 1:
        raise UsageError(
            "give exactly one --authority ID", "pull mode works per authority: run it once per ID"
        )
    return authorities[0]


state_option = state_dir_option("Where repositories, keys and status records live.")


def _base(state: Path | None) -> Path:
    from ksm_provision.workflow.records import state_dir

    return state if state is not None else state_dir()


@click.group("pull")
def pull_group() -> None:
    """Pull mode: clients apply their own configuration with ansible-pull on a timer and report."""


@pull_group.command("enable")
@authority_option
@target_option
@click.option(
    "--server-url", metavar="URL", help="Base URL of `ksm pull serve` (https://...; lab: automatic)."
)
@limit_option
@click.option("--interval", type=click.IntRange(5, 10080), default=60, show_default=True, help="Minutes.")
@click.option(
    "--random-delay", type=click.IntRange(0, 1440), default=30, show_default=True, help="Minutes (spread)."
)
@click.option(
    "--stale-after",
    type=click.FloatRange(0.1, 24 * 30),
    default=24.0,
    show_default=True,
    help="Hours without a run before `ksm report` counts a client as stale.",
)
@click.option("--now", "run_now", is_flag=True, help="Start one run on each client right away.")
@state_option
@json_option
@pass_context
def enable_command(
    ctx: CliContext,
    authorities: tuple[str, ...],
    target: str,
    server_url: str | None,
    limit: str | None,
    interval: int,
    random_delay: int,
    stale_after: float,
    run_now: bool,
    state: Path | None,
    as_json: bool,
) -> None:
    """Publish ID's pull repository and put role `pull` on its clients (timer + status reports)."""
    authority = _one(authorities)
    from ksm_provision.pull.enable import PullSettings, enable
    from ksm_provision.target_resolution import resolver_for

    inventory = ctx.scoped((authority,))
    base = _base(state)
    resolver = resolver_for(Target(target))
    connections = resolver.hosts(inventory)
    if Target(target) is Target.LAB:
        from ksm_provision.lab.manager import Lab
        from ksm_provision.pull import lab as pull_lab
        from ksm_provision.pull.enable import choose_clients

        clients = [h.hostname for h in choose_clients(inventory, authority, connections, limit)]
        server_url = pull_lab.ensure(Lab(), clients, base)
    elif not server_url or not server_url.startswith("https://"):
        raise UsageError("production clients need --server-url https://...", "e.g. https://pull.ksm.example")
    settings = PullSettings(
        server_url=server_url,
        interval_minutes=interval,
        random_delay_minutes=random_delay,
        stale_after_hours=stale_after,
        run_now=run_now,
    )
    result = enable(inventory, authority, connections, settings, target=target, base=base, limit=limit)
    failed = result.run.failed_hosts
    if as_json:
        print_json(
            {
                "authority": authority,
                "commit": result.commit,
                "hosts": result.hosts,
                "failed": failed,
                "server_url": server_url,
            }
        )
    else:
        echo(f"{authority}: pull repository at {result.commit[:12]}, {len(result.hosts)} client(s) enabled")
        for host in failed:
            echo(f"  failed: {host}", err=True)
    if failed:
        raise click.exceptions.Exit(EXIT_FAILURE)


@pull_group.command("publish")
@authority_option
@state_option
@pass_context
def publish_command(ctx: CliContext, authorities: tuple[str, ...], state: Path | None) -> None:
    """Publish ID's pull repository again (after a merge): its enrolled clients get it on their next run."""
    authority = _one(authorities)
    from ksm_provision.pull.repo import publish
    from ksm_provision.workflow.records import load_pull_enrollment, save_pull_enrollment

    inventory = ctx.scoped((authority,))
    base = _base(state)
    enrollment = load_pull_enrollment(authority, base)
    if enrollment is None:
        raise UsageError(f"{authority} has no pull clients", f"run `ksm pull enable --authority {authority}`")
    hosts = [h for h in inventory.hosts if h.hostname in enrollment.hosts and h.authority == authority]
    commit = publish(inventory, authority, hosts, base)
    save_pull_enrollment(
        enrollment.model_copy(update={"commit": commit, "hosts": [h.hostname for h in hosts]}), base
    )
    echo(f"{authority}: pull repository at {commit}")


@pull_group.command("serve")
@click.option("--listen", required=True, metavar="ADDRESS:PORT", help="e.g. 0.0.0.0:8443 (with TLS).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None)
@state_option
def serve_command(listen: str, tls_cert: Path | None, tls_key: Path | None, state: Path | None) -> None:
    """Serve the pull repositories and collect status records (HTTP Basic per client; TLS off loopback)."""
    from ksm_provision.pull.server import make_server, parse_listen, serve_forever

    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together", "give both, or neither on loopback")
    try:
        server = make_server(
            parse_listen(listen), _base(state), (tls_cert, tls_key) if tls_cert and tls_key else None
        )
    except ValueError as exc:
        raise UsageError(str(exc), "e.g. --listen 127.0.0.1:8631, or add --tls-cert/--tls-key") from None
    echo(f"serving pull repositories and the collector on {listen}", err=True)
    serve_forever(server)


@pull_group.command("status")
@authority_option
@state_option
@json_option
def status_command(authorities: tuple[str, ...], state: Path | None, as_json: bool) -> None:
    """Each enrolled client of ID: current, stale or failing, with its last run."""
    authority = _one(authorities)
    from datetime import timedelta

    from rich.table import Table

    from ksm_provision.pull.status import ClientState, classify_all
    from ksm_provision.workflow.records import load_pull_enrollment, load_pull_runs, utc_now

    base = _base(state)
    enrollment = load_pull_enrollment(authority, base)
    if enrollment is None:
        raise UsageError(f"{authority} has no pull clients", f"run `ksm pull enable --authority {authority}`")
    statuses = classify_all(
        enrollment.hosts,
        load_pull_runs(authority, base),
        utc_now(),
        timedelta(hours=enrollment.stale_after_hours),
    )
    if as_json:
        print_json(
            {
                "authority": authority,
                "commit": enrollment.commit,
                "clients": [
                    {
                        "host": s.host,
                        "state": s.state.value,
                        "last_run": s.record.model_dump(mode="json") if s.record else None,
                    }
                    for s in statuses
                ],
            }
        )
    else:
        table = Table(title=f"pull clients of {authority} (repository {str(enrollment.commit)[:12]})")
        for heading in ("host", "state", "last run", "commit", "changed", "failed"):
            table.add_column(heading)
        for s in statuses:
            r = s.record
            table.add_row(
                s.host,
                s.state.value,
                f"{r.received:%Y-%m-%d %H:%M}" if r else "-",
                r.commit[:12] if r else "-",
                str(r.changed) if r else "-",
                str(r.failed) if r else "-",
            )
        console().print(table)
    if any(s.state is not ClientState.CURRENT for s in statuses):
        raise click.exceptions.Exit(EXIT_FAILURE)


@pull_group.command("stop")
def stop_command() -> None:
    """Lab only: stop the lab's pull server and its forwarders into the clients."""
    from ksm_provision.lab.config import LabConfig
    from ksm_provision.pull import lab as pull_lab

    stopped = pull_lab.stop(LabConfig.from_env())
    echo(f"stopped {len(stopped)} pull process(es)")
