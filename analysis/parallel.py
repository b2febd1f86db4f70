"""Run independent per-sensor work on several cores: forked worker processes, the caller doing one share.

The sensors' work up to orientation (despike, regular grid, accelerometer correction, VQF) is independent
per sensor, and VQF holds the GIL, so threads would not overlap it. Forked workers inherit the inputs
(no pickling of the samples table); only the results travel back, their arrays through a shared-memory
file that the caller maps instead of reading tens of MB through a pipe. The work can come in stages
(`parallel_stages`): a worker keeps its sensor between them while the caller combines all sensors' results
(the clocks, the calibration) and sends each what its next stage needs (the common grid). Off Linux, in a
daemonic process or with one worker the work runs serially, with the same results to the bit.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any

#: Below this many samples (all sensors together) a worker process costs more than it saves: forking,
#: starting the worker and handing the results back take ≈ 25 ms, about what a second core saves on a
#: 5-minute session of two 100 Hz sensors (60,000 samples; 50 ms saved at 10 minutes).
PARALLEL_MIN_SAMPLES = 60_000

# The tasks of the running `parallel_stages`, read by the forked workers (inherited, never pickled).
_tasks: list[tuple[Callable[..., Any], tuple]] = []

# Workers of a finished `parallel_stages`, exiting on their own cores: a worker of an hour's session takes
# ≈ 5 ms to hand its memory back, which the caller need not wait for. The next `parallel_stages` joins them.
_ending: list[multiprocessing.process.BaseProcess] = []
if hasattr(os, "register_at_fork"):
    # a forked child does not own its parent's workers and may not join them
    os.register_at_fork(after_in_child=_ending.clear)


#: Where workers leave their results' arrays: memory-backed where Linux has it.
SHARED_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS (OpenBLAS, MKL, BLIS) held to one thread in this process, and in the workers it forks meanwhile.

    The analysis spreads its work over processes, one per core; BLAS threads on top of them oversubscribe the
    cores. Its matrix products are small (``n × 3`` by ``3``), which threads do not speed up, while OpenBLAS's
    idle threads spin on after each one on the core a worker needs: on 2 cores the resampling that follows the
    calibration's products took twice its time in both processes (docs/performance.md, Round 10). The same
    holds when `imuform analyze --all` runs one session per core. ``threadpoolctl`` finds the BLAS that numpy
    and scipy loaded and sets its threads at run time, which environment variables can only do before numpy
    loads it.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


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


def _page_offsets(sizes: list[int]) -> list[int]:
    """Where each buffer starts in the shared file: on a boundary that `mmap` can map from."""
    offsets, end = [], 0
    for size in sizes:
        offsets.append(end)
        end += -(-size // mmap.ALLOCATIONGRANULARITY) * mmap.ALLOCATIONGRANULARITY
    return offsets


def _pack_shared(result: Any) -> tuple[bytes, str | None, list[int]]:
    """A worker's result for the caller: its arrays out of band (pickle protocol 5) in one shared file, each
    from a page boundary (`_page_offsets`).

    Where that file cannot be written (a small or full ``/dev/shm``, as in containers), the whole result
    goes back pickled instead (``path`` None).
    """
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


def _send_stage(gens: list[Generator], values: list[Any]) -> list[Any]:
    """Each generator's next stage: ``gen.send(value)`` (``next`` for the first), what each yields."""
    return [gen.send(value) for gen, value in zip(gens, values)]


def _serve(conn: Connection, indices: list[int], others: list[Connection]) -> None:
    """A forked worker: runs tasks ``indices`` of `_tasks` a stage at a time, as the caller's `Stages` asks.

    Each stage's inputs come through ``conn``; its results go back in a shared file (`_pack_shared`), an error
    as the exception. The caller closing its end (after the last stage, or on an error of its own) ends it.
    """
    for other in others:
        other.close()  # only the caller's end of each pipe may keep it open: a worker's exit must show as EOF
    gens = [func(*args) for func, args in (_tasks[i] for i in indices)]
    _tasks.clear()
    while True:
        try:
            values = conn.recv()
        except EOFError:
            return
        try:
            message = ("ok", _pack_shared(_send_stage(gens, values)))
        except StopIteration:
            return
        except BaseException as exc:  # any error of a task is the caller's to raise
            message = ("raise", exc)
        try:
            conn.send(message)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            if message[0] == "ok" and message[1][1] is not None:
                os.unlink(message[1][1])  # the caller is gone: nobody will map it
            if message[0] == "raise":
                with contextlib.suppress(OSError):  # an exception that does not pickle, told as its repr
                    conn.send(("raise", RuntimeError(repr(message[1]))))
            return
        if message[0] == "raise":
            return
        del message


