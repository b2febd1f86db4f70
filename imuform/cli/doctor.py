"""`imuform doctor`: check the store, the disk, the packages and Bluetooth; `--recover` salvages a damaged store."""

from __future__ import annotations

from pathlib import Path

import click

from imuform.cli.common import echo_json, json_option
from imuform.diagnostics import (
    BLUETOOTH_SYSFS,
    bluetooth_adapters,
    bluetooth_problem,
    disk_free_bytes,
    package_versions,
    store_health,
)
from imuform.errors import ImuformError
from imuform.store import default_home
from imuform.store_recovery import RecoveryReport, recover_store

#: Less free space than this in the home is worth a warning: an hour of two sensors takes about 80 MB.
LOW_DISK_BYTES = 500_000_000


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 1e9:.1f} GB" if num_bytes >= 1e9 else f"{num_bytes / 1e6:.1f} MB"


def _losses(report: RecoveryReport) -> str:
    parts = [f"session {sid} (all of it)" for sid in report.sessions_lost]
    for sid, n in sorted(report.blocks_lost.items()):
        spans = ", ".join(x.describe() for x in report.lost_spans if x.session_id == sid)
        parts.append(f"session {sid}: {n} sample block(s)" + (f" ({spans})" if spans else ""))
    parts += [f"session {sid}: all its samples" for sid in report.sessions_without_samples]
    parts += [
        f"{t.table}: {t.damaged_spans} unreadable stretch(es), {t.refused} bad row(s) of unknown sessions"
        for t in report.tables
        if not t.complete and t.table not in ("sessions", "sample_blocks")
    ]
    if report.unattributed_loss and not report.blocks_lost and not report.sessions_without_samples:
        parts += ["sample blocks of unknown sessions"]
    return "lost: " + "; ".join(parts) if parts else "nothing was lost"


@click.command()
@click.option(
    "--recover",
    is_flag=True,
    help="Salvage a damaged store into a new one (keeping the damaged file beside it). Stop recordings first.",
)
@json_option
@click.pass_context
def doctor(ctx: click.Context, recover: bool, as_json: bool) -> None:
    """Check the store's integrity, the free disk space, the package versions and the Bluetooth adapter.

    The store is only read. With --recover a damaged store is copied row by row into a new store in its
    place, skipping what cannot be read; the damaged file stays beside it as imuform.sqlite.damaged-<time>,
    and the sessions and sample blocks that were lost are listed. Exits 1 while the store is damaged.
    """
    home = Path((ctx.find_root().obj or {}).get("home") or default_home())
    health = store_health(home)
    free = disk_free_bytes(home)
    versions = package_versions()
    adapters = bluetooth_adapters()
    radio_problem = bluetooth_problem()
    report = recover_store(home) if recover and health.needs_recovery else None
    if report is not None:
        health = store_health(home)
    if as_json:
        echo_json(
            {
                "store": {
                    "path": str(health.path),
                    "state": health.state,
                    "problems": health.problems,
                    "size_bytes": health.size_bytes,
                    "sessions": health.sessions,
                },
                "home": str(home),
                "disk_free_bytes": free,
                "versions": versions,
                "bluetooth": {"adapters": adapters, "problem": radio_problem},
                "recovery": report.to_dict() if report else None,
            }
        )
    else:
        line = f"{health.path}: {health.state}"
        if health.state != "missing":
            line += f", {_size(health.size_bytes)}"
        if health.sessions is not None:
            line += f", {health.sessions} session(s)"
        click.echo(f"store      {line}")
        for problem in health.problems[:5]:
            click.echo(f"           {problem}")
        click.echo(f"disk       {_size(free)} free in {home}" + (" (low)" if free < LOW_DISK_BYTES else ""))
        click.echo("versions   " + ", ".join(f"{name} {version}" for name, version in versions.items()))
        if adapters is None:
            click.echo("bluetooth  not checked on this system")
        else:
            found = ", ".join(adapters) or f"none (no adapter in {BLUETOOTH_SYSFS})"
            click.echo(f"bluetooth  {found}" + (f"; {radio_problem}" if adapters and radio_problem else ""))
        if report is not None:
            click.echo(
                f"recovered {len(report.sessions_recovered)} session(s) into {report.store_path};"
                f" the damaged file is kept as {report.damaged_path}"
            )
            click.echo(_losses(report))
        elif recover:
            click.echo(f"nothing to recover: the store is {health.state}")
    if health.state == "damaged":
        raise ImuformError(f"{health.path} is damaged; run 'imuform doctor --recover' to save what can be saved")
    if health.state in ("foreign", "not-sqlite"):
        raise ImuformError(f"{health.path} is not an imuform store; move it away or point --home at another directory")
