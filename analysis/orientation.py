"""Orientation of each sensor, ``q_world_sensor``, with VQF (6D by default, 9D on request).

Recorded sessions use VQF's acausal `vqf.offlineVQF`; `analysis.live` uses the online `vqf.VQF` class.
Magnetometers are unreliable next to a loaded barbell, so 6D is the default: the heading is then arbitrary
but inclination is absolute, which is all the sagittal angles need (docs/conventions.md). Before fusion,
each accelerometer's bias and gains are estimated from the session's rests and removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vqf import offlineVQF

from analysis.quiet import mask_runs, quiet_mask
from analysis.timebase import RegularSeries, samples_per_step


@dataclass(frozen=True)
class FusionConfig:
    """At what rate VQF fuses a sensor (`orientation_quats`).

    Attributes
    ----------
    fusion_rate_hz
        A sensor sampled at least twice as fast is fused on the means of ``k = rate // fusion_rate_hz``
        consecutive samples, at ``rate / k``, and its orientation interpolated back between them. The sagittal
        movements of a lift are slow (a rep takes 1–4 s; human movement has its power below 10 Hz, so 50 Hz
        keeps twice its Nyquist rate), the mean of ``k`` gyroscope samples over ``k`` periods is the same
        rotation to first order, and VQF's time constants are seconds. Its cost is per fused sample, so a
        100 Hz sensor is oriented in half the time. Measured (docs/performance.md, "Round 10"): the accuracy
        benchmark's angles the same to the hundredth of a degree at 50 Hz, BROAD's optical inclination RMSE
        (286 Hz, fused at 57 Hz) 0.51° → 0.53°.
    rate_tolerance
        A rate this share below a multiple of ``fusion_rate_hz`` counts as that multiple
        (`analysis.timebase.samples_per_step`): a 100 Hz sensor running 0.01 % slow is fused at 50 Hz.
    """

    fusion_rate_hz: float = 50.0
    rate_tolerance: float = 0.03

    def factor(self, rate_hz: float) -> int:
        """Samples fused as one, ``k``, for a sensor at ``rate_hz`` (1: every sample fused)."""
        return samples_per_step(rate_hz, self.fusion_rate_hz, self.rate_tolerance)


DEFAULT_FUSION = FusionConfig()


def orientation_quat(
    acc_mps2: np.ndarray,
    gyr_dps: np.ndarray,
    rate_hz: float,
    mag_uT: np.ndarray | None = None,
    fusion: FusionConfig = DEFAULT_FUSION,
) -> np.ndarray:
    """``q_world_sensor`` of one contiguous, regularly sampled stretch with offline VQF.

    Gyroscope bias is estimated by VQF at rest (and in motion). Spikes should be gone already
    (`analysis.despike`, which `analysis.timebase.regularize` applies).

    Parameters
    ----------
    acc_mps2, gyr_dps
        ``(n, 3)`` sensor-frame accelerometer (m/s²) and gyroscope (deg/s), no NaN.
    rate_hz
        Sampling rate, in Hz.
    mag_uT
        ``(n, 3)`` magnetometer (µT) for 9D fusion, or None for 6D.
    fusion
        The rate VQF fuses at (`FusionConfig`).

    Returns
    -------
    numpy.ndarray
        ``(n, 4)`` scalar-first quaternions, world frame z up.
    """
    quat_6d, quat_9d = orientation_quats(acc_mps2, gyr_dps, rate_hz, mag_uT, fusion)
    return quat_6d if quat_9d is None else quat_9d


def _block_means(values: np.ndarray, k: int) -> np.ndarray:
    """Means of ``k`` consecutive rows of ``(n, 3)`` values (the last ``n % k`` rows left out), contiguous."""
    end = len(values) // k * k
    # strided sums: 4× quicker than a mean over a reshaped axis
    total = values[0:end:k].copy()
    for j in range(1, k):
        total += values[j:end:k]
    return np.ascontiguousarray(total / k)


def _between_block_ends(quat_wxyz: np.ndarray, k: int, n: int) -> np.ndarray:
    """``(n, 4)`` quaternions on every sample from those at the end of each block of ``k`` samples.

    Block ``b`` ends at sample ``b·k + k − 1``. Samples between two block ends are normalised linear blends of
    the two (`analysis.rotations.nlerp_wxyz` at fixed fractions ``j / k``); the first block's earlier samples
    and the ``n % k`` after the last block end hold the nearest block end's.
    """
    m = len(quat_wxyz)
    out = np.empty((n, 4))
    out[: k - 1] = quat_wxyz[0]
    out[k - 1 :: k][:m] = quat_wxyz
    out[m * k :] = quat_wxyz[-1]
    if m > 1 and k > 1:
        q0, q1 = quat_wxyz[:-1], quat_wxyz[1:].copy()
        # q and -q are the same rotation: blend towards the neighbour on q0's side (the short way)
        q1[np.einsum("ij,ij->i", q0, q1) < 0] *= -1.0
        for j in range(1, k):
            q = q0 + (j / k) * (q1 - q0)
            out[k - 1 + j :: k][: m - 1] = q / np.linalg.norm(q, axis=1, keepdims=True)
    return out


def orientation_quats(
    acc_mps2: np.ndarray,
    gyr_dps: np.ndarray,
    rate_hz: float,
    mag_uT: np.ndarray | None = None,
    fusion: FusionConfig = DEFAULT_FUSION,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The 6D and, with a magnetometer, the 9D ``q_world_sensor`` of one stretch, from one VQF run.

    VQF's 6D output does not use the magnetometer (the same to the bit as a run without it), so a 9D
    analysis gets the 6D orientation that the bar-field evidence needs without fusing again. A sensor much
    faster than ``fusion.fusion_rate_hz`` is fused on the means of blocks of samples and interpolated back
    (`FusionConfig`). Parameters as for `orientation_quat`.

    Returns
    -------
    quat_6d, quat_9d
        ``(n, 4)`` scalar-first quaternions; ``quat_9d`` None without ``mag_uT``.
    """
    n = len(gyr_dps)
    k = fusion.factor(rate_hz)
    if n < 2 * k:
        k = 1  # too short to fuse a block mean: every sample
    gyr = np.radians(gyr_dps, dtype=float)
    fused = [np.asarray(acc_mps2, dtype=float), gyr] + ([] if mag_uT is None else [np.asarray(mag_uT, dtype=float)])
    fused = [np.ascontiguousarray(v) if k == 1 else _block_means(v, k) for v in fused]
    out = offlineVQF(fused[1], fused[0], fused[2] if mag_uT is not None else None, k / rate_hz)
    quats = [out["quat6D"]] + ([] if mag_uT is None else [out["quat9D"]])
    if k > 1:
        quats = [_between_block_ends(q, k, n) for q in quats]
    return quats[0], (quats[1] if mag_uT is not None else None)


