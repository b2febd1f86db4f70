"""`imuform profile`: show and set the personal limits the flags are judged against."""

from __future__ import annotations

import json

import click
from rich.markup import escape
from rich.table import Table

from analysis.limits import PROFILES, resolve_limits
from imuform.cli.common import POSITIVE, console, open_store, person_option
from imuform.errors import InputError

_LIMIT_KEYS = ("flexion_limit_deg", "flexion_limit_pct", "extension_limit_deg", "extension_limit_pct")


@click.command()
@click.option(
    "--profile",
    "profile_name",
    type=click.Choice(sorted(PROFILES)),
    help="Start from a built-in profile (clears your own limits).",
)
@click.option(
    "--flexion-limit",
    type=POSITIVE,
    metavar="DEG",
    help="Peak lumbar flexion limit in degrees from your neutral.",
)
@click.option(
    "--flexion-limit-pct",
    type=POSITIVE,
    metavar="PCT",
    help="Peak lumbar flexion limit in percent of your calibrated maximal flexion.",
)
@click.option(
    "--extension-limit",
    type=POSITIVE,
    metavar="DEG",
    help="Lumbar extension limit in degrees from your neutral.",
)
@click.option(
    "--extension-limit-pct",
    type=POSITIVE,
    metavar="PCT",
    help="Lumbar extension limit in percent of your calibrated maximal extension.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@person_option
@click.pass_context
def profile(
    ctx: click.Context,
    profile_name: str | None,
    flexion_limit: float | None,
    flexion_limit_pct: float | None,
    extension_limit: float | None,
    extension_limit_pct: float | None,
    as_json: bool,
) -> None:
    """Show your personal limits, or set them (any option given changes and saves the profile).

    Limits in degrees and in percent of your range exclude each other per direction; percent limits
    need a stored calibration of your range of motion.
    """
    if flexion_limit is not None and flexion_limit_pct is not None:
        raise click.UsageError("give --flexion-limit or --flexion-limit-pct, not both")
    if extension_limit is not None and extension_limit_pct is not None:
        raise click.UsageError("give --extension-limit or --extension-limit-pct, not both")
    with open_store(ctx, for_person=True) as store:
        stored = store.profile()
        changes = {
            "flexion_limit_deg": flexion_limit,
            "flexion_limit_pct": flexion_limit_pct,
            "extension_limit_deg": extension_limit,
            "extension_limit_pct": extension_limit_pct,
        }
        changed = profile_name is not None or any(v is not None for v in changes.values())
        new = {"profile": profile_name} if profile_name else dict(stored)
        for direction in ("flexion", "extension"):
            deg, pct = f"{direction}_limit_deg", f"{direction}_limit_pct"
            # a new limit in one unit replaces the other unit's limit for that direction
            if changes[deg] is not None or changes[pct] is not None:
                new[deg], new[pct] = changes[deg], changes[pct]
        try:
            limits = resolve_limits(new, store.range_of_motion())
        except ValueError as exc:
            raise InputError(
                f"{exc}; or give the limit in degrees (--flexion-limit DEG, --extension-limit DEG)"
            ) from exc
        if changed:
            store.save_profile({k: v for k, v in new.items() if v is not None})
            stored = store.profile()
    doc = {
        "profile": stored.get("profile", "default"),
        **{k: stored.get(k) for k in _LIMIT_KEYS},
        "limits": limits.to_dict(),
    }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    table = Table(
        title=f"personal limits (profile {escape(str(doc['profile']))}){' saved' if changed else ''}",
        title_justify="left",
    )
    for col in ("limit", "degrees", "set as"):
        table.add_column(col)
    rows = (
        ("lumbar flexion", limits.flexion_limit_deg, "flexion"),
        ("lumbar extension", limits.extension_limit_deg, "extension"),
        ("flexion drift over a set", limits.drift_limit_deg, None),
        ("lateral bend / twist", limits.asymmetry_limit_deg, None),
    )
    for label, deg, direction in rows:
        how = "profile"
        if direction and stored.get(f"{direction}_limit_pct") is not None:
            how = f"{stored[f'{direction}_limit_pct']:g} % of calibrated range"
        elif direction and stored.get(f"{direction}_limit_deg") is not None:
            how = "your own"
        table.add_row(label, f"{deg:.1f}°", how)
    console().print(table)
