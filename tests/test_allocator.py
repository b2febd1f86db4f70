"""The allocator setting of the one-shot batch commands (`imuform.allocator`)."""

import platform
import subprocess
import sys

from imuform.cli.main import BATCH_COMMANDS, COMMANDS


def test_reuse_freed_memory_takes_effect_on_glibc():
    # in a child process: the setting is process-wide
    code = "from imuform.allocator import reuse_freed_memory; print(reuse_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")


def test_batch_commands_are_commands_and_never_the_long_running_ones():
    assert BATCH_COMMANDS <= set(COMMANDS)
    assert not BATCH_COMMANDS & {"record", "live", "dashboard", "calibrate"}
