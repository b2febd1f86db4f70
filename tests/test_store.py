"""The session store: a real SQLite file, incremental writes, SIGKILL safety, migrations."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from analysis.calibration import Calibration, RangeOfMotion
from imuform.errors import ImuformError
from imuform.session_analysis import StrapOnRule, applicable_calibration
from imuform.store import MIGRATIONS, SCHEMA_VERSION, Store, migrate
from tests.conftest import make_samples
from tests.test_calibration import OLD_GUIDED, simple_calibration


def test_store_is_wal_sqlite_in_home(home):
    store = Store()
    assert store.path == home / "imuform.sqlite"
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_import_and_read_back_is_exact(home):
    df = make_samples(mag=True, quat=True)
    store = Store()
    sid = store.import_samples(df, name="x", block_size=128)
    back = store.samples(sid)
    assert list(back.columns) == list(df.columns)
    assert (back["sensor"] == df["sensor"]).all()
    np.testing.assert_array_equal(back.drop(columns="sensor").to_numpy(), df.drop(columns="sensor").to_numpy())


def test_mixed_optional_columns_fill_nan(home):
    store = Store()
    sid = store.create_session("mixed")
    a = store.add_sensor(sid, "lumbar", kind="movella-dot", rate_hz=60)
    b = store.add_sensor(sid, "thoracic", kind="witmotion", rate_hz=50)
    t = np.arange(10) / 60
    with store.writer(sid) as w:
        w.add_samples(
            a, t, np.zeros((10, 3)), np.ones((10, 3)), quat_wxyz=np.tile([1.0, 0, 0, 0], (10, 1)), device_time_s=t + 5.0
        )
        w.add_samples(b, t, np.zeros((10, 3)), np.ones((10, 3)))
    df = store.samples(sid)
    assert {"quat_w", "device_time_s"} <= set(df.columns) and "mag_x" not in df.columns
    assert np.isnan(df.loc[df.sensor == "thoracic", "quat_w"]).all()
    np.testing.assert_allclose(df.loc[df.sensor == "lumbar", "device_time_s"], t + 5.0)


def test_one_sensor_s_samples_are_its_rows_of_the_whole_table(home):
    store = Store()
    sid = store.create_session("mixed")
    a = store.add_sensor(sid, "lumbar", kind="movella-dot", rate_hz=60)
    b = store.add_sensor(sid, "thoracic", kind="witmotion", rate_hz=50)
    t = np.arange(10) / 60
    with store.writer(sid) as w:
        w.add_samples(a, t, np.zeros((10, 3)), np.ones((10, 3)), device_time_s=t + 5.0)
        w.add_samples(b, t[:7], np.ones((7, 3)), np.zeros((7, 3)))
    whole = store.samples(sid)
    for placement in ("lumbar", "thoracic"):
        # the same columns as the whole table (device_time_s NaN for the sensor without it)
        expected = whole[whole["sensor"] == placement].reset_index(drop=True)
        pd.testing.assert_frame_equal(store.samples(sid, placement), expected, check_exact=True)
    assert store.samples(sid, "thigh").empty


def test_prefix_resolution_and_errors(home):
    store = Store()
    sid = store.create_session("a")
    assert store.resolve(sid[:4]) == sid
    assert store.resolve(sid.upper()) == sid
    with pytest.raises(ImuformError, match="no session matches"):
        store.resolve("zzzz")
    with pytest.raises(ImuformError, match="unknown placement"):
        store.add_sensor(sid, "neck")
    store.add_sensor(sid, "lumbar")
    with pytest.raises(ImuformError, match="already has a lumbar sensor"):
        store.add_sensor(sid, "lumbar")


def test_ambiguous_prefix(home):
    store = Store()
    ids = {store.create_session(str(i)) for i in range(40)}
    first = sorted(ids)[0]
    shared = [i for i in ids if i[0] == first[0]]
    if len(shared) > 1:
        with pytest.raises(ImuformError, match="matches"):
            store.resolve(first[0])


def test_gaps_events_raw_calibration_profile_analysis_and_delete(home):
    store = Store()
    sid = store.create_session("full", notes="n")
    sensor = store.add_sensor(sid, "lumbar", kind="imuform", address="AA:BB", rate_hz=100, firmware="1.2")
    with store.writer(sid) as w:
        w.add_raw(sensor, 0.01, b"\x01\x02")
        w.add_gap(sensor, 3.0, 6.0, "dropout")
        w.add_event(1.0, "set_start", {"set": 1})
    cal_id = store.save_calibration(sid, simple_calibration())
    store.save_profile({"profile": "flexion_intolerant"})
    store.save_analysis(sid, {"sets": []})
    info = store.session(sid)
    assert info["gaps"] == [{"placement": "lumbar", "start_s": 3.0, "end_s": 6.0, "reason": "dropout"}]
    assert info["events"][0]["detail"] == {"set": 1}
    assert list(store.raw_packets(sid)) == [("lumbar", 0.01, b"\x01\x02")]
    assert store.calibration(sid) == simple_calibration() and store.calibrations()[0].id == cal_id
    assert store.profile() == {"profile": "flexion_intolerant"}
    assert store.analysis(sid) == {"sets": []} and info["analysed"]
    store.delete(sid)
    assert store.sessions() == []
    assert store.conn.execute("SELECT count(*) FROM raw_packets").fetchone()[0] == 0
    assert store.calibrations() == []  # deleting the calibration session deletes its calibration


def test_migrations_from_every_version(tmp_path):
    for start in range(SCHEMA_VERSION):
        path = tmp_path / f"v{start}.sqlite"
        conn = sqlite3.connect(path, isolation_level=None)
        for i in range(start):
            conn.executescript(MIGRATIONS[i])
        conn.execute(f"PRAGMA user_version = {start}")
        assert migrate(conn) == start
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.close()


def test_migration_drops_the_person_s_own_copies_of_calibrations_and_keeps_the_rest(tmp_path):
    """Earlier versions kept each calibration twice, once with its session and once without one."""
    version = next(i for i, m in enumerate(MIGRATIONS) if "DELETE FROM calibrations" in m)
    conn = sqlite3.connect(tmp_path / "imuform.sqlite", isolation_level=None)
    for migration in MIGRATIONS[:version]:
        conn.executescript(migration)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO sessions (id, started_at) VALUES ('aaaaaaaaaaaa', '2026-01-01T10:00:00+00:00')")
    copy = json.dumps(OLD_GUIDED)
    orphan = json.dumps({**OLD_GUIDED, "range_of_motion": {"max_flexion_deg": 40.0, "max_extension_deg": 20.0}})
    for session_id, data in (("aaaaaaaaaaaa", copy), (None, copy), (None, orphan)):
        conn.execute(
            "INSERT INTO calibrations (session_id, created_at, data) VALUES (?, '2026-01-01T10:01:00+00:00', ?)",
            (session_id, data),
        )
    conn.close()
    with Store(tmp_path) as store:
        kept = store.calibrations()
        assert [c.strap_on.session_id if c.strap_on else None for c in kept] == [None, "aaaaaaaaaaaa"]
        assert kept[1].calibration == Calibration.from_dict(OLD_GUIDED)  # the old dict loads
        assert store.range_of_motion() == RangeOfMotion(40.0, 20.0)  # the orphan's, the newest measured
        # the session keeps its own copy; the orphan applies to no session unless named
        assert applicable_calibration(kept, store.strap_ons()["aaaaaaaaaaaa"]).id == kept[1].id


def test_calibrations_list_delete_and_the_newest_range_of_motion(home):
    store = Store()
    sid = store.create_session("calibration", source="calibration")
    first = store.save_calibration(sid, simple_calibration(RangeOfMotion(50.0, 20.0)))
    second = store.save_calibration(sid, simple_calibration())
    assert [c.id for c in store.calibrations()] == [second, first]
    assert store.range_of_motion() == RangeOfMotion(50.0, 20.0)  # the newest that measured one
    assert store.stored_calibration(first).calibration.range_of_motion == RangeOfMotion(50.0, 20.0)
    store.delete_calibration(first)
    assert [c.id for c in store.calibrations()] == [second] and store.range_of_motion() is None
    assert store.session(sid)["id"] == sid  # the session stays
    with pytest.raises(ImuformError, match=f"no calibration #{first}"):
        store.delete_calibration(first)
    with pytest.raises(ImuformError, match="no calibration #99"):
        store.stored_calibration(99)
    store.conn.execute('UPDATE calibrations SET data = \'{"method": "guided"}\'')
    with pytest.raises(ImuformError, match=f"calibration #{second} in the store cannot be read .*calibrations delete"):
        store.calibrations()


LUMBAR, THORACIC = "AA:00:00:00:00:01", "AA:00:00:00:00:02"


def _session(store: Store, at: str, source: str = "record", lumbar: str = LUMBAR, thoracic: str = THORACIC) -> str:
    sid = store.create_session(started_at=f"2026-03-01T{at}:00+00:00", source=source)
    store.add_sensor(sid, "lumbar", address=lumbar)
    store.add_sensor(sid, "thoracic", address=thoracic)
    return sid


def test_a_calibration_applies_to_later_sessions_of_the_same_strap_on_only(home):
    store = Store()
    before = _session(store, "09:00")
    morning = _session(store, "10:00", source="calibration")
    cal = store.save_calibration(morning, simple_calibration())
    later = _session(store, "10:30")
    other_sensors = _session(store, "10:40", thoracic="BB:00:00:00:00:02")
    imported = _session(store, "10:50", source="import")
    next_day = _session(store, "14:01")
    late_on = _session(store, "13:59")

    def applied(sid: str) -> int | None:
        found = applicable_calibration(store.calibrations(), store.strap_ons()[sid], StrapOnRule())
        return None if found is None else found.id

    assert applied(morning) == cal  # its own session
    assert applied(later) == cal and applied(late_on) == cal  # same sensors, within 4 h
    assert applied(before) is None  # never to older sessions
    assert applied(other_sensors) is None and applied(imported) is None and applied(next_day) is None
    assert applicable_calibration(store.calibrations(), store.strap_ons()[next_day], StrapOnRule(5.0)).id == cal
    # a newer calibration of these sensors takes over; one of other sensors does not
    noon = _session(store, "12:00", source="calibration")
    newer = store.save_calibration(noon, simple_calibration())
    elsewhere = _session(store, "12:10", source="calibration", lumbar="CC:00:00:00:00:01")
    store.save_calibration(elsewhere, simple_calibration())
    assert applied(late_on) == newer and applied(later) == cal
    # an imported session keeps the calibration that came with it
    own = store.save_calibration(imported, simple_calibration())
    assert applied(imported) == own


def test_newer_schema_is_refused(tmp_path):
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "imuform.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ImuformError, match="newer imuform"):
        Store(tmp_path)


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from imuform.store import Store
    store = Store(sys.argv[1])
    sid = store.create_session("killed")
    sensor = store.add_sensor(sid, "lumbar", rate_hz=100)
    print(sid, flush=True)
    w = store.writer(sid)
    k = 0
    while True:
        t = (k + np.arange(5)) / 100.0
        w.add_samples(sensor, t, np.zeros((5, 3)), np.zeros((5, 3)))
        w.add_raw(sensor, t[-1], bytes(20))
        k += 5
        print(k, flush=True)
        time.sleep(0.05)
    """
)


