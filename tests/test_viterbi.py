"""The block Viterbi of the stream assembler against a plain step-by-step one written out here."""

from __future__ import annotations

import numpy as np
import pytest

from imuform.ble.viterbi import viterbi_path


def reference_path(each: np.ndarray, shift: np.ndarray, rise_cost: float) -> np.ndarray:
    """Step by step: state k holds the count base + k; a count stays (preferred on a tie) or rises from the
    highest of the equally best states below; the path ends in the lowest of the equally best states."""
    m, states = each.shape
    score = list(each[0])
    back = np.zeros((m, states), dtype=int)
    for j in range(1, m):
        new = []
        for k in range(states):
            before = k + shift[j - 1]
            same = score[before] if 0 <= before < states else -np.inf
            best, rise_from = -np.inf, 0
            for i in range(min(before, states)):
                if score[i] >= best:
                    best, rise_from = score[i], i
            rise = best + rise_cost
            stay = same >= rise
            back[j, k] = min(max(before, 0), states - 1) if stay else rise_from
            new.append((same if stay else rise) + each[j, k])
        score = new
    path = np.empty(m, dtype=int)
    path[-1] = int(np.argmax(score))
    for j in range(m - 1, 0, -1):
        path[j - 1] = back[j, path[j]]
    return path


def total_score(each: np.ndarray, shift: np.ndarray, rise_cost: float, path: np.ndarray) -> float:
    """Log-likelihood of a path; -inf where its count (base + state) falls (all states impossible)."""
    count = path + np.r_[0, np.cumsum(shift)]
    if (np.diff(count) < 0).any():
        return -np.inf
    return float(each[np.arange(len(path)), path].sum() + rise_cost * np.count_nonzero(np.diff(count)))


def random_case(rng: np.random.Generator, m: int, states: int, integer: bool):
    """Scores with impossible states and band shifts of -2 … 3 (integer-valued: ties everywhere), or of 0 … 3
    with few impossible states (real-valued: a possible path, to compare its likelihood)."""
    if integer:
        each, impossible, shift = rng.integers(-6, 1, (m, states)).astype(float), 0.15, rng.integers(-2, 4, m - 1)
    else:
        each, impossible, shift = rng.normal(-3.0, 1.5, (m, states)), 0.02, rng.integers(0, 4, m - 1)
    each[rng.random((m, states)) < impossible] = -np.inf
    return each, shift, -2.0 if integer else float(rng.uniform(-5, -1))


@pytest.mark.parametrize("seed", range(40))
def test_with_integer_scores_the_path_is_the_step_by_step_one_ties_included(seed):
    rng = np.random.default_rng(seed)
    m, states = int(rng.integers(1, 300)), int(rng.integers(1, 12))
    each, shift, rise_cost = random_case(rng, m, states, integer=True)
    np.testing.assert_array_equal(viterbi_path(each, shift, rise_cost), reference_path(each, shift, rise_cost))


@pytest.mark.parametrize("seed", range(20))
def test_with_real_scores_the_path_is_equally_likely(seed):
    """Sums taken block by block may round otherwise than step by step: the paths may part only in near-ties."""
    rng = np.random.default_rng(100 + seed)
    m, states = int(rng.integers(2, 400)), int(rng.integers(2, 12))
    each, shift, rise_cost = random_case(rng, m, states, integer=False)
    found, expected = viterbi_path(each, shift, rise_cost), reference_path(each, shift, rise_cost)
    assert total_score(each, shift, rise_cost, found) == pytest.approx(
        total_score(each, shift, rise_cost, expected), abs=1e-9
    )
    np.testing.assert_array_equal(found, expected)


def test_exact_ties_on_a_flat_band_keep_the_count_as_long_as_they_can():
    """Every state equally likely: the count never rises and the path ends in the lowest state."""
    each = np.zeros((50, 4))
    assert (viterbi_path(each, np.zeros(49, dtype=int), -1.0) == 0).all()
