"""The simulator's truth kept with a virtual recording, and brought back on the session's clock.

A recording of virtual sensors keeps a ``simulation`` session event holding the simulator's spec (its
seed included), the recording's ``clock_start_s`` and a digest of the truth. The simulator is
deterministic, so the truth (``truth.json``, ``truth_angles.csv``, exactly as ``imuform simulate``
writes them) is simulated again when it is wanted, e.g. by ``imuform export``. This needs no change to
the store's schema, travels in ``session.json`` (export, then import, keeps it), and stores a few hundred
bytes where the true angles of an hour would be megabytes. The digest guards the one weakness: when the
simulator has changed since the recording, the truth is refused rather than written wrong.

The truth is on the simulator's true time, which the virtual clock shares; the recorded session's
clock starts at ``clock_start_s`` of it, so session time = true time - ``clock_start_s``.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from imuform.errors import ImuformError
from imuform.simulator import ErrorModel, SessionSpec, SetSpec, SimulatedSession, simulate_session
from imuform.simulator.activities import Person
from imuform.simulator.session import write_truth

#: Kind of the session event that keeps the simulation.
SIMULATION_EVENT = "simulation"

#: Keys of the truth document that are instants on the true clock (the other ``*_s`` keys are durations).
INSTANT_KEYS = frozenset({"start_s", "end_s", "bottom_s", "descent_s", "bottom_reached_s", "ascent_s", "top_reached_s"})


def spec_to_dict(spec: SessionSpec) -> dict:
    """A `SessionSpec` as plain JSON values."""
    return json.loads(json.dumps(asdict(spec)))


def spec_from_dict(doc: dict) -> SessionSpec:
    """The `SessionSpec` of `spec_to_dict` (raises TypeError or KeyError on a foreign document)."""
    fields = dict(doc)
    fields["sets"] = [SetSpec(**{**s, "extra_flexion_deg": tuple(s.get("extra_flexion_deg", ()))}) for s in doc["sets"]]
    fields["errors"] = ErrorModel(**doc["errors"]) if doc.get("errors") is not None else None
    fields["sensors"] = tuple(doc["sensors"])
    fields["rest_s"] = tuple(doc["rest_s"])
    fields["person"] = Person(**doc["person"]) if doc.get("person") is not None else None
    return SessionSpec(**fields)


def truth_digest(truth: dict) -> str:
    """SHA-256 of a truth document's canonical JSON."""
    return hashlib.sha256(json.dumps(truth, sort_keys=True).encode()).hexdigest()


def simulation_event(session: SimulatedSession, clock_start_s: float) -> dict:
    """The detail of the ``simulation`` event of a recording of ``session`` whose clock started at ``clock_start_s``."""
    return {
        "spec": spec_to_dict(session.spec),
        "clock_start_s": float(clock_start_s),
        "truth_sha256": truth_digest(session.truth),
    }


def on_session_clock(truth: dict, truth_angles: pd.DataFrame, clock_start_s: float) -> tuple[dict, pd.DataFrame]:
    """The truth moved from true time onto a recorded session's clock (true time - ``clock_start_s``).

    Instants (`INSTANT_KEYS`) and the angles' ``time_s`` move; durations do not. The document gains
    ``session_clock_start_s``, the true time of session time 0.
    """

    def shift(node):
        if isinstance(node, dict):
            return {k: v - clock_start_s if k in INSTANT_KEYS else shift(v) for k, v in node.items()}
        if isinstance(node, list):
            return [shift(v) for v in node]
        return node

    moved = shift(copy.deepcopy(truth))
    moved["session_clock_start_s"] = float(clock_start_s)
    angles = truth_angles.copy()
    angles["time_s"] = angles["time_s"] - clock_start_s
    return moved, angles


@dataclass
class RecordedTruth:
    """The truth of a virtual recording, on its session clock.

    Attributes
    ----------
    truth
        The truth document (``truth.json``), instants on the session clock.
    angles
        The true angles (``truth_angles.csv``), ``time_s`` on the session clock.
    clock_start_s
        True time of session time 0, s.
    """

    truth: dict
    angles: pd.DataFrame
    clock_start_s: float

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``truth.json`` and ``truth_angles.csv`` into ``out_dir``; return their paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return write_truth(out, self.truth, self.angles)


def recorded_truth(events: list[dict]) -> RecordedTruth | None:
    """The truth of a session from its events (None when it is no virtual recording of a simulation).

    Raises
    ------
    ImuformError
        When the kept simulation cannot be read or the simulator no longer reproduces its truth.
    """
    kept = [e["detail"] for e in events if e["kind"] == SIMULATION_EVENT]
    if not kept:
        return None
    detail = kept[-1]
    try:
        spec = spec_from_dict(detail["spec"])
        clock_start_s = float(detail["clock_start_s"])
    except (TypeError, KeyError, ValueError) as exc:
        raise ImuformError(
            f"the session's simulation event cannot be read ({exc}); this imuform cannot rebuild its truth"
        ) from exc
    session = simulate_session(spec)
    if truth_digest(session.truth) != detail.get("truth_sha256"):
        raise ImuformError(
            "the simulator no longer reproduces this session's truth (it changed since the recording); "
            "record the session again to get its truth"
        )
    truth, angles = on_session_clock(session.truth, session.truth_angles, clock_start_s)
    return RecordedTruth(truth, angles, clock_start_s)
