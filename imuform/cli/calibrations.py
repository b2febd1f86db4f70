"""`imuform calibrations`: list the stored calibrations, delete one; the ``--calibration`` option of analyses."""

from __future__ import annotations

import click
from rich.table import Table

from imuform.cli.common import console, echo_json, json_option, open_store, person_option
from imuform.session_analysis import CALIBRATION_CHOICES, StrapOnRule, applies_to
from imuform.store import StoredCalibration


class CalibrationChoiceType(click.ParamType):
    """``auto``, ``none`` or a calibration id (a positive integer, ``#`` allowed in front)."""

    name = "auto|none|ID"

    def convert(self, value, param, ctx) -> str | int:
        if isinstance(value, int) or value in CALIBRATION_CHOICES:
            return value
        text = str(value).strip().lstrip("#")
        if text.isdigit() and int(text) > 0:
            return int(text)
        self.fail(f"{value!r}: give auto, none or a calibration id ('imuform calibrations' lists them)", param, ctx)


calibration_option = click.option(
    "--calibration",
    type=CalibrationChoiceType(),
    metavar="auto|none|ID",
    default="auto",
    show_default=True,
    help=(
        "auto: the calibration of the same sensors made up to "
        f"{StrapOnRule().max_age_h:g} h before the session; none: the session's own standing; "
        "ID: that stored calibration. A stored one that does not fit the session's standing is set aside."
    ),
)


def _measured(stored: StoredCalibration) -> list[str]:
    """What a calibration measured, in words."""
    cal = stored.calibration
    out = ["neutral"]
    axes = sorted(p for p, e in cal.sensors.items() if e.axis_source == "bends")
    if axes:
        out.append(f"axes from bends ({', '.join(axes)})")
    if cal.range_of_motion is not None:
        rom = cal.range_of_motion
        out.append(f"range {rom.max_flexion_deg:.0f}° flexion / {rom.max_extension_deg:.0f}° extension")
    return out


def _entry(stored: StoredCalibration, sessions: list[str]) -> dict:
    """One calibration in the JSON listing."""
    strap_on = stored.strap_on
    return {
        "id": stored.id,
        "created_at": stored.created_at,
        "session_id": None if strap_on is None else strap_on.session_id,
        "session_started_at": None if strap_on is None else strap_on.started_at,
        "sensors": {} if strap_on is None else strap_on.addresses,
        "method": stored.calibration.method,
        "measured": _measured(stored),
        "applies_to": sessions,
        "calibration": stored.calibration.to_dict(),
    }


@click.group(
    invoke_without_command=True,
    help=(
        "List the stored calibrations: when, which sensors, what was measured, which sessions they apply to.\n\n"
        "A calibration applies to the session it was measured in and to sessions recorded with the same sensors "
        f"at the same placements up to {StrapOnRule().max_age_h:g} h after it (one gym visit), until a newer "
        "calibration of those sensors; never to older sessions or imports unless named "
        "('imuform analyze SESSION --calibration ID')."
    ),
)
@json_option
@person_option
@click.pass_context
def calibrations(ctx: click.Context, as_json: bool) -> None:
    if ctx.invoked_subcommand is not None:
        return
    with open_store(ctx, for_person=True) as store:
        rows = store.calibrations()
        sessions = applies_to(store)
    if as_json:
        echo_json([_entry(c, sessions[c.id]) for c in rows])
        return
    if not rows:
        click.echo("No calibrations yet: 'imuform calibrate' measures one with your sensors on.")
        return
    table = Table(title=f"{len(rows)} calibration(s)")
    for col in ("id", "made", "session", "sensors", "measured", "applies to"):
        table.add_column(col, overflow="fold")
    for c in rows:
        strap_on = c.strap_on
        table.add_row(
            str(c.id),
            c.created_at.replace("T", " ")[:19],
            "–" if strap_on is None else strap_on.session_id,
            "–" if strap_on is None else "\n".join(f"{p} {a or '?'}" for p, a in strap_on.addresses.items()),
            "\n".join(_measured(c)),
            ", ".join(sessions[c.id]) or "–",
        )
    console().print(table)


@calibrations.command()
@click.argument("cal_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.pass_context
def delete(ctx: click.Context, cal_id: int, yes: bool) -> None:
    """Delete calibration ID; its session and samples stay, and analyses choose by the rule again."""
    with open_store(ctx) as store:
        store.stored_calibration(cal_id)  # says so when there is none, before asking
        if not yes and not click.confirm(f"Delete calibration #{cal_id}?", default=False):
            raise click.exceptions.Exit(1)
        store.delete_calibration(cal_id)
    click.echo(f"deleted calibration #{cal_id}")
