"""Each set against the lifter's reference reps: the stored references, the cached rep curves, the comparison.

Every analysis of a stored session caches its reps' lumbar curves (`analysis.reference.rep_curves`), so a
reference is built, a set compared and a reference proposed from the cache, without analysing again. The
comparison goes into the analysis (`apply_comparisons`: its sets and reps tables) and into cached documents
(`judge_document`), always from the person's current references and the set's current exercise (the lifter's
label first).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imuform.errors import ImuformError
from imuform.store_references import references, rep_curves_data, save_rep_curves
from imuform.store_sets import label_document, set_labels

if TYPE_CHECKING:
    from analysis.reference import Reference, ReferenceProposal, RepCurve, SetComparison
    from analysis.session import SessionAnalysis
    from imuform.store import Store

#: Per-rep columns of the comparison (`analysis.reference.RepComparison`'s figures), in the reps table.
REP_COMPARISON_COLUMNS = (
    "ref_peak_flexion_diff_deg",
    "ref_lockout_diff_deg",
    "ref_lumbar_share_diff",
    "ref_tempo_ratio",
    "ref_outside_band_share",
    "ref_rounded",
)
#: Per-set columns of the comparison, in the sets table.
SET_COMPARISON_COLUMNS = ("ref_broke_at_rep", "ref_peak_flexion_diff_deg", "ref_verdict")


def curve_to_dict(curve: RepCurve) -> dict:
    """A rep curve as plain JSON (NaN as None)."""
    from analysis.session import jsonable

    return jsonable(
        {
            "set_index": curve.set_index,
            "rep_index": curve.rep_index,
            "lumbar_flexion_deg": curve.lumbar_flexion_deg,
            "peak_lumbar_flexion_deg": curve.peak_lumbar_flexion_deg,
            "lockout_lumbar_angle_deg": curve.lockout_lumbar_angle_deg,
            "lumbar_share": curve.lumbar_share,
            "trunk_inclination_range_deg": curve.trunk_inclination_range_deg,
            "duration_s": curve.duration_s,
            "session_id": curve.session_id,
        }
    )


def curve_from_dict(data: dict) -> RepCurve:
    """The rep curve `curve_to_dict` wrote."""
    import numpy as np

    from analysis.reference import RepCurve

    def number(name: str) -> float:
        return math.nan if data[name] is None else float(data[name])

    return RepCurve(
        set_index=int(data["set_index"]),
        rep_index=int(data["rep_index"]),
        lumbar_flexion_deg=np.array([math.nan if v is None else v for v in data["lumbar_flexion_deg"]], dtype=float),
        peak_lumbar_flexion_deg=number("peak_lumbar_flexion_deg"),
        lockout_lumbar_angle_deg=number("lockout_lumbar_angle_deg"),
        lumbar_share=number("lumbar_share"),
        trunk_inclination_range_deg=number("trunk_inclination_range_deg"),
        duration_s=number("duration_s"),
        session_id=data.get("session_id"),
    )


def cache_curves(store: Store, result: SessionAnalysis) -> list[RepCurve]:
    """Compute and cache the rep curves of an analysed stored session; return them."""
    from analysis.reference import rep_curves

    curves = rep_curves(result)
    save_rep_curves(store, result.session_id, [curve_to_dict(c) for c in curves])
    return curves


def session_curves(store: Store, session_id: str) -> list[RepCurve]:
    """A session's rep curves from the cache, analysing the session when they are not cached."""
    from imuform.session_analysis import analyze_stored

    data = rep_curves_data(store, session_id)
    if data is None:
        analyze_stored(store, session_id, show_progress=False)  # caches them
        data = rep_curves_data(store, session_id) or []
    return [curve_from_dict(d) for d in data]


def person_reference(store: Store, person_id: int, exercise: str) -> Reference | None:
    """The reference band of a person's exercise from all their reference reps of it; None without any."""
    from analysis.reference import build_reference

    curves = []
    for ref in references(store, person_id, exercise):
        try:
            of_session = session_curves(store, ref.session_id)
        except ImuformError:
            continue  # a reference session that no longer analyses (e.g. re-imported without samples) is passed over
        curves += [
            c for c in of_session if c.set_index == ref.set_index and ref.first_rep <= c.rep_index <= ref.last_rep
        ]
    if not curves:
        return None
    try:
        return build_reference(curves, exercise)
    except ValueError:
        return None  # no rep of them was measured: as if there were no reference


def compare_sets(
    store: Store, person_id: int, exercises: dict[int, str], curves: list[RepCurve]
) -> dict[int, SetComparison]:
    """Each set (index to its exercise) against the person's reference for that exercise, where they have one."""
    from analysis.reference import compare_set

    bands: dict[str, Reference | None] = {}
    out = {}
    for set_index, exercise in exercises.items():
        if exercise not in bands:
            bands[exercise] = person_reference(store, person_id, exercise)
        of_set = sorted((c for c in curves if c.set_index == set_index), key=lambda c: c.rep_index)
        if bands[exercise] is not None and of_set:
            out[set_index] = compare_set(of_set, bands[exercise])
    return out


