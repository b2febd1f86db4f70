"""The formats imuform imports, each recognised from a file's content.

Each format module defines one `Format`: ``detect(head) -> Match`` scores how well a file's start fits it,
and ``read(path) -> SensorFile`` reads it. `detect_format` picks the best; a file no format fits is refused
with the closest one and what differed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imuform.errors import InputError
from imuform.importers.streams import ReadOptions, SensorFile
from imuform.importers.text import Head

#: A score at or above which a file is taken to be in a format.
ACCEPT_SCORE = 1.0


@dataclass(frozen=True)
class Match:
    """How well a file fits a format.

    Attributes
    ----------
    score
        The share of the format's marks the file has, 0 to 1 (1: all of them).
    differs
        The first mark the file lacks, in words ("" when it has them all).
    """

    score: float
    differs: str = ""


def marks(head: Head, checks: list[tuple[str, Callable[[Head], bool]]]) -> Match:
    """Score ``head`` by the share of ``checks`` (what is expected, in words; the test) it passes."""
    failed = [what for what, test in checks if not test(head)]
    return Match(1.0 - len(failed) / len(checks), f"expected {failed[0]}" if failed else "")


@dataclass(frozen=True)
class Format:
    """One importable format.

    Attributes
    ----------
    name
        Its name in ``--format``.
    title
        The app or device that writes it.
    units
        The units it comes in, as imported.
    needs
        What a complete import needs (which files or streams).
    example
        An example command.
    detect
        Scores a file's head (`Match`).
    read
        Reads a file into a `SensorFile` (`ReadOptions`: what the user says of files that do not say it).
    """

    name: str
    title: str
    units: str
    needs: str
    example: str
    detect: Callable[[Head], Match]
    read: Callable[[Path, ReadOptions], SensorFile]


def formats() -> tuple[Format, ...]:
    """Every format, in the order `imuform import --format list` shows them."""
    from imuform.importers import (
        metabase,
        movella_dot,
        phyphox,
        polar_sensor_logger,
        sensor_logger,
        shimmer,
        witmotion,
        xsens_mt,
    )

    return (
        movella_dot.FORMAT,
        xsens_mt.FORMAT,
        metabase.FORMAT,
        polar_sensor_logger.FORMAT,
        phyphox.FORMAT,
        sensor_logger.FORMAT,
        shimmer.FORMAT,
        witmotion.SD_FORMAT,
        witmotion.TEXT_FORMAT,
    )


def format_named(name: str) -> Format:
    """The format called ``name``; a `ValueError` naming the known ones otherwise."""
    for fmt in formats():
        if fmt.name == name:
            return fmt
    raise ValueError(f"unknown format {name!r}; use auto or one of {', '.join(f.name for f in formats())}")


def detect_format(path: Path) -> Format:
    """The format of ``path``, recognised from its content.

    Raises
    ------
    InputError
        When no format fits: names the closest format and what differed.
    """
    head = Head.of(path)
    if not head.data.strip():
        raise InputError(f"{path}, line 1: the file is empty; export the recording again")
    scored = [(fmt.detect(head), fmt) for fmt in formats()]
    match, best = max(scored, key=lambda pair: pair[0].score)
    if match.score >= ACCEPT_SCORE:
        return best
    # what decides the format is the file's start: the place of a mismatch is line 1
    if head.data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}, line 1: UTF-16 text; save the file as UTF-8 and import it again")
    if problem := _samples_csv_header_problem(head):
        raise InputError(f"{path}, line 1: {problem}")
    raise InputError(
        f"{path}, line 1: not a format imuform knows; closest is {best.name} ({best.title}), but {match.differs}; "
        f"see `imuform import --format list`"
    )


def _samples_csv_header_problem(head: Head) -> str:
    """What keeps a header made of samples.csv's column names from being one ('' when it is not such a header)."""
    from imuform.io_csv import ALL_COLUMNS, REQUIRED_COLUMNS  # pandas and polars: loaded on this error path only

    if not head.lines:
        return ""
    expected = f"'{','.join(REQUIRED_COLUMNS)}'"
    for separator in (",", ";", "\t"):
        cells = [c.strip().strip('"').strip() for c in head.lines[0].split(separator)]
        if len(cells) >= 3 and all(c.lower() in ALL_COLUMNS for c in cells):
            break
    else:
        return ""
    if separator != ",":
        return f"samples.csv cells are separated by commas, not {separator!r}; export it with commas"
    if any(c != c.lower() for c in cells):
        return f"samples.csv column names are lower-case; write the header as {expected}"
    missing = [c for c in REQUIRED_COLUMNS[:2] if c not in cells]
    if missing:
        return f"a samples.csv header without column(s) {', '.join(missing)}; it must start {expected}"
    return f"a samples.csv header must start with sensor,time_s (this one starts {','.join(cells[:2])}); start it {expected}"
