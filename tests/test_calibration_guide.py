"""The guided calibration: each step prompted with a countdown, checked on what was recorded, repeated when
not done, and closed with the person's range and limits (terminal and `--virtual`)."""

from __future__ import annotations

import pytest

from analysis.calibration_checks import StepCheck
from imuform.ble.calibration_guide import (
    BENDS,
    MAX_EXTENSION,
    MAX_FLEXION,
    STANDING,
    GuideState,
    check_step,
    run_steps,
)
from imuform.cli.main import main
from imuform.errors import ImuformError


@pytest.fixture(scope="module")
def person():
    """A simulated person's calibration (standing, range of motion) and one set of 3 good mornings."""
    from imuform.ble.virtual_rig import simulate

    return simulate("good_morning", sets=1, reps=3, rate_hz=100.0, seed=0, calibration_s=10.0, between_sets=False)


def window(truth: dict) -> tuple[float, float]:
    return truth["start_s"], truth["end_s"]


def test_each_step_is_checked_on_what_was_recorded(person):
    samples, truth = person.samples, person.truth
    calibration = truth["calibration"]
    standing = (1.0, calibration["quiet_standing"]["end_s"])
    done = {
        "max_flexion": window(calibration["max_flexion"]),
        "max_extension": window(calibration["max_extension"]),
        "bends": window(truth["sets"][0]),
    }
    assert check_step(STANDING, samples, {"standing": standing}) == StepCheck(True, "stood still")
    for step in (MAX_FLEXION, MAX_EXTENSION, BENDS):
        verdict = check_step(step, samples, {"standing": standing, step.name: done[step.name]})
        assert verdict.passed, verdict
    assert check_step(MAX_FLEXION, samples, {"standing": standing, "max_flexion": done["max_flexion"]}).message == (
        "reached 60° of flexion"
    )
    # not done: moving while standing, standing while asked to bend (forward, back, three times)
    moved = check_step(STANDING, samples, {"standing": done["bends"]})
    assert not moved.passed and "moved during the standing calibration" in moved.message
    for step in (MAX_FLEXION, MAX_EXTENSION, BENDS):
        verdict = check_step(step, samples, {"standing": standing, step.name: standing})
        assert not verdict.passed, step
    flat = check_step(MAX_FLEXION, samples, {"standing": standing, "max_flexion": standing})
    assert flat.message.startswith("only 0° of flexion, bend further (at least 20°)")
    assert "bend forward 3 times" in check_step(BENDS, samples, {"standing": standing, "bends": standing}).message


class SessionClock:
    """A session clock that sleeps by moving on (the guide's own time, no waiting)."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s

    async def sleep(self, duration_s: float) -> None:
        self.now_s += duration_s


async def test_a_step_not_done_is_asked_for_again_then_the_next_follows():
    clock, lines, shown = SessionClock(), [], []
    verdicts = iter([StepCheck(False, "moved"), StepCheck(True, "stood still"), StepCheck(True, "reached 50°")])
    windows = await run_steps(
        [STANDING, MAX_FLEXION],
        clock,
        clock.sleep,
        lines.append,
        lambda step, w: next(verdicts),
        show=lambda state: shown.append(GuideState(**state.to_dict())),
    )
    assert lines[:6] == [
        "Stand tall and still, arms relaxed, looking ahead.",
        "  starting in 3…",
        "  starting in 2…",
        "  starting in 1…",
        "  now — stay still",
        "  not done: moved",
    ]
    assert lines[6] == "Once more: stand tall and still, arms relaxed, looking ahead."
    assert "  done: stood still" in lines and lines[-1] == "  done: reached 50°"
    assert windows == {"standing": (11.0, 16.0), "max_flexion": (19.0, 23.0)}  # 3 s to get ready, each try
    assert [s.phase for s in shown if s.phase in ("again", "done")] == ["again", "done", "done"]
    assert [s.countdown_s for s in shown[:3]] == [3, 2, 1] and [s.phase for s in shown[:4]][-1] == "now"
    assert [(s.step, s.tries) for s in shown if s.phase == "done"] == [(1, 2), (2, 1)]


async def test_a_step_never_done_ends_the_calibration_with_what_to_do():
    clock = SessionClock()
    with pytest.raises(
        ImuformError, match=r"step 'standing' was not done in 3 tries \(moved\); run 'imuform calibrate'"
    ):
        await run_steps([STANDING], clock, clock.sleep, lambda line: None, lambda step, w: StepCheck(False, "moved"))


@pytest.mark.ble
@pytest.mark.timeout(120)
def test_calibrate_virtual_guides_the_simulated_person_and_ends_with_range_and_limits(home, capsys):
    code = main(["calibrate", "--virtual", "--range"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    for prompt in ("Stand tall and still", "Bend forward as far as is comfortable", "Lean back as far as"):
        assert any(line.startswith(prompt) for line in lines), prompt
    # the countdowns follow the simulated person's timetable (a loaded machine may lag behind it)
    assert "  starting in 3…" in lines and lines.count("  now — hold it") == 2
    assert any(line.startswith("  done: reached") and "of extension" in line for line in lines)
    assert "Your range: " in lines[-2] and "flexion" in lines[-2] and "Your limits: flexion " in lines[-2]
