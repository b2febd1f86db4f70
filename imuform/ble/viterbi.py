"""The most likely path of a never-falling count through a sliding band of states, in blocks.

Step ``j`` has ``S`` states; state ``k`` stands for the count ``base_j + k``. A count stays or rises (by
any amount, at one cost), never falls, so with ``shift_j = base_j − base_{j−1}`` state ``k`` follows state
``k + shift_j`` (the same count) or any state below it (a rise)::

    score_j[k] = each_j[k] + max(score_{j−1}[k + shift_j], max(score_{j−1}[:k + shift_j]) + rise_cost)

A Python loop over the steps costs about ten numpy calls per step. The recursion is a max-plus product
of one small matrix per step, and max-plus products are associative, so the steps are cut into ``B``
blocks of ``L ≈ √m``, each worked on at once (every loop below runs about ``√m`` times, on arrays of all
the blocks):

1. per block, the max-plus product of its ``L`` steps (the best score from each state at its start to
   each at its end);
2. block by block, the scores at the block starts;
3. in every block at once, the step-by-step scores from its start and the back-pointers;
4. the back-track: each block's back-pointers composed, the states at the block starts from the end
   backwards, then within every block at once.

Ties are broken as the step-by-step order breaks them: a count stays when staying scores at least as well
as rising, a rise comes from the highest of the equally best states below, and the path ends in the
lowest of the equally best states. With integer-valued scores every sum is exact and the path is the
step-by-step one, ties included. Otherwise the scores at the block starts are sums taken in another order
than step by step, so the two orders may part where two paths score within rounding (about 1e-10 per
notification) of each other: equally likely paths.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def _running_max(score: np.ndarray, out: np.ndarray) -> None:
    """The best of states 0 … k for every state k (axis 0); a loop over the few states beats
    ``np.maximum.accumulate``, which does not vectorise across the other axes."""
    out[0] = score[0]
    for k in range(1, len(score)):
        np.maximum(out[k - 1], score[k], out=out[k])


def _step(
    score: np.ndarray, move: _Move, each: np.ndarray, rise_cost: float, back: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """One step of every block on scores ``(S + 1, B, …)`` (state first; state S, ``-inf``, stands for no
    state): the new scores and, when ``back``, the state each came from."""
    states = len(score) - 1
    best_before = np.empty_like(score)
    best_before[states] = -np.inf
    _running_max(score[:states], best_before[:states])
    rows = score.reshape(len(score) * score.shape[1], -1)  # (state, block) pairs
    same = np.take(rows, move.same_at, axis=0).reshape(each.shape[:2] + score.shape[2:])
    rise = np.take(best_before.reshape(rows.shape), move.rise_from, axis=0).reshape(same.shape)
    rise += rise_cost
    new = best_before  # reused, with its no state
    if not back:
        np.maximum(same, rise, out=rise)  # the same as preferring a stay on a tie, without back-pointers
        np.add(rise, each, out=new[:states])
        return new, None
    # the highest state at which the running best is reached (no state: 0)
    where_best = np.zeros(score.shape, dtype=np.int64)
    is_best = score[:states] >= best_before[:states]
    _running_max(np.where(is_best, np.arange(states)[:, None], 0), where_best[:states])
    stay = same >= rise
    np.add(np.where(stay, same, rise), each, out=new[:states])
    return new, np.where(stay, move.stay_at, np.take(where_best, move.rise_from))


class _Move(NamedTuple):
    """Where each state of one step of every block comes from; arrays ``(S, B)``.

    ``same_at`` and ``rise_from`` index the (state, block) pairs of scores padded by one ``-inf`` state
    (state S) flattened, ``state · B + block``: `numpy.take` on them is three times quicker than indexing
    by state and block.

    Attributes
    ----------
    same_at
        The state with the same count before (S when outside the band).
    rise_from
        The highest state a rise may come from (S when none).
    stay_at
        The back-pointer of a stay (a state, within the band).
    """

    same_at: np.ndarray
    rise_from: np.ndarray
    stay_at: np.ndarray


class _Moves:
    """The `_Move` of each step of the blocks, looked up per step in tables over the few band shifts.

    Parameters
    ----------
    shift
        (L, B) how far the band moves at each step of each block.
    states
        States in the band.
    """

    def __init__(self, shift: np.ndarray, states: int) -> None:
        self.low = int(shift.min())
        self.shift = shift - self.low
        blocks = shift.shape[1]
        before = np.arange(states)[:, None] + np.arange(self.low, int(shift.max()) + 1)[None, :]  # (S, shifts)
        self.same_at = np.where((before >= 0) & (before < states), before, states) * blocks
        self.rise_from = np.where(before > 0, np.minimum(before, states) - 1, states) * blocks
        self.stay_at = np.clip(before, 0, states - 1)
        self.block = np.arange(blocks)

    def __getitem__(self, i: int) -> _Move:
        column = self.shift[i]
        return _Move(
            self.same_at[:, column] + self.block, self.rise_from[:, column] + self.block, self.stay_at[:, column]
        )


def viterbi_path(each: np.ndarray, shift: np.ndarray, rise_cost: float) -> np.ndarray:
    """The most likely state of every step (see the module's docstring).

    Parameters
    ----------
    each
        (m, S) log-likelihood of each state at each step (``-inf``: impossible).
    shift
        (m − 1,) integer ``base_j − base_{j−1}`` for steps 1 … m − 1.
    rise_cost
        Log-likelihood added at every rise of the count.

    Returns
    -------
    numpy.ndarray
        (m,) the state at each step.
    """
    m, states = each.shape
    length = max(int(np.ceil(np.sqrt(m))), 1)
    blocks = -(-(m - 1) // length) if m > 1 else 1
    # steps 1 … blocks · length, those past the end padded; block b's steps are b · length + 1 … (b + 1) · length
    padded = blocks * length + 1
    step_each = np.zeros((padded, states))
    step_each[:m] = each
    step_shift = np.zeros(padded, dtype=np.int64)
    step_shift[1:m] = shift
    step_each = step_each[1:].reshape(blocks, length, states).transpose(1, 2, 0).copy()  # (L, S, B)
    moves = _Moves(step_shift[1:].reshape(blocks, length).T, states)
    # 1. each block's max-plus product: to every state (axis 0) of every block (axis 1) from every state at
    # its start (axis 2)
    transfer = np.full((states + 1, blocks, states), -np.inf)
    transfer[np.arange(states), :, np.arange(states)] = 0.0
    for i in range(length if blocks > 1 else 0):
        transfer, _ = _step(transfer, moves[i], step_each[i, :, :, None], rise_cost, False)
    # 2. the scores at the block starts
    score = np.full((states + 1, blocks), -np.inf)
    score[:states, 0] = each[0]
    for b in range(1, blocks):
        score[:states, b] = (transfer[:states, b - 1] + score[:states, b - 1]).max(axis=1)
    # 3. every block's steps from its start, with the back-pointers
    back = np.empty((length, states, blocks), dtype=np.int64)
    last = (m - 1) - (blocks - 1) * length  # step of the last block holding step m − 1
    final = score[:states, -1] if last == 0 else None
    for i in range(length):
        score, back[i] = _step(score, moves[i], step_each[i], rise_cost, True)
        if i + 1 == last:
            final = score[:states, -1]
    back[last:, :, -1] = np.arange(states)  # padded steps lead nowhere
    # 4. the back-track: each block's back-pointers composed (end state -> start state), then the states
    # at the block ends from the last backwards, then every block's steps at once
    composed = np.broadcast_to(np.arange(states)[:, None], (states, blocks))
    block = np.arange(blocks)
    for i in range(length - 1, -1, -1):
        composed = np.take(back[i], composed * blocks + block)
    end_state = np.empty(blocks, dtype=np.int64)
    end_state[-1] = int(np.argmax(final))
    for b in range(blocks - 1, 0, -1):
        end_state[b - 1] = composed[end_state[b], b]
    path = np.empty((blocks, length + 1), dtype=np.int64)
    path[:, length] = end_state
    for i in range(length - 1, -1, -1):
        path[:, i] = np.take(back[i], path[:, i + 1] * blocks + block)
    return np.concatenate([path[:, :length].ravel(), path[-1:, length]])[:m]
