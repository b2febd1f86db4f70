"""A session as files: `samples.csv` plus `session.json` (metadata, gaps, events, calibration)."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.session import SessionAnalysis
from imuform.errors import InputError
from imuform.io_csv import read_samples_csv, write_csv, write_samples_csv
from imuform.store import Store

SESSION_FORMAT = "imuform-session"
SESSION_FORMAT_VERSION = 1
SENSOR_FIELDS = ("placement", "kind", "model", "address", "rate_hz", "firmware")


def export_session(store: Store, ref: str, out_dir: str | Path, analysis: SessionAnalysis | None = None) -> list[Path]:
    """Write a stored session's files into ``out_dir`` and return their paths.

    Always `samples.csv` and `session.json`; with an ``analysis`` also `angles.csv` (the angle series),
    `reps.csv` (one row per rep, flags joined by ``;``) and `sets.csv` (one row per set).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = store.session(ref)
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
        "calibration": store.calibration(info["id"]),
    }
    samples_path = write_samples_csv(store.samples(info["id"]), out / "samples.csv")
    session_path = out / "session.json"
    session_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths = [samples_path, session_path]
    if analysis is not None:
        paths.append(write_csv(analysis.angles, out / "angles.csv"))
        paths.append(write_csv(analysis.reps, out / "reps.csv"))
        paths.append(write_csv(analysis.sets, out / "sets.csv"))
    return paths


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
    if doc.get("version", 1) > SESSION_FORMAT_VERSION:
        raise InputError(
            f"{path}: session.json version {doc['version']} is newer than this imuform reads; upgrade imuform"
        )
    return doc


def import_session(store: Store, path: str | Path, *, name: str | None = None) -> str:
    """Validate and store `samples.csv` (or a directory with it and an optional `session.json`).

    Nothing is written unless the whole input is valid. Returns the new session id.
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
    samples = read_samples_csv(samples_path)
    sensors = {s["placement"]: s for s in meta.get("sensors", []) if isinstance(s, dict) and "placement" in s}
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
        calibration=meta.get("calibration"),
    )
