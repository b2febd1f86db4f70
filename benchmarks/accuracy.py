"""Accuracy of sets, reps, metrics, flags and exercise classification against the simulator's truth.

Random sessions (`imuform.simulator.random_session_spec`: 1-3 sets of 3-10 reps, realistic noise,
bias, misalignment, packet loss and clock errors, rates 25-200 Hz) cycle through every exercise and
every fault it can have, with a bout of something that is no gym exercise (seated bends, side bends,
twists, picking things up) before the first set and in every rest; each is analysed from its samples with `analysis.analyze_session` (automatic
calibration, 6D orientation; the magnetometers only locate the bar for the exercise classification) and
compared with the truth. The same samples are analysed again without their magnetometer columns, which
gives the classification a lifter gets from sensors without one. The same sets and reps are also found
on the true angles (`analysis.analyze_angles`), which separates errors of segmentation and
classification from errors of the angles.

Targets: rep count exact in ≥ 99 % of sets (anchor: RecoFit, ±1 rep in 93 %); lumbar angle RMSE
≤ 1.5° (anchor: dorsaVi ViMove, 1.34°); per-rep peak lumbar flexion error ≤ 2° at the 95th
percentile; flag precision and recall ≥ 0.97 on reps more than 2° from the limit; classification
≥ 98 % over deadlift, hinge (RDL or good morning), back extension 45° and 90°, squat and other; no bout
of other movements counted as a gym exercise.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from functools import partial
from multiprocessing import Pool

import numpy as np
import pandas as pd
from rich.table import Table

from analysis import FLAGS, OTHER, analyze_angles, analyze_session
from benchmarks.figures import Figure, print_table, wide_console
from imuform.simulator import ErrorModel, random_session_spec, simulate_session
from imuform.simulator.exercises import EXERCISES, FAULTS, compatible
from imuform.truth_check import match_intervals, overlap_s

WORKERS = 2
FULL_SESSIONS, QUICK_SESSIONS = 120, 12
RATES_HZ = (25.0, 50.0, 100.0, 200.0)

#: Every (exercise, fault) the simulator can make (squats are simulated clean, as in random specs),
#: ordered round-robin over the exercises so that even a quick run sees every exercise.
COMBOS = [(e, f) for f in FAULTS for e in EXERCISES if compatible(e, f) and (e != "squat" or f == "none")]


def other_classes(bouts: list[dict], sets: pd.DataFrame) -> list[tuple[str, str, float]]:
    """What the analysis made of each bout of other movements (truth.json ``other``).

    Returns
    -------
    list
        Per bout, (kind, class, confidence): the gym exercise of a set overlapping it when one was named
        (wrong: its movements were counted as reps of a lift; the least confident such set), else
        `OTHER` with the least confidence of its other sets, or 1.0 when it made no set at all.
    """
    out = []
    for b in bouts:
        inside = sets[(sets["start_s"] < b["end_s"]) & (sets["end_s"] > b["start_s"])] if len(sets) else sets
        lifts = inside[inside["exercise"] != OTHER] if len(inside) else inside
        named = lifts if len(lifts) else inside
        if len(named):
            worst = named.loc[named["exercise_confidence"].idxmin()]
            out.append((b["kind"], str(worst["exercise"]), float(worst["exercise_confidence"])))
        else:
            out.append((b["kind"], OTHER, 1.0))
    return out


def judged_margin(margins_deg: dict[str, float], flag: str) -> float | None:
    """The truth's margin past ``flag``'s limit, deg; None where the flag is not judged.

    A rep's lockout is judged only when the rep is not arched throughout (overarching), in the truth and
    in the analysis alike, so a rep near the overarching limit is near the lockout flag's decision too:
    its lockout case is as near the limit as the nearer of the two margins.
    """
    margin = margins_deg.get(flag)
    arched = margins_deg.get("overarching")
    if flag == "lockout_hyperextension" and arched is not None and (margin is None or abs(arched) < abs(margin)):
        return arched
    return margin


def compare(truth: dict, sets: pd.DataFrame, reps: pd.DataFrame) -> dict:
    """Compare one analysis with the truth: per set and per rep records, and flag counts.

    Returns
    -------
    dict
        ``sets``: (exercise, found exercise or None, true reps, found reps, found exercise_confidence);
        ``other``: `other_classes` of the bouts of other movements;
        ``peaks``: (true, found) peak lumbar flexion of matched reps;
        ``flag_cases``: per true rep and flag, and per flag of a found rep matching no true rep,
        (flag, the truth's signed margin past the limit in deg or None where the flag is not judged,
        true flag, found flag); ``extra_sets``: found sets matching no true set nor bout of other movements.
    """
    truth_sets, bouts = truth["sets"], truth.get("other", [])
    found_sets = list(zip(sets["start_s"], sets["end_s"])) if len(sets) else []
    set_match = match_intervals([(s["start_s"], s["end_s"]) for s in truth_sets], found_sets)
    out = {"sets": [], "other": other_classes(bouts, sets), "peaks": [], "flag_cases": []}
    matched_found_reps = set()
    for s, k in zip(truth_sets, set_match):
        found_reps = reps[reps["set_index"] == int(sets.iloc[k]["index"])] if k is not None else reps.iloc[:0]
        found = sets.iloc[k] if k is not None else {"exercise": None, "exercise_confidence": float("nan")}
        out["sets"].append(
            (s["exercise"], found["exercise"], s["rep_count"], len(found_reps), float(found["exercise_confidence"]))
        )
        rep_match = match_intervals(
            [(r["start_s"], r["end_s"]) for r in s["reps"]], list(zip(found_reps["start_s"], found_reps["end_s"]))
        )
        for r, j in zip(s["reps"], rep_match):
            found_flags = set(found_reps.iloc[j]["flags"]) if j is not None else set()
            if j is not None:
                matched_found_reps.add(found_reps.index[j])
                out["peaks"].append((r["peak_lumbar_flexion_deg"], found_reps.iloc[j]["peak_lumbar_flexion_deg"]))
            for f in FLAGS:
                margin = judged_margin(r["flag_margins_deg"], f)
                out["flag_cases"].append((f, margin, f in r["faults"], f in found_flags))
    # flags on reps that match no true rep are false positives, far from any limit
    for flags in reps.loc[~reps.index.isin(list(matched_found_reps)), "flags"]:
        for f in flags:
            out["flag_cases"].append((f, None, False, True))
    # a bout of other movements may make several sets (sitting down, the bends, standing up)
    in_bouts = {k for k, f in enumerate(found_sets) for b in bouts if overlap_s(f, (b["start_s"], b["end_s"])) > 0}
    explained = {k for k in set_match if k is not None} | in_bouts
    out["extra_sets"] = len(found_sets) - len(explained)
    return out


def lumbar_rmse_deg(angles: pd.DataFrame, truth_angles: pd.DataFrame) -> float:
    """RMSE of measured against true lumbar flexion, true angles interpolated to the measured times."""
    true = np.interp(angles["time_s"], truth_angles["time_s"], truth_angles["lumbar_flexion_deg"])
    err = angles["lumbar_flexion_deg"].to_numpy() - true
    return float(np.sqrt(np.nanmean(err**2)))


def evaluate(seed: int, bar_field_uT: float | None = None) -> dict:
    """Simulate and analyse one session (a worker's job); ``bar_field_uT`` overrides the bar's field strength."""
    exercise, fault = COMBOS[seed % len(COMBOS)]
    rate = RATES_HZ[seed % len(RATES_HZ)]  # 33 combos and 4 rates: every combo meets several rates
    spec = random_session_spec(seed, exercise=exercise, fault=fault, rate_hz=rate, other_activities=True)
    if bar_field_uT is not None:
        spec = dataclasses.replace(spec, errors=ErrorModel(bar_field_uT=bar_field_uT))
    sim = simulate_session(spec)
    result = analyze_session(sim.samples)
    no_mag = analyze_session(sim.samples.drop(columns=["mag_x", "mag_y", "mag_z"], errors="ignore"))
    truth_sets, truth_reps = analyze_angles(sim.truth_angles)
    return {
        "measured": compare(sim.truth, result.sets, result.reps),
        "no_magnetometer": compare(sim.truth, no_mag.sets, no_mag.reps),
        "on_truth": compare(sim.truth, truth_sets, truth_reps),
        "lumbar_rmse_deg": lumbar_rmse_deg(result.angles, sim.truth_angles),
        "seed": seed,
    }


#: A flag's precision or recall is held to its target from this many cases on (a quick run may see one or two).
MIN_FLAG_CASES = 20
#: Reps whose true value lies further than this from a flag's limit are judged by precision and recall
#: (the peak flexion error is 1.4° at p95, so nearer reps can go either way and are shown by distance).
CLEAR_MARGIN_DEG = 2.0
#: Target of precision and recall on reps clear of the limit.
CLEAR_FLAG_TARGET = 0.97
#: Bins of the distance to the limit, deg, for the agreement of the reps near it.
NEAR_BINS_DEG = (0.0, 0.5, 1.0, 2.0)


def flag_figures(cases: list[tuple], tag: str, per_flag: bool) -> list[Figure]:
    """Precision and recall on reps clear of the limit, and agreement by distance to the limit for the rest.

    Parameters
    ----------
    cases
        ``(flag, margin_deg or None, true flag, found flag)`` (`compare`'s ``flag_cases``).
    tag
        Suffix of the figure names.
    per_flag
        Also a precision and recall per flag.
    """
    clear = [c for c in cases if c[1] is None or abs(c[1]) > CLEAR_MARGIN_DEG]
    near = [c for c in cases if c[1] is not None and abs(c[1]) <= CLEAR_MARGIN_DEG]

    def counts(group: list[tuple]) -> tuple[int, int, int]:
        return (
            sum(t and f for _, _, t, f in group),
            sum(f and not t for _, _, t, f in group),
            sum(t and not f for _, _, t, f in group),
        )

    figs = []
    groups = [(f"{flag} ", [c for c in clear if c[0] == flag]) for flag in FLAGS] if per_flag else []
    for prefix, group in [*groups, ("flags ", clear)]:
        tp, fp, fn = counts(group)
        for name, other, other_name in (("precision", fp, "fp"), ("recall", fn, "fn")):
            n = tp + other
            if not n:  # undefined without a single case
                continue
            overall = prefix == "flags "
            target = CLEAR_FLAG_TARGET if overall or n >= MIN_FLAG_CASES else None
            figs.append(
                Figure(
                    f"{prefix}{name}{', all' if overall else ''}, > {CLEAR_MARGIN_DEG:g}° from the limit{tag}",
                    tp / n,
                    "",
                    target,
                    True,
                    note=f"tp {tp}, {other_name} {other}",
                )
            )
    for lo, hi in zip(NEAR_BINS_DEG[:-1], NEAR_BINS_DEG[1:]):
        group = [c for c in near if lo <= abs(c[1]) < hi or (hi == CLEAR_MARGIN_DEG and abs(c[1]) == hi)]
        if group:
            agree = sum(t == f for _, _, t, f in group)
            flagged = sum(t for _, _, t, _ in group)
            figs.append(
                Figure(
                    f"flag agreement, {lo:g}–{hi:g}° from the limit{tag}",
                    100.0 * agree / len(group),
                    "%",
                    note=f"{len(group)} rep-flag cases, {flagged} truly past the limit",
                )
            )
    return figs


def _figures(records: list[dict], label: str, with_angles: bool) -> list[Figure]:
    """Figures of one kind of comparison (``measured`` or ``on_truth``) over all sessions."""
    sets = [s for r in records for s in r[label]["sets"]]
    peaks = np.array([p for r in records for p in r[label]["peaks"]], dtype=float).reshape(-1, 2)
    n_sets = len(sets)
    exact = sum(found == true for _, _, true, found, _ in sets)
    within_one = sum(abs(found - true) <= 1 for _, _, true, found, _ in sets)
    classified = sum(found == ex for ex, found, *_ in sets)
    extra = sum(r[label]["extra_sets"] for r in records)
    tag = "" if label == "measured" else " (true angles)"
    figs = [
        Figure(
            f"rep count exact{tag}",
            100.0 * exact / n_sets,
            "%",
            99.0,
            True,
            note=f"{n_sets} sets, ±1 rep in {100.0 * within_one / n_sets:.1f} % (RecoFit ±1: 93 %); {extra} spurious sets",
        ),
        Figure(
            f"exercise classification, 6 exercises{tag}",
            100.0 * classified / n_sets,
            "%",
            None,
            True,
            note=f"{n_sets} sets; held to its target with RDL and good morning as one hinge (below)",
        ),
    ]
    if len(peaks):
        err = np.abs(peaks[:, 1] - peaks[:, 0])
        figs.append(
            Figure(
                f"peak lumbar flexion error p95{tag}",
                float(np.nanpercentile(err, 95)),
                "°",
                2.0,
                note=f"{len(peaks)} matched reps, median {np.nanmedian(err):.2f}°",
            )
        )
    if with_angles:
        rmse = np.array([r["lumbar_rmse_deg"] for r in records])
        worst = records[int(np.argmax(rmse))]["seed"]
        figs.append(
            Figure(
                "lumbar angle RMSE",
                float(np.sqrt(np.mean(rmse**2))),
                "°",
                1.5,
                note=f"{len(rmse)} sessions, worst {rmse.max():.2f}° (seed {worst}) (dorsaVi: 1.34°)",
            )
        )
    figs += flag_figures([c for r in records for c in r[label]["flag_cases"]], tag, per_flag=label == "measured")
    return figs


def confusion(records: list[dict], label: str = "measured") -> Counter:
    """(true class, found class) counts of the sets and bouts of other movements that were classified wrongly."""
    return Counter((ex, found) for ex, found, _ in classified(records, label) if found != ex)


HINGES = ("romanian_deadlift", "good_morning")


def exercise_class(exercise: str | None) -> str | None:
    """The class the classification target counts: RDL and good morning are one hinge (reported apart)."""
    return "hinge" if exercise in HINGES else exercise


def classified(records: list[dict], label: str) -> list[tuple[str, str | None, float]]:
    """(true class, found class, confidence) of every set and every bout of other movements."""
    sets = [(ex, found, conf) for r in records for ex, found, _, _, conf in r[label]["sets"]]
    return sets + [(OTHER, found, conf) for r in records for _, found, conf in r[label].get("other", [])]


def classification_figures(records: list[dict], label: str, tag: str) -> list[Figure]:
    """Classification over deadlift, hinge, back extensions, squat and other (the target), the bouts of other
    movements counted as a lift, the Romanian deadlift / good morning pair on its own, and how telling the
    confidence is."""
    sets = classified(records, label)
    right = np.array([found == ex for ex, found, _ in sets])
    right_class = np.array([exercise_class(found) == exercise_class(ex) for ex, found, _ in sets])
    conf = np.array([c for *_, c in sets], dtype=float)
    pair = np.array([ex in HINGES for ex, *_ in sets])
    swapped = sum(ex in HINGES and found in HINGES and found != ex for ex, found, _ in sets)
    bouts = [(found, conf) for ex, found, conf in sets if ex == OTHER]
    lifted = sum(found != OTHER for found, _ in bouts)
    return [
        Figure(
            f"exercise classification, hinge as one{tag}",
            100.0 * right_class.mean(),
            "%",
            98.0,
            True,
            note=f"{len(sets)} sets and bouts: deadlift, hinge (RDL or good morning), back extension 45 / 90, "
            f"squat, other ({len(bouts)})",
        ),
        Figure(
            f"bouts of other movements counted as a lift{tag}",
            float(lifted),
            "bouts",
            0.0,
            note=f"of {len(bouts)} (seated bends, side bends, twists, picking things up)",
            tolerance=0.0,
        ),
        Figure(
            f"RDL / good morning classification{tag}",
            100.0 * right[pair].mean(),
            "%",
            None,
            True,
            note=f"{pair.sum()} sets, {swapped} swapped",
        ),
        Figure(
            f"mean exercise_confidence, right / wrong{tag}",
            float(np.nanmean(conf[right])),
            "",
            note=f"wrong sets: {np.nanmean(conf[~right]) if (~right).any() else float('nan'):.2f}",
        ),
    ]


def magnetometer_harm(records: list[dict]) -> Figure:
    """Sets the magnetometer turned wrong: right without it, wrong with it (target 0)."""
    pairs = [
        (with_mag[1] == with_mag[0], without[1] == without[0])
        for r in records
        for with_mag, without in zip(classified([r], "measured"), classified([r], "no_magnetometer"))
    ]
    harmed = sum(without and not with_mag for with_mag, without in pairs)
    helped = sum(with_mag and not without for with_mag, without in pairs)
    return Figure(
        "sets the magnetometer turned wrong",
        float(harmed),
        "sets",
        0.0,
        note=f"of {len(pairs)}; it turned {helped} right",
    )


def confusion_table(records: list[dict], label: str, title: str) -> Table:
    """Per-exercise confusion: rows the true exercise, columns what the analysis named it."""
    counts = Counter((ex, found) for ex, found, _ in classified(records, label))
    found_names = [*EXERCISES, OTHER, None]
    table = Table(title=title)
    table.add_column("true \\ found")
    for name in found_names:
        table.add_column("missed" if name is None else name.replace("_", " "), justify="right")
    table.add_column("correct", justify="right")
    for ex in (*EXERCISES, OTHER):
        n = sum(counts[(ex, f)] for f in found_names)
        table.add_row(
            ex.replace("_", " "),
            *[str(counts[(ex, f)] or "·") for f in found_names],
            f"{100.0 * counts[(ex, ex)] / n:.1f} %" if n else "–",
        )
    return table


def collect(sessions: int, bar_field_uT: float | None = None) -> list[dict]:
    """Evaluate ``sessions`` simulated sessions on `WORKERS` processes."""
    with Pool(WORKERS) as pool:
        return pool.map(partial(evaluate, bar_field_uT=bar_field_uT), range(sessions), chunksize=1)


def figures_of(records: list[dict]) -> list[Figure]:
    """All figures: measured first, then the classification without magnetometer, then on the true angles."""
    return (
        _figures(records, "measured", True)
        + classification_figures(records, "measured", "")
        + classification_figures(records, "no_magnetometer", " (no magnetometer)")
        + [magnetometer_harm(records)]
        + _figures(records, "on_truth", False)
    )


def run(quick: bool = False) -> list[Figure]:
    """Simulate, analyse and compare; return the figures."""
    return figures_of(collect(QUICK_SESSIONS if quick else FULL_SESSIONS))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SESSIONS} sessions instead of {FULL_SESSIONS}")
    parser.add_argument("--sessions", type=int, help="number of simulated sessions")
    parser.add_argument(
        "--bar-field-uT",
        type=float,
        help=f"strength of the bar's magnetic field (default {ErrorModel().bar_field_uT:g} µT): how weak a bar still helps",
    )
    args = parser.parse_args()
    records = collect(args.sessions or (QUICK_SESSIONS if args.quick else FULL_SESSIONS), args.bar_field_uT)
    print_table("accuracy against the simulator", figures_of(records))
    console = wide_console()
    console.print(confusion_table(records, "measured", "exercise classification, with magnetometer"))
    console.print(confusion_table(records, "no_magnetometer", "exercise classification, without magnetometer"))
    for label in ("measured", "no_magnetometer", "on_truth"):
        wrong = confusion(records, label)
        if wrong:
            print(
                f"misclassified sets, {label} (true → found):",
                ", ".join(f"{a} → {b}: {n}" for (a, b), n in wrong.most_common()),
            )
