"""The signal pipeline: time base, orientation, calibration, spine angles, sets, reps, metrics and flags.

The public API is imported on first use (PEP 562), so importing one submodule such as
`analysis.limits` does not load the whole pipeline.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "analyze_session": "analysis.pipeline",
    "analyze_angles": "analysis.pipeline",
    "compute_angles": "analysis.angles",
    "SessionAnalysis": "analysis.session",
    "ANGLE_COLUMNS": "analysis.session",
    "Limits": "analysis.limits",
    "DEFAULT_LIMITS": "analysis.limits",
    "PROFILES": "analysis.limits",
    "resolve_limits": "analysis.limits",
    "FLAGS": "analysis.flags",
    "EXERCISES": "analysis.classify",
    "CLASSES": "analysis.classify",
    "OTHER": "analysis.classify",
    "REP_METRIC_COLUMNS": "analysis.metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
