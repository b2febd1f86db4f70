"""The recorder end to end: virtual sensors on the virtual radio, through bleak, into a real store."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from firmware_protocol import MODELS, SampleBlock
from imuform.ble.display import finishing_line
from imuform.ble.recorder import SensorTarget, SensorUnreachable, record
from imuform.ble.stream_assembler import ChannelJoiner
from imuform.ble.virtual_clock import VirtualClock
from imuform.ble.virtual_rig import open_rig, record_virtual
from imuform.ble.virtual_sensor import SensorStream
from imuform.errors import ImuformError
from imuform.store import Store

pytestmark = [pytest.mark.ble, pytest.mark.timeout(60)]


def still(
    duration_s: float, rate_hz: float, *, drift_ppm: float = 0.0, boot_s: float = 0.0, seed: int = 0
) -> SensorStream:
    """A sensor lying still (gravity on z, noisy gyro) with a drifting clock booted ``boot_s`` ago."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    acc = rng.normal(0.0, 0.05, (len(t), 3)) + [0.0, 0.0, 9.81]
    gyr = rng.normal(0.0, 0.5, (len(t), 3))
    return SensorStream(t, acc, gyr, device_time_s=boot_s + t * (1 + drift_ppm * 1e-6))


def pair(duration_s: float = 8.0, rate_hz: float = 100.0) -> dict[str, SensorStream]:
    return {
        "lumbar": still(duration_s, rate_hz, drift_ppm=80, boot_s=12.5),
        "thoracic": still(duration_s, rate_hz, drift_ppm=-40, boot_s=300.0, seed=1),
    }


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "home") as s:
        yield s


async def test_dropout_is_reconnected_gap_recorded_and_nothing_duplicated(store):
    report = await record_virtual(store, streams=pair(14.0), dropout_s=3.0, dropout_at_s=3.0, speed=4.0)
    lumbar, thoracic = report.sensors
    assert (lumbar.reconnects, thoracic.reconnects) == (1, 0)
    assert lumbar.duplicates > 0 and lumbar.lost == 0 and thoracic.lost == 0
    # the 3 s dropout on the session clock, whose fitted rate may be tens of ppm off the virtual clock's; the
    # hole between the stored samples either side is whole sample periods (10 ms), and a replayed sensor may
    # send up to the virtual clock's max_lateness_s behind it (a real one is never late) when the radio comes
    # back, so the hole may fall short of the dropout by that and a period (seen under load: 2.99 s, 2.97 s)
    assert lumbar.gaps_s >= 3.0 - VirtualClock().max_lateness_s - 0.010 and thoracic.gaps_s == 0.0
    session = store.session(report.session_id)
    assert [(g["placement"], g["reason"]) for g in session["gaps"]] == [("lumbar", "link lost; reconnected")]
    gap = session["gaps"][0]
    events = {e["kind"]: e["time_s"] for e in session["events"]}
    # Data stops when the radio does; the link is declared lost a supervision timeout (0.4 s) later
    # (the session clock may run a few ms ahead of the host's: it follows the fastest packets).
    assert gap["start_s"] < events["disconnected"] + 0.05
    # The samples the sensor measured from the radio's return until the link was up again come first after
    # the reconnection, so data may resume before the reconnection's event time, by as long as reconnecting
    # took: longer on a loaded host (the gap's length is checked above).
    assert events["disconnected"] < gap["end_s"] < events["reconnected"] + 1.5
    assert session["raw_packets"] == lumbar.packets + thoracic.packets
    samples = store.samples(report.session_id)
    for _placement, rows in samples.groupby("sensor"):
        assert rows["device_time_s"].is_unique
        assert np.all(np.diff(rows["time_s"].to_numpy()) > 0)
        assert np.allclose(rows["acc_z"].mean(), 9.81, atol=0.02)
    assert len(samples) == lumbar.samples + thoracic.samples


async def test_session_clock_follows_the_device_clock_across_offset_and_drift(store):
    report = await record_virtual(store, streams=pair(8.0), speed=5.0)
    samples = store.samples(report.session_id)
    for _placement, rows in samples.groupby("sensor"):
        device = rows["device_time_s"].to_numpy()
        session = rows["time_s"].to_numpy()
        # Sample spacing on the session clock is the true period (device clock drift removed).
        assert np.median(np.diff(session)) == pytest.approx(0.01, rel=2e-3)
        # The map from device to session time is a line up to a few ms of latency.
        fit = np.polyval(np.polyfit(device, session, 1), device)
        assert np.max(np.abs(session - fit)) < 0.03
    assert all(abs(s.effective_rate_hz - 100.0) < 1.0 for s in report.sensors)