def series_orientation(series: RegularSeries, *, use_mag: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``q_world_sensor`` on a sensor's regular grid, each stretch between long gaps fused on its own.

    Parameters
    ----------
    series
        The sensor on its regular grid (`analysis.timebase.regularize`).
    use_mag
        9D fusion when the sensor has a magnetometer.

    Returns
    -------
    quat, quat_6d
        ``(n, 4)`` quaternions, NaN inside long gaps: the orientation asked for, and the 6D one (the same
        array unless 9D), both from one VQF run per stretch (`orientation_quats`).
    """
    mag = series.mag_uT if use_mag else None
    quat_6d = np.full((len(series.time_s), 4), np.nan)
    quat_9d = None if mag is None else quat_6d.copy()
    # each stretch is one run of rows: slices (views) rather than a gathered copy of every series per stretch
    for i0, i1 in series.stretches():
        idx = slice(i0, i1)
        if i1 - i0 < 2:
            continue
        q6, q9 = orientation_quats(
            series.acc_mps2[idx], series.gyr_dps[idx], series.rate_hz, None if mag is None else mag[idx]
        )
        quat_6d[idx] = q6
        if quat_9d is not None:
            quat_9d[idx] = q9
    return (quat_6d if quat_9d is None else quat_9d), quat_6d


@dataclass(frozen=True)
class AccelerometerFit:
    """The accelerometer fit's parameters (`accelerometer_correction`), in units, with where they come from.

    Attributes
    ----------
    bias_prior_mps2
        Prior spread of an accelerometer bias, m/s² (consumer MEMS after factory trim).
    gain_prior
        Prior spread of the relative gain error of an axis, squared (a 1 % scale error is 0.02).
    rest_min_s
        Shortest rest that enters the fit, s.
    fit_residual
        Noise of |mean acc|² over one rest, m²/s⁴ (about 2 g × 0.02 m/s²).
    outlier_residual
        A rest whose |mean acc|² misses the fit of the other rests by more than this, m²/s⁴, was no rest:
        it is left out and the fit repeated. 2.5 × ``fit_residual`` (|acc| off by 0.05 m/s², 0.5 %). The
        quiet test lets the slow end of a movement through (gyroscope under 10 deg/s, |acc| within
        0.6 m/s² of g): four such "rests" in simulated deadlift reps (sticking points, the arrival at lockout; |acc| 9.55-10.07 m/s²)
        bent the lumbar fit of benchmark seed 72 to gains of 0.93 and a bias of 0.41 m/s², which made its
        lumbar RMSE 6.5°; one at the end of a reach to the floor put another session 26° off. A threshold
        of 2 left 0.19 m/s² of bias there, 1 left 0.07 (docs/analysis.md).
    """

    bias_prior_mps2: float = 0.1
    gain_prior: float = 0.02
    rest_min_s: float = 0.5
    fit_residual: float = 0.4
    outlier_residual: float = 1.0


DEFAULT_ACCELEROMETER_FIT = AccelerometerFit()


def accelerometer_correction(
    acc_mps2: np.ndarray, gyr_dps: np.ndarray, rate_hz: float, fit: AccelerometerFit = DEFAULT_ACCELEROMETER_FIT
) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer bias and per-axis gain from the rests of a session, by an ellipsoid fit with a prior.

    At rest the accelerometer reads gravity, so the rest readings lie on an ellipsoid (per-axis gains)
    around the bias. Both tilt every inclination, and the tilt flips sign when the sensor turns over
    (head-down on a back extension bench), so they are removed before fusion. Only rests at different
    orientations reveal them; the prior (ridge) keeps what they do not reveal at zero.

    Parameters
    ----------
    acc_mps2, gyr_dps
        ``(n, 3)`` one sensor on its regular grid (NaN allowed).
    rate_hz
        Its rate, in Hz.
    fit
        The priors and thresholds.

    Returns
    -------
    bias_mps2, gain
        Apply as ``gain * (acc_mps2 - bias_mps2)`` (sensor frame; gains relative, near 1).
    """
    starts, ends = mask_runs(quiet_mask(acc_mps2, gyr_dps, rate_hz))
    keep = (ends - 1) / rate_hz - starts / rate_hz >= fit.rest_min_s
    if keep.sum() < 2:
        return np.zeros(3), np.ones(3)
    a = np.array([acc_mps2[i0:i1].mean(axis=0) for i0, i1 in zip(starts[keep], ends[keep])])
    # Σ w_k (a_k - b_k)² = r² with w_k = 1 + d_k is linear in (d, β = w·b, c):
    # |a|² = -Σ d_k a_k² + 2 Σ β_k a_k + c. The ridge acts on d and β only.
    A = np.column_stack([-(a**2), 2 * a, np.ones(len(a))])
    y = np.sum(a**2, axis=1)
    prior = [fit.gain_prior] * 3 + [fit.bias_prior_mps2] * 3
    ridge = np.diag([(fit.fit_residual / p) ** 2 for p in prior] + [0.0])

    use = np.ones(len(a), dtype=bool)
    while True:
        inv = np.linalg.inv(A[use].T @ A[use] + ridge)
        x = inv @ A[use].T @ y[use]
        # each rest against a fit without it (the leave-one-out residual e / (1 - h) of a ridge fit): with
        # few rests a bad one pulls a fit that includes it onto itself; the worst goes first, as it also
        # spoils the others' misses
        leverage = np.einsum("ij,jk,ik->i", A, inv, A)
        miss = np.where(use, np.abs(y - A @ x) / np.clip(1.0 - leverage, 1e-6, None), 0.0)
        if miss.max() <= fit.outlier_residual or use.sum() <= 2:
            break
        use[np.argmax(miss)] = False
    w = 1.0 + x[:3]
    return x[3:6] / w, np.sqrt(w)


def correct_accelerometer(series: RegularSeries) -> dict:
    """Remove one sensor's accelerometer bias and gain errors in place (`accelerometer_correction`).

    Returns
    -------
    dict
        ``acc_bias_mps2`` and ``acc_gain`` (lists), for the sync report.
    """
    bias, gain = accelerometer_correction(series.acc_mps2, series.gyr_dps, series.rate_hz)
    series.acc_mps2 = gain * (series.acc_mps2 - bias)
    return {"acc_bias_mps2": bias.tolist(), "acc_gain": gain.tolist()}


def correct_accelerometers(series: dict[str, RegularSeries]) -> dict[str, dict]:
    """`correct_accelerometer` of every sensor, in place; per placement its correction."""
    return {placement: correct_accelerometer(s) for placement, s in series.items()}
