"""Per-sample steps run a block of rows at a time (`analysis.blocks`): the same figures to the bit as in one go."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

import analysis.blocks
from analysis.blocks import row_norms
from analysis.despike import despike, running_median5
from analysis.rotations import (
    compose_quat_wxyz,
    inclination_from_quat_deg,
    matrix_elements_wxyz,
    nlerp_wxyz,
    relative_cardan_angles_deg,
)
from analysis.running import maximum_filter1d, minimum_filter1d
from analysis.timebase import fit_clock, regularize

N = 1000


def _quats(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[::97] = np.nan  # gaps
    return q


def _twice(monkeypatch, func):
    """``func()`` in one block and in blocks of 7 rows (blocks end mid-series, one is short)."""
    monkeypatch.setattr(analysis.blocks, "BLOCK_ROWS", 10 * N)
    whole = func()
    monkeypatch.setattr(analysis.blocks, "BLOCK_ROWS", 7)
    return whole, func()


def _same(a, b) -> bool:
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b, equal_nan=True)


def test_row_norms_equal_numpys_to_the_bit():
    rng = np.random.default_rng(0)
    for k in (3, 4):
        x = rng.normal(scale=50.0, size=(3 * N, k))
        x[::13, 1] = np.nan
        assert np.array_equal(row_norms(x), np.linalg.norm(x, axis=1), equal_nan=True)


def test_rotations_in_blocks_equal_one_go(monkeypatch):
    rng = np.random.default_rng(1)
    p, q = _quats(rng, N), _quats(rng, N)
    time_s = np.sort(rng.uniform(0.0, 10.0, N))
    at_s = np.linspace(time_s[0], time_s[-1], 2 * N)
    steps = {
        "compose": lambda: compose_quat_wxyz(p, q),
        "compose with one": lambda: compose_quat_wxyz(p, q[1]),
        "elements": lambda: matrix_elements_wxyz(p, [(0, 1), (2, 2), (1, 0)]),
        "cardan": lambda: relative_cardan_angles_deg(p, q),
        "inclination": lambda: inclination_from_quat_deg(p),
        "nlerp": lambda: nlerp_wxyz(time_s, np.nan_to_num(p, nan=0.5), at_s),
    }
    for name, step in steps.items():
        assert _same(*_twice(monkeypatch, step)), name


@pytest.mark.parametrize("mode", ["reflect", "nearest"])
def test_running_extremes_and_median_in_blocks_equal_one_go(monkeypatch, mode):
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=N), 1)
    for size in (1, 2, 5, 51, 301):
        origin = -(size // 2)
        for f in (maximum_filter1d, minimum_filter1d):
            assert _same(*_twice(monkeypatch, partial(f, x, size, mode=mode, origin=origin))), (f.__name__, size)
    signal = rng.normal(size=(N, 3))
    signal[::50] += 40.0  # spikes
    assert _same(*_twice(monkeypatch, lambda: running_median5(signal)))
    assert _same(*_twice(monkeypatch, lambda: despike(signal, 3.0)))
    in_place = signal.copy()
    assert np.array_equal(despike(in_place, 3.0, in_place=True), despike(signal, 3.0)) and not np.array_equal(
        in_place, signal
    )


def test_missing_samples_are_filled_as_interpolating_over_all_samples():
    rng = np.random.default_rng(3)
    n = 2000
    keep = np.ones(n, dtype=bool)
    keep[[5, 6, 7, 300, 1200, 1201]] = False  # short gaps, interpolated
    keep[:3] = False  # before the first received sample: stays NaN
    columns = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
    rows = pd.DataFrame(rng.normal(size=(int(keep.sum()), 6)), columns=list(columns))
    rows.loc[40, "gyr_y"] = np.nan  # a missing cell: the column takes the general path
    rows["time_s"] = np.flatnonzero(keep) / 100.0
    clock = fit_clock(rows["time_s"].to_numpy())
    series = regularize("lumbar", rows, clock)
    values = np.column_stack([series.acc_mps2, series.gyr_dps])
    for c, name in enumerate(columns):
        ok = rows[name].notna().to_numpy()
        expected = np.interp(np.arange(len(values)), clock.index[ok], rows[name].to_numpy()[ok], left=np.nan)
        holes = ~np.isin(np.arange(len(values)), clock.index[ok])
        assert np.array_equal(values[holes, c], expected[holes], equal_nan=True), name
