"""The `imuform` command line.

Subcommands live in their own modules and are imported only when run, so `imuform --help` starts fast.
Exit codes: 0 success, 2 usage error, 1 runtime failure (one line on stderr; `--debug` shows the
traceback).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import NoReturn

import click

from imuform.allocator import reuse_freed_memory
from imuform.errors import ImuformError

#: name -> (module, function, one-line help). Each module defines a click command.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "sessions": ("imuform.cli.sessions", "sessions", "List stored sessions."),
    "show": ("imuform.cli.sessions", "show", "Show one session: sensors, sample counts, gaps and events."),
    "delete": ("imuform.cli.sessions", "delete", "Delete a session and all its data."),
    "import": (
        "imuform.cli.transfer",
        "import_",
        "Import a samples.csv or session folder, or other apps' exports (--sensor PLACEMENT=PATH), as a new session.",
    ),
    "export": (
        "imuform.cli.transfer",
        "export",
        "Export a session as samples.csv and session.json (and analysis CSVs).",
    ),
    "demo": (
        "imuform.cli.demo",
        "demo",
        "The no-hardware demo: virtual sensors over a virtual BLE radio, recorded, analysed, reported.",
    ),
    "record": ("imuform.cli.record", "record_cmd", "Record BLE sensors (or --virtual ones) into a new session."),
    "scan": ("imuform.cli.scan", "scan", "List supported BLE sensors nearby (--virtual: the virtual radio)."),
    "calibrate": ("imuform.cli.calibrate", "calibrate_cmd", "Guided calibration of your neutral posture (and range)."),
    "calibrations": (
        "imuform.cli.calibrations",
        "calibrations",
        "List stored calibrations and the sessions they apply to; 'calibrations delete ID' deletes one.",
    ),
    "live": ("imuform.cli.live", "live", "Follow a set live: lumbar angle, reps, peaks, and a cue past your limit."),
    "simulate": (
        "imuform.cli.simulate",
        "simulate",
        "Simulate a gym session with ground truth (samples.csv, truth.json).",
    ),
    "doctor": (
        "imuform.cli.doctor",
        "doctor",
        "Check the store, disk, packages and Bluetooth; --recover salvages a damaged store.",
    ),
    "decode": ("imuform.cli.decode", "decode", "Decode captured sensor notification payloads (hex) to JSON lines."),
    "analyze": ("imuform.cli.analyze", "analyze", "Find sets and reps of a session, with per-rep metrics and flags."),
    "profile": ("imuform.cli.profile", "profile", "Show or set your personal limits (flexion, extension)."),
    "annotate": (
        "imuform.cli.annotate",
        "annotate",
        "Say what a recorded set was: exercise, load (kg or lb) and effort (RPE, RIR).",
    ),
    "import-log": (
        "imuform.cli.import_log",
        "import_log",
        "Label recorded sets from a Strong or Hevy CSV log (exercise, load, RPE), matched by time and reps.",
    ),
    "people": ("imuform.cli.people", "people", "List the people of the store; 'people add NAME', 'people rename'."),
    "progress": (
        "imuform.cli.progress",
        "progress",
        "Your progress over weeks: form against load, where it breaks, trends, flagged reps, range of motion.",
    ),
    "reference": (
        "imuform.cli.reference",
        "reference",
        "Your reference reps per exercise: 'reference add SESSION --set N', list, remove, propose.",
    ),
    "report": ("imuform.cli.report", "report", "Write a session as one offline HTML report (and PNG images)."),
    "dashboard": (
        "imuform.cli.dashboard",
        "dashboard",
        "Browse sessions and follow a recording live in a local web app.",
    ),
}


#: One-shot commands that allocate session-long arrays over and over: they keep freed memory for reuse
#: (`imuform.allocator`).
BATCH_COMMANDS = {"analyze", "demo", "export", "import", "report", "simulate"}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="IMUFORM_HOME",
    help="Data directory holding the session store (default: the per-user data directory; env IMUFORM_HOME).",
)
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.version_option(package_name="imuform")
@click.pass_context
def cli(ctx: click.Context, home: str | None, debug: bool) -> None:
    """imuform: spine form tracking for hinge exercises with wearable IMUs.

    Two sensors, one on the sacrum (lumbar) and one on the thoracic spine, measure lumbar flexion and
    the hip hinge; imuform finds sets and reps and flags lumbar flexion, lockout hyperextension,
    overarching, flexion drift and asymmetry against your personal limits.
    """
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    ctx.obj["debug"] = debug
    if ctx.invoked_subcommand in BATCH_COMMANDS:
        reuse_freed_memory()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # without standalone mode click returns the code of a `click.exceptions.Exit` instead of raising it
        code = cli.main(args=argv, prog_name="imuform", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("imuform: aborted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ImuformError as exc:
        if debug:
            raise
        click.echo(f"imuform: error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("imuform: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback without --debug
        if debug:
            raise
        click.echo(f"imuform: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        return 1
    return code if type(code) is int else 0


def leave(code: int) -> NoReturn:
    """End the process with ``code`` once a command is done: stdout and stderr flushed, then ``os._exit``.

    Tearing the interpreter down with numpy and pandas loaded takes 70–100 ms (module by module), after the
    command has done all it does: its stores are closed, its files written, and only stdout and stderr are
    still buffered. A one-shot command may end there.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`imuform ... | head`): nothing left to tell it
        code = code or 1
    os._exit(code)


def run() -> NoReturn:
    """The `imuform` console script: `main`, then `leave` (`main` stays an ordinary function for tests and
    callers in-process)."""
    leave(main())


if __name__ == "__main__":
    run()
