"""The per-sensor work spread over processes: same results to the bit as the serial path."""

from __future__ import annotations

import multiprocessing
import os
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import parallel
from analysis.angles import compute_angles
from analysis.parallel import (
    PARALLEL_MIN_SAMPLES,
    default_workers,
    one_blas_thread,
    parallel_stages,
    parallel_starmap,
)

needs_fork = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")


def _pid_and_sum(x: np.ndarray, offset: float) -> tuple[int, float]:
    return os.getpid(), float(x.sum() + offset)


def _scaled(x: np.ndarray, k: float) -> dict:
    return {"pid": os.getpid(), "x": x * k, "strided": (x * k)[::2], "k": k}


@needs_fork
def test_starmap_keeps_order_forks_workers_and_shares_arrays(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "SHARED_DIR", str(tmp_path))
    args = [(np.arange(100_000.0), float(k)) for k in range(4)]
    got = parallel_starmap(_scaled, args, workers=2)
    assert [r["k"] for r in got] == [0.0, 1.0, 2.0, 3.0]
    assert got[0]["pid"] == os.getpid() and {r["pid"] for r in got[1:]} - {os.getpid()}
    for r in got:
        np.testing.assert_array_equal(r["x"], np.arange(100_000.0) * r["k"])
        np.testing.assert_array_equal(r["strided"], r["x"][::2])
    got[3]["x"][0] = -1.0  # arrays from the workers are ordinary, writable arrays
    assert not list(tmp_path.iterdir())  # no files left behind


@needs_fork
def test_workers_that_are_done_exit_on_their_own_and_the_next_call_joins_them():
    # the caller goes on while a worker hands its memory back (milliseconds for an hour's session)
    parallel_starmap(_pid_and_sum, [(np.ones(10), 0.0), (np.ones(10), 1.0)], workers=2)
    ending = list(parallel._ending)
    assert len(ending) == 1
    parallel_starmap(_pid_and_sum, [(np.ones(10), 0.0)], workers=1)
    assert not parallel._ending and [p.exitcode for p in ending] == [0]


def _starmap_after_a_parallel_one(_: int) -> int:
    return len(parallel_starmap(_pid_and_sum, [(np.ones(3), 0.0), (np.ones(4), 0.0)], workers=2))


@needs_fork
def test_a_process_forked_while_workers_exit_does_not_join_its_parent_s_workers():
    parallel_starmap(_pid_and_sum, [(np.ones(3), 0.0), (np.ones(4), 0.0)], workers=2)
    assert parallel._ending  # this process's worker, left to exit
    with multiprocessing.get_context("fork").Pool(1) as pool:  # as `imuform analyze --all` forks its workers
        assert pool.map(_starmap_after_a_parallel_one, [0]) == [2]


