"""What a format reader delivers: the streams of one sensor's file, in imuform's units, on a named clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: How each stream kind is named in messages.
STREAM_NAMES = {
    "acc": "accelerometer",
    "gyr": "gyroscope",
    "mag": "magnetometer",
    "quat": "orientation",
    "gravity": "gravity",
}
#: The clock of files stamped with Unix time (s since 1970-01-01 UTC).
UNIX_CLOCK = "unix"


@dataclass(frozen=True)
class Stream:
    """One measured quantity of one sensor, as read from a file.

    Attributes
    ----------
    kind
        ``acc`` (m/s², sensor frame, with gravity), ``gyr`` (deg/s), ``mag`` (µT) or ``quat``
        (``q_world_sensor``, w x y z), or ``gravity`` (m/s², sensor frame: the part of the acceleration a
        phone app took out of its ``acc``, added back on merging), or ``free_acc`` (m/s², world frame z up,
        gravity taken out: a fusing sensor's acceleration, turned back into the sensor frame with its
        orientation on merging).
    time_s
        Sample times on ``clock``, in s, increasing.
    values
        ``(n, 3)`` or ``(n, 4)`` values in the units above.
    source
        The file the stream came from.
    lines
        The file line (1-based) of each sample, for messages.
    clock
        Which clock ``time_s`` is on: `UNIX_CLOCK`, or a name for a device's own clock; streams on the
        same clock can be put side by side as they are.
    unix_offset_s
        Add it to ``time_s`` to get Unix time, when the file says when it started; ``None`` otherwise.
    """

    kind: str
    time_s: np.ndarray
    values: np.ndarray
    source: Path
    lines: np.ndarray
    clock: str
    unix_offset_s: float | None = None

    def unix_time_s(self) -> np.ndarray | None:
        """The sample times as Unix time in s, or ``None`` when the file does not tell."""
        return None if self.unix_offset_s is None else self.time_s + self.unix_offset_s


@dataclass(frozen=True)
class SensorFile:
    """What a format reader found in one file.

    Attributes
    ----------
    format
        The format's name (`imuform.importers.registry.Format.name`).
    streams
        The file's streams (one file can hold several).
    rate_hz
        The output rate the file states (header, metadata or file name), ``None`` when it states none.
    model, firmware, address
        The device, as far as the file names it.
    notes
        What was read but left out, and why (e.g. a magnetometer in arbitrary units).
    missing_hint
        How to get what this file lacks, e.g. the companion file of a one-stream-per-file app.
    """

    format: str
    streams: tuple[Stream, ...]
    rate_hz: float | None = None
    model: str | None = None
    firmware: str | None = None
    address: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    missing_hint: dict[str, str] = field(default_factory=dict)

    def kinds(self) -> set[str]:
        """The stream kinds the file holds."""
        return {s.kind for s in self.streams}


@dataclass(frozen=True)
class ReadOptions:
    """What the user says about files that do not say it themselves.

    Attributes
    ----------
    rate_hz
        The output rate the sensor was set to, in Hz, for files without time stamps (WitMotion SD logs
        without time packets); ``None`` when not given.
    """

    rate_hz: float | None = None


DEFAULT_OPTIONS = ReadOptions()
