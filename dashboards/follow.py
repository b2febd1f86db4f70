"""Following a growing session: re-analyse in proportion to the new data, not on every poll.

A full analysis costs about as much as the session is long. Re-running it whenever a recording has
written more (every poll) makes following a session quadratic in its length. Instead the cached analysis
is kept while the session has grown by less than a fixed fraction of what was analysed: each analysis
then covers at least that fraction of new data, so the work per second of recording stays constant and the
total stays in proportion to the session (about ``1 / growth`` full analyses). Once the session stops
growing it is analysed in full at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock

from analysis.session import SessionAnalysis


@dataclass(frozen=True)
class FollowConfig:
    """When a growing session is analysed again.

    Attributes
    ----------
    growth
        Re-analyse once the session holds this fraction more samples than the last analysis saw (0.02:
        at one hour of recording, every 72 s of new data; the view lags by at most that fraction).
    min_new_samples
        Never re-analyse for fewer new samples than this (short sessions re-draw about every poll).
    """

    growth: float = 0.02
    min_new_samples: int = 500


class AnalysisCache:
    """The analysis of the session in view, redone when it is worth it (`FollowConfig`).

    Parameters
    ----------
    analyse
        Analyses a session id (``None`` when there is nothing to analyse yet).
    config
        When a growing session is analysed again.
    """

    def __init__(self, analyse: Callable[[str], SessionAnalysis | None], config: FollowConfig) -> None:
        self.analyse = analyse
        self.config = config
        self._lock = Lock()
        self._entry: tuple[str, int, SessionAnalysis | None] | None = None  # session id, samples seen, analysis

    def get(self, session_id: str, samples: int, live: bool) -> SessionAnalysis | None:
        """The analysis of ``session_id`` now holding ``samples`` samples; while ``live`` it may be older."""
        with self._lock:
            entry = self._entry
            if entry is None or entry[0] != session_id or entry[1] != samples:
                seen = entry[1] if entry is not None and entry[0] == session_id else None
                fresh_enough = (
                    live
                    and seen is not None
                    and seen < samples < seen + max(self.config.min_new_samples, self.config.growth * seen)
                )
                if not fresh_enough:
                    self._entry = (session_id, samples, self.analyse(session_id))
            return self._entry[2]
