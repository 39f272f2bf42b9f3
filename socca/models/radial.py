"""Radial (elliptical) surface-brightness components.

Each class declares its shape parameters and names the pure profile function
of :mod:`socca.models.profiles.radial` that it evaluates.
"""

from __future__ import annotations

import functools
import inspect

import jax.numpy as jnp

from socca.models import profiles
from socca.models.component import DEG_PER_ARCSEC, Component, Param, is_static_zero

GEOMETRY = (
    Param("xc", None, "deg", "Right ascension of the centre"),
    Param("yc", None, "deg", "Declination of the centre"),
    Param("theta", 0.0, "rad", "Position angle of the major axis, east of north"),
    Param("e", 0.0, "", "Ellipticity, 1 - axis ratio"),
    Param("cbox", 0.0, "", "Boxiness (0: ellipse, >0 boxy, <0 discy)"),
)


class Profile(Component):
    """An elliptical component ``I(r)`` with ``r`` the generalised elliptical radius.

    Subclasses set ``profile`` to a pure function ``f(r, **shape)`` and declare
    its shape parameters in ``PARAMS``.
    """

    PARAMS = GEOMETRY

    @staticmethod
    def profile(r, **shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def image(self, values, grid):
        """Pure rendering: sub-pixel averaged surface brightness on ``grid``.

        Parameters
        ----------
        values : dict
            Parameter name → (traced) value.
        grid : RenderGrid
            The renderer's tangent-plane sub-pixel grid.
        """
        xi_c, eta_c, north = grid.centre(values["xc"], values["yc"])
        r = profiles.elliptical_radius(
            grid.xi - xi_c,
            grid.eta - eta_c,
            values["theta"] + north,
            values["e"],
            values["cbox"],
            boxy=not is_static_zero(values["cbox"]),
        )
        shape = {n: values[n] for n in profile_arguments(self.profile)}
        return jnp.mean(self.profile(r, **shape), axis=0)


@functools.cache
def profile_arguments(profile) -> tuple[str, ...]:
    """Names of a profile function's shape arguments (all but the radius)."""
    return tuple(inspect.signature(profile).parameters)[1:]


class Sersic(Profile):
    """Sérsic profile ``Ie exp(-b_n ((r/re)^(1/n) - 1))`` with exact ``b_n``."""

    PARAMS = (
        Param("re", None, "deg", "Effective (half-light) radius along the major axis"),
        Param("Ie", None, "image", "Surface brightness at re"),
        Param("ns", 0.5, "", "Sérsic index"),
    )
    profile = staticmethod(profiles.sersic)


class Exponential(Profile):
    """Exponential profile ``Is exp(-r/rs)``."""

    PARAMS = (
        Param("rs", None, "deg", "Scale radius"),
        Param("Is", None, "image", "Central surface brightness"),
    )
    profile = staticmethod(profiles.exponential)


class Gaussian(Profile):
    """Gaussian profile ``Is exp(-r^2 / (2 rs^2))``."""

    PARAMS = (
        Param("rs", None, "deg", "Standard deviation along the major axis"),
        Param("Is", None, "image", "Central surface brightness"),
    )
    profile = staticmethod(profiles.gaussian)


class Beta(Profile):
    """β-model ``Ic (1 + (r/rc)^alpha)^(-beta)`` (the classic form has alpha = 2)."""

    PARAMS = (
        Param("rc", None, "deg", "Core radius"),
        Param("Ic", None, "image", "Central surface brightness"),
        Param("alpha", 2.0, "", "Radial exponent"),
        Param("beta", 0.55, "", "Slope"),
    )
    profile = staticmethod(profiles.beta)


class Power(Profile):
    """Power law ``Ic (r/rc)^(-alpha)``."""

    PARAMS = (
        Param("rc", None, "deg", "Reference radius"),
        Param("Ic", None, "image", "Surface brightness at rc"),
        Param("alpha", 2.0, "", "Slope"),
    )
    profile = staticmethod(profiles.power)


class TopHat(Profile):
    """Uniform disk: 1 inside ``rc``, 0 outside (mainly a building block for bridges)."""

    PARAMS = (Param("rc", 1.0 * DEG_PER_ARCSEC, "deg", "Radius"),)
    profile = staticmethod(profiles.tophat)
