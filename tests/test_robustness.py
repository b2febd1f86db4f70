"""Clumsy-user and attacker probes: one bad input never breaks the rest of the store or the CLI."""

from __future__ import annotations

import io
import json
import sys

import pytest

from analysis.calibration import calibrate_standing
from imuform.cli.main import main
from imuform.io_csv import write_samples_csv
from imuform.store import Store
from tests.conftest import make_samples


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def session_dir(tmp_path, **meta):
    """A directory with a samples.csv and a session.json holding ``meta``."""
    folder = tmp_path / "session"
    folder.mkdir()
    write_samples_csv(make_samples(), folder / "samples.csv")
    (folder / "session.json").write_text(json.dumps({"format": "imuform-session", "version": 1, **meta}))
    return folder


@pytest.mark.parametrize(
    "meta",
    [
        {"events": [{"kind": "x"}]},
        {"events": [{"time_s": 1.0, "kind": "set_start"}, {"time_s": "soon", "kind": "x"}]},
        {"gaps": [{"placement": "lumbar", "start_s": 1.0}]},
    ],
)
def test_failed_import_stores_nothing(capsys, home, tmp_path, meta):
    code, out, err = run(capsys, "import", str(session_dir(tmp_path, **meta)))
    assert code == 1 and err.count("\n") == 1 and out == ""
    with Store(home) as store:
        assert store.sessions() == []
        counts = [store.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("sensors", "sample_blocks")]
    assert counts == [0, 0]


def test_import_keeps_gaps_events_and_calibration(capsys, home, tmp_path):
    meta = {
        "gaps": [{"placement": "lumbar", "start_s": 1.0, "end_s": 2.0, "reason": "dropout"}],
        "events": [{"time_s": 0.5, "kind": "set_start", "detail": {"set": 1}}],
        "calibration": calibrate_standing(make_samples(), 0.5, 4.5).to_dict(),
    }
    code, out, _ = run(capsys, "import", str(session_dir(tmp_path, **meta)))
    assert code == 0
    with Store(home) as store:
        info = store.session(out.strip())
        assert info["gaps"] == meta["gaps"] and info["events"] == meta["events"]
        assert store.calibration(info["id"]).to_dict() == meta["calibration"]


def bad_date_store(home) -> tuple[str, str]:
    """A store with two analysed sessions, one of whose start time (stored before import checked it) is no date."""
    doc = {"sets": [{"exercise": "deadlift", "reps": [{"peak_lumbar_flexion_deg": 12.0, "duration_s": 3.0}]}]}
    with Store(home) as store:
        good = store.import_samples(make_samples(), name="good", started_at="2025-03-01T10:00:00+00:00")
        naive = store.import_samples(make_samples(), name="naive", started_at="2025-03-02 10:00")
        bad = store.import_samples(make_samples(), name="bad", started_at="not a date")
        for sid in (good, naive, bad):
            store.save_analysis(sid, doc)
    return good, bad


