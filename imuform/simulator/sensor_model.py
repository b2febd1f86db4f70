"""What an IMU strapped on a body segment reports: mounting, soft tissue, filter, errors, clock and radio.

Every parameter is drawn once per sensor from the session's seeded generator and written to truth.json.
Defaults follow consumer MEMS IMUs in BLE sensors (BMI160/ICM-42688/LSM6DS class) and what the real
recordings in ../shared/data show (see docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal
from scipy.spatial.transform import Rotation

from imuform.simulator.body import PointMotion, SegmentMotion

GRAVITY_MPS2 = 9.81
ACC_FULL_SCALE_MPS2 = 16 * GRAVITY_MPS2
GYR_FULL_SCALE_DPS = 2000.0
ACC_LSB_MPS2 = ACC_FULL_SCALE_MPS2 / 32768
GYR_LSB_DPS = GYR_FULL_SCALE_DPS / 32768
#: Internal rate the motion is evaluated at before the sensor's low-pass filter and decimation.
MIN_INTERNAL_RATE_HZ = 200.0

#: Nominal mounting ``R_segment_sensor``: sensor x along the spine (up), z out of the skin (back),
#: y left; on the thigh, z points out of the lateral (right) side.
NOMINAL_MOUNT = {
    "lumbar": np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    "thoracic": np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    "upper_thoracic": np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    "thigh": np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]),
}


@dataclass
class ErrorModel:
    """Magnitudes of the sensor errors (the session-level knobs; per-sensor values are drawn from them).

    Attributes
    ----------
    misalignment_deg
        Strap rotation about each segment axis is drawn uniformly in ±this.
    acc_noise_ug_rthz, gyr_noise_dps_rthz, mag_noise_uT
        White noise densities (µg/√Hz, deg/s/√Hz) and magnetometer noise (µT rms).
    acc_bias_mps2, acc_scale, gyr_bias_dps, gyr_scale
        Standard deviations of the per-axis turn-on bias and scale-factor error.
    gyr_warmup_dps, gyr_random_walk_dps_rts
        Bias drift: a warm-up step (std) settling over minutes, plus a random walk (deg/s/√s).
    mag_hard_iron_uT, bar_field_uT
        Hard-iron offset (std per axis), and the field of the bar's remanence 15 cm from it (µT; a few µT,
        drawn ×0.4-1.6 per set; the rest of the gym's steel is `magnetics.GymMagneticsModel`).
    wobble
        Soft-tissue wobble of the strapped sensor (a damped 6-14 Hz resonance).
    clock_offset_s, clock_drift_ppm
        Sync error of the sensor clock against the session clock (uniform in ±) and crystal drift (±).
    spikes_per_min
        Single-sample glitches per minute per sensor.
    loss_bursts_per_min, loss_median_s
        Packet-loss bursts per minute per sensor and their median length.
    latency_s, jitter_s
        Radio latency of a notification and the mean of its exponential jitter.
    quantize, dlpf
        Round to 16-bit LSBs at ±16 g / ±2000 deg/s; low-pass filter before decimation.
    """

    misalignment_deg: float = 20.0
    acc_noise_ug_rthz: float = 200.0
    gyr_noise_dps_rthz: float = 0.015
    mag_noise_uT: float = 0.4
    acc_bias_mps2: float = 0.08
    acc_scale: float = 0.01
    gyr_bias_dps: float = 1.0
    gyr_scale: float = 0.01
    gyr_warmup_dps: float = 0.3
    gyr_random_walk_dps_rts: float = 0.004
    mag_hard_iron_uT: float = 8.0
    bar_field_uT: float = 3.0
    wobble: bool = True
    clock_offset_s: float = 0.05
    clock_drift_ppm: float = 50.0
    spikes_per_min: float = 0.5
    loss_bursts_per_min: float = 0.3
    loss_median_s: float = 0.15
    latency_s: float = 0.012
    jitter_s: float = 0.006
    quantize: bool = True
    dlpf: bool = True

    @classmethod
    def ideal(cls, misalignment_deg: float = 0.0) -> ErrorModel:
        """A perfect sensor on a perfect radio: only the mounting (and misalignment if given) remains."""
        return cls(
            misalignment_deg=misalignment_deg,
            acc_noise_ug_rthz=0.0,
            gyr_noise_dps_rthz=0.0,
            mag_noise_uT=0.0,
            acc_bias_mps2=0.0,
            acc_scale=0.0,
            gyr_bias_dps=0.0,
            gyr_scale=0.0,
            gyr_warmup_dps=0.0,
            gyr_random_walk_dps_rts=0.0,
            mag_hard_iron_uT=0.0,
            bar_field_uT=0.0,
            wobble=False,
            clock_offset_s=0.0,
            clock_drift_ppm=0.0,
            spikes_per_min=0.0,
            loss_bursts_per_min=0.0,
            latency_s=0.0,
            jitter_s=0.0,
            quantize=False,
            dlpf=False,
        )


@dataclass
class SensorParams:
    """The drawn parameters of one sensor (all written to truth.json)."""

    placement: str
    rate_hz: float
    misalignment_deg: list
    quat_segment_sensor_wxyz: list
    acc_bias_mps2: list
    acc_scale: list
    gyr_bias_dps: list
    gyr_warmup_dps: list
    gyr_warmup_tau_s: float
    gyr_scale: list
    mag_hard_iron_uT: list
    wobble_hz: float
    wobble_damping: float
    clock_offset_s: float
    clock_drift_ppm: float
    boot_time_s: float
    start_delay_s: float
    packet_samples: int

    @property
    def rot_segment_sensor(self) -> Rotation:
        """``R_segment_sensor`` as a Rotation."""
        w, x, y, z = self.quat_segment_sensor_wxyz
        return Rotation.from_quat([x, y, z, w])

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)


def draw_params(placement: str, rate_hz: float, errors: ErrorModel, rng: np.random.Generator) -> SensorParams:
    """Draw one sensor's parameters.

    Parameters
    ----------
    placement
        Where the sensor is strapped.
    rate_hz
        Nominal output rate of the sensor.
    errors
        Error magnitudes.
    rng
        Seeded generator.
    """
    mis = rng.uniform(-1.0, 1.0, 3) * errors.misalignment_deg
    # strap rotation about the segment axes, applied on top of the nominal mounting
    rot = Rotation.from_euler("xyz", mis, degrees=True) * Rotation.from_matrix(NOMINAL_MOUNT[placement])
    x, y, z, w = rot.as_quat()
    return SensorParams(
        placement=placement,
        rate_hz=float(rate_hz),
        misalignment_deg=mis.tolist(),
        quat_segment_sensor_wxyz=[float(w), float(x), float(y), float(z)],
        acc_bias_mps2=rng.normal(0.0, errors.acc_bias_mps2, 3).tolist(),
        acc_scale=rng.normal(0.0, errors.acc_scale, 3).tolist(),
        gyr_bias_dps=rng.normal(0.0, errors.gyr_bias_dps, 3).tolist(),
        gyr_warmup_dps=rng.normal(0.0, errors.gyr_warmup_dps, 3).tolist(),
        gyr_warmup_tau_s=float(rng.uniform(120.0, 600.0)),
        gyr_scale=rng.normal(0.0, errors.gyr_scale, 3).tolist(),
        mag_hard_iron_uT=rng.normal(0.0, errors.mag_hard_iron_uT, 3).tolist(),
        wobble_hz=float(rng.uniform(6.0, 10.0) if placement == "thigh" else rng.uniform(8.0, 14.0)),
        wobble_damping=float(rng.uniform(0.25, 0.45)),
        clock_offset_s=float(rng.uniform(-1.0, 1.0) * errors.clock_offset_s),
        clock_drift_ppm=float(rng.uniform(-1.0, 1.0) * errors.clock_drift_ppm),
        boot_time_s=float(rng.uniform(5.0, 3000.0)),
        start_delay_s=float(rng.uniform(0.0, 0.3)) if errors.latency_s > 0 else 0.0,
        packet_samples=int(np.clip(round(rate_hz * 0.03), 1, 8)),
    )


def sample_times(params: SensorParams, end_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sample instants of one sensor: uniform on its own clock, which runs off the session clock.

    Returns
    -------
    true_time_s
        Instants on the true session clock, within ``[start_delay_s, end_s]``.
    time_s
        The sensor's timestamps of the same instants: ``true·(1 + drift) + offset``.
    """
    scale = 1.0 + params.clock_drift_ppm * 1e-6
    phase = rng.uniform(0.0, 1.0) if params.clock_offset_s else 0.0
    k0 = np.ceil((params.start_delay_s * scale + params.clock_offset_s) * params.rate_hz - phase)
    k1 = np.floor((end_s * scale + params.clock_offset_s) * params.rate_hz - phase)
    time_s = (np.arange(k0, k1 + 1) + phase) / params.rate_hz
    return (time_s - params.clock_offset_s) / scale, time_s


