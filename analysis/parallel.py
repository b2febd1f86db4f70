"""Run independent per-sensor work on several cores: forked worker processes, the caller doing one share.

The sensors' work up to orientation (despike, regular grid, accelerometer correction, VQF) is independent
per sensor, and VQF holds the GIL, so threads would not overlap it. Forked workers inherit the inputs
(no pickling of the samples table); only the results travel back, their arrays through a shared-memory
file that the caller maps instead of reading tens of MB through a pipe. Where fork is unavailable or with
one worker the work runs serially, with the same results to the bit.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

#: Below this many samples (all sensors together) a worker process costs more than it saves: forking,
#: starting the pool and handing the results back take ≈ 25 ms, about what a second core saves on a
#: 5-minute session of two 100 Hz sensors (60,000 samples; 50 ms saved at 10 minutes).
PARALLEL_MIN_SAMPLES = 60_000

# The tasks of the running `parallel_starmap`, read by the forked workers (inherited, never pickled).
_tasks: list[tuple[Callable[..., Any], tuple]] = []


def default_workers(n_tasks: int, n_samples: int) -> int:
    """Worker count for ``n_tasks`` independent tasks over ``n_samples`` samples: one per task up to the
    cores this process may use, or 1 (serial) for short sessions and where fork is unavailable."""
    if n_samples < PARALLEL_MIN_SAMPLES or not _can_fork():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(n_tasks, cores))


#: Where workers leave their results' arrays: memory-backed where Linux has it.
SHARED_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None


def _can_fork() -> bool:
    # a daemonic process (a multiprocessing.Pool worker, e.g. a benchmark's) may not have children,
    # and its pool already keeps the cores busy
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def _run_task(i: int) -> Any:
    func, args = _tasks[i]
    return func(*args)


def _run_task_shared(i: int) -> tuple[bytes, str, list[int]]:
    """Run task ``i`` in a worker; its arrays go out of band (pickle protocol 5) into one shared file."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(_run_task(i), protocol=5, buffer_callback=buffers.append)
    fd, path = tempfile.mkstemp(prefix="imuform-", dir=SHARED_DIR)
    with os.fdopen(fd, "wb") as f:
        for buffer in buffers:
            f.write(buffer.raw())
    return head, path, [buffer.raw().nbytes for buffer in buffers]


def _load_shared(head: bytes, path: str, sizes: list[int]) -> Any:
    """A worker's result, its arrays mapped copy-on-write from the shared file (no copy, writable)."""
    try:
        with open(path, "rb") as f:
            view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)) if sum(sizes) else memoryview(b"")
    finally:
        os.unlink(path)  # the mapping keeps the memory until the arrays are gone
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    return pickle.loads(head, buffers=[view[a:b] for a, b in zip(offsets[:-1], offsets[1:])])


def parallel_starmap(func: Callable[..., Any], args_list: Sequence[tuple], workers: int = 1) -> list[Any]:
    """``[func(*args) for args in args_list]``, spread over ``workers`` processes (the caller is one).

    Parameters
    ----------
    func
        A module-level function (the workers find it by reference, forked from the caller).
    args_list
        One argument tuple per task; never pickled, so it may hold large tables.
    workers
        Processes working at once, counting the caller; 1 runs serially. Forked workers need the fork
        start method and a caller that may have children (not a daemonic pool worker); without them the
        tasks run serially.

    Returns
    -------
    list
        The results, in the order of ``args_list`` (from the workers: pickled, arrays shared).
    """
    global _tasks
    n_forked = min(workers, len(args_list)) - 1
    if n_forked < 1 or not _can_fork():
        return [func(*args) for args in args_list]
    _tasks = [(func, tuple(args)) for args in args_list]
    try:
        with ProcessPoolExecutor(n_forked, mp_context=multiprocessing.get_context("fork")) as pool:
            # the workers are forked on the first submit, so they already see `_tasks`
            futures = [pool.submit(_run_task_shared, i) for i in range(1, len(_tasks))]
            first = _run_task(0)
            return [first, *(_load_shared(*f.result()) for f in futures)]
    finally:
        _tasks = []
