"""Store safety on a real SQLite file: damaged, foreign and read-only stores, and `imuform doctor --recover`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess

import numpy as np
import pytest

from imuform.cli.main import main
from imuform.errors import ImuformError
from imuform.io_csv import write_samples_csv
from imuform.store import APPLICATION_ID, DB_NAME, MIGRATIONS, SCHEMA_VERSION, Store
from tests.conftest import make_samples


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def fill(home, sessions: int = 6) -> list[str]:
    """A store with a few sessions of small sample blocks, closed (checkpointed into the main file)."""
    with Store(home) as store:
        return [
            store.import_samples(make_samples(n=3000, seed=i), name=f"s{i}", block_size=256) for i in range(sessions)
        ]


def damage(path, fraction: float, n_bytes: int = 3000) -> None:
    """Overwrite bytes in the middle of a file, as a failing disk or a stray write would."""
    offset = int(path.stat().st_size * fraction)
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xab" * n_bytes)


def damage_sample_blocks(path) -> None:
    """Overwrite a middle leaf page of the sample blocks (where it lies depends on the schema, so look it up)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            p for (p,) in conn.execute("SELECT pageno FROM dbstat WHERE name = 'sample_blocks' AND pagetype = 'leaf'")
        ]
    conn.close()
    with path.open("r+b") as fh:
        fh.seek((pages[len(pages) // 2] - 1) * page_size + 100)
        fh.write(b"\xab" * 3000)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.9])
def test_damaged_store_is_refused_and_left_untouched(capsys, home, fraction):
    fill(home)
    path = home / DB_NAME
    damage(path, fraction)
    before = digest(path)
    for args in (["sessions"], ["analyze", "abc"], ["record", "--virtual", "deadlift", "--sets", "1", "--reps", "2"]):
        code, out, err = run(capsys, *args)
        assert code == 1, args
        assert err.count("\n") == 1 and str(path) in err and "imuform doctor" in err, err
    assert digest(path) == before and not (home / f"{DB_NAME}-wal").exists()


def test_foreign_database_is_never_migrated(capsys, home):
    home.mkdir()
    path = home / DB_NAME
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.execute("INSERT INTO contacts VALUES ('ada')")
    conn.commit()
    conn.close()
    before = digest(path)
    code, _, err = run(capsys, "sessions")
    assert code == 1 and err.count("\n") == 1
    assert f"{path} is not an imuform store (it holds contacts)" in err and "--home" in err
    code, out, err = run(capsys, "doctor", "--recover", "--json")
    assert code == 1 and json.loads(out)["store"]["state"] == "foreign" and "not an imuform store" in err
    assert digest(path) == before and sorted(p.name for p in home.iterdir()) == [DB_NAME]


def test_other_application_id_is_foreign_and_not_sqlite_is_refused(capsys, home):
    home.mkdir()
    path = home / DB_NAME
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 42")
    conn.execute("CREATE TABLE sessions (id TEXT)")  # our table names are no proof
    conn.commit()
    conn.close()
    code, _, err = run(capsys, "sessions")
    assert code == 1 and "is not an imuform store" in err
    path.write_bytes(b"name,age\nada,36\n" * 100)
    code, _, err = run(capsys, "sessions")
    assert code == 1 and f"{path} is not an SQLite file" in err and path.read_bytes().startswith(b"name,age")


def test_store_gets_application_id_and_an_older_store_without_one_is_still_ours(home):
    Store(home).close()
    path = home / DB_NAME
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.execute("PRAGMA application_id = 0")  # as written before application ids
    conn.close()
    with Store(home) as store:
        assert store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    old = home.parent / "old"
    old.mkdir()
    conn = sqlite3.connect(old / DB_NAME, isolation_level=None)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.close()
    with Store(old) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.fixture
def read_only(tmp_path):
    """Make paths read-only, for root too (the immutable attribute), and writable again afterwards."""
    paths = []

    def make(*targets):
        for path in targets:
            if os.geteuid() == 0:
                if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode:
                    pytest.skip("running as root without chattr +i: nothing is read-only to root")
            else:
                path.chmod(0o555 if path.is_dir() else 0o444)
            paths.append(path)

    yield make
    for path in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_read_only_store_gets_one_line_with_the_path_and_the_fix(capsys, home, tmp_path, read_only):
    fill(home, sessions=1)
    write_samples_csv(make_samples(), tmp_path / "samples.csv")
    read_only(home / DB_NAME, home)
    for args in (["sessions"], ["import", str(tmp_path / "samples.csv")]):
        code, _, err = run(capsys, *args)
        assert code == 1 and err.count("\n") == 1, err
        assert f"{home / DB_NAME} is read-only" in err and "chmod u+w" in err


def test_doctor_on_a_sound_store(capsys, home):
    fill(home, sessions=2)
    code, out, _ = run(capsys, "doctor", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["store"]["state"] == "ok" and doc["store"]["sessions"] == 2
    assert {"python", "numpy", "bleak", "bumble"} <= set(doc["versions"]) and doc["disk_free_bytes"] > 0
    adapters = doc["bluetooth"]["adapters"]
    assert adapters is None or isinstance(adapters, list)
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "ok, " in out and "bluetooth  " in out
    code, out, _ = run(capsys, "doctor", "--recover")
    assert code == 0 and "nothing to recover" in out


def test_doctor_without_a_store(capsys, home):
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "missing" in out and not (home / DB_NAME).exists()


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.9])
def test_doctor_recovers_what_it_can_and_says_what_was_lost(capsys, home, fraction):
    ids = fill(home)
    path = home / DB_NAME
    with Store(home) as store:
        blocks = {sid: store.session(sid)["sensors"] for sid in ids}
    damage(path, fraction)
    damaged_bytes = path.read_bytes()
    code, out, err = run(capsys, "doctor", "--json")
    assert code == 1 and json.loads(out)["store"]["state"] == "damaged" and "doctor --recover" in err
    code, out, err = run(capsys, "doctor", "--recover", "--json")
    assert code == 0, err
    doc = json.loads(out)
    recovery = doc["recovery"]
    assert doc["store"]["state"] == "ok"
    kept = [p for p in home.iterdir() if p.name.startswith(f"{DB_NAME}.damaged-")]
    assert [str(p) for p in kept] == [recovery["damaged_file"]] and kept[0].read_bytes() == damaged_bytes
    with Store(home) as store:
        recovered = {r["id"]: r["samples"] for r in store.sessions()}
        lost_blocks = recovery["blocks_lost"]
        for sid in ids:
            if sid in recovery["sessions_lost"]:
                assert sid not in recovered
                continue
            full = sum(s["samples"] for s in blocks[sid])
            assert (recovered[sid] == full) == (sid not in lost_blocks), sid
            assert recovered[sid] >= full - 256 * lost_blocks.get(sid, 0)
            store.samples(sid)  # every recovered block reads back
    assert len(recovered) + len(recovery["sessions_lost"]) == len(ids)
    assert lost_blocks or recovery["sessions_lost"] or not recovery["unattributed_loss"]
    run(capsys, "doctor", "--recover")
    code, out, _ = run(capsys, "sessions", "--json")
    assert code == 0 and len(json.loads(out)) == len(recovered)