class Stages:
    """Tasks run as generators a stage at a time, spread over forked workers (`parallel_stages`).

    Between two stages the caller can combine what every task yielded and send each of them what it needs
    next, while each worker keeps what its tasks hold in memory: nothing travels but what is yielded and sent.
    """

    def __init__(self, local: list[tuple[int, Generator]], remote: list[tuple[list[int], Connection]], n: int):
        self._local, self._remote, self._n = local, remote, n
        self._waiting: list[Connection] = []  # workers sent a stage's inputs and not yet heard from
        self._started: dict[int, Any] = {}  # what this process's tasks yielded in the stage `start` began

    def send(self, values: Sequence[Any] | None = None) -> list[Any]:
        """Run every task to its next ``yield`` (`start`, then `finish`).

        Parameters
        ----------
        values
            One value per task, in the order of the tasks, sent into its generator (``gen.send``); None for
            the first stage (``next``).

        Returns
        -------
        list
            What each task yielded, in the order of the tasks (from the workers: pickled, arrays shared).
        """
        self.start(values)
        return self.finish()

    def start(self, values: Sequence[Any] | None = None) -> None:
        """Start a stage: the workers get their values and this process runs its own tasks' stage; the caller may
        do other work before `finish` collects the workers' (``values`` as for `send`)."""
        values = [None] * self._n if values is None else list(values)
        for indices, conn in self._remote:
            conn.send([values[i] for i in indices])
            self._waiting.append(conn)
        # this process's own tasks while the workers do theirs
        indices = [i for i, _ in self._local]
        self._started = dict(zip(indices, _send_stage([gen for _, gen in self._local], [values[i] for i in indices])))

    def finish(self) -> list[Any]:
        """The stage `start` began: what each task yielded, in the order of the tasks."""
        out: list[Any] = [self._started.get(i) for i in range(self._n)]
        self._started = {}
        for indices, conn in self._remote:
            self._waiting.remove(conn)
            try:
                kind, payload = conn.recv()
            except EOFError:
                raise RuntimeError("a worker process ended without its results") from None
            if kind == "raise":
                raise payload
            for i, result in zip(indices, _load_shared(*payload)):
                out[i] = result
        return out

    def abandon(self) -> None:
        """After an error: wait for the stage the workers are still on, and remove its shared files unread."""
        for conn in self._waiting:
            with contextlib.suppress(EOFError, OSError):
                kind, payload = conn.recv()
                if kind == "ok" and payload[1] is not None:
                    os.unlink(payload[1])
        self._waiting = []


@contextlib.contextmanager
def parallel_stages(
    func: Callable[..., Generator],
    args_list: Sequence[tuple],
    workers: int = 1,
    prepare: Callable[..., tuple] | None = None,
) -> Iterator[Stages]:
    """The generators ``func(*args)`` of ``args_list``, run a stage (``yield``) at a time by `Stages.send`, spread
    over ``workers`` processes (the caller is one: it runs the first task).

    Parameters
    ----------
    func
        A generator function; the forked workers inherit it (never pickled). What it yields must pickle, and
        what it is sent too.
    args_list
        One argument tuple per task; never pickled, so it may hold large tables.
    workers
        Processes working at once, counting the caller; 1 runs serially. Forked workers need Linux and a
        caller that may have children (not a daemonic pool worker); without them the tasks run serially,
        with the same results to the bit. Tasks beyond the workers are shared out among the forked ones.
    prepare
        ``prepare(*args)`` gives the arguments ``func`` takes for a task a forked worker runs, made in this
        process before the fork: e.g. data loaded here, as nothing should open a file or a database connection
        in a child forked from a process with other threads. This process lets go of them once the workers have
        forked; its own task and serial runs take ``args`` as they are.

    Yields
    ------
    Stages
        Leaving the block ends the tasks, finished or not. After an error the workers have ended when it is
        raised; otherwise they exit on their own, and the next `parallel_stages` joins them.
    """
    global _tasks
    while _ending:
        _ending.pop().join()
    n_forked = min(workers, len(args_list)) - 1
    if n_forked < 1 or not _can_fork():
        gens = [func(*args) for args in args_list]
        try:
            yield Stages(list(enumerate(gens)), [], len(gens))
        finally:
            for gen in gens:
                gen.close()
        return
    groups = [list(range(1 + k, len(args_list), n_forked)) for k in range(n_forked)]
    _tasks = [(func, tuple(args if i == 0 or prepare is None else prepare(*args))) for i, args in enumerate(args_list)]
    pipes = [multiprocessing.Pipe() for _ in groups]
    fork = multiprocessing.get_context("fork")
    processes = []
    local: list[tuple[int, Generator]] = []
    stages = None
    finished = False
    try:
        for group, (_, theirs) in zip(groups, pipes):
            others = [c for pair in pipes for c in pair if c is not theirs]
            processes.append(fork.Process(target=_serve, args=(theirs, group, others), daemon=True))
            processes[-1].start()
        for _, theirs in pipes:
            theirs.close()
        local = [(0, func(*_tasks[0][1]))]
        # the workers have their tasks' prepared arguments: this process keeps only its own task
        _tasks = []
        stages = Stages(local, [(group, mine) for group, (mine, _) in zip(groups, pipes)], len(args_list))
        yield stages
        finished = True
    finally:
        _tasks = []
        if stages is not None:
            stages.abandon()
        for _, gen in local:
            gen.close()
        for mine, theirs in pipes:
            mine.close()  # a worker still waiting for a stage ends
            theirs.close()
        if finished:
            _ending.extend(processes)
        else:
            for process in processes:  # after an error, every worker has ended when the error is raised
                process.join()


def _one_stage(func: Callable[..., Any], *args: Any) -> Generator:
    yield func(*args)


def parallel_starmap(
    func: Callable[..., Any],
    args_list: Sequence[tuple],
    workers: int = 1,
    prepare: Callable[..., tuple] | None = None,
) -> list[Any]:
    """``[func(*args) for args in args_list]``, spread over ``workers`` processes (the caller is one):
    `parallel_stages` with one stage.

    Parameters
    ----------
    func
        Any callable; the forked workers inherit it (never pickled). Its results must pickle.
    args_list, workers, prepare
        As for `parallel_stages` (``prepare`` takes the arguments of ``func``).

    Returns
    -------
    list
        The results, in the order of ``args_list`` (from the workers: pickled, arrays shared).
    """
    prepare_stage = None if prepare is None else (lambda f, *args: (f, *prepare(*args)))
    with parallel_stages(_one_stage, [(func, *args) for args in args_list], workers, prepare_stage) as stages:
        return stages.send()
