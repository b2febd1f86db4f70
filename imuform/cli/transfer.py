"""`imuform import PATH`, `imuform import --sensor PLACEMENT=PATH …` and `imuform export SESSION --out DIR`."""

from __future__ import annotations

from pathlib import Path

import click

from imuform.cli.calibrations import calibration_option
from imuform.cli.common import echo_json, json_option, open_store, person_option
from imuform.errors import ImuformError
from imuform.importers.importing import SAMPLES_CSV, import_sensors, is_samples_csv
from imuform.importers.registry import detect_format, format_named, formats
from imuform.importers.streams import ReadOptions
from imuform.person_export import EXPORT_FORMATS, person_tables, write_person_tables
from imuform.session_analysis import run_analysis
from imuform.session_files import export_analysis, export_session, import_session
from imuform.store import PLACEMENTS
from imuform.store_people import person_by_id
from imuform.units import CSV_UNITS, QUANTITIES, Units, parse_units


def _units(ctx: click.Context, param: click.Parameter, value: str | None) -> Units:
    try:
        return parse_units(value or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _sensor_specs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, Path]]:
    specs = []
    for text in values:
        placement, sep, path = (part.strip() for part in text.partition("="))
        if not sep or not path:
            raise click.BadParameter(f"{text!r}: write PLACEMENT=PATH, e.g. --sensor lumbar=Pelvis_20240101.csv")
        if placement not in PLACEMENTS:
            raise click.BadParameter(f"{text!r}: placement must be one of {', '.join(PLACEMENTS)}")
        if not Path(path).exists():
            raise click.BadParameter(f"{text!r}: no such file or folder {path}")
        specs.append((placement, Path(path)))
    return specs


def _format_choice(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value not in ("auto", "list", SAMPLES_CSV):
        try:
            format_named(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value


def _echo_formats(as_json: bool) -> None:
    rows = [
        {
            "name": SAMPLES_CSV,
            "title": "imuform samples.csv (or a session folder)",
            "units": "s, m/s², deg/s, µT",
            "needs": "sensor,time_s,acc_*,gyr_* columns (see the README)",
            "example": "imuform import session/",
        },
        *(
            {"name": f.name, "title": f.title, "units": f.units, "needs": f.needs, "example": f.example}
            for f in formats()
        ),
    ]
    if as_json:
        echo_json({"formats": rows})
        return
    for row in rows:
        click.echo(f"{row['name']}: {row['title']}")
        click.echo(f"    units: {row['units']}")
        click.echo(f"    needs: {row['needs']}")
        click.echo(f"    e.g.:  {row['example']}")


@click.command("import")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=True))
@click.option(
    "--sensor",
    "sensors",
    multiple=True,
    callback=_sensor_specs,
    metavar="PLACEMENT=PATH",
    help="A vendor or app export and where the sensor was worn; give a placement twice for one file per stream.",
)
@click.option(
    "--format",
    "format_name",
    default="auto",
    show_default=True,
    callback=_format_choice,
    help="The files' format (default: recognised from each file's content); 'list' names every format.",
)
@click.option("--name", default=None, help="Session name (default: from session.json or the file name).")
@click.option(
    "--units",
    callback=_units,
    metavar="Q=UNIT,…",
    help="Units of a samples.csv when they are not s, m/s² and deg/s, converted on import, e.g. 'gyr=rad/s,time=ms,acc=g' ("
    + "; ".join(q.key + ": " + ", ".join(q.factors) for q in QUANTITIES.values())
    + ").",
)
@click.option(
    "--rate-hz", type=float, default=None, help="Output rate of files without time stamps (WitMotion SD logs)."
)
@json_option
@person_option
@click.pass_context
def import_(
    ctx: click.Context,
    path: str | None,
    sensors: list[tuple[str, Path]],
    format_name: str,
    name: str | None,
    units: Units,
    rate_hz: float | None,
    as_json: bool,
) -> None:
    """Import PATH, a samples.csv or a session folder, or the exports given with --sensor, as a new session.

    samples.csv columns are sensor,time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z then optional mag_x..mag_z
    and quat_w..quat_z; time in s, acc in m/s², gyr in deg/s, mag in µT. Units are recognised from the
    data: a file that looks like ms, g or rad/s is refused with the fix, or converted with --units.

    Vendor and app exports (Movella DOT, Xsens MT Manager, MetaBase, Polar Sensor Logger, phyphox, Sensor
    Logger, Shimmer, WitMotion) are given as --sensor PLACEMENT=PATH, each recognised from its content;
    --format list names them with their units and what each needs. The new session id is the last line.
    """
    if format_name == "list":
        _echo_formats(as_json)
        return
    if path is not None and sensors:
        raise click.UsageError("give PATH (a samples.csv or session folder) or --sensor PLACEMENT=PATH, not both")
    if path is None and not sensors:
        raise click.UsageError("give PATH (a samples.csv or session folder) or --sensor PLACEMENT=PATH for each export")
    if sensors and units != CSV_UNITS:
        raise click.UsageError(
            "--units converts a samples.csv; exports given with --sensor are read in the units they name"
        )
    if rate_hz is not None and not rate_hz > 0:
        raise click.BadParameter("must be a positive rate in Hz", param_hint="--rate-hz")
    notes: list[str] = []
    with open_store(ctx, for_person=True) as store:
        if path is not None:
            if format_name not in ("auto", SAMPLES_CSV) or not is_samples_csv(Path(path)):
                fmt = format_named(format_name) if format_name != "auto" else detect_format(Path(path))
                raise click.UsageError(
                    f"{path} is a {fmt.title} file, one sensor's: say where it was worn, "
                    f"e.g. imuform import --sensor lumbar={path}"
                )
            session_id = import_session(store, path, name=name, units=units)
        else:
            result = import_sensors(
                store,
                sensors,
                format_name="auto" if format_name == SAMPLES_CSV else format_name,
                name=name,
                options=ReadOptions(rate_hz=rate_hz),
            )
            session_id, notes = result.session_id, result.notes
    for note in notes:
        click.echo(f"imuform: {note}", err=True)
    if as_json:
        echo_json({"session_id": session_id, "notes": notes})
    else:
        click.echo(session_id)


