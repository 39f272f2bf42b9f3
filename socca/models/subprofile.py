"""Radial profiles used as building blocks of composite components (disks, bridges).

A composite evaluates a radial profile along a coordinate of its own (the
cylindrical radius of a disk, the distances along and across a bridge), so the
profile's own geometry (``xc, yc, theta, e, cbox``) plays no role and is
removed from it when it is adopted. :func:`radial_values` evaluates the
profile, truncation included, from a name → value table.
"""

from __future__ import annotations

from socca.errors import InputTypeError
from socca.models.radial import Profile, profile_arguments

#: Parameters of a radial profile that only place it on the sky.
GEOMETRY_NAMES = ("xc", "yc", "theta", "e", "cbox")
#: Components that are no radial law of one coordinate, refused as sub-profiles.
UNSUPPORTED = ("Point", "Background", "PolyExpoRefact")
#: Scale-length and amplitude parameters of the built-in radial profiles, and
#: whether the amplitude is the central value (False: Sérsic's Ie is the value at re).
SCALES = {
    "Sersic": ("re", "Ie", False),
    "Exponential": ("rs", "Is", True),
    "Gaussian": ("rs", "Is", True),
    "Beta": ("rc", "Ic", True),
    "gNFW": ("rc", "Ic", True),
    "Power": ("rc", "Ic", True),
    "TopHat": ("rc", "Ic", True),
    "PolyExponential": ("rs", "Is", True),
    "ModExponential": ("rs", "Is", True),
}
#: Parameters added by a truncation: never taken for the scale or amplitude.
TRUNCATION_NAMES = ("rt", "wt")


def allowed_radial() -> list[str]:
    """Names of the radial profile classes a composite accepts (every ``Profile`` subclass)."""
    found, stack = set(), [Profile]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if not _refused(sub):
                found.add(sub.__name__)
    return sorted(found)


def _refused(cls) -> bool:
    return any(c.__name__ in UNSUPPORTED for c in cls.__mro__)


def check_radial(profile, owner: str, role: str) -> None:
    """Raise ``TypeError`` unless ``profile`` is a radial profile instance usable as ``role``."""
    cls = type(profile)
    if isinstance(profile, type) or not isinstance(profile, Profile) or _refused(cls):
        given = profile.__name__ if isinstance(profile, type) else cls.__name__
        what = "a class, not an instance" if isinstance(profile, type) else "not supported"
        raise InputTypeError(
            f"{owner}: {role}={given} is {what}; the {role} profile must be an instance of "
            f"one of {', '.join(allowed_radial())}"
        )


def geometry_free_names(profile) -> tuple[str, ...]:
    """The profile's parameters other than its sky geometry."""
    return tuple(n for n in profile.parameter_names if n not in GEOMETRY_NAMES)


def scale_and_amplitude(profile):
    """``(scale, amplitude, central)`` parameter names of a radial profile.

    Built-in classes (and their subclasses) are looked up in :data:`SCALES`;
    for others (custom profiles) the scale is the first parameter in degrees
    and the amplitude the first in image units, either possibly None, and the
    amplitude is taken to be the central value.
    """
    for cls in type(profile).__mro__:
        if cls.__name__ in SCALES:
            return SCALES[cls.__name__]
    entries = profile.parameter_entries()
    names = [n for n in geometry_free_names(profile) if n not in TRUNCATION_NAMES]
    scale = next((n for n in names if entries[n].units == "deg"), None)
    amplitude = next((n for n in names if entries[n].units == "image"), None)
    return scale, amplitude, True


def radial_values(profile, r, values):
    """``I(r)`` of ``profile`` (truncated when it is) for a name → value table.

    Uses the profile's own ``radial_values`` when it has one, else its pure
    ``profile`` function on the arguments it names.
    """
    own = getattr(profile, "radial_values", None)
    if own is not None:
        return own(r, values)
    return profile.profile(r, **{n: values[n] for n in profile_arguments(profile.profile)})


def role_values(values, role, profile, overrides=None) -> dict:
    """The sub-profile's name → value table from its composite's (``<role>_<name>`` keys).

    Removed geometry parameters are set to zero; ``overrides`` (scale,
    amplitude) replace or add entries.
    """
    table = dict.fromkeys(GEOMETRY_NAMES, 0.0)
    table.update({n: values[f"{role}_{n}"] for n in profile.parameter_names})
    table.update(overrides or {})
    return table
