"""Online spine angles for the live view: one VQF per sensor, fed block by block as BLE notifications come.

The same geometry as `analysis.angles`, made causal: spikes are held back by `analysis.despike.JumpFilter`,
and the upper segment's heading is re-aligned to the lumbar one whenever both sensors rest (VQF's rest
detection) in a sagittal posture, and held in between.
"""

from __future__ import annotations

import numpy as np
from vqf import VQF

from analysis.angles import ANCHOR_MAX_TILT_DEG
from analysis.calibration import Calibration, segment_rotations
from analysis.despike import JUMP_ACC_MPS2, JUMP_GYR_DPS, JumpFilter
from analysis.rotations import cardan_angles_deg, heading_rad, inclination_deg, matrices_from_quat_wxyz, rotate_about_z
from analysis.timebase import MAX_GAP_S

#: Samples of each sensor kept to pair the two sensors' samples in time.
RECENT_SAMPLES = 32


class LiveAngles:
    """Lumbar flexion and inclinations, updated per block of samples.

    Parameters
    ----------
    calibration
        A calibration (`analysis.calibration`) covering ``lumbar`` and ``thoracic``.
    rate_hz
        Sampling rate of each placement, in Hz (one number for all).
    """

    def __init__(self, calibration: Calibration, rate_hz: float | dict[str, float]):
        self._R_sensor_segment = segment_rotations(calibration)
        missing = {"lumbar", "thoracic"} - set(self._R_sensor_segment)
        if missing:
            raise ValueError(f"the calibration has no {sorted(missing)} sensor; calibrate with both sensors on")
        rates = rate_hz if isinstance(rate_hz, dict) else {p: rate_hz for p in self._R_sensor_segment}
        self._period_s = {p: 1.0 / rates[p] for p in self._R_sensor_segment}
        self._filters = {p: VQF(self._period_s[p]) for p in self._R_sensor_segment}
        self._last_time_s: dict[str, float] = {}
        self._despike = {p: (JumpFilter(JUMP_ACC_MPS2), JumpFilter(JUMP_GYR_DPS)) for p in self._R_sensor_segment}
        # Recent orientations per sensor, (time_s, R_world_segment), to pair samples of the two sensors.
        self._recent: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._rest: dict[str, bool] = {}
        self._heading_offset_rad: float | None = None
        self._sin_tilt = float(np.sin(np.radians(ANCHOR_MAX_TILT_DEG)))

    def feed(
        self, placement: str, time_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray
    ) -> dict[str, np.ndarray]:
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
            ``time_s``, ``lumbar_flexion_deg``, ``trunk_inclination_deg`` and ``pelvis_inclination_deg``,
            each of length n. The other sensor's nearest recent sample stands in for its value at these
            times (its latest, for times it has not reached yet); NaN where it has not reported yet or that
            sample is further away than `analysis.timebase.MAX_GAP_S`. After a long gap of its own a
            sensor's filter restarts.
        """
        if placement not in self._filters:
            return {}
        time_s = np.asarray(time_s, dtype=float)
        if time_s[0] - self._last_time_s.get(placement, time_s[0]) > MAX_GAP_S + self._period_s[placement]:
            self._restart(placement)
        self._last_time_s[placement] = float(time_s[-1])
        # A single gyro spike would turn the online orientation by up to 20° at once: hold spikes back.
        despike_acc, despike_gyr = self._despike[placement]
        out = self._filters[placement].updateBatch(
            np.ascontiguousarray(np.radians(despike_gyr(gyr_dps))), np.ascontiguousarray(despike_acc(acc_mps2))
        )
        R = matrices_from_quat_wxyz(out["quat6D"]) @ self._R_sensor_segment[placement]
        if placement in self._recent:
            times, Rs = self._recent[placement]
            times, Rs = np.concatenate([times, time_s])[-RECENT_SAMPLES:], np.concatenate([Rs, R])[-RECENT_SAMPLES:]
        else:
            times, Rs = time_s, R
        self._recent[placement] = (times, Rs)
        self._rest[placement] = bool(out["restDetected"][-1])
        lumbar = R if placement == "lumbar" else self._held("lumbar", time_s)
        thoracic = R if placement == "thoracic" else self._held("thoracic", time_s)
        flexion = np.full(len(R), np.nan)
        both = np.isfinite(lumbar).all(axis=(1, 2)) & np.isfinite(thoracic).all(axis=(1, 2))
        if both.any():
            self._update_heading(lumbar[both][-1], thoracic[both][-1])
            aligned = rotate_about_z(thoracic[both], np.full(both.sum(), self._heading_offset_rad))
            flexion[both] = cardan_angles_deg(np.transpose(lumbar[both], (0, 2, 1)) @ aligned)[0]
        return {
            "time_s": time_s,
            "lumbar_flexion_deg": flexion,
            "trunk_inclination_deg": inclination_deg(thoracic),
            "pelvis_inclination_deg": inclination_deg(lumbar),
        }

    def _held(self, placement: str, time_s: np.ndarray) -> np.ndarray:
        """The other sensor's orientation at ``time_s``: its nearest recent sample (its latest for times
        it has not reached yet); NaN where that is further away than a long gap."""
        out = np.full((len(time_s), 3, 3), np.nan)
        if placement in self._recent:
            times, Rs = self._recent[placement]
            i = (
                np.clip(np.searchsorted(times, time_s), 1, len(times) - 1)
                if len(times) > 1
                else np.zeros(len(time_s), int)
            )
            if len(times) > 1:
                i = np.where(np.abs(times[i - 1] - time_s) < np.abs(times[i] - time_s), i - 1, i)
            fresh = np.abs(time_s - times[i]) <= MAX_GAP_S
            out[fresh] = Rs[i[fresh]]
        return out

    def _restart(self, placement: str) -> None:
        """After a long gap: a fresh filter (it snaps to the accelerometer) that keeps the gyro bias."""
        bias, sigma = self._filters[placement].getBiasEstimate()
        self._filters[placement] = VQF(self._period_s[placement])
        self._filters[placement].setBiasEstimate(bias, sigma)
        self._recent.pop(placement, None)
        # The fresh filter's heading is arbitrary: align again as at the start.
        self._heading_offset_rad = None

    def _update_heading(self, R_lumbar: np.ndarray, R_thoracic: np.ndarray) -> None:
        """Re-align the headings at rest in a sagittal posture (twist reset), or when both first report."""
        sagittal = abs(R_lumbar[2, 1]) < self._sin_tilt and abs(R_thoracic[2, 1]) < self._sin_tilt
        if self._heading_offset_rad is None or (sagittal and all(self._rest.values())):
            y = np.stack([R_lumbar[:, 1], R_thoracic[:, 1]])
            self._heading_offset_rad = float(heading_rad(y[:1])[0] - heading_rad(y[1:])[0])