def _resonator(fs_hz: float, f0_hz: float, damping: float, numerator: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Discrete filter of ``numerator(s) / (s² + 2ζω0 s + ω0²)`` at ``fs_hz`` (bilinear)."""
    w0 = 2 * np.pi * f0_hz
    return signal.bilinear(numerator, [1.0, 2 * damping * w0, w0**2], fs_hz)


def _lowpass(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Causal filter along time, started in steady state on the first sample."""
    zi = signal.lfilter_zi(b, a)[:, None] * x[:1]
    return signal.lfilter(b, a, x, axis=0, zi=zi)[0]


def measure(
    seg: SegmentMotion, point: PointMotion, params: SensorParams, errors: ErrorModel, fs_hz: float, step: int
) -> dict:
    """Error-free sensor readings, plus soft-tissue wobble and the sensor's own low-pass filter.

    Parameters
    ----------
    seg, point
        Segment and sensor-point motion on the internal grid (rate ``fs_hz``).
    params, errors
        The sensor and the error model (``errors.wobble`` and ``errors.dlpf`` apply here).
    fs_hz
        Internal rate.
    step
        Decimation factor from the internal grid to the output rate; the last sample of each block
        of ``step`` is kept.

    Returns
    -------
    dict
        ``acc_mps2`` (specific force), ``gyr_dps``, ``rot_world_sensor`` (the true sensor orientation,
        wobble excluded) at the output instants.
    """
    rot_ws = seg.rot * params.rot_segment_sensor
    acc = rot_ws.inv().apply(point.acc_mps2)
    force = acc + rot_ws.inv().apply([0.0, 0.0, GRAVITY_MPS2])
    gyr = rot_ws.inv().apply(seg.omega_rps)
    if errors.wobble:
        alpha = rot_ws.inv().apply(seg.alpha_rps2)
        f0, z = params.wobble_hz, params.wobble_damping
        b, a = _resonator(fs_hz, f0, z, [-1.0, 0.0, 0.0])
        force = force + signal.lfilter(b, a, acc, axis=0)
        b, a = _resonator(fs_hz, f0, z, [-1.0])
        tilt = signal.lfilter(b, a, alpha, axis=0)
        b, a = _resonator(fs_hz, f0, z, [-1.0, 0.0])
        gyr = gyr + signal.lfilter(b, a, alpha, axis=0)
        # the tissue tilts the sensor by a fraction of a degree: gravity leaks across axes
        force = force - np.cross(tilt, force)
    if errors.dlpf and step > 1:
        b, a = signal.butter(2, 0.4 * fs_hz / step, fs=fs_hz)
        force, gyr = _lowpass(force, b, a), _lowpass(gyr, b, a)
    keep = slice(step - 1, None, step)
    return {"acc_mps2": force[keep], "gyr_dps": np.degrees(gyr[keep]), "rot_world_sensor": rot_ws[keep]}


def add_errors(
    acc_mps2: np.ndarray,
    gyr_dps: np.ndarray,
    true_time_s: np.ndarray,
    params: SensorParams,
    errors: ErrorModel,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale, bias, bias drift, noise, spikes, saturation and quantisation.

    Returns
    -------
    acc_mps2, gyr_dps
        What the sensor reports.
    spike_index
        Sample indices that carry a glitch.
    """
    n = len(true_time_s)
    dt = 1.0 / params.rate_hz
    t = true_time_s - true_time_s[0]
    acc = acc_mps2 * (1.0 + np.asarray(params.acc_scale)) + params.acc_bias_mps2
    acc = acc + rng.normal(0.0, errors.acc_noise_ug_rthz * 1e-6 * GRAVITY_MPS2 * np.sqrt(params.rate_hz / 2), (n, 3))
    walk = np.cumsum(rng.normal(0.0, errors.gyr_random_walk_dps_rts * np.sqrt(dt), (n, 3)), axis=0)
    warmup = np.asarray(params.gyr_warmup_dps) * (1.0 - np.exp(-t / params.gyr_warmup_tau_s))[:, None]
    gyr = gyr_dps * (1.0 + np.asarray(params.gyr_scale)) + params.gyr_bias_dps + warmup + walk
    gyr = gyr + rng.normal(0.0, errors.gyr_noise_dps_rthz * np.sqrt(params.rate_hz / 2), (n, 3))
    spikes = np.sort(rng.choice(n, size=min(rng.poisson(errors.spikes_per_min * n * dt / 60.0), n), replace=False))
    for i in spikes:
        axis, sign = rng.integers(3), rng.choice([-1.0, 1.0])
        if rng.random() < 0.5:
            acc[i, axis] += sign * rng.uniform(20.0, 150.0)
        else:
            gyr[i, axis] += sign * rng.uniform(100.0, 2000.0)
    acc = np.clip(acc, -ACC_FULL_SCALE_MPS2, ACC_FULL_SCALE_MPS2)
    gyr = np.clip(gyr, -GYR_FULL_SCALE_DPS, GYR_FULL_SCALE_DPS)
    if errors.quantize:
        acc = np.round(acc / ACC_LSB_MPS2) * ACC_LSB_MPS2
        gyr = np.round(gyr / GYR_LSB_DPS) * GYR_LSB_DPS
    return acc, gyr, spikes


def transport(
    true_time_s: np.ndarray, params: SensorParams, errors: ErrorModel, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Packets over the radio: loss bursts and host receive times with latency and jitter.

    Samples travel in notifications of ``params.packet_samples``; a notification is received after the
    last of its samples was taken, plus latency and exponential jitter (rarely a retransmission delay),
    in order. A loss burst drops every notification it overlaps.

    Returns
    -------
    host_time_s
        Receive time of each sample on the host (true session clock; NaN when lost).
    lost
        True for samples lost in a burst.
    """
    n = len(true_time_s)
    duration_s = true_time_s[-1] - true_time_s[0]
    packet = np.arange(n) // params.packet_samples
    last = np.minimum((packet + 1) * params.packet_samples - 1, n - 1)
    n_packets = packet[-1] + 1
    delay = (
        errors.latency_s + rng.exponential(errors.jitter_s, n_packets)
        if errors.jitter_s
        else np.full(n_packets, errors.latency_s)
    )
    retry = rng.random(n_packets) < (0.01 if errors.jitter_s else 0.0)
    delay = delay + retry * rng.uniform(0.05, 0.2, n_packets)
    host_packet = np.maximum.accumulate(true_time_s[last[np.arange(n_packets) * params.packet_samples]] + delay)
    lost_packet = np.zeros(n_packets, dtype=bool)
    n_bursts = rng.poisson(errors.loss_bursts_per_min * duration_s / 60.0)
    for start, length in zip(
        rng.uniform(true_time_s[0], true_time_s[-1], n_bursts), errors.loss_median_s * rng.lognormal(0.0, 1.0, n_bursts)
    ):
        first = np.searchsorted(true_time_s, start)
        end = np.searchsorted(true_time_s, start + np.clip(length, 0.02, 3.0))
        lost_packet[packet[min(first, n - 1)] : packet[min(end, n - 1)] + 1] = True
    lost = lost_packet[packet]
    host = host_packet[packet]
    host[lost] = np.nan
    return host, lost
