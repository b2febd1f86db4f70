"""Checks of the store and the machine, for `imuform doctor` and for the commands that need a radio."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from imuform.store import DB_NAME, damaged_blocks, has_sqlite_header, integrity_problems, is_ours

#: Packages whose versions `imuform doctor` reports.
PACKAGES = ("imuform", "numpy", "bleak", "bumble")
#: Where Linux lists its Bluetooth adapters (hci0, …).
BLUETOOTH_SYSFS = Path("/sys/class/bluetooth")
#: The D-Bus system bus through which bleak reaches BlueZ on Linux.
DBUS_SYSTEM_SOCKET = Path("/run/dbus/system_bus_socket")


@dataclass
class StoreHealth:
    """What SQLite's full ``integrity_check`` and the sample blocks' checksums say of a store, read without writing.

    Attributes
    ----------
    path
        The store file.
    state
        ``missing`` (no store yet), ``ok``, ``damaged``, ``foreign`` (an SQLite file that is not an imuform
        store) or ``not-sqlite``.
    problems
        What the integrity check found, or else the sample blocks that fail their checksum (at most 20 lines).
    size_bytes
        File size, WAL not included.
    sessions
        Number of sessions, when the store can be read.
    """

    path: Path
    state: str
    problems: list[str] = field(default_factory=list)
    size_bytes: int = 0
    sessions: int | None = None

    @property
    def needs_recovery(self) -> bool:
        """Whether the store is damaged and `imuform.store_recovery` may save parts of it."""
        return self.state == "damaged"


def store_health(home: Path) -> StoreHealth:
    """Check the store of ``home`` with SQLite's full ``integrity_check`` and the block checksums, read-only."""
    path = Path(home) / DB_NAME
    if not path.is_file() or path.stat().st_size == 0:
        return StoreHealth(path, "missing")
    size = path.stat().st_size
    if not has_sqlite_header(path):
        return StoreHealth(path, "not-sqlite", ["the file does not start with the SQLite header"], size)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            foreign = not is_ours(conn)
        except sqlite3.DatabaseError as exc:
            return StoreHealth(path, "damaged", [str(exc)], size)
        if foreign:
            return StoreHealth(path, "foreign", ["an SQLite database of another program"], size)
        problems = integrity_problems(conn, quick=False) or [
            f"{block.describe()} fail their checksum" for block in damaged_blocks(conn)
        ]
        if problems:
            return StoreHealth(path, "damaged", problems, size)
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
        return StoreHealth(path, "ok", [], size, sessions)
    finally:
        conn.close()


def disk_free_bytes(path: Path) -> int:
    """Free space on the disk that holds ``path`` (or its nearest existing parent), in bytes."""
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def package_versions() -> dict[str, str]:
    """Python's version and those of imuform and the packages it depends on most ("missing" if absent)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def bluetooth_adapters() -> list[str] | None:
    """The Bluetooth adapters Linux lists (e.g. ``["hci0"]``); ``None`` on other systems, where it is not checked."""
    if not sys.platform.startswith("linux"):
        return None
    return sorted(p.name for p in BLUETOOTH_SYSFS.iterdir()) if BLUETOOTH_SYSFS.is_dir() else []


def bluetooth_problem() -> str | None:
    """Why real sensors cannot be reached from here, or ``None`` when nothing is known to be missing."""
    adapters = bluetooth_adapters()
    if adapters is None:
        return None
    if not adapters:
        return "no Bluetooth adapter found (plug one in and switch it on)"
    if "DBUS_SYSTEM_BUS_ADDRESS" not in os.environ and not DBUS_SYSTEM_SOCKET.exists():
        return f"BlueZ is not reachable (no D-Bus system bus at {DBUS_SYSTEM_SOCKET}: start the bluetooth service)"
    return None
