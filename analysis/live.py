"""Online spine angles for the live view: one VQF per sensor, fed block by block as BLE notifications come.

The same geometry as `analysis.angles`, made causal: the upper segment's heading is re-aligned to the
lumbar one whenever both sensors rest (VQF's rest detection) in a sagittal posture, and held in between.
"""

from __future__ import annotations

import numpy as np
from vqf import VQF

from analysis.angles import ANCHOR_MAX_TILT_DEG
from analysis.calibration import segment_rotations
from analysis.rotations import cardan_angles_deg, heading_rad, inclination_deg, matrices_from_quat_wxyz, rotate_about_z


class LiveAngles:
    """Lumbar flexion and inclinations, updated per block of samples.

    Parameters
    ----------
    calibration
        A calibration dict (`analysis.calibration`) covering ``lumbar`` and ``thoracic``.
    rate_hz
        Sampling rate of each placement, in Hz (one number for all).
    """

    def __init__(self, calibration: dict, rate_hz: float | dict[str, float]):
        self._R_sensor_segment = segment_rotations(calibration)
        missing = {"lumbar", "thoracic"} - set(self._R_sensor_segment)
        if missing:
            raise ValueError(f"the calibration has no {sorted(missing)} sensor; calibrate with both sensors on")
        rates = rate_hz if isinstance(rate_hz, dict) else {p: rate_hz for p in self._R_sensor_segment}
        self._filters = {p: VQF(1.0 / rates[p]) for p in self._R_sensor_segment}
        self._latest: dict[str, np.ndarray] = {}
        self._rest: dict[str, bool] = {}
        self._heading_offset_rad: float | None = None
        self._sin_tilt = float(np.sin(np.radians(ANCHOR_MAX_TILT_DEG)))

    def feed(self, placement: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray) -> dict[str, np.ndarray]:
        """Add one block of samples of one sensor and return the angles at its sample times.

        Parameters
        ----------
        placement
            The sensor's placement.
        time_s
            ``(n,)`` sample times on the session clock, in s.
        acc_mps2, gyr_dps
            ``(n, 3)`` sensor-frame accelerometer (m/s²) and gyroscope (deg/s).

        Returns
        -------
        dict
            ``time_s``, ``lumbar_flexion_deg`` (NaN until both sensors have reported),
            ``trunk_inclination_deg`` and ``pelvis_inclination_deg`` (NaN for the sensor not in this block
            until it reports), each of length n. The other sensor's latest orientation stands in for its
            value at these times.
        """
        if placement not in self._filters:
            return {}
        out = self._filters[placement].updateBatch(
            np.ascontiguousarray(np.radians(gyr_dps), dtype=float), np.ascontiguousarray(acc_mps2, dtype=float)
        )
        R = matrices_from_quat_wxyz(out["quat6D"]) @ self._R_sensor_segment[placement]
        self._latest[placement] = R[-1]
        self._rest[placement] = bool(out["restDetected"][-1])
        n = len(R)
        lumbar = R if placement == "lumbar" else self._held("lumbar", n)
        thoracic = R if placement == "thoracic" else self._held("thoracic", n)
        flexion = np.full(n, np.nan)
        if np.isfinite(lumbar).all() and np.isfinite(thoracic).all():
            self._update_heading(lumbar[-1], thoracic[-1])
            aligned = rotate_about_z(thoracic, np.full(n, self._heading_offset_rad))
            flexion = cardan_angles_deg(np.transpose(lumbar, (0, 2, 1)) @ aligned)[0]
        return {
            "time_s": np.asarray(time_s, dtype=float),
            "lumbar_flexion_deg": flexion,
            "trunk_inclination_deg": inclination_deg(thoracic),
            "pelvis_inclination_deg": inclination_deg(lumbar),
        }

    def _held(self, placement: str, n: int) -> np.ndarray:
        if placement not in self._latest:
            return np.full((n, 3, 3), np.nan)
        return np.repeat(self._latest[placement][None], n, axis=0)

    def _update_heading(self, R_lumbar: np.ndarray, R_thoracic: np.ndarray) -> None:
        """Re-align the headings at rest in a sagittal posture (twist reset), or when both first report."""
        sagittal = abs(R_lumbar[2, 1]) < self._sin_tilt and abs(R_thoracic[2, 1]) < self._sin_tilt
        if self._heading_offset_rad is None or (sagittal and all(self._rest.values())):
            y = np.stack([R_lumbar[:, 1], R_thoracic[:, 1]])
            self._heading_offset_rad = float(heading_rad(y[:1])[0] - heading_rad(y[1:])[0])
