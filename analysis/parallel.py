"""Run independent per-sensor work on several cores: forked worker processes, the caller doing one share.

The sensors' work up to orientation (despike, regular grid, accelerometer correction, VQF) is independent
per sensor, and VQF holds the GIL, so threads would not overlap it. Forked workers inherit the inputs
(no pickling of the samples table); only the results travel back, their arrays through a shared-memory
file that the caller maps instead of reading tens of MB through a pipe. Off Linux, in a daemonic process or
with one worker the work runs serially, with the same results to the bit.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import os
import pickle
import sys
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


#: Where workers leave their results' arrays: memory-backed where Linux has it.
SHARED_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None


def _can_fork() -> bool:
    # Linux only: macOS offers fork but its system libraries are not fork-safe. A daemonic process (a
    # multiprocessing.Pool worker, e.g. a benchmark's) may not have children, and its pool keeps the cores busy.
    return sys.platform.startswith("linux") and not multiprocessing.current_process().daemon


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(n_tasks: int, n_samples: int) -> int:
    """Worker count for ``n_tasks`` independent tasks over ``n_samples`` samples: one per task up to the
    cores this process may use, or 1 (serial) for short sessions and where fork is unavailable."""
    if n_samples < PARALLEL_MIN_SAMPLES or not _can_fork():
        return 1
    return max(1, min(n_tasks, usable_cores()))


def _run_task(i: int) -> Any:
    func, args = _tasks[i]
    return func(*args)


def _page_offsets(sizes: list[int]) -> list[int]:
    """Where each buffer starts in the shared file: on a boundary that `mmap` can map from."""
    offsets, end = [], 0
    for size in sizes:
        offsets.append(end)
        end += -(-size // mmap.ALLOCATIONGRANULARITY) * mmap.ALLOCATIONGRANULARITY
    return offsets


def _run_task_shared(i: int) -> tuple[bytes, str | None, list[int]]:
    """Run task ``i`` in a worker; its arrays go out of band (pickle protocol 5) into one shared file, each
    from a page boundary (`_page_offsets`).

    Where that file cannot be written (a small or full ``/dev/shm``, as in containers), the whole result
    goes back pickled instead (``path`` None).
    """
    result = _run_task(i)
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(result, protocol=5, buffer_callback=buffers.append)
    sizes = [buffer.raw().nbytes for buffer in buffers]
    path = None
    try:
        fd, path = tempfile.mkstemp(prefix="imuform-", dir=SHARED_DIR)
        with os.fdopen(fd, "wb") as f:
            for buffer, offset in zip(buffers, _page_offsets(sizes)):
                f.seek(offset)
                f.write(buffer.raw())
    except OSError:
        if path is not None:
            os.unlink(path)
        return pickle.dumps(result, protocol=5), None, []
    return head, path, sizes


def _load_shared(head: bytes, path: str | None, sizes: list[int]) -> Any:
    """A worker's result, its arrays mapped copy-on-write from the shared file (no copy, writable).

    Each array has a mapping of its own, so each one's memory goes as soon as that array is let go.
    """
    if path is None:
        return pickle.loads(head)
    try:
        with open(path, "rb") as f:
            views = [
                memoryview(mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY, offset=offset))
                if size
                else memoryview(bytearray())
                for size, offset in zip(sizes, _page_offsets(sizes))
            ]
    finally:
        os.unlink(path)  # the mappings keep the memory until the arrays are gone
    return pickle.loads(head, buffers=views)


def parallel_starmap(
    func: Callable[..., Any],
    args_list: Sequence[tuple],
    workers: int = 1,
    prepare: Callable[..., tuple] | None = None,
) -> list[Any]:
    """``[func(*args) for args in args_list]``, spread over ``workers`` processes (the caller is one).

    Parameters
    ----------
    func
        Any callable; the forked workers inherit it (never pickled). Its results must pickle.
    args_list
        One argument tuple per task; never pickled, so it may hold large tables.
    workers
        Processes working at once, counting the caller; 1 runs serially. Forked workers need Linux and a
        caller that may have children (not a daemonic pool worker); without them the tasks run serially.
    prepare
        ``prepare(*args)`` gives the arguments ``func`` takes for a task a forked worker runs, made in this
        process before the fork: e.g. data loaded here, as nothing should open a file or a database connection
        in a child forked from a process with other threads. This process lets go of them once the workers have
        forked; its own task (the first) and serial runs take ``args`` as they are.

    Returns
    -------
    list
        The results, in the order of ``args_list`` (from the workers: pickled, arrays shared).
    """
    global _tasks
    n_forked = min(workers, len(args_list)) - 1
    if n_forked < 1 or not _can_fork():
        return [func(*args) for args in args_list]
    _tasks = [(func, tuple(args if i == 0 or prepare is None else prepare(*args))) for i, args in enumerate(args_list)]
    futures = []
    try:
        with ProcessPoolExecutor(n_forked, mp_context=multiprocessing.get_context("fork")) as pool:
            # the workers are forked on the first submit, so they already see `_tasks`
            futures = [pool.submit(_run_task_shared, i) for i in range(1, len(_tasks))]
            # the workers have their tasks' prepared arguments: this process keeps only its own task
            _tasks = _tasks[:1]
            first = _run_task(0)
            return [first, *(_load_shared(*f.result()) for f in futures)]
    finally:
        _tasks = []
        # after an error, the files of results that were never loaded (the pool has waited for them all)
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is None and f.result()[1] is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f.result()[1])
