"""Start-up: each command imports only what it needs, when it needs it (docs/performance.md, Start-up).

Checked by the modules a fresh interpreter holds after importing a command, not by timing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Libraries that cost 0.1–0.5 s each to import (scipy.signal alone brings scipy.stats, interpolate,
#: optimize and spatial).
HEAVY = (
    "numpy",
    "pandas",
    "scipy",
    "scipy.signal",
    "scipy.stats",
    "scipy.spatial",
    "plotly",
    "dash",
    "bleak",
    "bumble",
)


def loaded_after(code: str) -> set[str]:
    """The heavy libraries a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("imuform.cli.main", set()),
        ("imuform.cli.sessions", set()),
        ("imuform.cli.calibrations", set()),
        ("imuform.cli.profile", set()),
        ("imuform.session_analysis", set()),
        ("imuform.store", set()),
        # the option choices come from analysis.classify, which needs numpy and pandas; the pipeline loads on use
        ("imuform.cli.analyze", {"numpy", "pandas"}),
        ("imuform.cli.report", {"numpy", "pandas", "plotly"}),
        # scipy (the importers' orientation conversions) and the simulator (an export's truth) load on use
        ("imuform.cli.transfer", {"numpy", "pandas"}),
    ],
)
def test_command_modules_import_only_what_they_need(module, allowed):
    extra = loaded_after(f"import {module}") - allowed
    assert not extra, f"importing {module} loads {sorted(extra)}; import them inside the functions that need them"


def test_the_pipeline_loads_no_scipy():
    # numpy stand-ins (analysis.zero_phase, peaks, running, numpy.fft, rotations.quat_wxyz_from_matrix) replace
    # scipy.signal, scipy.ndimage, scipy.fft and scipy.spatial, which cost 0.5-1 s of start-up together
    assert "scipy" not in loaded_after("import analysis.timebase, analysis.angles, analysis.pipeline")


def test_the_console_script_ends_at_once_with_its_output_and_exit_code(tmp_path):
    """`imuform.cli.main.run` skips the interpreter's teardown (70-100 ms with pandas loaded) but loses nothing:
    what the command printed reaches the pipe, and its exit code is the process's."""
    listed = subprocess.run(
        [sys.executable, "-m", "imuform", "--home", str(tmp_path), "sessions", "--json"], capture_output=True, text=True
    )
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    missing = subprocess.run(
        [sys.executable, "-m", "imuform", "--home", str(tmp_path), "show", "nosuch"], capture_output=True, text=True
    )
    assert missing.returncode == 1 and missing.stderr.startswith("imuform: error:")
