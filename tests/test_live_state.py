"""One live model: the terminal panel and the phone page draw the same `LiveState`; one cue per excursion."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from analysis.calibration import calibrate_standing
from imuform.ble.live import CuePolicy, LiveView
from imuform.ble.virtual_rig import record_virtual, simulate, virtual_streams
from imuform.cli.main import main
from imuform.store import Store


@pytest.mark.ble
@pytest.mark.timeout(120)
def test_a_six_rep_set_cues_once_per_rep_past_the_limit(home, capsys):
    code = main(["live", "--virtual", "romanian_deadlift", "--reps", "6", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    past = [p for p in doc["peaks_deg"] if p > doc["limit_deg"]]
    assert doc["reps"] == 6 and len(past) >= 1 and len(doc["cues"]) == len(past)


@pytest.mark.ble
@pytest.mark.timeout(120)
async def test_the_terminal_panel_and_the_page_state_say_the_same(tmp_path):
    """After a virtual set, the panel's numbers are the state's (as the page gets them)."""
    session = simulate("good_morning", sets=1, reps=3, rate_hz=100.0, seed=1, calibration_s=5.0,
                       rom_calibration=False, between_sets=False)  # fmt: skip
    view = LiveView(calibrate_standing(session.samples, 1.0, 5.0), 100.0, limit_deg=30.0)
    pushes = []
    view.listeners.append(lambda: pushes.append(1))
    with Store(tmp_path / "home") as store:
        await record_virtual(
            store, streams=virtual_streams(session), speed=10.0, on_samples=view.on_samples, on_start=view.on_start
        )
    view.refresh_reps(final=True)
    state = view.state()
    page = json.loads(json.dumps(state.to_dict()))  # what the page receives
    assert page["rep_peak_texts"] == state.rep_peak_texts and len(page["rep_peak_texts"]) == 3
    assert page["recording"] is False and page["cues"] == len(view.cues) == page["cues_in_reps"]
    assert {s["placement"] for s in page["sensors"]} == {"lumbar", "thoracic"}
    assert all(s["battery_percent"] == 87.0 for s in page["sensors"])
    screen = io.StringIO()
    Console(file=screen, width=120).print(view.render())
    panel = screen.getvalue()
    assert f"reps {len(state.rep_peak_texts)}" in panel and "  ".join(state.rep_peak_texts) in panel
    assert f"cues {state.cues} ({state.cues_in_reps} in reps)" in panel
    assert pushes, "every change is pushed to the listeners (the page's server)"
    assert CuePolicy().explain(30.0).startswith("One tone the moment your lower back flexes past 30°")