async def test_radio_loss_is_counted_as_lost_samples(store):
    report = await record_virtual(store, streams=pair(6.0), loss=0.05, seed=3, speed=10.0)
    for sensor in report.sensors:
        assert sensor.lost > 0 and sensor.gaps_s == 0.0
    total = sum(s.samples + s.lost for s in report.sensors)
    assert 0.02 < sum(s.lost for s in report.sensors) / total < 0.12


async def test_stop_event_ends_cleanly_with_the_session_on_disk(store):
    stop = asyncio.Event()
    streams = pair(60.0)

    def on_start(session_id, links):
        asyncio.get_running_loop().call_later(0.3, stop.set)

    report = await record_virtual(store, streams=streams, speed=10.0, stop=stop, on_start=on_start)
    assert 1.0 < report.duration_s < 20.0
    assert store.session(report.session_id)["sensors"][0]["samples"] == report.sensors[0].samples > 100


async def test_each_sensor_is_announced_before_its_samples_are_retimed(store):
    """A long recording's end is not silent: ``on_finish`` hears of each sensor before its re-timing (whose
    figures it fills in) and `finishing_line` says what is being done."""
    lines = []

    def on_finish(link):
        assert link.report.clock == {}  # not re-timed yet
        lines.append(finishing_line(link))

    report = await record_virtual(store, streams=pair(6.0), kind="witmotion", speed=10.0, on_finish=on_finish)
    assert [line.split(":")[0] for line in lines] == [s.placement for s in report.sensors] == ["lumbar", "thoracic"]
    assert all("counting lost samples and re-timing" in line for line in lines)
    assert all(s.clock for s in report.sensors)


async def test_unreachable_sensor_gets_one_clear_line(store):
    async with open_rig(pair(2.0)) as rig:
        targets = [
            SensorTarget("lumbar", "F0:00:00:00:00:01", "imuform"),
            SensorTarget("thoracic", "F0:00:00:00:00:0A", "imuform"),
        ]
        with pytest.raises(SensorUnreachable) as err:
            await record(store, targets, ble=rig.ble, clock=rig.clock, connect_timeout_s=0.3, duration_s=5.0)
    message = str(err.value)
    assert store.sessions() == []  # nothing recorded, nothing left behind
    assert "\n" not in message and "thoracic sensor F0:00:00:00:00:0A not reachable within 0.3 s" in message
    assert "imuform scan" in message


async def test_sensor_without_kind_is_identified_from_its_advertisement(store):
    async with open_rig(pair(8.0), kind="witmotion", speed=5.0) as rig:
        report = await record(
            store, rig.targets(100.0, identify=True), ble=rig.ble, clock=rig.clock, until=rig.finished
        )
    assert [s.kind for s in report.sensors] == ["witmotion", "witmotion"]
    assert all(s.samples > 100 for s in report.sensors)


@pytest.mark.parametrize("kind", sorted(MODELS))
async def test_every_sensor_kind_streams_through_its_own_gatt_profile(store, kind):
    rate_hz = MODELS[kind].default_rate_hz
    # At twice real time a stall of the loaded test machine stays a short latency on the virtual clock.
    report = await record_virtual(store, streams=pair(6.0, rate_hz), kind=kind, rate_hz=rate_hz, speed=2.0)
    samples = store.samples(report.session_id)
    for sensor in report.sensors:
        # Nothing is lost on the air. A device clock shows that exactly. Without one only arrival times tell
        # loss from latency, and a replay on a loaded machine can hold latency up until its last second,
        # which no later arrival can tell from a loss: counted exactly in tests/test_stream_assembler.py.
        if MODELS[kind].has_device_clock:
            assert sensor.lost == 0
        else:
            assert sensor.lost <= 0.15 * sensor.samples
        assert sensor.kind == kind and sensor.gaps_s == 0
        assert sensor.effective_rate_hz == pytest.approx(rate_hz, rel=0.1)
    assert samples.groupby("sensor")["acc_z"].mean().to_numpy() == pytest.approx([9.81, 9.81], abs=0.05)
    assert np.abs(samples["gyr_x"].mean()) < 0.5
    if MODELS[kind].has_device_clock:
        assert samples["device_time_s"].notna().all()
    session = store.session(report.session_id)
    if kind == "movella-dot":
        assert [e["detail"] for e in session["events"] if e["kind"] == "dot_sync"] == [
            {"F0:00:00:00:00:01": "synced", "F0:00:00:00:00:02": "synced"}
        ]


