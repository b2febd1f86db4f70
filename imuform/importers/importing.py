"""``imuform import --sensor PLACEMENT=PATH …``: read each file in its format, merge, check, store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imuform.errors import InputError
from imuform.importers.merge import DEFAULT_MERGE, MergedSamples, MergeSettings, SensorInput, merge_inputs
from imuform.importers.registry import ACCEPT_SCORE, Format, detect_format, format_named, formats
from imuform.importers.streams import DEFAULT_OPTIONS, ReadOptions
from imuform.importers.text import Head
from imuform.store import Store

#: imuform's own exchange format in ``--format``.
SAMPLES_CSV = "samples-csv"


def is_samples_csv(path: Path) -> bool:
    """Whether ``path`` is imuform's own: a folder with samples.csv, or a CSV whose header starts with sensor."""
    if path.is_dir():
        return (path / "samples.csv").is_file()
    head = Head.of(path)
    return bool(head.lines) and head.lines[0].replace('"', "").replace(" ", "").startswith("sensor,time_s")


@dataclass(frozen=True)
class ImportResult:
    """A stored import: the session id, the merged samples and the notes to show."""

    session_id: str
    merged: MergedSamples
    notes: list[str] = field(default_factory=list)


def _folder_files(folder: Path, fmt: Format | None) -> list[tuple[Path, Format]]:
    """The files directly in ``folder`` that are in a known format (``fmt`` when given)."""
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        head = Head.of(path)
        for candidate in [fmt] if fmt else formats():
            if candidate.detect(head).score >= ACCEPT_SCORE:
                found.append((path, candidate))
                break
    if not found:
        raise InputError(
            f"{folder}: the folder holds no file in a format imuform knows; point at the files "
            f"(see `imuform import --format list`)"
        )
    return found


def read_inputs(
    specs: list[tuple[str, Path]], format_name: str = "auto", options: ReadOptions = DEFAULT_OPTIONS
) -> list[SensorInput]:
    """Read every ``(placement, path)``; a folder stands for the files in it that are in a known format.

    Raises
    ------
    InputError
        A file no format fits (the closest format and what differed), or the first problem in a file.
    """
    fmt = None if format_name == "auto" else format_named(format_name)
    inputs = []
    for placement, path in specs:
        path = Path(path)
        if path.is_dir():
            pairs = _folder_files(path, fmt)
        else:
            pairs = [(path, fmt or detect_format(path))]
        for file, file_format in pairs:
            inputs.append(SensorInput(placement, file_format.read(file, options)))
    return inputs


def import_sensors(
    store: Store,
    specs: list[tuple[str, Path]],
    *,
    format_name: str = "auto",
    name: str | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
    settings: MergeSettings = DEFAULT_MERGE,
) -> ImportResult:
    """Read, merge, check and store the files of ``specs`` as one new session (nothing stored on a refusal).

    Parameters
    ----------
    store
        The store.
    specs
        ``(placement, path)`` pairs as given by ``--sensor``; a placement given twice merges its streams.
    format_name
        ``auto`` (recognise each file) or a format's name.
    name
        The session's name (default: the first file's name).
    options, settings
        What the user says of files that do not say it; how streams are merged.
    """
    merged = merge_inputs(read_inputs(specs, format_name, options), settings)
    session_id = store.import_samples(
        merged.samples,
        name=name if name is not None else Path(specs[0][1]).stem,
        started_at=merged.started_at,
        sensors=merged.sensors,
        source="import",
    )
    return ImportResult(session_id, merged, merged.notes)
