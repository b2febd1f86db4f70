"""The numpy stand-ins that keep scipy.signal, scipy.ndimage, scipy.fft and scipy.spatial out of the analysis'
start-up give scipy's results (docs/performance.md, round 5): equal, or for the blocked IIR recursion equal
to rounding."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import fft, ndimage, signal
from scipy.spatial.transform import Rotation

from analysis.peaks import find_peaks
from analysis.rotations import quat_wxyz_from_matrix
from analysis.running import maximum_filter1d, minimum_filter1d
from analysis.timebase import fast_fft_length
from analysis.zero_phase import butter, sosfilt_zi, sosfiltfilt


@pytest.mark.parametrize("rate_hz", [25.0, 50.0, 100.0, 104.0, 400.0])
def test_butter_and_its_initial_state_equal_scipy(rate_hz):
    for cutoff_hz in np.linspace(0.1, 0.44 * rate_hz, 23):
        sos = signal.butter(2, cutoff_hz, fs=rate_hz, output="sos")
        assert np.array_equal(butter(2, cutoff_hz, fs=rate_hz), sos)
        assert np.array_equal(sosfilt_zi(sos), signal.sosfilt_zi(sos))


@pytest.mark.parametrize("n", [10, 64, 65, 1_000, 4_097, 200_000])
def test_sosfiltfilt_equals_scipy_to_rounding(n):
    x = 40.0 + 3.0 * np.random.default_rng(n).normal(size=n).cumsum()
    sos = signal.butter(2, 2.0, fs=100.0, output="sos")
    scale = np.abs(x).max()
    assert np.abs(sosfiltfilt(sos, x) - signal.sosfiltfilt(sos, x)).max() <= 1e-13 * scale


def test_find_peaks_equals_scipy_with_flat_tops_and_windows():
    rng = np.random.default_rng(2)
    for trial in range(600):
        n = int(rng.integers(3, 300))
        x = rng.normal(size=n).cumsum()
        if trial % 3 == 1:
            x = np.round(x)  # flat tops
        elif trial % 3 == 2:
            x = rng.integers(0, 4, size=n).astype(float)
        prominence = float(rng.choice([0.0, 0.5, 1.0, 3.0]))
        wlen = [None, 2, 3, 5, 10.5, 51, 1000][trial % 7]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns about peaks of zero prominence
            want, want_props = signal.find_peaks(x, prominence=prominence, wlen=wlen)
        got, got_props = find_peaks(x, prominence=prominence, wlen=wlen)
        assert np.array_equal(got, want)
        assert np.array_equal(got_props["prominences"], want_props["prominences"])


@pytest.mark.parametrize("mode", ["reflect", "nearest"])
def test_running_extremes_equal_scipy(mode):
    rng = np.random.default_rng(3)
    for _ in range(400):
        n = int(rng.integers(1, 200))
        size = int(rng.integers(1, 2 * n + 3))
        origin = int(rng.integers(-(size // 2), (size - 1) // 2 + 1))
        x = np.round(rng.normal(size=n), 1)
        assert np.array_equal(
            maximum_filter1d(x, size, mode=mode, origin=origin),
            ndimage.maximum_filter1d(x, size, mode=mode, origin=origin),
        )
        assert np.array_equal(
            minimum_filter1d(x, size, mode=mode, origin=origin),
            ndimage.minimum_filter1d(x, size, mode=mode, origin=origin),
        )


def test_fast_fft_length_equals_scipy():
    for n in [*range(1, 3000), *range(700_000, 700_200), 2**20 + 1, 3**12 + 1]:
        assert fast_fft_length(n) == fft.next_fast_len(n, real=True)


def test_numpy_fft_correlation_equals_scipy_fft():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 30_000))
    size = fast_fft_length(2 * len(a) - 1)
    want = fft.irfft(fft.rfft(b, size) * np.conj(fft.rfft(a, size)), size)
    assert np.array_equal(np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size), want)


def test_quaternion_from_matrix_equals_scipy():
    matrices = Rotation.random(2000, rng=5).as_matrix()
    # a few not quite orthogonal: both take the nearest rotation first
    matrices[::10] += np.random.default_rng(6).normal(scale=1e-7, size=matrices[::10].shape)
    for R in matrices:
        assert np.array_equal(quat_wxyz_from_matrix(R), Rotation.from_matrix(R).as_quat(scalar_first=True))
