"""A session as files: `samples.csv` plus `session.json` (metadata, gaps, events, calibration)."""

from __future__ import annotations

import json
import math
import reprlib
from datetime import datetime
from pathlib import Path

import pandas as pd

from analysis.calibration import Calibration
from analysis.display import CsvPrecision
from analysis.flags import FLAGS
from analysis.session import SessionAnalysis
from imuform.errors import InputError
from imuform.io_csv import read_samples_csv, write_csv, write_samples_csv
from imuform.store import PLACEMENTS, Store
from imuform.units import CSV_UNITS, Units

SESSION_FORMAT = "imuform-session"
SESSION_FORMAT_VERSION = 1
SENSOR_FIELDS = ("placement", "kind", "model", "address", "rate_hz", "firmware")


def export_session(store: Store, ref: str, out_dir: str | Path) -> list[Path]:
    """Write a stored session's `samples.csv` and `session.json` into ``out_dir`` and return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = store.session(ref)
    calibration = store.calibration(info["id"])
    doc = {
        "format": SESSION_FORMAT,
        "version": SESSION_FORMAT_VERSION,
        "id": info["id"],
        "name": info["name"],
        "notes": info["notes"],
        "started_at": info["started_at"],
        "source": info["source"],
        "sensors": [{k: s[k] for k in SENSOR_FIELDS} for s in info["sensors"]],
        "gaps": info["gaps"],
        "events": info["events"],
        "calibration": None if calibration is None else calibration.to_dict(),
    }
    samples_path = write_samples_csv(store.samples(info["id"]), out / "samples.csv")
    session_path = out / "session.json"
    session_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [samples_path, session_path]


def export_analysis(
    analysis: SessionAnalysis, out_dir: str | Path, precision: CsvPrecision | None = None
) -> list[Path]:
    """Write a session's analysis into ``out_dir`` and return the paths.

    `angles.csv` (the angle series, lossless), `reps.csv` (one row per rep, flags joined by ``;``) and
    `sets.csv` (one row per set: one ``flagged_<flag>_reps`` column per flag, notes as one sentence each
    ended by "."). reps.csv and sets.csv are for people: their numbers are rounded to ``precision``
    (default `CsvPrecision()`).
    """
    precision = precision or CsvPrecision()
    out = Path(out_dir)
    return [
        write_csv(analysis.angles, out / "angles.csv"),
        write_csv(_rounded(analysis.reps, precision), out / "reps.csv"),
        write_csv(_rounded(plain_sets(analysis.sets), precision), out / "sets.csv"),
    ]


def plain_sets(sets: pd.DataFrame) -> pd.DataFrame:
    """The sets table with plain cells: the per-flag rep counts as columns, the notes as text."""
    plain = sets.drop(columns=["flag_counts", "notes"])
    for flag in FLAGS:
        plain[f"flagged_{flag}_reps"] = [int(counts.get(flag, 0)) for counts in sets["flag_counts"]]
    plain["notes"] = [" ".join(note.rstrip(".") + "." for note in notes) for notes in sets["notes"]]
    return plain


def _rounded(table: pd.DataFrame, precision: CsvPrecision) -> pd.DataFrame:
    """``table`` with its float columns rounded to their precision (and no "-0.0")."""
    out = table.copy()
    for name in table.columns:
        if table[name].dtype.kind == "f":
            out[name] = table[name].round(precision.decimals(name)) + 0.0  # + 0.0 turns -0.0 into 0.0
    return out


def _refuse(path: Path, field: str, problem: str, fix: str) -> InputError:
    return InputError(f"{path}, field {field}: {problem}; {fix}")


def _shown(value: object) -> str:
    """A JSON value as quoted in a message: short, on one line."""
    return reprlib.repr(value)


def _number(value: object) -> bool:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _objects(path: Path, doc: dict, key: str) -> list[dict]:
    """``doc[key]``: a list of objects (empty when absent)."""
    items = doc.get(key) or []
    if not isinstance(items, list):
        raise _refuse(
            path, key, f"{type(items).__name__}, not a list", f"give a list of objects or remove {_shown(key)}"
        )
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _refuse(path, f"{key}[{i}]", f"{_shown(item)} is not an object", "fix or remove it")
    return items


def _check_session_doc(path: Path, doc: dict, placements: set[str]) -> None:
    """Refuse a session.json whose fields would store a session that cannot be shown or analysed.

    ``placements`` are the sensors of the samples: the calibration must cover them.
    """
    for key in ("name", "notes"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise _refuse(path, key, f"{_shown(doc[key])} is not a string", "give text or remove it")
    started_at = doc.get("started_at")
    if started_at is not None:
        try:
            datetime.fromisoformat(started_at)
        except (TypeError, ValueError):
            raise _refuse(
                path,
                "started_at",
                f"{_shown(started_at)} is not an ISO 8601 time",
                'write it as "2026-03-01T18:30:00+00:00"',
            ) from None
    for i, sensor in enumerate(_objects(path, doc, "sensors")):
        if sensor.get("placement") not in PLACEMENTS:
            raise _refuse(
                path,
                f"sensors[{i}].placement",
                f"{_shown(sensor.get('placement'))} is no placement",
                f"use one of {', '.join(PLACEMENTS)}",
            )
        for key in ("kind", "model", "address", "firmware"):
            if sensor.get(key) is not None and not isinstance(sensor[key], str):
                raise _refuse(
                    path, f"sensors[{i}].{key}", f"{_shown(sensor[key])} is not a string", "give text or remove it"
                )
        rate_hz = sensor.get("rate_hz")
        if rate_hz is not None and not (_number(rate_hz) and rate_hz > 0):
            raise _refuse(
                path,
                f"sensors[{i}].rate_hz",
                f"{_shown(rate_hz)} is not a rate in Hz",
                "give a positive number or null",
            )
    for i, gap in enumerate(_objects(path, doc, "gaps")):
        start_s, end_s = gap.get("start_s"), gap.get("end_s")
        if gap.get("placement") not in PLACEMENTS:
            raise _refuse(
                path,
                f"gaps[{i}].placement",
                f"{_shown(gap.get('placement'))} is no placement",
                f"use one of {', '.join(PLACEMENTS)}",
            )
        if not (_number(start_s) and _number(end_s) and start_s <= end_s):
            raise _refuse(
                path,
                f"gaps[{i}]",
                f"start_s {_shown(start_s)} and end_s {_shown(end_s)} are not a time span",
                "give two numbers in s, start_s ≤ end_s",
            )
        if not isinstance(gap.get("reason", ""), str):
            raise _refuse(
                path, f"gaps[{i}].reason", f"{_shown(gap['reason'])} is not a string", "give text or remove it"
            )
    for i, event in enumerate(_objects(path, doc, "events")):
        if not _number(event.get("time_s")):
            raise _refuse(
                path, f"events[{i}].time_s", f"{_shown(event.get('time_s'))} is not a time", "give a number in s"
            )
        if not (isinstance(event.get("kind"), str) and event["kind"]):
            raise _refuse(
                path, f"events[{i}].kind", f"{_shown(event.get('kind'))} is not a name", 'give one, e.g. "set_start"'
            )
        if not isinstance(event.get("detail", {}), dict):
            raise _refuse(
                path,
                f"events[{i}].detail",
                f"{_shown(event['detail'])} is not an object",
                "give an object or remove it",
            )
    if doc.get("calibration"):
        try:
            missing = sorted(set(placements) - set(Calibration.from_dict(doc["calibration"]).sensors))
            if missing:
                raise ValueError(f"calibration.sensors: no {', '.join(missing)} sensor, which the session has")
        except ValueError as exc:
            field, _, problem = str(exc).partition(": ")
            raise _refuse(
                path, field, problem, 'fix it or remove "calibration" (the analysis then calibrates from the session)'
            ) from exc


def _read_session_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}, line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}); fix it or remove session.json"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format", SESSION_FORMAT) != SESSION_FORMAT:
        raise InputError(
            f'{path}: not an imuform session.json (expected "format": "{SESSION_FORMAT}"); remove it to import samples.csv alone'
        )
    version = doc.get("version", 1)
    if not (isinstance(version, int) and not isinstance(version, bool) and version >= 1):
        raise _refuse(path, "version", f"{_shown(version)} is not a format version", f"write {SESSION_FORMAT_VERSION}")
    if version > SESSION_FORMAT_VERSION:
        raise InputError(
            f"{path}: session.json version {doc['version']} is newer than this imuform reads; upgrade imuform"
        )
    return doc


def import_session(store: Store, path: str | Path, *, name: str | None = None, units: Units = CSV_UNITS) -> str:
    """Validate and store `samples.csv` (or a directory with it and an optional `session.json`).

    Nothing is written unless the whole input is valid. Returns the new session id.

    Parameters
    ----------
    store
        The store to import into.
    path
        The CSV file or its directory.
    name
        The session's name (default: session.json's, else the file's or directory's name).
    units
        The units of the CSV's time, acceleration and angular rate when they are not samples.csv's
        (`imuform.io_csv.read_samples_csv`).
    """
    path = Path(path)
    if path.is_dir():
        samples_path = path / "samples.csv"
        if not samples_path.is_file():
            raise InputError(f"{path}: the directory holds no samples.csv; point at the CSV file or its directory")
        meta_path = path / "session.json"
    else:
        samples_path = path
        meta_path = path.with_name("session.json")
    meta = _read_session_json(meta_path) if meta_path.is_file() else {}
    samples = read_samples_csv(samples_path, units)
    _check_session_doc(meta_path, meta, set(samples["sensor"]))
    sensors = {s["placement"]: s for s in meta.get("sensors") or []}
    return store.import_samples(
        samples,
        name=name
        if name is not None
        else meta.get("name", samples_path.parent.name if path.is_dir() else samples_path.stem),
        notes=meta.get("notes", ""),
        started_at=meta.get("started_at"),
        sensors=sensors,
        gaps=meta.get("gaps", []),
        events=meta.get("events", []),
        calibration=Calibration.from_dict(meta["calibration"]) if meta.get("calibration") else None,
    )