def _blas_threads(_: int) -> tuple[int, list[int]]:
    from threadpoolctl import threadpool_info

    return os.getpid(), [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@needs_fork
def test_blas_keeps_to_one_thread_in_the_caller_and_its_workers_while_they_share_the_cores():
    # the analysis' processes take the cores; BLAS threads on top of them spin on the cores the workers need
    with one_blas_thread():
        got = parallel_starmap(_blas_threads, [(0,), (1,)], workers=2)
    assert got[0][0] == os.getpid() != got[1][0]
    assert all(threads and set(threads) == {1} for _, threads in got)


def _odd_sizes(k: int) -> list[np.ndarray]:
    return [np.arange(float(n)) + k for n in (0, 1, 511, 513, 70_000)] + [np.zeros((0, 4)), np.ones((3, 4))]


@needs_fork
def test_arrays_of_any_size_come_back_each_in_its_own_mapping(tmp_path, monkeypatch):
    """Each array is mapped from a page boundary of its own, so each one's memory goes when it is let go."""
    monkeypatch.setattr(parallel, "SHARED_DIR", str(tmp_path))
    serial = [_odd_sizes(k) for k in range(3)]
    for got, expected in zip(parallel_starmap(_odd_sizes, [(k,) for k in range(3)], workers=2), serial):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
            assert a.shape == b.shape and a.flags.writeable
    assert not list(tmp_path.iterdir())


def _prepared_where(k: int) -> tuple[int, int]:
    return k, os.getpid()


def _pids(k: int, prepared_in: int | None = None) -> tuple[int, int, int | None]:
    return k, os.getpid(), prepared_in


@needs_fork
def test_a_worker_s_arguments_are_prepared_in_this_process_before_the_fork():
    """`prepare` (e.g. loading a sensor's rows) runs here for the forked tasks only: no worker opens the store."""
    got = parallel_starmap(_pids, [(k,) for k in range(3)], workers=2, prepare=_prepared_where)
    assert [k for k, _, _ in got] == [0, 1, 2]
    assert got[0] == (0, os.getpid(), None)  # this process's own task takes its arguments as they are
    assert all(pid != os.getpid() and prepared_in == os.getpid() for _, pid, prepared_in in got[1:])
    serial = parallel_starmap(_pids, [(k,) for k in range(3)], workers=1, prepare=_prepared_where)
    assert serial == [(k, os.getpid(), None) for k in range(3)]


@needs_fork
def test_results_come_back_without_shared_memory(tmp_path, monkeypatch):
    """No writable shared-memory directory (a full /dev/shm): the results travel pickled instead."""
    monkeypatch.setattr(parallel, "SHARED_DIR", str(tmp_path / "missing"))
    got = parallel_starmap(_scaled, [(np.arange(1000.0), float(k)) for k in range(3)], workers=2)
    for r in got:
        np.testing.assert_array_equal(r["x"], np.arange(1000.0) * r["k"])


def _fail_in_a_worker(k: int) -> np.ndarray:
    if k == 2:
        raise ValueError("bad sensor")
    return np.full(1000, float(k))


@needs_fork
def test_a_failing_worker_raises_and_leaves_no_files(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "SHARED_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="bad sensor"):
        parallel_starmap(_fail_in_a_worker, [(k,) for k in range(4)], workers=3)
    assert not list(tmp_path.iterdir())


def test_one_worker_runs_in_this_process():
    got = parallel_starmap(_pid_and_sum, [(np.ones(3), 1.0), (np.ones(2), 0.0)], workers=1)
    assert got == [(os.getpid(), 4.0), (os.getpid(), 2.0)]


def test_short_sessions_stay_serial():
    assert default_workers(2, PARALLEL_MIN_SAMPLES - 1) == 1
    assert 1 <= default_workers(2, PARALLEL_MIN_SAMPLES) <= 2
    assert default_workers(1, 10 * PARALLEL_MIN_SAMPLES) == 1


@needs_fork
def test_parallel_angles_equal_serial_to_the_bit():
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(
        sets=[SetSpec("deadlift", 3, "none")],
        rate_hz=50.0,
        seed=5,
        magnetometer=False,
        sensors=("lumbar", "thoracic", "upper_thoracic"),
    )
    samples = simulate_session(spec).samples
    serial = compute_angles(samples, workers=1)
    parallel = compute_angles(samples, workers=2)
    pd.testing.assert_frame_equal(parallel.angles, serial.angles, check_exact=True)
    assert parallel.calibration == serial.calibration
    assert repr(parallel.sync) == repr(serial.sync)  # repr: NaN compares unequal to itself


@needs_fork
def test_a_parallel_analysis_finds_the_same_sets_and_reps_to_the_bit():
    """The trunk's excursions are found in a worker beside the relative angles (`analysis.pipeline.trunk_excursions`),
    the sets' reps and bar fields are split between the processes."""
    from analysis import analyze_session
    from imuform.simulator import SessionSpec, SetSpec, simulate_session

    spec = SessionSpec(sets=[SetSpec("deadlift", 3, "none"), SetSpec("good_morning", 4, "none")], rate_hz=50.0, seed=7)
    samples = simulate_session(spec).samples
    serial, parallel = (analyze_session(samples, workers=workers) for workers in (1, 2))
    assert len(serial.reps) == 7
    pd.testing.assert_frame_equal(parallel.angles, serial.angles, check_exact=True)
    pd.testing.assert_frame_equal(parallel.sets, serial.sets, check_exact=True)
    pd.testing.assert_frame_equal(parallel.reps, serial.reps, check_exact=True)


@needs_fork
def test_a_stored_session_loaded_a_sensor_at_a_time_equals_the_whole_table_serially(home):
    """The table handed over a sensor at a time (`analysis.angles.SensorSamples`), a worker's loaded before it forks."""
    from imuform.session_analysis import analyze_stored
    from imuform.simulator import SessionSpec, SetSpec, simulate_session
    from imuform.store import Store

    spec = SessionSpec(sets=[SetSpec("deadlift", 3, "none")], rate_hz=50.0, seed=6)
    with Store(home) as store:
        session_id = store.import_samples(simulate_session(spec).samples, name="x")
        whole = compute_angles(store.samples(session_id), workers=1)
        stored, _ = analyze_stored(store, session_id, show_progress=False, calibration="none", workers=2)
    pd.testing.assert_frame_equal(stored.angles, whole.angles, check_exact=True)
    assert stored.calibration == whole.calibration
    assert repr(stored.sync) == repr(whole.sync)


def _starmap_in_a_pool_worker(_: int) -> list:
    return parallel_starmap(_pid_and_sum, [(np.ones(3), 0.0), (np.ones(4), 0.0)], workers=2)


@needs_fork
def test_pool_workers_run_serially():
    """A daemonic pool worker (the accuracy benchmark's) may not fork: its tasks run in it."""
    with multiprocessing.get_context("fork").Pool(1) as pool:
        (got,) = pool.map(_starmap_in_a_pool_worker, [0])
    assert [s for _, s in got] == [3.0, 4.0] and got[0][0] == got[1][0] != os.getpid()


def _kept_between_stages(k: int):
    """Yields its pid and an array, then that array kept in this process times what it is sent."""
    kept = np.arange(50_000.0) + k
    factor = yield os.getpid(), kept
    yield os.getpid(), kept * factor


@needs_fork
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_stages_keep_their_state_between_stages_and_equal_serial(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(parallel, "SHARED_DIR", str(tmp_path))
    with parallel_stages(_kept_between_stages, [(k,) for k in range(3)], workers) as stages:
        first = stages.send()
        second = stages.send([float(k + 1) for k in range(3)])
    for k, ((pid1, a), (pid2, b)) in enumerate(zip(first, second)):
        assert pid1 == pid2 and (pid1 == os.getpid()) == (k == 0 or workers == 1)
        np.testing.assert_array_equal(a, np.arange(50_000.0) + k)
        np.testing.assert_array_equal(b, (np.arange(50_000.0) + k) * (k + 1))
    assert not list(tmp_path.iterdir())


def _fail_in_the_second_stage(k: int):
    yield k
    if k == 1:
        raise ValueError("bad second stage")
    yield np.full(1000, float(k))


@needs_fork
def test_an_error_between_or_in_stages_ends_the_workers_and_leaves_no_files(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "SHARED_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="the caller's own"):
        with parallel_stages(_fail_in_the_second_stage, [(k,) for k in range(3)], 3) as stages:
            assert stages.send() == [0, 1, 2]
            raise RuntimeError("the caller's own")
    with pytest.raises(ValueError, match="bad second stage"):
        with parallel_stages(_fail_in_the_second_stage, [(k,) for k in range(3)], 3) as stages:
            stages.send()
            stages.send([None] * 3)
    assert not list(tmp_path.iterdir())
    assert not multiprocessing.active_children()
