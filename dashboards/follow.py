"""Following a growing session: re-analyse in proportion to the new data, not on every poll.

A full analysis costs about as much as the session is long. Re-running (and re-drawing) it whenever a
recording has written more, every poll, makes following a session quadratic in its length. Instead the
view keeps its analysis while the session has grown by less than a fixed fraction of what was analysed:
each analysis then covers at least that fraction of new data, so the work per second of recording stays
constant and the total stays in proportion to the session (about ``1 / growth`` full analyses). Once the
session stops growing it is analysed in full at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FollowConfig:
    """When a growing session is analysed again.

    Attributes
    ----------
    growth
        Re-analyse once the session holds this fraction more samples than the last analysis saw (0.02:
        at one hour of recording, every 72 s of new data; the view lags by at most that fraction).
    min_new_samples
        Never re-analyse for fewer new samples than this (short sessions re-draw every few seconds).
    """

    growth: float = 0.02
    min_new_samples: int = 500


def reanalysis_due(analysed_samples: int, samples: int, config: FollowConfig) -> bool:
    """Whether a growing session analysed at ``analysed_samples`` samples, now at ``samples``, is due again."""
    return samples >= analysed_samples + max(config.min_new_samples, config.growth * analysed_samples)
