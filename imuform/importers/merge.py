"""Per-placement streams from several files turned into one samples table.

Each placement's streams (one file or one per stream) go onto the time base of its faster motion stream
(accelerometer or gyroscope) by linear interpolation, never across a gap of the other stream: rows where
either is missing are left out, not invented. Placements are put on one clock: a device clock they share
(DOTs synchronised by their app), else Unix time (wall-clock stamps); the alignment is checked by the
cross-correlation of their gyroscopes. Every refusal is one line naming the file and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from analysis.timebase import median_step_s, xcorr_offset_s
from imuform.errors import InputError
from imuform.importers.from_orientation import accelerometer_from_free_acc, gyroscope_from_orientation
from imuform.importers.streams import STREAM_NAMES, UNIX_CLOCK, SensorFile, Stream
from imuform.importers.text import rate_of
from imuform.sample_checks import check_samples
from imuform.store import PLACEMENTS, VECTOR_COLUMNS
from imuform.units import GRAVITY_MPS2


@dataclass(frozen=True)
class MergeSettings:
    """How streams are put together.

    Attributes
    ----------
    max_gap_steps
        A stream is interpolated between two of its samples only when they are at most this many of its
        median steps apart; wider is a gap, where no value is made up.
    min_gravity_g
        Smallest median acceleration magnitude of an accelerometer that includes gravity, in g: a worn
        sensor reads about 1 g; an app's "linear" acceleration, with gravity taken out, about 0.
    max_offset_s
        Largest clock offset between two sensors' gyroscopes, in s, that passes the alignment check
        unremarked.
    min_correlation
        Normalised gyroscope cross-correlation from which the offset found is trusted.
    """

    max_gap_steps: float = 2.0
    min_gravity_g: float = 0.3
    max_offset_s: float = 0.05
    min_correlation: float = 0.5


DEFAULT_MERGE = MergeSettings()


@dataclass(frozen=True)
class SensorInput:
    """One ``--sensor PLACEMENT=PATH``: what was read from the file."""

    placement: str
    file: SensorFile


@dataclass(frozen=True)
class AlignmentCheck:
    """The gyroscope cross-correlation of one sensor against the lumbar (or first) one.

    Attributes
    ----------
    placement, reference
        The sensor checked and the one it is checked against.
    offset_s
        How much later the sensor's movements appear than the reference's, in s (NaN: too little
        common motion).
    correlation
        Normalised cross-correlation at that offset.
    """

    placement: str
    reference: str
    offset_s: float
    correlation: float


@dataclass(frozen=True)
class MergedSamples:
    """The samples table of an import and what goes with it.

    Attributes
    ----------
    samples
        The long samples table (docs/architecture.md), time from the first sample of any sensor.
    sensors
        Per placement, the store's sensor metadata (kind, model, address, rate_hz, firmware).
    started_at
        ISO 8601 time of ``time_s`` 0 when the files give wall-clock time, else ``None``.
    clock
        Which clock the sensors were aligned on (`UNIX_CLOCK` or a device clock's name).
    checks
        The gyroscope cross-correlation checks.
    notes
        What was left out or looks off, one line each.
    """

    samples: pd.DataFrame
    sensors: dict[str, dict]
    started_at: str | None
    clock: str
    checks: list[AlignmentCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _names(streams: list[Stream]) -> str:
    return ", ".join(sorted({str(s.source) for s in streams}))


def _choose_clock(inputs: list[SensorInput]) -> str:
    """The clock every stream can be put on; refuse files that share none."""
    streams = [s for i in inputs for s in i.file.streams]
    labels = {s.clock for s in streams}
    if len(labels) == 1 and UNIX_CLOCK not in labels:
        return labels.pop()
    if all(s.unix_offset_s is not None for s in streams):
        return UNIX_CLOCK
    loose = next(s for s in streams if s.unix_offset_s is None)
    other = next(s for s in streams if s.clock != loose.clock)
    raise InputError(
        f"{loose.source}: its times are on the device's own clock, which {other.source} does not share, and it "
        f"gives no wall-clock start; import files recorded together (one app, synchronised sensors) or one sensor at a time"
    )


def _times(stream: Stream, clock: str) -> np.ndarray:
    return stream.unix_time_s() if clock == UNIX_CLOCK else stream.time_s


def _resample(
    base_s: np.ndarray, stream: Stream, times_s: np.ndarray, settings: MergeSettings
) -> tuple[np.ndarray, np.ndarray]:
    """``stream`` (at ``times_s``) interpolated to ``base_s``; and where that is a measurement, not a guess."""
    if len(times_s) == len(base_s) and np.array_equal(times_s, base_s):
        return stream.values, np.ones(len(base_s), dtype=bool)
    limit_s = settings.max_gap_steps * median_step_s(times_s)
    i = np.clip(np.searchsorted(times_s, base_s, side="right") - 1, 0, len(times_s) - 2)
    inside = (base_s >= times_s[i]) & (base_s <= times_s[i + 1]) & (times_s[i + 1] - times_s[i] <= limit_s)
    inside |= (base_s == times_s[i]) | (base_s == times_s[i + 1])  # a sample of its own, beside a gap
    values = stream.values
    if stream.kind == "quat":
        # q and −q are one orientation: flip to the sign nearest the previous before interpolating
        values = values.copy()
        flips = np.cumsum(np.einsum("ij,ij->i", values[1:], values[:-1]) < 0) % 2
        values[1:][flips == 1] *= -1
    out = np.column_stack([np.interp(base_s, times_s, values[:, k]) for k in range(values.shape[1])])
    if stream.kind == "quat":
        out /= np.linalg.norm(out, axis=1, keepdims=True)
    out[~inside] = np.nan
    return out, inside


def _one_of_each(placement: str, streams: list[Stream]) -> dict[str, Stream]:
    by_kind: dict[str, Stream] = {}
    for s in streams:
        if s.kind in by_kind:
            raise InputError(
                f"{s.source}: a second {STREAM_NAMES[s.kind]} for {placement} (the first is in "
                f"{by_kind[s.kind].source}); give each stream of a placement once"
            )
        by_kind[s.kind] = s
    return by_kind


def _refuse_missing(placement: str, files: list[SensorFile], by_kind: dict[str, Stream]) -> None:
    for kind in ("acc", "gyr"):
        if kind in by_kind:
            continue
        paths = _names([s for f in files for s in f.streams]) or "the files"
        hint = next((f.missing_hint[kind] for f in files if kind in f.missing_hint), "add a file that has it")
        held = " and ".join(STREAM_NAMES[k] for k in sorted(by_kind)) or "no motion stream"
        raise InputError(f"{paths}: {placement} has no {STREAM_NAMES[kind]} (the file holds {held}); {hint}")


def _with_gravity(
    placement: str, by_kind: dict[str, Stream], clock: str, files: list[SensorFile], settings: MergeSettings
) -> Stream:
    """The accelerometer stream, with an app's separate gravity added back; refuse one without gravity."""
    acc = by_kind["acc"]
    values = acc.values
    if "gravity" in by_kind:
        gravity = by_kind["gravity"]
        extra, ok = _resample(_times(acc, clock), gravity, _times(gravity, clock), settings)
        if not ok.any():
            raise InputError(
                f"{gravity.source}: its times do not overlap {acc.source}'s; give the Gravity file of the same recording"
            )
        keep = ok
        values = (acc.values + extra)[keep]
        acc = Stream("acc", acc.time_s[keep], values, acc.source, acc.lines[keep], acc.clock, acc.unix_offset_s)
    median_g = float(np.median(np.linalg.norm(values, axis=1))) / GRAVITY_MPS2
    if median_g < settings.min_gravity_g:
        hint = next((f.missing_hint["gravity"] for f in files if "gravity" in f.missing_hint), None)
        raise InputError(
            f"{acc.source}: {placement}'s accelerometer reads a median of {median_g:.2g} g, so gravity has been taken "
            f"out of it, which the analysis needs; {hint or 'export acceleration with gravity (the raw accelerometer)'}"
        )
    return acc


def _from_orientation(placement: str, by_kind: dict[str, Stream], clock: str, settings: MergeSettings) -> list[str]:
    """Add the accelerometer and gyroscope of a sensor that exports orientation and free acceleration
    instead (`imuform.importers.from_orientation`), in place; return a note saying so."""
    if "gyr" in by_kind or "quat" not in by_kind or not ({"acc", "free_acc"} & set(by_kind)):
        return []
    quat = by_kind["quat"]
    if "acc" not in by_kind:
        free = by_kind["free_acc"]
        quat_at, ok = _resample(_times(free, clock), quat, _times(quat, clock), settings)
        free = Stream(
            "free_acc", free.time_s[ok], free.values[ok], free.source, free.lines[ok], free.clock, free.unix_offset_s
        )
        by_kind["acc"] = accelerometer_from_free_acc(free, quat_at[ok])
    by_kind["gyr"] = gyroscope_from_orientation(quat, settings.max_gap_steps)
    return [
        f"{placement}: {quat.source.name} holds the sensor's orientation, not its raw inertial data: the gyroscope "
        f"is the rate of change of the orientation{' and the accelerometer the free acceleration plus gravity' if 'free_acc' in by_kind else ''}"
    ]


def _merge_placement(
    placement: str, files: list[SensorFile], clock: str, settings: MergeSettings
) -> tuple[pd.DataFrame, Stream, SensorFile, list[str]]:
    """One placement's streams on the time base of its faster motion stream: the table, its base stream, the
    file of that stream, and notes on samples left out."""
    streams = [s for f in files for s in f.streams]
    by_kind = _one_of_each(placement, streams)
    derived = _from_orientation(placement, by_kind, clock, settings)
    _refuse_missing(placement, files, by_kind)
    by_kind["acc"] = _with_gravity(placement, by_kind, clock, files, settings)
    acc, gyr = by_kind["acc"], by_kind["gyr"]
    base = acc if rate_of(acc.time_s) > rate_of(gyr.time_s) * 1.0001 else gyr
    base_s = _times(base, clock)
    columns: dict[str, np.ndarray] = {"time_s": base_s}
    keep = np.ones(len(base_s), dtype=bool)
    for kind in ("acc", "gyr", "mag", "quat"):
        if kind not in by_kind:
            continue
        values, ok = _resample(base_s, by_kind[kind], _times(by_kind[kind], clock), settings)
        if kind in ("acc", "gyr"):
            keep &= ok
        columns.update(zip(VECTOR_COLUMNS[kind], values.T, strict=True))
    if not keep.any():
        raise InputError(
            f"{acc.source}, {gyr.source}: {placement}'s accelerometer and gyroscope do not overlap in time "
            f"({_span(acc, clock)} and {_span(gyr, clock)}); give the files of one recording"
        )
    dropped = int((~keep).sum())
    notes = derived + (
        [
            f"{placement}: {dropped} of {len(keep)} samples of {base.source.name} left out: no "
            f"{'gyroscope' if base is acc else 'accelerometer'} sample around them"
        ]
        if dropped
        else []
    )
    table = pd.DataFrame({k: v[keep] for k, v in columns.items()})
    table.insert(0, "sensor", placement)
    # the index is the base file's line - 2, as check_samples reports lines from it
    table.index = base.lines[keep] - 2
    source = next(f for f in files if any(s.source == base.source for s in f.streams))
    return table, base, source, notes


def _span(stream: Stream, clock: str) -> str:
    t = _times(stream, clock)
    if clock == UNIX_CLOCK:
        fmt = [datetime.fromtimestamp(x, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") for x in (t[0], t[-1])]
        return f"{fmt[0]} to {fmt[1]}"
    return f"{t[0]:.3f} s to {t[-1]:.3f} s"


def merge_inputs(inputs: list[SensorInput], settings: MergeSettings = DEFAULT_MERGE) -> MergedSamples:
    """Merge what was read for each ``--sensor PLACEMENT=PATH`` into one checked samples table.

    Parameters
    ----------
    inputs
        What was read, in the order given; one placement can appear several times (one file per stream).
    settings
        How streams are put together.

    Returns
    -------
    MergedSamples

    Raises
    ------
    InputError
        One line: a missing stream and the file to add, files on unrelated clocks, streams or sensors that
        do not overlap, or what `imuform.sample_checks.check_samples` refuses in the merged table.
    """
    clock = _choose_clock(inputs)
    order = sorted({i.placement for i in inputs}, key=PLACEMENTS.index)
    tables, bases, sensors, notes = {}, {}, {}, []
    for placement in order:
        files = [i.file for i in inputs if i.placement == placement]
        table, base, source, left_out = _merge_placement(placement, files, clock, settings)
        notes.extend(left_out)
        tables[placement], bases[placement] = table, base
        meta = {
            "kind": source.format,
            "model": source.model,
            "address": source.address,
            "firmware": source.firmware,
            "rate_hz": source.rate_hz,
        }
        sensors[placement] = {k: v for k, v in meta.items() if v is not None}
        notes.extend(n for f in files for n in f.notes)
    starts = {p: t["time_s"].iloc[0] for p, t in tables.items()}
    ends = {p: t["time_s"].iloc[-1] for p, t in tables.items()}
    late, early = max(starts, key=starts.get), min(ends, key=ends.get)
    if starts[late] >= ends[early]:
        raise InputError(
            f"{bases[late].source}: {late} starts after {early} ends ({_span(bases[late], clock)}, and "
            f"{_span(bases[early], clock)} for {bases[early].source}); give files recorded at the same time"
        )
    t0 = min(starts.values())
    for placement, table in tables.items():
        table["time_s"] = table["time_s"] - t0
        check_samples(bases[placement].source, table)
    samples = pd.concat(tables.values(), ignore_index=True)
    for names in VECTOR_COLUMNS.values():
        present = [n for n in names if n in samples]
        if present and samples[present].isna().all().all():
            samples = samples.drop(columns=present)
    checks = _check_alignment(tables, settings)
    notes.extend(
        f"{c.placement}'s gyroscope moves {c.offset_s * 1000:+.0f} ms against {c.reference}'s (correlation "
        f"{c.correlation:.2f}): the files' clocks disagree; the analysis corrects such offsets"
        for c in checks
        if c.correlation >= settings.min_correlation and abs(c.offset_s) > settings.max_offset_s
    )
    # on a device clock, a file that says when it started (a DOT's synchronised start) dates the session
    offset_s = 0.0 if clock == UNIX_CLOCK else _unix_offset_s(inputs, clock)
    started_at = None if offset_s is None else datetime.fromtimestamp(t0 + offset_s, UTC).isoformat()
    return MergedSamples(samples, sensors, started_at, clock, checks, notes)


def _unix_offset_s(inputs: list[SensorInput], clock: str) -> float | None:
    """What to add to a time on device clock ``clock`` for Unix time, from the first stream that says, else None."""
    return next(
        (s.unix_offset_s for i in inputs for s in i.file.streams if s.clock == clock and s.unix_offset_s is not None),
        None,
    )


def _check_alignment(tables: dict[str, pd.DataFrame], settings: MergeSettings) -> list[AlignmentCheck]:
    """Each sensor's gyroscope cross-correlated with the first sensor's (lumbar when there is one)."""
    placements = list(tables)
    reference = placements[0]
    ref = tables[reference]
    gyr = list(VECTOR_COLUMNS["gyr"])
    checks = []
    for placement in placements[1:]:
        other = tables[placement]
        offset_s, correlation = xcorr_offset_s(
            ref["time_s"].to_numpy(), ref[gyr].to_numpy(), other["time_s"].to_numpy(), other[gyr].to_numpy()
        )
        checks.append(AlignmentCheck(placement, reference, offset_s, correlation))
    return checks
