"""Allocator settings for the one-shot batch commands (analyze, report, import, export, simulate, demo).

glibc's malloc serves each large block (above a threshold that adapts between 128 kB and 32 MB) with its
own ``mmap`` and returns it to the OS when freed. An analysis allocates and frees arrays of a whole
session hundreds of times, and each new one is faulted in page by page again: on the 1-hour benchmark
session that was ≈ 110,000 page faults and a sixth of the wall time (docs/performance.md). Keeping freed
memory for reuse removes most of them and does not raise the peak. Long-running commands (record, live,
dashboard) keep the default, which gives memory back.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt parameters of glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap, and the heap keeps up to this much free memory, in bytes.
#: Older glibc refuses mmap thresholds above 32 MiB (`FALLBACK_BYTES`).
KEEP_BYTES = 1 << 30
FALLBACK_BYTES = 32 << 20


def reuse_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse by this process, instead of returning it.

    Returns
    -------
    bool
        True where it took effect (Linux with glibc); elsewhere nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
    # Both or neither: either setting alone turns off the adaptive threshold and makes things worse.
    if not (mallopt(M_MMAP_THRESHOLD, KEEP_BYTES) or mallopt(M_MMAP_THRESHOLD, FALLBACK_BYTES)):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