@dataclass(frozen=True)
class SetBand:
    """What a set's reference chart draws besides the comparison the analysis holds.

    Attributes
    ----------
    reference
        The person's reference for the set's exercise.
    curves
        The set's rep curves, in order.
    """

    reference: Reference
    curves: tuple[RepCurve, ...]


def compared_sets(result: SessionAnalysis) -> list[int]:
    """The sets of an analysis that `apply_comparisons` compared with a reference (their ``ref_verdict`` is set)."""
    if "ref_verdict" not in result.sets:
        return []
    return [int(i) for i, v in zip(result.sets["index"], result.sets["ref_verdict"]) if isinstance(v, str)]


def set_bands(store: Store, result: SessionAnalysis, set_indices: Iterable[int] | None = None) -> dict[int, SetBand]:
    """The reference band and rep curves of the compared sets of an analysed stored session, for their charts.

    The comparison itself is the one `apply_comparisons` wrote into the analysis, not computed again; only the
    sets asked for (``set_indices``; None: every compared set) have their curves computed, and each exercise's
    reference is built once.
    """
    from analysis.reference import rep_curves
    from imuform.store_people import person_of_session

    wanted = compared_sets(result)
    if set_indices is not None:
        asked = set(set_indices)
        wanted = [i for i in wanted if i in asked]
    if not wanted:
        return {}
    person_id = person_of_session(store, result.session_id).id
    exercises = dict(zip(result.sets["index"].astype(int), result.sets["exercise"].astype(str)))
    references: dict[str, Reference | None] = {}
    out = {}
    for set_index in wanted:
        exercise = exercises[set_index]
        if exercise not in references:
            references[exercise] = person_reference(store, person_id, exercise)
        if references[exercise] is not None:
            curves = sorted(rep_curves(result, set_index), key=lambda c: c.rep_index)
            out[set_index] = SetBand(references[exercise], tuple(curves))
    return out


def _rep_fields(comparison: SetComparison | None) -> dict[int, dict]:
    if comparison is None:
        return {}
    return {
        r.rep_index: dict(
            zip(
                REP_COMPARISON_COLUMNS,
                (
                    r.peak_flexion_diff_deg,
                    r.lockout_diff_deg,
                    r.lumbar_share_diff,
                    r.tempo_ratio,
                    r.outside_band_share,
                    r.rounded,
                ),
            )
        )
        for r in comparison.reps
    }


def _set_fields(comparison: SetComparison | None) -> dict:
    if comparison is None:
        return dict.fromkeys(SET_COMPARISON_COLUMNS)
    return dict(
        zip(SET_COMPARISON_COLUMNS, (comparison.broke_at_rep, comparison.peak_flexion_diff_deg, comparison.verdict))
    )


def apply_comparisons(result: SessionAnalysis, comparisons: dict[int, SetComparison]) -> None:
    """Write the comparisons into an analysis's sets and reps tables (`SET_COMPARISON_COLUMNS`,
    `REP_COMPARISON_COLUMNS`; empty where a set has no reference)."""
    sets, reps = result.sets, result.reps
    fields = [_set_fields(comparisons.get(int(i))) for i in sets["index"]]
    for name in SET_COMPARISON_COLUMNS:
        sets[name] = [f[name] for f in fields]
    rep_fields = {i: _rep_fields(c) for i, c in comparisons.items()}
    for name in REP_COMPARISON_COLUMNS:
        reps[name] = [
            rep_fields.get(int(s), {}).get(int(r), {}).get(name) for s, r in zip(reps["set_index"], reps["index"])
        ]


def judge_document(store: Store, session_id: str, doc: dict) -> dict:
    """Bring a cached analysis document up to date with the lifter's labels and references; return it."""
    from analysis.session import jsonable
    from imuform.store_people import person_of_session

    label_document(doc, set_labels(store, session_id))
    exercises = {int(s["index"]): s["exercise"] for s in doc["sets"]}
    comparisons = compare_sets(
        store, person_of_session(store, session_id).id, exercises, session_curves(store, session_id)
    )
    for s in doc["sets"]:
        comparison = comparisons.get(int(s["index"]))
        s.update(_set_fields(comparison))
        fields = _rep_fields(comparison)
        for rep in s["reps"]:
            rep.update(fields.get(int(rep["index"]), dict.fromkeys(REP_COMPARISON_COLUMNS)))
    return jsonable(doc)


def propose(store: Store, person_id: int, exercise: str) -> ReferenceProposal | None:
    """The automatic proposal of a reference for a person's exercise, from the sets of all their sessions."""
    from analysis.reference import propose_reference
    from imuform.session_analysis import person_documents

    curves = []
    for info, doc in person_documents(store, person_id):
        of_exercise = {int(s["index"]) for s in doc["sets"] if s["exercise"] == exercise}
        curves += [c for c in session_curves(store, info["id"]) if c.set_index in of_exercise]
    return propose_reference(curves, exercise)