def test_doctor_recover_text_names_the_losses(capsys, home):
    fill(home)
    damage_sample_blocks(home / DB_NAME)
    code, out, _ = run(capsys, "doctor", "--recover")
    assert code == 0
    assert "recovered 6 session(s)" in out and "the damaged file is kept as" in out
    assert "lost: session " in out and "sample block(s)" in out


def garbage_inside_a_block(path, session_id: str, sensor: str = "lumbar", n_bytes: int = 512) -> tuple[float, float]:
    """Overwrite bytes inside the acceleration array of a middle sample block of a sensor; return its time span.

    The pages stay sound, so SQLite's integrity check sees nothing: only the block's checksum can.
    """
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT b.acc, b.t0, b.t1 FROM sample_blocks b JOIN sensors x ON b.sensor_id = x.id"
        " WHERE x.session_id = ? AND x.placement = ? ORDER BY b.id",
        (session_id, sensor),
    ).fetchall()
    conn.close()
    data = path.read_bytes()
    for acc, t0, t1 in rows[len(rows) // 2 : -1]:
        for offset in range(0, len(acc) - n_bytes, n_bytes):
            at = data.find(acc[offset : offset + n_bytes])  # in one piece, not split across overflow pages
            if at >= 0:
                with path.open("r+b") as fh:
                    fh.seek(at)
                    fh.write(b"\xab" * n_bytes)
                return t0, t1
    raise AssertionError("no block lies in one piece in the file")


def test_garbage_inside_a_sample_block_is_caught_by_its_checksum_and_recovered(capsys, home):
    ids = fill(home, sessions=2)
    path = home / DB_NAME
    with Store(home) as store:
        full = store.session(ids[0])["sensors"][0]["samples"]
    t0, t1 = garbage_inside_a_block(path, ids[0])
    code, out, err = run(capsys, "sessions", "--json")
    assert code == 0 and len(json.loads(out)) == 2  # listing reads no sample block
    code, out, err = run(capsys, "analyze", ids[0])
    assert code == 1 and err.count("\n") == 1, err
    for part in (str(path), ids[0], "lumbar sensor", f"{t0:.2f}–{t1:.2f} s", "checksum", "imuform doctor --recover"):
        assert part in err, (part, err)
    assert run(capsys, "analyze", ids[1])[0] == 0  # the other session is sound
    code, out, err = run(capsys, "doctor")
    assert code == 1 and "damaged" in out and f"session {ids[0]}, lumbar sensor" in out and "checksum" in out
    code, out, err = run(capsys, "doctor", "--recover", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["store"]["state"] == "ok" and doc["recovery"]["blocks_lost"] == {ids[0]: 1}
    [span] = doc["recovery"]["lost_spans"]
    assert span["session"] == ids[0] and span["placement"] == "lumbar"
    assert span["after_s"] < t0 and t1 < span["before_s"] and span["before_s"] - span["after_s"] < t1 - t0 + 0.1
    with Store(home) as store:
        session = store.session(ids[0])
        assert session["sensors"][0]["samples"] == full - 256
        assert [(g["start_s"], g["end_s"]) for g in session["gaps"]] == [(span["after_s"], span["before_s"])]
        assert len(store.samples(ids[0])) == 2 * full - 256
    assert run(capsys, "analyze", ids[0])[0] == 0


def test_doctor_recover_text_says_what_time_span_was_lost(capsys, home):
    ids = fill(home, sessions=1)
    garbage_inside_a_block(home / DB_NAME, ids[0], sensor="thoracic")
    code, out, _ = run(capsys, "doctor", "--recover")
    assert code == 0 and f"lost: session {ids[0]}: 1 sample block(s) (thoracic samples between " in out


def test_blocks_of_a_store_older_than_checksums_get_one_and_negative_zero_times_read_back(home):
    samples = make_samples(n=600)
    samples.loc[0, "time_s"] = -0.0  # SQLite stores it as the integer 0 and reads back 0.0
    with Store(home) as store:
        sid = store.import_samples(samples, block_size=256)
        assert len(store.samples(sid)) == len(samples)
        # as version 3 left its blocks
        store.conn.executescript(
            f"ALTER TABLE sample_blocks DROP COLUMN crc32; PRAGMA user_version = {SCHEMA_VERSION - 1};"
        )
    with Store(home) as store:
        assert store.conn.execute("SELECT count(*) FROM sample_blocks WHERE crc32 IS NULL").fetchone()[0] == 0
        assert len(store.samples(sid)) == len(samples)


def test_retiming_a_damaged_block_changes_nothing(home):
    ids = fill(home, sessions=1)
    garbage_inside_a_block(home / DB_NAME, ids[0])
    with Store(home) as store:
        sensor = store.session(ids[0])["sensors"][0]
        before = store.conn.execute("SELECT id, t0, crc32 FROM sample_blocks ORDER BY id").fetchall()
        with pytest.raises(ImuformError, match=f"session {ids[0]}, lumbar sensor, samples .* fail their checksum"):
            store.retime_sensor(sensor["id"], np.arange(sensor["samples"]) / 50.0, [])
        assert store.conn.execute("SELECT id, t0, crc32 FROM sample_blocks ORDER BY id").fetchall() == before


def test_doctor_on_a_store_older_than_checksums_finds_it_sound(capsys, home):
    fill(home, sessions=1)
    conn = sqlite3.connect(home / DB_NAME, isolation_level=None)
    conn.executescript(f"ALTER TABLE sample_blocks DROP COLUMN crc32; PRAGMA user_version = {SCHEMA_VERSION - 1};")
    conn.close()
    code, out, _ = run(capsys, "doctor", "--json")
    assert code == 0 and json.loads(out)["store"]["state"] == "ok"
