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
        raise InputError(f"{path}: the file is empty; export the recording again")
    scored = [(fmt.detect(head), fmt) for fmt in formats()]
    match, best = max(scored, key=lambda pair: pair[0].score)
    if match.score >= ACCEPT_SCORE:
        return best
    raise InputError(
        f"{path}: not a format imuform knows; closest is {best.name} ({best.title}), but {match.differs}; "
        f"see `imuform import --format list`"
    )