def test_channel_joiner_pairs_separate_acc_and_gyro_packets_so_a_lost_packet_costs_only_its_sample():
    """MetaWear sends each sample's acceleration, then its rotation, without device times."""
    joiner = ChannelJoiner()

    def acc(i):
        return SampleBlock(acc_mps2=np.full((1, 3), float(i)))

    def gyr(i):
        return SampleBlock(gyr_dps=np.full((1, 3), float(i)))

    # sample 1 loses its rotation and sample 3 its acceleration on the air
    sent = [acc(0), gyr(0), acc(1), acc(2), gyr(2), gyr(3), acc(4), gyr(4)]
    pairs = SampleBlock.concat([b for b in (joiner.push(block) for block in sent) if b.n])
    assert pairs.acc_mps2[:, 0].tolist() == [0, 2, 4] and pairs.gyr_dps[:, 0].tolist() == [0, 2, 4]
    assert joiner.push(gyr(5)).n == 0 and joiner.push(SampleBlock(quat_wxyz=np.ones((1, 4)))).n == 0
    both = SampleBlock(acc_mps2=np.ones((3, 3)), gyr_dps=np.ones((3, 3)))
    assert joiner.push(both) is both


def test_channel_joiner_pairs_timed_packets_by_time_so_a_lost_packet_costs_only_its_samples():
    """Polar sends acc and gyro frames with device times; a lost gyro frame must not shift every later pair."""
    joiner = ChannelJoiner(tolerance_s=0.005)
    t = np.arange(12) * 0.01

    def frame(name, sl):
        return SampleBlock(device_time_s=t[sl], **{name: np.column_stack([t[sl], t[sl], t[sl]])})

    out = [joiner.push(frame("acc_mps2", slice(0, 4))), joiner.push(frame("gyr_dps", slice(0, 4)))]
    # the gyro frame of samples 4-7 is lost on the air
    out += [joiner.push(frame("acc_mps2", slice(4, 8))), joiner.push(frame("acc_mps2", slice(8, 12)))]
    out += [joiner.push(frame("gyr_dps", slice(8, 12)))]
    pairs = SampleBlock.concat([b for b in out if b.n])
    assert pairs.device_time_s.tolist() == pytest.approx(list(t[:4]) + list(t[8:]))
    assert np.array_equal(pairs.acc_mps2[:, 0], pairs.gyr_dps[:, 0])  # every pair from one instant


async def test_live_status_table_and_live_view_draw_on_a_terminal(store):
    import io

    import pandas as pd
    from rich.console import Console

    from analysis.calibration import calibrate_standing
    from imuform.ble.display import live_status
    from imuform.ble.live import LiveView

    streams = pair(6.0)
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "sensor": p,
                    "time_s": s.time_s,
                    **{f"acc_{a}": s.acc_mps2[:, k] for k, a in enumerate("xyz")},
                    **{f"gyr_{a}": s.gyr_dps[:, k] for k, a in enumerate("xyz")},
                }
            )
            for p, s in streams.items()
        ]
    )
    view = LiveView(calibrate_standing(table, 0.0, 3.0), 100.0, limit_deg=20.0)
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    async with live_status(terminal, period_s=0.05) as on_start:
        await record_virtual(store, streams=streams, speed=5.0, on_start=on_start, on_samples=view.on_samples)
    drawn = screen.getvalue()
    assert "Recording" in drawn and "lumbar" in drawn and "thoracic" in drawn and "87 %" in drawn
    assert abs(view.lumbar_deg) < 3.0 and view.reps.peaks_deg == [] and view.cues == []  # standing still
    terminal.print(view.render())
    assert "lumbar flexion" in screen.getvalue() and "reps 0" in screen.getvalue()


async def test_a_recording_stopped_before_any_sample_leaves_no_session(store):
    stop = asyncio.Event()
    stop.set()  # e.g. killed while the sensors were still connecting
    with pytest.raises(ImuformError, match="before any sensor sent a sample; nothing was saved"):
        await record_virtual(store, streams=pair(6.0), speed=5.0, stop=stop)
    assert store.sessions() == []