@click.command()
@click.argument("session", metavar="SESSION|OUT")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Directory to write SESSION into.")
@click.option("--no-analysis", is_flag=True, help="Write only samples.csv and session.json, without analysing.")
@click.option(
    "--format",
    "person_format",
    type=click.Choice(EXPORT_FORMATS),
    help="Write all of a person's sets and reps (sets.FORMAT, reps.FORMAT) into the directory OUT instead.",
)
@calibration_option
@json_option
@person_option
@click.pass_context
def export(
    ctx: click.Context,
    session: str,
    out_dir: str | None,
    no_analysis: bool,
    person_format: str | None,
    calibration: str | int,
    as_json: bool,
) -> None:
    """Export SESSION (an id or a unique prefix) into --out DIR, or with --format all of a person's sets and reps.

    Writes samples.csv and session.json, and, from the analysis, angles.csv (angle series), reps.csv
    (one row per rep with its metrics and flags) and sets.csv (one row per set). A session that cannot
    be analysed (for example one sensor only) is still exported, with a note on stderr. A recording of
    virtual sensors also gets the simulator's truth.json and truth_angles.csv, on the session's clock.

    'imuform export --person NAME --format csv|parquet OUT' writes sets and reps of every session of theirs
    into OUT, one row per set and per rep, with the load and effort; pandas and DuckDB read the Parquet as is.
    """
    if person_format is not None:
        if out_dir is not None or no_analysis:
            raise click.UsageError("with --format, give OUT as the argument, without --out or --no-analysis")
        _export_person(ctx, Path(session), person_format, as_json)
        return
    if out_dir is None:
        raise click.UsageError("give --out DIR to export SESSION, or --format csv|parquet OUT for a person's sets")
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
        # the simulator (scipy.signal, scipy.stats: ≈ 70 MB and 0.5 s) loads only for an export, not an import
        from imuform.virtual_truth import recorded_truth

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


def _export_person(ctx: click.Context, out: Path, fmt: str, as_json: bool) -> None:
    """`imuform export --person NAME --format FORMAT OUT`."""
    with open_store(ctx, for_person=True) as store:
        person = person_by_id(store, store.acting_person_id())
        sets, reps = person_tables(store, person.id)
    paths = write_person_tables(sets, reps, out, fmt)
    if as_json:
        echo_json({"person": person.name, "sets": len(sets), "reps": len(reps), "files": [str(p) for p in paths]})
        return
    click.echo(f"{person.name}: {len(sets)} set(s), {len(reps)} rep(s)")
    for p in paths:
        click.echo(str(p))
