"""The open imuform packet format: the README's worked example, stream reassembly, gaps, control point."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocol import BadResponse, SampleBlock, UnsupportedPayload, get_model
from firmware_protocol.base import G_MPS2
from firmware_protocol.imuform_format import CONTROL_UUID, ImuformDecoder, ImuformEncoder, crc16_ccitt_false

#: The worked example of firmware_protocol/README.md.
EXAMPLE = bytes.fromhex(
    "49 46 01 03 01 02 07 00 40 42 0F 00 80 96 98 00"
    "00 00 00 00 00 08 00 00 00 00 00 00"
    "00 04 00 00 EE 06 A0 00 B0 FF 28 00"
    "2A 52"
)


def test_crc_is_ccitt_false():
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_readme_worked_example_decodes():
    block, diag = ImuformDecoder().feed(EXAMPLE)
    assert (diag.frames, diag.samples, diag.bytes_skipped) == (1, 2, 0)
    np.testing.assert_allclose(block.device_time_s, [1.0, 1.01])
    np.testing.assert_allclose(block.acc_mps2 / G_MPS2, [[0, 0, 1], [0.5, 0, 1774 / 2048]])
    np.testing.assert_allclose(block.gyr_dps, [[0, 0, 0], [10, -5, 2.5]])
    assert block.mag_uT is None and block.quat_wxyz is None


def test_readme_worked_example_is_what_the_encoder_writes():
    enc = ImuformEncoder(sensor_id=1, rate_hz=100)
    enc.seq = 7
    block = SampleBlock(
        device_time_s=np.array([1.0, 1.01]),
        acc_mps2=np.array([[0, 0, 1], [0.5, 0, 0.866]]) * G_MPS2,
        gyr_dps=np.array([[0, 0, 0], [10, -5, 2.5]]),
    )
    assert enc.encode(block) == [EXAMPLE]


def test_split_frames_garbage_and_several_frames_per_notification():
    enc = ImuformEncoder(rate_hz=200, max_payload=100)
    rng = np.random.default_rng(1)
    block = SampleBlock(acc_mps2=rng.normal(0, 5, (40, 3)), gyr_dps=rng.normal(0, 50, (40, 3)))
    stream = b"\x00IF\x01garbage" + b"".join(enc.encode(block))
    dec = ImuformDecoder()
    parts = [dec.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)]
    out = SampleBlock.concat([b for b, _ in parts])
    assert out.n == 40 and dec.pending_bytes() == 0
    assert sum(d.bytes_skipped for _, d in parts) == len(b"\x00IF\x01garbage")
    np.testing.assert_allclose(out.acc_mps2, block.acc_mps2, atol=G_MPS2 / 4096)
    np.testing.assert_allclose(out.device_time_s, np.arange(40) / 200, atol=1e-6)


def test_corrupt_frame_is_skipped_and_counted_as_lost():
    enc = ImuformEncoder(rate_hz=100)
    frames = [enc.encode(SampleBlock(gyr_dps=np.full((5, 3), float(k))))[0] for k in range(3)]
    bad = bytearray(frames[1])
    bad[20] ^= 0xFF
    dec = ImuformDecoder()
    total = [dec.feed(f) for f in (frames[0], bytes(bad), frames[2])]
    assert [b.n for b, _ in total] == [5, 0, 5]
    assert total[1][1].bytes_skipped == len(bad)
    assert total[2][1].lost_frames == 1 and total[2][1].time_gaps == 1


def test_clock_wraps_after_71_6_minutes():
    t = 2**32 * 1e-6 - 0.05 + np.arange(20) / 100  # crosses the 32-bit µs wrap at 4294.967296 s
    enc = ImuformEncoder(rate_hz=100, max_payload=60)  # 3 samples per frame: frames straddle the wrap
    dec = ImuformDecoder()
    out = SampleBlock.concat(
        [dec.feed(p)[0] for p in enc.encode(SampleBlock(device_time_s=t, acc_mps2=np.zeros((20, 3))))]
    )
    np.testing.assert_allclose(out.device_time_s, t, atol=2e-6)


def test_control_point_commands_and_responses():
    model = get_model("imuform")
    assert model.configure_commands(rate_hz=200) == [(CONTROL_UUID, b"\x03\xc8\x00"), (CONTROL_UUID, b"\x04\x03")]
    assert model.start_commands() == [(CONTROL_UUID, b"\x01")]
    assert model.stop_commands() == [(CONTROL_UUID, b"\x02")]
    assert model.parse_response(bytes([0x85, 0, 1, 3, 200, 0, 0x03])) == {
        "opcode": 5,
        "status": "success",
        "version": 1,
        "sensor_id": 3,
        "rate_hz": 200,
        "content": 3,
    }
    with pytest.raises(BadResponse, match="invalid parameter"):
        model.parse_response(bytes([0x83, 2]))
    with pytest.raises(UnsupportedPayload):
        model.configure_commands(rate_hz=0.5)
    assert model.matches("imuform-lumbar", [], {}) and not model.matches("Polar H10 1234", [], {})
