"""Activity scripts: what the simulated person does, written into a `Timeline` as key poses.

Each script moves the body from the timeline's last pose and appends its intervals to a log, so the
truth (activities, sets, reps and their top-posture windows) comes from the same numbers as the motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuform.simulator import exercises as ex
from imuform.simulator.timeline import HIP_HEIGHT_M, NEUTRAL, Timeline
from imuform.simulator.truth import JUDGED_LIMITS


@dataclass(frozen=True)
class Person:
    """The simulated lifter.

    Attributes
    ----------
    max_flexion_deg, max_extension_deg
        Maximal lumbar flexion (toe touch) and extension, positive magnitudes.
    tempo
        Speed factor of every movement (> 1 slower).
    size
        Body-size factor of the lever arms.
    """

    max_flexion_deg: float
    max_extension_deg: float
    tempo: float
    size: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Person:
        """A random adult lifter."""
        return cls(
            max_flexion_deg=float(rng.uniform(45.0, 60.0)),
            max_extension_deg=float(rng.uniform(20.0, 30.0)),
            tempo=float(rng.uniform(0.9, 1.15)),
            size=float(rng.uniform(0.92, 1.08)),
        )


def _u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(*r))


def sagittal(trunk_deg: float, lumbar_deg: float) -> dict:
    """Channel values for a trunk inclination made of pelvis tilt plus lumbar flexion."""
    return {"pelvis_incl_deg": trunk_deg - lumbar_deg, "lumbar_flexion_deg": lumbar_deg}


def upright(**posture: float) -> dict:
    """Neutral standing at the current place and heading, with ``posture`` channels overridden."""
    keep = ("heading_deg", "hip_x_m", "hip_y_m")
    return {k: v for k, v in NEUTRAL.items() if k not in keep} | posture


#: What a person does in a gym besides its exercises and walking, standing and sitting between sets
#: (`Script.other_activity`): the analysis must never count these as reps of a gym exercise.
OTHER_ACTIVITIES = ("seated_bends", "side_bends", "twists", "reaches")


class Script:
    """Writes activities into a timeline and logs them.

    Parameters
    ----------
    tl
        The timeline to extend.
    rng
        Random generator (all choices are drawn from it, so a seed reproduces the session).
    person
        The lifter.
    model
        How the reps of a set vary and how far its fault goes.
    """

    def __init__(
        self, tl: Timeline, rng: np.random.Generator, person: Person, model: ex.RepModel = ex.DEFAULT_REP_MODEL
    ):
        self.tl, self.rng, self.person, self.model = tl, rng, person, model
        self.activities: list[dict] = []
        self.sets: list[dict] = []

    def _log(self, kind: str, start_s: float, **extra) -> None:
        self.activities.append({"kind": kind, "start_s": start_s, "end_s": self.tl.time_s, **extra})

    def _d(self, seconds: float) -> float:
        return seconds * self.person.tempo

    # --- between sets ---------------------------------------------------------------------------
    def stand(self, duration_s: float, fidget: bool = True) -> None:
        """Stand; with ``fidget`` the weight shifts and the posture wanders by a degree or two."""
        t0, end = self.tl.time_s, self.tl.time_s + duration_s
        base = upright()
        self.tl.move(1.0, **base)
        while fidget and end - self.tl.time_s > 4.0:
            shift = {
                **sagittal(self.rng.normal(0.0, 1.0), self.rng.normal(0.0, 1.5)),
                "lumbar_bend_deg": self.rng.normal(0.0, 1.5),
                "lumbar_twist_deg": self.rng.normal(0.0, 1.5),
                "pelvis_roll_deg": self.rng.normal(0.0, 1.0),
            }
            self.tl.move(self.rng.uniform(1.0, 2.0), **shift)
            self.tl.hold(self.rng.uniform(0.5, 3.0))
        self.tl.move(max(end - self.tl.time_s, 0.5), **base)
        self._log("stand", t0)

    def walk(self, distance_m: float, **posture: float) -> None:
        """Walk straight ahead: speed ramps, gait oscillations of pelvis, spine, hips and thighs.

        ``posture`` overrides channels of the upright walking posture (e.g. a bend while carrying).
        """
        tl, rng = self.tl, self.rng
        t0 = tl.time_s
        speed = min(rng.uniform(1.0, 1.4), distance_m / 1.6)
        ramp_s = 0.8
        cruise_m = max(distance_m - speed * ramp_s, 0.0)
        h = np.radians(tl.pose["heading_deg"])
        vel = {"hip_x_m": speed * np.cos(h), "hip_y_m": speed * np.sin(h)}
        tl.move(ramp_s, vel=vel, **upright(**posture), **tl.forward_m(speed * ramp_s / 2))
        if cruise_m > 0:
            tl.move(cruise_m / speed, vel=vel, **tl.forward_m(cruise_m))
        tl.move(ramp_s, **tl.forward_m(speed * ramp_s / 2))
        step_hz = speed / rng.uniform(0.65, 0.75)
        stride_hz, ph = step_hz / 2, rng.uniform(0, 2 * np.pi)
        for ch, amp, freq, phase in (
            ("hip_z_m", 0.02, step_hz, 2 * ph),
            ("hip_z_m", 0.004, 2 * step_hz, 4 * ph),
            ("pelvis_incl_deg", 1.5, step_hz, 2 * ph + 0.5),
            ("pelvis_roll_deg", 3.5, stride_hz, ph),
            ("heading_deg", 4.0, stride_hz, ph + np.pi / 2),
            # the thorax counter-rotates against the pelvis: twist exceeds the pelvic rotation
            ("lumbar_twist_deg", 6.0, stride_hz, ph + np.pi / 2),
            ("lumbar_bend_deg", 3.0, stride_hz, ph + np.pi),
            ("thigh_incl_deg", 20.0, stride_hz, ph + np.pi / 2),
            ("hip_x_m", -0.02 * np.sin(h), stride_hz, ph),
            ("hip_y_m", 0.02 * np.cos(h), stride_hz, ph),
        ):
            tl.oscillate(ch, amp, freq, phase, t0, tl.time_s, ramp_s)
        self._log("walk", t0, distance_m=distance_m)

    def turn(self, angle_deg: float = 180.0) -> None:
        """Turn on the spot with small steps."""
        t0 = self.tl.time_s
        self.tl.move(self._d(self.rng.uniform(1.2, 1.8)), heading_deg=self.tl.pose["heading_deg"] + angle_deg)
        self.tl.oscillate("hip_z_m", 0.01, 1.8, 0.0, t0, self.tl.time_s, 0.3)
        self._log("turn", t0)

    def _sit_down(self) -> None:
        """From standing onto a bench: lean forward while lowering, then sit with the pelvis tipped back."""
        tl = self.tl
        tl.move(
            self._d(0.8),
            **sagittal(35.0, 10.0),
            hip_z_m=HIP_HEIGHT_M - 0.15,
            thigh_incl_deg=-40.0,
            **tl.forward_m(-0.05),
        )
        tl.move(
            self._d(0.8),
            **sagittal(8.0, 20.0),
            hip_z_m=HIP_HEIGHT_M - 0.48,
            thigh_incl_deg=-88.0,
            **tl.forward_m(-0.12),
        )

    def _stand_up(self) -> None:
        """From sitting on a bench back to standing upright."""
        tl = self.tl
        tl.move(
            self._d(0.9),
            **sagittal(40.0, 12.0),
            lumbar_twist_deg=0.0,
            lumbar_bend_deg=0.0,
            thoracic_flexion_deg=0.0,
            hip_z_m=HIP_HEIGHT_M - 0.38,
            thigh_incl_deg=-80.0,
            **tl.forward_m(0.05),
        )
        tl.move(self._d(1.0), **upright(), **tl.forward_m(0.12))

    def sit(self, duration_s: float) -> None:
        """Sit down on a bench, slump and fidget, stand up again (lumbar flexion of 15-28°)."""
        tl, rng = self.tl, self.rng
        t0, end = tl.time_s, tl.time_s + duration_s
        self._sit_down()
        while end - tl.time_s > 8.0:
            lumbar = rng.uniform(15.0, 28.0)
            tl.move(
                rng.uniform(1.0, 2.5),
                **sagittal(lumbar + rng.uniform(-15.0, -5.0), lumbar),
                lumbar_twist_deg=rng.normal(0, 4.0),
                lumbar_bend_deg=rng.normal(0, 3.0),
                thoracic_flexion_deg=rng.uniform(0, 10.0),
            )
            tl.hold(rng.uniform(3.0, 12.0))
        self._stand_up()
        self._log("sit", t0)

    def pick_plate(self) -> None:
        """Walk to the plate tree, bend to lift a plate, carry it back one-handed, load it on the bar."""
        tl, rng = self.tl, self.rng
        t0 = tl.time_s
        dist = rng.uniform(1.5, 3.0)
        side = rng.choice([-1.0, 1.0])
        self.walk(dist)
        tl.move(
            self._d(1.2),
            **sagittal(rng.uniform(60, 75), rng.uniform(25, 35)),
            thigh_incl_deg=rng.uniform(-50, -30),
            hip_z_m=HIP_HEIGHT_M - 0.25,
            **tl.forward_m(-0.1),
        )
        tl.hold(rng.uniform(0.8, 1.5))
        tl.move(self._d(1.2), **upright(lumbar_bend_deg=5.0 * side, lumbar_twist_deg=2.0 * side), **tl.forward_m(0.1))
        self.turn()
        self.walk(dist, lumbar_bend_deg=5.0 * side)
        self.turn()
        tl.move(
            self._d(1.0),
            **sagittal(rng.uniform(40, 50), rng.uniform(15, 25)),
            thigh_incl_deg=-20.0,
            hip_z_m=HIP_HEIGHT_M - 0.12,
            lumbar_bend_deg=0.0,
            lumbar_twist_deg=rng.uniform(-10, 10),
        )
        tl.hold(rng.uniform(1.0, 2.0))
        tl.move(self._d(1.0), **upright())
        self._log("pick_plate", t0)

    def rom_calibration(self) -> dict:
        """Maximal flexion (toe touch) and maximal extension, each held 2 s; returns their windows."""
        tl, p = self.tl, self.person
        out = {}
        t0 = tl.time_s
        tl.move(self._d(2.5), **sagittal(p.max_flexion_deg + 55.0, p.max_flexion_deg), **tl.forward_m(-0.08))
        hold0 = tl.time_s
        tl.hold(2.0)
        out["max_flexion"] = {"start_s": hold0, "end_s": tl.time_s, "lumbar_flexion_deg": p.max_flexion_deg}
        tl.move(self._d(2.5), **upright(), **tl.forward_m(0.08))
        tl.hold(2.0)
        # bending backwards tips the pelvis back a little and the trunk back more than the lumbar bends
        tl.move(self._d(2.0), **sagittal(-1.2 * p.max_extension_deg, -p.max_extension_deg), **tl.forward_m(0.05))
        hold0 = tl.time_s
        tl.hold(2.0)
        out["max_extension"] = {"start_s": hold0, "end_s": tl.time_s, "lumbar_flexion_deg": -p.max_extension_deg}
        tl.move(self._d(2.0), **upright(), **tl.forward_m(-0.05))
        tl.hold(2.0)
        self._log("rom_calibration", t0)
        return out

    # --- anything else (`OTHER_ACTIVITIES`): movements that are no gym exercise and earn no reps ---------
    def other_activity(self, kind: str) -> None:
        """One bout of ``kind`` (one of `OTHER_ACTIVITIES`) with 2-4 movements."""
        movements = int(self.rng.integers(2, 5))
        getattr(self, kind)(movements)

    def seated_bends(self, bends: int) -> None:
        """Sit on a bench and bend the trunk forward ``bends`` times from upright sitting (a seated stretch or
        mobility drill, held up to 3 s), then stand up.

        Sitting, the pelvis turns little: the lumbar and thoracic spine make the bend. The pelvis turns by
        0.1-0.25 of the lumbar flexion, as TrunkyXL pp02's pelvis sensor does in its seated flexions
        (docs/simulator.md); the depth is 65-90 % of the person's maximal flexion.
        """
        tl, rng = self.tl, self.rng
        t0 = tl.time_s
        self._sit_down()
        seated = sagittal(rng.uniform(-2.0, 6.0), rng.uniform(8.0, 15.0))
        tl.move(self._d(1.0), **seated)
        tl.hold(rng.uniform(1.0, 2.0))
        for _ in range(bends):
            lumbar = rng.uniform(0.65, 0.9) * self.person.max_flexion_deg
            pelvis = seated["pelvis_incl_deg"] + rng.uniform(0.1, 0.25) * (lumbar - seated["lumbar_flexion_deg"])
            tl.move(
                self._d(rng.uniform(1.5, 2.5)),
                pelvis_incl_deg=pelvis,
                lumbar_flexion_deg=lumbar,
                thoracic_flexion_deg=rng.uniform(10.0, 20.0),
            )
            tl.hold(rng.uniform(0.3, 3.0))
            tl.move(self._d(rng.uniform(1.5, 2.5)), **seated, thoracic_flexion_deg=0.0)
            tl.hold(rng.uniform(0.5, 2.0))
        self._stand_up()
        self._log("seated_bends", t0, movements=bends)

    def _sideways(self, kind: str, channel: str, count: int) -> None:
        """Standing bends of ``channel`` (``lumbar_bend_deg`` or ``lumbar_twist_deg``) of 30-45°, alternating
        left and right, back to upright between them; the trunk tips forward by up to 25° with them."""
        tl, rng = self.tl, self.rng
        t0 = tl.time_s
        side = rng.choice([-1.0, 1.0])
        for _ in range(count):
            tl.move(
                self._d(rng.uniform(1.2, 2.0)),
                **sagittal(rng.uniform(0.0, 25.0), rng.uniform(0.0, 15.0)),
                **{channel: side * rng.uniform(30.0, 45.0)},
                pelvis_roll_deg=-side * rng.uniform(0.0, 8.0) if channel == "lumbar_bend_deg" else 0.0,
            )
            tl.hold(rng.uniform(0.3, 1.0))
            tl.move(self._d(rng.uniform(1.2, 2.0)), **upright())
            tl.hold(rng.uniform(0.3, 1.0))
            side = -side
        self._log(kind, t0, movements=count)

    def side_bends(self, bends: int) -> None:
        """Standing side bends of ±30-45°, alternating (`_sideways`)."""
        self._sideways("side_bends", "lumbar_bend_deg", bends)

    def twists(self, turns: int) -> None:
        """Standing trunk twists of ±30-45°, alternating (`_sideways`)."""
        self._sideways("twists", "lumbar_twist_deg", turns)

    def reaches(self, count: int) -> None:
        """Pick things up or reach low (dumbbells, a towel, a bottle) ``count`` times, a few steps apart: each
        a lone bend of the trunk to 40-80°, often twisted to one side, with bent knees."""
        tl, rng = self.tl, self.rng
        t0 = tl.time_s
        for _ in range(count):
            self.walk(rng.uniform(3.0, 6.0))
            side = rng.choice([-1.0, 1.0])
            tl.move(
                self._d(rng.uniform(1.0, 1.5)),
                **sagittal(rng.uniform(40.0, 80.0), rng.uniform(20.0, 40.0)),
                lumbar_twist_deg=side * rng.uniform(0.0, 30.0),
                lumbar_bend_deg=side * rng.uniform(0.0, 10.0),
                thigh_incl_deg=rng.uniform(-50.0, -10.0),
                hip_z_m=HIP_HEIGHT_M - rng.uniform(0.05, 0.25),
            )
            tl.hold(rng.uniform(0.5, 1.5))
            tl.move(self._d(rng.uniform(1.0, 1.5)), **upright())
            self.turn(rng.uniform(90.0, 180.0))
        self._log("reaches", t0, movements=count)

    # --- a set ----------------------------------------------------------------------------------
    def _move_via(self, duration_s: float, target: dict, way: float, time_share: float, speed_share: float) -> float:
        """Move to ``target`` through a point ``way`` of the way there at ``time_share`` of ``duration_s``,
        passed at ``speed_share`` times the mean speed: an asymmetric speed profile or a sticking point."""
        tl = self.tl
        start = {ch: tl.pose[ch] for ch in target}
        via = {ch: start[ch] + way * (target[ch] - start[ch]) for ch in target}
        vel = {ch: speed_share * (target[ch] - start[ch]) / duration_s for ch in target}
        tl.move(duration_s * time_share, vel=vel, **via)
        return tl.move(duration_s * (1.0 - time_share), **target)

    def _bounce(self, bottom: dict, rise_deg: float) -> None:
        """At the bottom, the trunk rebounds by ``rise_deg`` (the pelvis tips back) and sinks back by half."""
        pelvis = bottom["pelvis_incl_deg"]
        self.tl.move(_u(self.rng, self.model.bounce_s), pelvis_incl_deg=pelvis - rise_deg)
        self.tl.move(_u(self.rng, self.model.bounce_s), pelvis_incl_deg=pelvis - rise_deg / 2.0)

    def exercise_set(
        self,
        exercise: str,
        reps: int,
        fault: str,
        touch_and_go: bool | None = None,
        clean_flexion_deg: float | None = None,
        extra_flexion_deg: tuple[float, ...] = (),
    ) -> dict:
        """One set: get into position, the reps, and out again; returns the set's log entry.

        ``clean_flexion_deg`` and ``extra_flexion_deg`` are those of `session.SetSpec`.

        Each rep is logged with its key times (descent start, bottom reached, ascent start, top reached)
        and the windows of the top postures before and after it, where the rep boundaries (trunk
        inclination minima) are looked up once the truth angles exist.
        """
        tl, rng = self.tl, self.rng
        prof = ex.PROFILES[exercise]
        if touch_and_go is None:
            touch_and_go = bool(rng.random() < 0.5) if prof.from_floor else True
        t_set = tl.time_s
        side_step = 0.0

        top_trunk = _u(rng, prof.top_trunk_deg)
        brace = brace_lumbar_deg(fault, rng, self.model)
        if prof.on_bench:
            tl.move(self._d(0.8), hip_z_m=HIP_HEIGHT_M + 0.05, thigh_incl_deg=10.0, **tl.forward_m(0.3))
            tl.move(self._d(rng.uniform(1.5, 2.2)), **sagittal(top_trunk, brace), thigh_incl_deg=prof.top_thigh_deg)
            tl.hold(rng.uniform(0.8, 1.5))
        elif not prof.from_floor:
            # take the bar from the rack and step back with it
            dip = 0.06 if prof.bar_on_back else 0.02
            tl.move(
                self._d(0.6),
                **sagittal(4.0, 0.0),
                hip_z_m=HIP_HEIGHT_M - dip,
                thigh_incl_deg=-12.0 if prof.bar_on_back else -4.0,
            )
            tl.move(self._d(0.6), **upright())
            side_step = rng.uniform(0.5, 0.8)
            t_step = tl.time_s
            tl.move(self._d(1.6), **tl.forward_m(-side_step))
            tl.oscillate("hip_z_m", 0.012, 1.6, 0.0, t_step, tl.time_s, 0.3)
            tl.move(self._d(rng.uniform(1.0, 2.0)), **sagittal(top_trunk, brace))
        else:
            tl.move(self._d(rng.uniform(1.5, 2.5)), **sagittal(top_trunk, brace))

        # settled and braced where the reps happen: the first rep starts from this still top posture
        plan = RepPlanner(
            exercise,
            reps,
            fault,
            rng,
            (tl.pose["hip_x_m"], tl.pose["hip_y_m"]),
            self.person,
            clean_flexion_deg,
            extra_flexion_deg,
            self.model,
        )
        bounce_deg = (
            _u(rng, self.model.bounce_deg)
            if touch_and_go and not prof.on_bench and rng.random() < self.model.bounce_share
            else 0.0
        )
        sticking = rng.random() < self.model.sticking_share
        plan.detail |= {"bounce_deg": bounce_deg, "sticking_point": bool(sticking)}
        settled = tl.time_s
        tl.hold(rng.uniform(0.8, 1.5))
        rep_logs = []
        before = (settled, tl.time_s)
        for i in range(reps):
            bottom = plan.bottom_pose(i, tl)
            first_setup = prof.from_floor and i == 0
            ecc = self._d(rng.uniform(1.6, 2.4) if first_setup else _u(rng, prof.eccentric_s))
            if first_setup:
                pause = rng.uniform(1.5, 3.0)
            elif prof.from_floor and not touch_and_go:
                pause = _u(rng, prof.dead_stop_pause_s)
            else:
                pause = _u(rng, prof.bottom_pause_s)
            con = self._d(_u(rng, prof.concentric_s) * (1.0 + 0.04 * i))
            t_desc = tl.time_s
            t_bottom = self._move_via(
                ecc, bottom, 0.5, _u(rng, self.model.eccentric_halfway_at), _u(rng, self.model.eccentric_peak_speed)
            )
            if bounce_deg and not first_setup:
                self._bounce(bottom, bounce_deg)
                t_ascent = tl.time_s
            else:
                t_ascent = tl.move(pause)
            top, relax = plan.top_poses(i, top_trunk)
            if sticking:
                way = _u(rng, self.model.sticking_at)
                t_top = self._move_via(con, top, way, min(way + 0.15, 0.8), _u(rng, self.model.sticking_speed_share))
            else:
                t_top = tl.move(con, **top)
            last = i == reps - 1
            hold = rng.uniform(0.25, 0.4) if relax else self._d(_u(rng, prof.top_pause_s))
            tl.hold(hold)
            if relax:
                tl.move(self._d(0.7), **relax)
                tl.hold(self._d(_u(rng, prof.top_pause_s)) if not last else 0.5)
            after = (t_top - 0.2, tl.time_s)
            rep_logs.append(
                {
                    "descent_s": t_desc,
                    "bottom_reached_s": t_bottom,
                    "ascent_s": t_ascent,
                    "top_reached_s": t_top,
                    "top_before": before,
                    "top_after": after,
                    "touch_and_go": touch_and_go,
                    # what the fault plan asked of this rep, beside what the body then did (the truth)
                    "planned": {
                        "bottom_lumbar_flexion_deg": bottom["lumbar_flexion_deg"],
                        "lockout_lumbar_angle_deg": top["lumbar_flexion_deg"],
                        "bottom_lateral_bend_deg": bottom["lumbar_bend_deg"],
                        "bottom_twist_deg": bottom["lumbar_twist_deg"],
                        "extra_flexion_deg": plan.extra_deg(i),
                    },
                }
            )
            before = after

        extra = []
        if prof.from_floor:
            # put the bar down: an excursion like a rep but not one; then stand up without the bar
            t_down = tl.time_s
            tl.move(self._d(_u(rng, prof.eccentric_s)), **plan.bottom_pose(reps - 1, tl))
            t_floor = tl.time_s
            tl.hold(rng.uniform(0.6, 1.2))
            tl.move(self._d(rng.uniform(0.8, 1.2)), **upright())
            extra.append({"kind": "put_down", "start_s": t_down, "bottom_s": t_floor, "end_s": tl.time_s})
        elif prof.on_bench:
            tl.move(self._d(rng.uniform(1.2, 2.0)), **upright(hip_z_m=HIP_HEIGHT_M + 0.05, thigh_incl_deg=10.0))
            tl.move(self._d(0.8), **upright(), **tl.forward_m(-0.3))
        else:
            tl.move(self._d(0.8), **upright())
            t_step = tl.time_s
            tl.move(self._d(1.6), **tl.forward_m(side_step))
            tl.oscillate("hip_z_m", 0.012, 1.6, 0.0, t_step, tl.time_s, 0.3)
            tl.move(self._d(0.6), **sagittal(4.0, 0.0), hip_z_m=HIP_HEIGHT_M - 0.05)
            tl.move(self._d(0.6), **upright())
        entry = {
            "exercise": exercise,
            "fault": fault,
            "touch_and_go": touch_and_go,
            "reps": rep_logs,
            "extra_excursions": extra,
            "fault_detail": plan.detail,
        }
        self.sets.append(entry)
        self._log("set", t_set, exercise=exercise)
        return entry


def brace_lumbar_deg(fault: str, rng: np.random.Generator, model: ex.RepModel = ex.DEFAULT_REP_MODEL) -> float:
    """Lumbar angle while getting set, before the first rep (already arched when overarching)."""
    if fault == "overarching":
        return -JUDGED_LIMITS.extension_limit_deg - _u(rng, (2.0, 6.0))
    return _u(rng, model.clean_top_lumbar_deg)


class RepPlanner:
    """Per-rep target poses of one set: depth, lumbar angle, bend and twist under its fault.

    A fault's amplitude is a margin past its limit (`truth.JudgedLimits`) drawn per set from
    `exercises.RepModel.fault_margin_deg` (extension faults and asymmetry: ``extension_margin_deg``), kept inside
    the person's range of motion; it is logged in ``detail``. Whether a rep then earns the flag is the
    truth's to say, from the true angles.

    Parameters
    ----------
    exercise, reps, fault
        What the set is.
    rng
        Random generator.
    platform_xy_m
        Hip centre position (world x, y in m) standing at the bar or on the bench.
    person
        The lifter (maximal flexion and extension bound the faults).
    clean_flexion_deg, extra_flexion_deg
        The lifter's own clean bottom flexion (None: drawn) and the flexion added per rep, deg
        (`session.SetSpec`).
    model
        How the reps vary and how far the fault goes.
    """

    def __init__(
        self,
        exercise: str,
        reps: int,
        fault: str,
        rng: np.random.Generator,
        platform_xy_m: tuple[float, float],
        person: Person,
        clean_flexion_deg: float | None = None,
        extra_flexion_deg: tuple[float, ...] = (),
        model: ex.RepModel = ex.DEFAULT_REP_MODEL,
    ):
        self.prof = ex.PROFILES[exercise]
        self.exercise, self.reps, self.fault, self.rng, self.model = exercise, reps, fault, rng, model
        self.platform_xy_m = platform_xy_m
        self.extra_flexion_deg = tuple(extra_flexion_deg)
        self.depth_deg = _u(rng, self.prof.bottom_trunk_deg)
        lim, reserve = JUDGED_LIMITS, self.model.rom_reserve_deg
        self.max_flexion_deg = person.max_flexion_deg - reserve
        self.max_extension_deg = person.max_extension_deg - reserve
        self.detail: dict = {}
        if fault in ("lockout_hyperextension", "overarching", "asymmetry"):
            self.detail["margin_deg"] = _u(rng, self.model.extension_margin_deg)
        elif fault != "none":
            self.detail["margin_deg"] = _u(rng, self.model.fault_margin_deg)
        if fault == "rounded_back_extension":
            self.detail["extension_margin_deg"] = _u(rng, self.model.extension_margin_deg)
        if fault == "asymmetry":
            self.detail |= {
                "side": "right" if rng.random() < 0.5 else "left",
                "plane": "lateral_bend" if rng.random() < 0.5 else "twist",
            }
        if fault == "flexion_drift":
            self.detail |= {"onset_rep": int(rng.integers(3, reps + 1)), "step_deg": _u(rng, self.model.drift_step_deg)}
        margin = self.detail.get("margin_deg", 0.0)
        clean = self.prof.clean_lumbar_deg
        if fault in ("lumbar_flexion", "rounded_back_extension"):
            self.lumbar_base_deg = min(lim.flexion_limit_deg + margin, self.max_flexion_deg)
        elif fault == "overarching":
            self.lumbar_base_deg = -min(lim.extension_limit_deg + margin, self.max_extension_deg)
        elif fault == "lockout_hyperextension":
            self.lumbar_base_deg = _u(rng, self.model.flexion_before_lockout_deg)
        else:
            self.lumbar_base_deg = rng.uniform(
                clean[0] + self.model.rep_jitter_deg, clean[1] - self.model.rep_jitter_deg
            )
            if clean_flexion_deg is not None:
                self.lumbar_base_deg = clean_flexion_deg
        extension_margin = self.detail.get("extension_margin_deg", margin)
        self.lockout_deg = -min(lim.extension_limit_deg + extension_margin, self.max_extension_deg)

    def extra_deg(self, i: int) -> float:
        """Flexion added at the bottom of rep ``i`` (from 0), deg."""
        return float(self.extra_flexion_deg[i]) if i < len(self.extra_flexion_deg) else 0.0

    def _jitter(self) -> float:
        # a lifter repeats a set's depth of flexion within a degree or so
        return self.rng.uniform(-self.model.rep_jitter_deg, self.model.rep_jitter_deg)

    def _bottom_lumbar_deg(self, i: int) -> float:
        d = self.detail
        if self.fault == "flexion_drift" and i >= d["onset_rep"] - 1:
            rise = JUDGED_LIMITS.drift_limit_deg + d["margin_deg"] + (i - d["onset_rep"] + 1) * d["step_deg"]
            return min(self.lumbar_base_deg + rise + self._jitter(), self.max_flexion_deg)
        if self.lumbar_base_deg < 0:
            return max(self.lumbar_base_deg + self._jitter(), -self.max_extension_deg)
        return min(self.lumbar_base_deg + self.extra_deg(i) + self._jitter(), self.max_flexion_deg)

    def bottom_pose(self, i: int, tl: Timeline) -> dict:
        """Channel values at the bottom of rep ``i`` (from 0)."""
        rng, prof = self.rng, self.prof
        depth = float(np.clip(self.depth_deg + rng.normal(0.0, 2.0), *prof.bottom_trunk_deg))
        lumbar = self._bottom_lumbar_deg(i)
        bend, twist = _u(rng, self.model.clean_asymmetry_deg), _u(rng, self.model.clean_asymmetry_deg)
        if self.fault == "asymmetry":
            amount = JUDGED_LIMITS.asymmetry_limit_deg + self.detail["margin_deg"] + self._jitter()
            value = (1.0 if self.detail["side"] == "right" else -1.0) * amount
            bend, twist = (value, twist) if self.detail["plane"] == "lateral_bend" else (bend, value)
        # a flexed lumbar spine comes with a rounded upper back
        thoracic = _u(rng, prof.thoracic_deg) + (8.0 if lumbar > JUDGED_LIMITS.flexion_limit_deg else 0.0)
        # a lifter who rounds more still hinges at the hips to reach the bar: the trunk goes deeper
        pose = {
            **sagittal(max(depth, lumbar + prof.min_bottom_pelvis_deg), lumbar),
            "lumbar_bend_deg": bend,
            "lumbar_twist_deg": twist,
            "thoracic_flexion_deg": thoracic,
            "thigh_incl_deg": _u(rng, prof.bottom_thigh_deg),
        }
        if not prof.on_bench:
            pose["hip_z_m"] = HIP_HEIGHT_M - _u(rng, prof.hip_drop_m)
            # hips travel back along the heading of the set (the platform faces the session's forward)
            h = np.radians(tl.pose["heading_deg"])
            back = _u(rng, prof.hip_back_m)
            base_x, base_y = self.platform_xy_m
            pose["hip_x_m"], pose["hip_y_m"] = base_x - back * np.cos(h), base_y - back * np.sin(h)
        return pose

    def top_poses(self, i: int, top_trunk_deg: float) -> tuple[dict, dict | None]:
        """Pose at lockout of rep ``i`` and, when the lockout is hyperextended, the relaxed pose after it."""
        rng, f = self.rng, self.fault
        trunk = top_trunk_deg + rng.normal(0.0, 0.7)
        common = {
            "lumbar_bend_deg": _u(rng, self.model.clean_asymmetry_deg),
            "lumbar_twist_deg": _u(rng, self.model.clean_asymmetry_deg),
            "thoracic_flexion_deg": 0.0,
            "thigh_incl_deg": self.prof.top_thigh_deg,
        }
        if not self.prof.on_bench:
            x, y = self.platform_xy_m
            common |= {"hip_z_m": HIP_HEIGHT_M, "hip_x_m": x, "hip_y_m": y}
        if f in ("lockout_hyperextension", "rounded_back_extension"):
            lumbar = max(self.lockout_deg + self._jitter(), -self.max_extension_deg)
            # leaning back with the hyperextension, the pelvis nearly level: the lockout is the trunk's
            # highest point
            locked = {**common, **sagittal(trunk + 0.9 * lumbar, lumbar), "thoracic_flexion_deg": -3.0}
            relaxed = {**common, **sagittal(trunk, _u(rng, self.model.clean_top_lumbar_deg))}
            return locked, relaxed
        if f == "overarching":
            # arched: anterior pelvic tilt plus lumbar extension, the trunk leaning back a little
            lumbar = max(self.lumbar_base_deg - _u(rng, self.model.overarched_top_extra_deg), -self.max_extension_deg)
            return {**common, **sagittal(trunk + 0.3 * lumbar, lumbar)}, None
        return {**common, **sagittal(trunk, _u(rng, self.model.clean_top_lumbar_deg))}, None
