"""The command line: help everywhere, exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json

import click
import pytest

from imuform.cli.main import COMMANDS, LazyGroup, cli, main
from imuform.io_csv import write_samples_csv
from tests.conftest import make_samples


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_and_option_has_help():
    group = LazyGroup()
    ctx = click.Context(cli)
    for name in COMMANDS:
        cmd = group.get_command(ctx, name)
        assert cmd is not None and (cmd.help or "").strip(), f"{name} has no help text"
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert (param.help or "").strip(), f"{name} {param.opts} has no help text"


def test_help_lists_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name in ("sessions", "show", "import", "export", "delete", "demo"):
        assert name in out


def test_usage_error_exits_2(capsys):
    code, _, err = run(capsys, "no-such-command")
    assert code == 2 and "No such command" in err
    code, _, err = run(capsys, "export")
    assert code == 2


def test_runtime_error_is_one_line_exit_1(capsys, home):
    code, out, err = run(capsys, "show", "abc")
    assert code == 1
    assert err.strip().count("\n") == 0 and err.startswith("imuform: error: no session matches")
    assert "Traceback" not in err


def test_debug_shows_traceback(home):
    from imuform.errors import ImuformError

    with pytest.raises(ImuformError):
        main(["--debug", "show", "abc"])


def test_import_show_export_delete_roundtrip(capsys, home, tmp_path):
    write_samples_csv(make_samples(), tmp_path / "samples.csv")
    code, out, _ = run(capsys, "import", str(tmp_path / "samples.csv"), "--name", "bench")
    assert code == 0
    sid = out.strip().splitlines()[-1]
    code, out, _ = run(capsys, "sessions", "--json")
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [sid] and rows[0]["name"] == "bench" and rows[0]["samples"] == 1000
    code, out, _ = run(capsys, "show", sid[:5], "--json")
    assert json.loads(out)["sensors"][0]["placement"] == "lumbar"
    code, out, _ = run(capsys, "export", sid[:5], "--out", str(tmp_path / "out"), "--json")
    assert code == 0 and (tmp_path / "out" / "samples.csv").exists() and (tmp_path / "out" / "session.json").exists()
    code, out, _ = run(capsys, "import", str(tmp_path / "out"), "--json")
    assert code == 0 and len(json.loads(out)["session_id"]) == 12
    code, out, _ = run(capsys, "delete", sid, "--yes")
    assert code == 0 and sid in out


def test_bad_csv_via_cli(capsys, home, tmp_path):
    (tmp_path / "samples.csv").write_text("sensor,time_s\nlumbar,0\n")
    code, _, err = run(capsys, "import", str(tmp_path / "samples.csv"))
    assert code == 1 and "missing column(s) acc_x" in err and err.count("\n") == 1


def test_home_option_overrides_env(capsys, home, tmp_path):
    other = tmp_path / "other"
    write_samples_csv(make_samples(), tmp_path / "samples.csv")
    code, out, _ = run(capsys, "--home", str(other), "import", str(tmp_path / "samples.csv"))
    assert code == 0 and (other / "imuform.sqlite").exists()
    code, out, _ = run(capsys, "sessions", "--json")
    assert json.loads(out) == []
