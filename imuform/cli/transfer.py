"""`imuform import PATH` and `imuform export SESSION --out DIR`."""

from __future__ import annotations

import click

from imuform.cli.calibrations import calibration_option
from imuform.cli.common import echo_json, json_option, open_store
from imuform.errors import ImuformError
from imuform.session_analysis import run_analysis
from imuform.session_files import export_analysis, export_session, import_session
from imuform.units import QUANTITIES, Units, parse_units
from imuform.virtual_truth import recorded_truth


def _units(ctx: click.Context, param: click.Parameter, value: str | None) -> Units:
    try:
        return parse_units(value or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=True))
@click.option("--name", default=None, help="Session name (default: from session.json or the file name).")
@click.option(
    "--units",
    callback=_units,
    metavar="Q=UNIT,…",
    help="Units of the CSV when they are not s, m/s² and deg/s, converted on import, e.g. 'gyr=rad/s,time=ms,acc=g' ("
    + "; ".join(q.key + ": " + ", ".join(q.factors) for q in QUANTITIES.values())
    + ").",
)
@json_option
@click.pass_context
def import_(ctx: click.Context, path: str, name: str | None, units: Units, as_json: bool) -> None:
    """Import PATH, a samples.csv or a directory holding one (and session.json), as a new session.

    The CSV columns are sensor,time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z then optional mag_x..mag_z
    and quat_w..quat_z; time in s, acc in m/s², gyr in deg/s, mag in µT. Units are recognised from the
    data: a file that looks like ms, g or rad/s is refused with the fix, or converted with --units.
    The new session id is the last line of the output.
    """
    with open_store(ctx) as store:
        session_id = import_session(store, path, name=name, units=units)
    if as_json:
        echo_json({"session_id": session_id})
    else:
        click.echo(session_id)


@click.command()
@click.argument("session")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory to write into.")
@click.option("--no-analysis", is_flag=True, help="Write only samples.csv and session.json, without analysing.")
@calibration_option
@json_option
@click.pass_context
def export(
    ctx: click.Context, session: str, out_dir: str, no_analysis: bool, calibration: str | int, as_json: bool
) -> None:
    """Export SESSION (an id or a unique prefix) into DIR.

    Writes samples.csv and session.json, and, from the analysis, angles.csv (angle series), reps.csv
    (one row per rep with its metrics and flags) and sets.csv (one row per set). A session that cannot
    be analysed (for example one sensor only) is still exported, with a note on stderr. A recording of
    virtual sensors also gets the simulator's truth.json and truth_angles.csv, on the session's clock.
    """
    notes = []
    with open_store(ctx) as store:
        session_id = store.resolve(session)
        if isinstance(calibration, int):
            store.stored_calibration(calibration)  # a wrong id is the user's error, not a session without analysis
        # the samples first: they are written whatever becomes of the analysis
        paths = export_session(store, session_id, out_dir)
        if not no_analysis:
            try:
                analysis = run_analysis(store, session_id, show_progress=not as_json, calibration=calibration)
                paths += export_analysis(analysis, out_dir)
            except ImuformError as exc:
                notes.append(f"exported without analysis (no angles.csv, reps.csv, sets.csv): {exc}")
        try:
            truth = recorded_truth(store.session(session_id)["events"])
        except ImuformError as exc:
            truth = None
            notes.append(f"exported without truth.json: {exc}")
    if truth is not None:
        paths.extend(truth.write(out_dir))
    note = "; ".join(notes) or None
    if note:
        click.echo(f"imuform: {note}", err=True)
    if as_json:
        echo_json({"files": [str(p) for p in paths], "note": note})
    else:
        for p in paths:
            click.echo(str(p))