def test_a_bad_start_date_shows_as_unknown_and_breaks_nothing(capsys, home, tmp_path):
    from imuform.cli.dashboard import store_source

    good, bad = bad_date_store(home)
    source = store_source(str(home))
    assert len(source.history()) == 2  # the session without a date has no place on the time axis
    labels = {s["id"]: s["label"] for s in source.sessions()}
    assert labels[bad].startswith("unknown date") and labels[good].startswith("2025-03-01 10:00")
    code, out, _ = run(capsys, "sessions")
    assert code == 0 and "unknown date" in out and "2025-03-01 10:00:00" in out
    code, out, err = run(capsys, "report", good, "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    code, out, err = run(capsys, "report", bad, "--out", str(tmp_path / "bad.html"))
    assert code == 0, err
    assert "unknown date" in (tmp_path / "bad.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("text", ["[red]x[/blue]", "[/]", "[bold]unclosed", "[link=file:///etc/passwd]x"])
def test_user_text_with_rich_markup_is_printed_as_it_is(capsys, home, tmp_path, text):
    write_samples_csv(make_samples(), tmp_path / "samples.csv")
    code, out, _ = run(capsys, "import", str(tmp_path / "samples.csv"), "--name", text)
    sid = out.strip()
    with Store(home) as store:
        store.conn.execute("UPDATE sessions SET notes = ?, source = ? WHERE id = ?", (text, text, sid))
        store.conn.execute("UPDATE sensors SET model = ?, firmware = ?", (text, text))
    for args in (["sessions"], ["show", sid]):
        code, out, err = run(capsys, *args)
        assert code == 0, err
        assert text in out


POLAR_ACC = "020094357700000000807107F06A9E8D0A38BE5CBEBA2F96B3EE4BE5ADFB42B9EBBE4CFEBA2F92BFEE4BE4B1FB12B9EC"


@pytest.mark.parametrize(
    "args",
    [
        ["decode", "--sensor", "polar-pmd", "--rate-hz", "0", POLAR_ACC],
        ["decode", "--sensor", "polar-pmd", "--rate-hz", "nan", POLAR_ACC],
        ["decode", "--sensor", "polar-pmd", "--factor", "inf", POLAR_ACC],
        ["decode", "--sensor", "polar-pmd", "--factor", "-1", POLAR_ACC],
        ["decode", "--sensor", "foo", "00"],
        ["decode", "--sensor", "metawear", "--acc-range-g", "3", "00"],
        ["profile", "--flexion-limit", "25", "--flexion-limit-pct", "30"],
        ["profile", "--extension-limit", "inf"],
        ["record"],
        ["record", "--virtual", "deadlift", "--virtual-loss", "0.6"],
        ["record", "--virtual", "deadlift", "--virtual-loss", "nan"],
        ["record", "--virtual", "deadlift", "--duration", "5"],
        ["record", "--virtual", "deadlift", "--sensor", "lumbar=AA:BB:CC:DD:EE:FF"],
        ["record", "--sensor", "lumbar=hello"],
        ["record", "--sensor", "lumbar=AA:BB:CC:DD:EE:FF", "--sensor", "lumbar=AA:BB:CC:DD:EE:00"],
        ["live", "--sensor", "thoracic=12:34"],
        ["scan", "--timeout", "-1"],
        ["simulate", "--rate-hz", "0"],
        ["dashboard", "--poll-s", "nan"],
    ],
)
def test_usage_errors_exit_2_with_the_option_named(capsys, home, args):
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert out == "" and "Error:" in err and "Traceback" not in err


def test_decode_output_is_always_valid_json(capsys):
    code, out, _ = run(capsys, "decode", "--sensor", "polar-pmd", "--factor", "1e308", "--rate-hz", "52", POLAR_ACC)
    assert code == 0
    for line in out.splitlines():
        json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


def test_declining_delete_deletes_nothing_and_exits_1(capsys, home, monkeypatch):
    with Store(home) as store:
        sid = store.import_samples(make_samples(), name="keep me")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = run(capsys, "delete", sid)
    assert code == 1 and "nothing deleted" in err
    with Store(home) as store:
        assert [s["id"] for s in store.sessions()] == [sid]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adapters are looked up in Linux's sysfs")
def test_real_sensors_without_bluetooth_say_so(capsys, home, monkeypatch, tmp_path):
    from imuform import diagnostics

    monkeypatch.setattr(diagnostics, "BLUETOOTH_SYSFS", tmp_path / "no-such-dir")  # a machine without an adapter
    for args in (["record", "--sensor", "lumbar=AA:BB:CC:DD:EE:FF"], ["scan"]):
        code, _, err = run(capsys, *args)
        assert code == 1 and err.startswith("imuform: error: no Bluetooth adapter found") and err.count("\n") == 1
    code, out, _ = run(capsys, "doctor")
    assert "bluetooth  none" in out


def test_dashboard_beyond_this_computer_needs_allow_network(capsys, home):
    code, out, err = run(capsys, "dashboard", "--no-browser", "--host", "0.0.0.0")
    assert code == 2 and "--allow-network" in err and out == ""


def test_dashboard_with_a_token_refuses_requests_without_it(home):
    import threading
    import urllib.error
    import urllib.request

    from werkzeug.serving import make_server

    from dashboards.app import TOKEN_COOKIE, create_app
    from imuform.cli.dashboard import store_source

    with Store(home) as store:
        store.import_samples(make_samples(), name="private")
    server = make_server("127.0.0.1", 0, create_app(store_source(str(home)), token="s3cret").server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    def get(path: str, cookie: str | None = None):
        request = urllib.request.Request(base + path, headers={"Cookie": cookie} if cookie else {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    try:
        for path in ("/", "/_dash-layout", "/_dash-dependencies", "/?token=wrong"):
            assert get(path)[0] == 403, path
        assert get("/_dash-layout", cookie=f"{TOKEN_COOKIE}=wrong")[0] == 403
        status, headers, body = get("/?token=s3cret")
        assert status == 200 and b"imuform" in body
        cookie = headers["Set-Cookie"].split(";")[0]
        assert cookie == f"{TOKEN_COOKIE}=s3cret" and "HttpOnly" in headers["Set-Cookie"]
        status, _, body = get("/_dash-layout", cookie=cookie)  # the page's own requests carry the cookie
        assert status == 200 and b"session" in body
    finally:
        server.shutdown()


HEADER = "sensor,time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"
ROW = "lumbar,0.01,0.1,0.2,9.8,1,2,3"


@pytest.mark.parametrize(
    "data, place_and_fix",
    [
        (b"", "line 1: the file is empty; export"),
        (b"\n", "line 1: the file is empty; export"),
        ((HEADER + "\n" + ROW + "\n").encode("utf-16"), "line 1: UTF-16 text; save the file as UTF-8"),
        ((HEADER.upper() + "\n" + ROW + "\n").encode(), "line 1: samples.csv column names are lower-case; write"),
        ((HEADER + "\n" + ROW + "\n").replace(",", ";").encode(), "line 1: samples.csv cells are separated by commas"),
        (("time_s,sensor" + HEADER[13:] + "\n0.01," + ROW[:6] + ROW[11:] + "\n").encode(), "line 1: a samples.csv"),
        ((HEADER[7:] + "\n" + ROW[7:] + "\n").encode(), "line 1: a samples.csv header without column(s) sensor"),
        ((HEADER + "\n" + ROW + "\n" + ROW.replace("0.01", "0.02") + ",,\n").encode(), "line 3: 10 cells"),
        (bytes(range(256)) * 8, "line 1: not a format imuform knows"),
    ],
)
def test_a_refused_file_is_named_with_its_line_and_the_fix(capsys, home, tmp_path, data, place_and_fix):
    path = tmp_path / "samples.csv"
    path.write_bytes(data)
    code, _, err = run(capsys, "import", str(path))
    assert code == 1 and err.count("\n") == 1 and f"{path}, {place_and_fix}" in err, err
    with Store(home) as store:
        assert store.sessions() == []
