"""Encoders and decoders agree (property tests), and decoders survive random, truncated and flipped bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation

from firmware_protocol import MODELS, SampleBlock, get_model
from firmware_protocol.base import G_MPS2
from firmware_protocol.movella_dot import MODES

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: kind -> (encoder/decoder context, channels the encoder writes, max |error| per channel: half an LSB,
#: checked with 1 % slack because a value exactly between two steps may round either way in floating point).
CASES = {
    "imuform": (
        {"rate_hz": 50},
        ("acc_mps2", "gyr_dps", "mag_uT", "quat_wxyz"),
        {"acc_mps2": G_MPS2 / 4096, "gyr_dps": 1 / 32, "mag_uT": 1 / 32, "quat_wxyz": 1 / 32768},
    ),
    "polar-pmd": (
        {"factor": 0.05, "rate_hz": 50},
        ("acc_mps2", "gyr_dps", "mag_uT"),
        {"acc_mps2": 0.025 * G_MPS2, "gyr_dps": 0.025, "mag_uT": 2.5},
    ),
    "movella-dot": (
        {"mode": 20, "rate_hz": 50},
        ("acc_mps2", "gyr_dps", "mag_uT"),
        {"acc_mps2": 1e-4, "gyr_dps": 1e-3, "mag_uT": 40 / 4096 / 2},
    ),
    "witmotion": (
        {},
        ("acc_mps2", "gyr_dps", "quat_wxyz"),
        {"acc_mps2": G_MPS2 * 8 / 32768, "gyr_dps": 1000 / 32768, "quat_wxyz": 3e-4},
    ),
    "metawear": (
        {"acc_range_g": 16, "gyr_range_dps": 2000},
        ("acc_mps2", "gyr_dps", "mag_uT", "quat_wxyz"),
        {"acc_mps2": G_MPS2 / 4096, "gyr_dps": 1 / 32.8, "mag_uT": 1 / 32, "quat_wxyz": 1e-7},
    ),
    "thingy52": (
        {},
        ("acc_mps2", "gyr_dps", "mag_uT"),
        {"acc_mps2": G_MPS2 / 2048, "gyr_dps": 1 / 64, "mag_uT": 1 / 32},
    ),
}
LIMITS = {"acc_mps2": 7.9 * G_MPS2, "gyr_dps": 1000.0, "mag_uT": 300.0}


def _w_positive(q: np.ndarray) -> np.ndarray:
    """q and −q are the same rotation: pick w ≥ 0 (a w that quantises to 0 keeps its row as it is)."""
    return np.where(q[:, :1] < 0, -q, q)


@st.composite
def blocks(draw, channels: tuple[str, ...]):
    n = draw(st.integers(1, 60))
    out = {}
    for name in channels:
        if name == "quat_wxyz":
            seed = draw(st.integers(0, 2**31))
            q = Rotation.random(n, random_state=seed).as_quat(scalar_first=True)
            out[name] = _w_positive(q)  # the encoders need not preserve the sign of q
        else:
            lim = LIMITS[name]
            out[name] = draw(arrays(np.float64, (n, 3), elements=st.floats(-lim, lim, allow_nan=False)))
    t0 = draw(st.floats(0, 4000))  # below the 32-bit µs wrap (tested on its own)
    return SampleBlock(device_time_s=t0 + np.arange(n) / 50.0, **out)


def _roundtrip(kind: str, block: SampleBlock) -> SampleBlock:
    context, _, _ = CASES[kind]
    model = get_model(kind)
    payloads = model.encoder(**context).encode(block)
    assert all(len(p) <= 244 for p in payloads)
    decoder = model.decoder(**context)
    results = [decoder.feed(p) for p in payloads]
    assert all(d.bytes_skipped == 0 for _, d in results)
    decoded = [b for b, _ in results]
    # Protocols that send one measurement per packet (Polar, MetaWear) decode channel by channel.
    return SampleBlock(
        **{
            name: np.concatenate([getattr(b, name) for b in decoded if getattr(b, name) is not None])
            for name in SampleBlock.CHANNELS
            if any(getattr(b, name) is not None for b in decoded)
        }
    )


@pytest.mark.parametrize("kind", sorted(CASES))
def test_roundtrip(kind):
    _, channels, tolerance = CASES[kind]

    @SETTINGS
    @given(blocks(channels))
    def check(block):
        out = _roundtrip(kind, block)
        for name in channels:
            got, want = getattr(out, name), getattr(block, name)
            if name == "quat_wxyz":
                got = _w_positive(got)
                if kind == "witmotion":  # via Euler angles of 180/32768 deg
                    angle = (
                        Rotation.from_quat(got, scalar_first=True).inv() * Rotation.from_quat(want, scalar_first=True)
                    ).magnitude()
                    assert np.all(angle < np.radians(0.02))
                    continue
            np.testing.assert_allclose(got, want, atol=1.01 * tolerance[name], rtol=0, err_msg=f"{kind} {name}")
        if MODELS[kind].has_device_clock:
            np.testing.assert_allclose(out.device_time_s[-len(block.device_time_s) :], block.device_time_s, atol=2e-6)

    check()


def test_polar_uncompressed_h10_roundtrip():
    block = SampleBlock(
        device_time_s=np.arange(50) / 200 + 3.0, acc_mps2=np.random.default_rng(2).normal(0, 10, (50, 3))
    )
    model = get_model("polar-pmd")
    dec = model.decoder(rate_hz=200)
    out = SampleBlock.concat([dec.feed(p)[0] for p in model.encoder(compressed=False, rate_hz=200).encode(block)])
    np.testing.assert_allclose(out.acc_mps2, block.acc_mps2, atol=G_MPS2 / 2000)
    np.testing.assert_allclose(out.device_time_s, block.device_time_s, atol=1e-6)


def test_dot_timestamp_wraps_after_71_6_minutes():
    t = 2**32 * 1e-6 - 0.1 + np.arange(30) / 60
    block = SampleBlock(device_time_s=t, acc_mps2=np.ones((30, 3)), gyr_dps=np.ones((30, 3)))
    model = get_model("movella-dot")
    dec = model.decoder(mode=21)
    payloads = model.encoder(mode=21).encode(block)
    out = SampleBlock.concat([dec.feed(p)[0] for p in payloads])
    np.testing.assert_allclose(out.device_time_s, t, atol=1e-6)
    # The same records back to back in one feed take the vectorised path.
    out, diag = model.decoder(mode=21).feed(b"".join(payloads))
    np.testing.assert_allclose(out.device_time_s, t, atol=1e-6)
    assert diag.time_gaps == 0


def test_dot_extended_status_reports_clipping():
    rec = np.zeros(2, dtype=MODES[2][1])
    rec["quat_wxyz"] = (1.0, 0.0, 0.0, 0.0)
    rec["status"] = (0x0001, 0x0008)
    _, diag = get_model("movella-dot").decoder(mode="extended_quaternion").feed(rec.tobytes())
    assert diag.notes == ["accelerometer clipped in 1 sample(s)", "gyroscope clipped in 1 sample(s)"]


def test_dot_orientation_and_free_acc_rebuild_sensor_acc():
    # Mode 3 (complete quaternion): quaternion + free acceleration; at rest the sensor reads +g on its up axis.
    q = Rotation.from_euler("x", 90, degrees=True)
    rec = np.zeros(1, dtype=MODES[3][1])
    rec["quat_wxyz"] = q.as_quat(scalar_first=True)
    block, _ = get_model("movella-dot").decoder(mode=3).feed(rec.tobytes())
    np.testing.assert_allclose(block.acc_mps2[0], q.inv().apply([0, 0, G_MPS2]), atol=1e-5)


def _decoders():
    for kind, model in MODELS.items():
        if kind == "movella-dot":
            yield from (model.decoder(mode=m) for m in MODES)
        elif kind == "thingy52":
            yield from (model.decoder(stream=s) for s in ("raw", "quaternion"))
        else:
            yield model.decoder()


def _valid_payloads() -> list[bytes]:
    out = []
    for kind in CASES:
        context, channels, _ = CASES[kind]
        n = 12
        block = SampleBlock(
            device_time_s=np.arange(n) / 50,
            **{
                c: (np.tile([1.0, 0, 0, 0], (n, 1)) if c == "quat_wxyz" else np.linspace(-5, 5, 3 * n).reshape(n, 3))
                for c in channels
            },
        )
        out += get_model(kind).encoder(**context).encode(block)
    return out


VALID = _valid_payloads()


def _check_never_breaks(payloads: list[bytes]) -> None:
    for decoder in _decoders():
        for payload in payloads:
            pending = decoder.pending_bytes()
            block, diag = decoder.feed(payload)  # bad bytes are skipped, never raised
            # Every byte is accounted for: decoded, skipped or still pending.
            assert block.n == diag.samples and diag.bytes_skipped + decoder.pending_bytes() <= pending + len(payload)
            for name in block.channels():
                values = getattr(block, name)
                assert len(values) == block.n and np.isfinite(values).all(), name
            assert decoder.pending_bytes() <= 16384  # bounded reassembly buffers


@FUZZ
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8))
def test_fuzz_random_bytes(payloads):
    _check_never_breaks(payloads)


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_fuzz_truncated_and_bit_flipped(payload, data):
    cut = data.draw(st.integers(0, len(payload)))
    flips = data.draw(st.lists(st.integers(0, 8 * len(payload) - 1), max_size=4))
    flipped = bytearray(payload)
    for bit in flips:
        flipped[bit // 8] ^= 1 << (bit % 8)
    _check_never_breaks([payload[:cut], bytes(flipped), payload[cut:]])


def test_buffers_stay_bounded_under_endless_garbage():
    for kind in ("imuform", "witmotion"):
        decoder = get_model(kind).decoder()
        header = b"IF\x01\x0f\x00\xff" if kind == "imuform" else b"\x55\x61"
        for _ in range(500):
            decoder.feed(header + bytes(200))
        assert decoder.pending_bytes() <= 16384


@pytest.mark.parametrize("fill", [0x00, 0xFF, 0x7F, 0x80, 0x55])
def test_constant_bytes_of_every_length(fill):
    # Zero quaternions, NaN floats and false headers: skipped with a note, never an exception.
    _check_never_breaks([bytes([fill]) * n for n in range(90)])
