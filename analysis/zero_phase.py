"""Zero-phase Butterworth low-pass in numpy: the part of scipy.signal that `analysis.reps` smooths with.

Importing scipy.signal costs 0.4–0.8 s (it loads scipy.stats, scipy.interpolate and scipy.optimize), more
than the analysis of a short session, for one second-order filter. `butter` designs that filter the way
scipy.signal.butter does (analog prototype, prewarped bilinear transform, one second-order section), and
`sosfiltfilt` runs it forwards and backwards with scipy's default odd extension and steady-state initial
conditions. The names and arguments are scipy's, so `analysis.reps` imports them from here instead.

The recursion has no per-sample Python: the series is cut into blocks that are filtered side by side from
a zero state; the state each block really starts from follows block by block (the filter is linear), and
its free response is added. Results equal scipy's to rounding (about 1e-15 of the signal's scale, not to
the bit: the sums run in another order); `tests/test_scipy_stand_ins.py` compares both.
"""

from __future__ import annotations

import math

import numpy as np

#: Shortest block of the blocked recursion.
_MIN_BLOCK = 64
#: A step of the per-sample loop (numpy over all blocks) costs about this many steps of the per-block loop
#: (plain floats), so blocks of about sqrt(n / this) samples balance the two loops. Speed only: the result
#: is the same to rounding whatever the block.
_STEP_COST_RATIO = 16


def butter(order: int, cutoff_hz: float, *, fs: float, output: str = "sos") -> np.ndarray:
    """Second-order Butterworth low-pass as one second-order section, as ``scipy.signal.butter`` makes it.

    Parameters
    ----------
    order
        Filter order; only 2 (one section) is supported.
    cutoff_hz
        The -3 dB frequency in Hz, below the Nyquist frequency ``fs / 2``.
    fs
        Sample rate in Hz.
    output
        Only ``"sos"`` is supported.

    Returns
    -------
    numpy.ndarray
        ``(1, 6)`` section ``[b0, b1, b2, 1, a1, a2]``.
    """
    if order != 2 or output != "sos":
        raise ValueError("analysis.zero_phase.butter makes second-order sections of order 2 only")
    wn = 2.0 * cutoff_hz / fs
    if not 0.0 < wn < 1.0:
        raise ValueError(f"cut-off {cutoff_hz} Hz must lie between 0 and the Nyquist frequency {fs / 2} Hz")
    # scipy's steps: the prototype's poles, prewarped (its internal rate is 2), the bilinear transform
    # with 2 * rate = 4, the conjugate pair averaged, the polynomials of two zeros at -1 and of the poles
    warped = 4.0 * np.tan(math.pi * wn / 2.0)
    poles = warped * -np.exp(1j * math.pi * np.array([-1.0, 1.0]) / 4.0)
    gain = warped**2 * np.real(1.0 / np.prod(4.0 - poles))
    poles_z = (4.0 + poles) / (4.0 - poles)
    upper, lower = poles_z[poles_z.imag > 0], poles_z[poles_z.imag < 0]
    pole = ((upper + lower.conj()) / 2.0)[0]
    a = np.real(np.convolve([1.0, -pole], [1.0, -pole.conjugate()]))
    b = gain * np.convolve([1.0, 1.0], [1.0, 1.0])
    return np.concatenate([b, a])[np.newaxis, :]


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Initial state of one section for a step response in steady state (``scipy.signal.sosfilt_zi``).

    Parameters
    ----------
    sos
        ``(1, 6)`` section with ``a0 = 1``.

    Returns
    -------
    numpy.ndarray
        ``(1, 2)`` state of the transposed direct form II for a unit input held forever.
    """
    b, a = sos[0, :3], sos[0, 3:]
    # zi = A zi + B with A the transposed companion matrix of a (scipy.signal.lfilter_zi)
    i_minus_a = np.eye(2) - np.array([[-a[1], -a[2]], [1.0, 0.0]]).T
    return np.linalg.solve(i_minus_a, b[1:] - a[1:] * b[0])[np.newaxis, :]


def _sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """One section run over ``x`` from state ``zi`` (transposed direct form II), block by block."""
    b0, b1, b2, _, a1, a2 = (float(c) for c in sos[0])
    n = len(x)
    block = max(_MIN_BLOCK, math.isqrt(n // _STEP_COST_RATIO))
    count = -(-n // block)
    # columns: the blocks from a zero state, then the free responses to the unit states (1, 0) and (0, 1)
    u = np.zeros((block, count + 2))
    u[:, :count] = np.pad(x, (0, count * block - n)).reshape(count, block).T
    y = np.empty_like(u)
    z0, z1 = np.zeros(count + 2), np.zeros(count + 2)
    z0[count], z1[count + 1] = 1.0, 1.0
    tmp = np.empty(count + 2)
    for k in range(block):
        xk, yk = u[k], y[k]
        np.multiply(xk, b0, out=yk)
        yk += z0
        # z0 = b1 x - a1 y + z1;  z1 = b2 x - a2 y
        np.multiply(xk, b1, out=z0)
        z0 += z1
        z0 -= np.multiply(yk, a1, out=tmp)
        np.multiply(xk, b2, out=z1)
        z1 -= np.multiply(yk, a2, out=tmp)
    # the state each block starts from: s[j + 1] = M s[j] + e[j], M from the unit states' end states
    e0, e1 = z0.tolist(), z1.tolist()
    m00, m10, m01, m11 = e0[count], e1[count], e0[count + 1], e1[count + 1]
    starts0, starts1 = [0.0] * count, [0.0] * count
    s0, s1 = float(zi[0]), float(zi[1])
    for j in range(count):
        starts0[j], starts1[j] = s0, s1
        s0, s1 = m00 * s0 + m01 * s1 + e0[j], m10 * s0 + m11 * s1 + e1[j]
    out = y[:, :count]
    out += y[:, count : count + 1] * np.array(starts0)
    out += y[:, count + 1 : count + 2] * np.array(starts1)
    return out.T.reshape(-1)[:n]


def sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Forward-backward (zero-phase) filtering of a 1-D series, as ``scipy.signal.sosfiltfilt`` with its defaults.

    Parameters
    ----------
    sos
        ``(1, 6)`` second-order section from `butter`.
    x
        Finite 1-D series, longer than the padding (9 samples for one section).

    Returns
    -------
    numpy.ndarray
        The filtered series, same length as ``x``.
    """
    x = np.asarray(x, dtype=float)
    # scipy's default padding: 3 * (2 * sections + 1) samples, minus trailing zero coefficients
    taps = 3 - min(int(sos[0, 2] == 0), int(sos[0, 5] == 0))
    edge = 3 * taps
    if len(x) <= edge:
        raise ValueError(f"the series must be longer than the padding, {edge} samples")
    # odd extension: the series mirrored through its end points
    ext = np.concatenate([2 * x[0] - x[edge:0:-1], x, 2 * x[-1] - x[-2 : -edge - 2 : -1]])
    zi = sosfilt_zi(sos)[0]
    forward = _sosfilt(sos, ext, zi * ext[0])
    backward = _sosfilt(sos, forward[::-1], zi * forward[-1])
    return backward[::-1][edge:-edge]
