"""The simulator: a physically honest gym session with known truth, for tests, benchmarks and demos.

A kinematic body model (pelvis, lumbar and thoracic spine, optional upper thoracic and thigh) driven by
exercise profiles and faults, seen through a model of real IMUs on a real radio. See docs/simulator.md.
"""

from imuform.simulator.exercises import EXERCISES, FAULTS
from imuform.simulator.random_spec import random_session_spec
from imuform.simulator.sensor_model import ErrorModel
from imuform.simulator.session import (
    PLACEMENTS,
    SensorStream,
    SessionSpec,
    SetSpec,
    SimulatedSession,
    simulate_session,
    simulate_truth,
)

__all__ = [
    "EXERCISES",
    "FAULTS",
    "PLACEMENTS",
    "ErrorModel",
    "SensorStream",
    "SessionSpec",
    "SetSpec",
    "SimulatedSession",
    "random_session_spec",
    "simulate_session",
    "simulate_truth",
]
