"""Personal limits around calibrated neutral, and the built-in profiles.

A person's pain-free range differs: some lifters are flexion-intolerant, some extension-intolerant.
Limits are given in degrees from calibrated standing neutral, or in percent of the person's calibrated
range of motion, and are resolved to degrees before flags are raised. Whenever the range of motion is
calibrated, the default profile's flexion and extension limits are shares of it (`RangeShares`); the
degrees of `DEFAULT_LIMITS` hold only without one. Sources: docs/analysis.md, "Personal limits".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # analysis.calibration pulls in scipy, which the limits do not need
    from analysis.calibration import RangeOfMotion


@dataclass(frozen=True)
class Limits:
    """Personal limits, all in degrees from calibrated neutral.

    Parameters
    ----------
    flexion_limit_deg
        Peak lumbar flexion above this raises `lumbar_flexion`. The default, 35°, sits above the 10–30°
        of lower-lumbar flexion clean deadlifts reach from standing (Bengtsson et al. 2022) and below the
        near-maximal flexion of very heavy lifts (Cholewicki & McGill 1992).
    extension_limit_deg
        Magnitude of lumbar extension: a lockout angle below ``-extension_limit_deg`` raises
        `lockout_hyperextension`, a mean rep angle below it raises `overarching`. The default, 10°, is
        40 % of a typical 25° maximal extension (see `RangeShares`).
    drift_limit_deg
        Rise of peak flexion over the first reps of a set that raises `flexion_drift`.
    asymmetry_limit_deg
        Peak lateral bend or twist magnitude that raises `asymmetry`.
    profile
        Name of the profile these limits came from.
    """

    flexion_limit_deg: float = 35.0
    extension_limit_deg: float = 10.0
    drift_limit_deg: float = 8.0
    asymmetry_limit_deg: float = 8.0
    profile: str = "default"

    def to_dict(self) -> dict:
        """Return the limits as a plain dict (for JSON and the store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Limits:
        """Build limits from a dict, ignoring unknown keys."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class RangeShares:
    """The default profile's limits as shares of a calibrated range of motion, in percent.

    Parameters
    ----------
    flexion_limit_pct
        Of maximal flexion (toe touch): clean deadlifts use 40–70 % of it (Bengtsson et al. 2022: 10–30°
        against a 45–60° maximum), heavy lifts near 100 % load the posterior ligaments (Cholewicki &
        McGill 1992); 75 % lies between.
    extension_limit_pct
        Of maximal extension: 40 %, the share the 10° default is of a typical 25° (an assumption: no
        study of lockout extension was found for it).
    """

    flexion_limit_pct: float = 75.0
    extension_limit_pct: float = 40.0


DEFAULT_RANGE_SHARES = RangeShares()

PROFILES: dict[str, Limits] = {
    "default": DEFAULT_LIMITS,
    "flexion_intolerant": Limits(flexion_limit_deg=12.0, extension_limit_deg=12.0, profile="flexion_intolerant"),
    "extension_intolerant": Limits(flexion_limit_deg=22.0, extension_limit_deg=5.0, profile="extension_intolerant"),
}


def limits_from_percent(
    flexion_pct: float | None,
    extension_pct: float | None,
    max_flexion_deg: float,
    max_extension_deg: float,
    base: Limits = DEFAULT_LIMITS,
) -> Limits:
    """Resolve limits given in percent of the calibrated range of motion to degrees.

    Parameters
    ----------
    flexion_pct, extension_pct
        Limits in percent of maximal flexion and extension; ``None`` keeps ``base``'s value.
    max_flexion_deg
        Calibrated maximal lumbar flexion (toe touch), positive, in degrees.
    max_extension_deg
        Calibrated maximal lumbar extension as a positive magnitude in degrees.
    base
        Limits whose other fields are kept.

    Returns
    -------
    Limits
        Limits in degrees.
    """
    if max_flexion_deg <= 0 or max_extension_deg <= 0:
        raise ValueError(
            "range of motion must be positive in both directions; recalibrate maximal flexion and extension"
        )
    out = base
    if flexion_pct is not None:
        out = replace(out, flexion_limit_deg=max_flexion_deg * flexion_pct / 100.0)
    if extension_pct is not None:
        out = replace(out, extension_limit_deg=max_extension_deg * extension_pct / 100.0)
    return out


def resolve_limits(profile: dict, range_of_motion: RangeOfMotion | None = None) -> Limits:
    """The limits a stored profile asks for, in degrees.

    Parameters
    ----------
    profile
        The person's profile: ``profile`` (a name in `PROFILES`, default ``"default"``) and optional
        overrides ``flexion_limit_deg``, ``extension_limit_deg`` (degrees) or ``flexion_limit_pct``,
        ``extension_limit_pct`` (percent of the calibrated range).
    range_of_motion
        The person's calibrated range of motion; needed for percent limits. With it, the default
        profile's flexion and extension limits not given explicitly are `DEFAULT_RANGE_SHARES` of it.

    Returns
    -------
    Limits
        The profile's limits with the overrides applied.
    """
    name = profile.get("profile") or "default"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; use one of {', '.join(PROFILES)}")
    out = PROFILES[name]
    degrees = {k: float(profile[k]) for k in ("flexion_limit_deg", "extension_limit_deg") if profile.get(k) is not None}
    out = replace(out, **degrees)
    flexion_pct, extension_pct = profile.get("flexion_limit_pct"), profile.get("extension_limit_pct")
    if name == "default" and range_of_motion is not None:
        # a calibrated range makes the default limits personal; explicit degrees or percents still win
        if flexion_pct is None and "flexion_limit_deg" not in degrees:
            flexion_pct = DEFAULT_RANGE_SHARES.flexion_limit_pct
        if extension_pct is None and "extension_limit_deg" not in degrees:
            extension_pct = DEFAULT_RANGE_SHARES.extension_limit_pct
    if flexion_pct is None and extension_pct is None:
        return out
    if range_of_motion is None:
        raise ValueError(
            "limits in percent need a calibrated range of motion; calibrate maximal flexion and extension first"
        )
    return limits_from_percent(
        flexion_pct, extension_pct, range_of_motion.max_flexion_deg, range_of_motion.max_extension_deg, base=out
    )