def test_sigkill_mid_recording_loses_at_most_a_second(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    sid = proc.stdout.readline().strip()
    deadline = time.monotonic() + 30
    written = 0
    while written < 200 and time.monotonic() < deadline:
        written = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(tmp_path)
    df = store.samples(sid)
    assert len(df) > 0
    assert written - len(df) <= 100, "more than one second of 100 Hz samples was lost"
    np.testing.assert_array_equal(df["time_s"].to_numpy(), np.arange(len(df)) / 100.0)
    assert abs(store.session(sid)["raw_packets"] - len(df) // 5) <= 1


def test_an_empty_recording_whose_recorder_was_killed_is_removed_on_the_next_open(tmp_path):
    """kill -9 while the sensors connect leaves a session row without samples; the next open removes it."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(tmp_path) as store:
        abandoned = store.create_session("killed", source="record")
        running = store.create_session("still connecting", source="record")
        recorded = store.import_samples(make_samples(), name="has samples")
        with store.writer(abandoned) as w:
            w.add_event(0.0, "recording", {"pid": dead.pid})
        with store.writer(running) as w:
            w.add_event(0.0, "recording", {"pid": os.getpid()})
        with store.writer(recorded) as w:
            w.add_event(0.0, "recording", {"pid": dead.pid})
    with Store(tmp_path) as store:
        assert {s["id"] for s in store.sessions()} == {running, recorded}


def test_two_processes_opening_a_new_store_at_once_both_succeed(tmp_path):
    """Both see schema version 0; the second to take the write lock finds the tables made and goes on."""
    code = "import sys; from imuform.store import Store; Store(sys.argv[1]).close(); print('ok')"
    for attempt in range(5):
        home = tmp_path / f"home{attempt}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        results = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
        with Store(home) as store:
            assert store.sessions() == []
