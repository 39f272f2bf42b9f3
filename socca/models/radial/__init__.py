"""Radial (elliptical) surface-brightness components.

Each class declares its shape parameters and names the pure profile function
of :mod:`socca.models.profiles` that it evaluates. Every profile can be
truncated (see :mod:`socca.models.truncation`, also importable as
``socca.models.radial.truncation``).
"""

from __future__ import annotations

import functools
import importlib
import inspect

import jax.numpy as jnp

from socca.errors import InputError
from socca.models import profiles
from socca.models.component import (
    DEG_PER_ARCSEC,
    Component,
    Param,
    ParamEntry,
    _validate_value,
    is_static_zero,
)
from socca.models.domain import (
    ABOVE_ONE,
    BELOW_ONE,
    BOXINESS,
    DECLINATION,
    ELLIPTICITY,
    POSITIVE,
)
from socca.models.fusion import materialise
from socca.models.oversample import apply_correction
from socca.models.profiles import radial as laws
from socca.models.profiles.gnfw import gnfw
from socca.models.truncation import TRUNCATION_PARAMS, as_truncation

GEOMETRY = (
    Param("xc", None, "deg", "Right ascension of the centre"),
    Param("yc", None, "deg", "Declination of the centre", DECLINATION),
    Param("theta", 0.0, "rad", "Position angle of the major axis, east of north"),
    Param("e", 0.0, "", "Ellipticity, 1 - axis ratio", ELLIPTICITY),
    Param("cbox", 0.0, "", "Boxiness (0: ellipse, >0 boxy, <0 discy)", BOXINESS),
)


class Profile(Component):
    """An elliptical component ``I(r)`` with ``r`` the generalised elliptical radius.

    Subclasses set ``profile`` to a pure function ``f(r, **shape)`` and declare
    its shape parameters in ``PARAMS``.

    Parameters
    ----------
    truncation : None, bool, Truncation, optional
        Outer truncation (see :mod:`socca.models.truncation`): ``True`` for a
        :class:`~socca.models.truncation.HyperTangent` with default ``rt`` and
        ``wt``, ``HyperTangent(rt=..., wt=...)`` or
        ``Exponential(rt=..., wt=...)``. It adds the parameters ``rt`` and
        ``wt``; it can also be assigned or removed (``None``) later.
    **values
        Initial parameter values (numbers, priors or ties), ``rt`` and ``wt``
        included when truncated.
    """

    PARAMS = GEOMETRY
    _truncation = None

    def __init__(self, *, truncation=None, **values):
        super().__init__()
        self._configure(truncation, values)

    def _configure(self, truncation, values):
        """Attach ``truncation``, then assign ``values`` (``rt``, ``wt`` included)."""
        if truncation is None and any(k in values for k in ("rt", "wt")):
            raise InputError(
                f"{type(self).__name__}: rt and wt are truncation parameters; "
                f"pass truncation=True (or HyperTangent/Exponential) to use them"
            )
        self.truncation = truncation
        for name, value in values.items():
            setattr(self, name, value)

    @staticmethod
    def profile(r, **shape):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- truncation -----------------------------------------------------------
    @property
    def truncation(self):
        """The outer truncation (a :class:`~socca.models.truncation.Truncation`) or None.

        Assigning one adds the parameters ``rt`` and ``wt`` (set to the
        truncation's values, replacing any previous ones); assigning ``None``
        removes them.
        """
        return self._truncation

    @truncation.setter
    def truncation(self, value):
        new = as_truncation(value)
        names = [n for n, _, _ in TRUNCATION_PARAMS]
        if new is not None:
            owned = names if self._truncation is not None else []
            taken = set(self._params).difference(owned)
            clash = [n for n in names if n in taken or hasattr(type(self), n)]
            if clash:
                raise InputError(
                    f"{self.id} ({type(self).__name__}) already has parameter(s) "
                    f"{', '.join(clash)}: a truncation needs rt and wt for itself"
                )
            checked = {n: _validate_value(self.owner, n, getattr(new, n), POSITIVE) for n in names}
        if self._truncation is not None:
            for name in names:
                self._params.pop(name, None)
        object.__setattr__(self, "_truncation", new)
        if new is not None:
            for name, units, description in TRUNCATION_PARAMS:
                entry = ParamEntry(
                    checked[name], units, f"{description} ({new.label})", domain=POSITIVE
                )
                self._params[name] = entry

    def removeparameter(self, name):
        """Remove a parameter previously added with ``addparameter``."""
        if self._truncation is not None and name in ("rt", "wt"):
            raise InputError(
                f"{name!r} belongs to the truncation of {self.id}; "
                f"set truncation = None to remove it"
            )
        super().removeparameter(name)

    # -- evaluation -------------------------------------------------------------
    def shape_names(self) -> tuple[str, ...]:
        """Names of the parameters the profile function takes (all but the radius)."""
        return profile_arguments(self.profile)

    def radial_names(self) -> tuple[str, ...]:
        """Names of the parameters :meth:`radial_values` reads: shape, then ``rt``, ``wt``."""
        extra = tuple(n for n, _, _ in TRUNCATION_PARAMS) if self._truncation is not None else ()
        return self.shape_names() + extra

    def radial_values(self, r, values):
        """Surface brightness ``I(r)``, times the truncation taper when there is one.

        Pure: safe under ``jit``, ``vmap`` and ``grad``.

        Parameters
        ----------
        r : array
            Radii, in degrees (any shape).
        values : dict
            Parameter name → (possibly traced) value; must hold at least the
            profile's shape parameters, and ``rt``, ``wt`` when truncated.

        Returns
        -------
        array
            ``I(r)``, the shape of ``r``.
        """
        out = self.profile(r, **{n: values[n] for n in self.shape_names()})
        if self._truncation is not None:
            out = out * self._truncation.taper(r, values["rt"], values["wt"])
        return out

    def image(self, values, grid):
        """Pure rendering: sub-pixel averaged surface brightness on ``grid``.

        Parameters
        ----------
        values : dict
            Parameter name → (traced) value.
        grid : RenderGrid
            The renderer's tangent-plane sub-pixel grid.
        """
        averaged, corrections = self.image_parts(values, grid)
        for correction in corrections:
            averaged = apply_correction(averaged, correction)
        return averaged

    def image_parts(self, values, grid):
        """:meth:`image` as the lattice average and the corrections near the centre.

        Returns
        -------
        averaged : jax.Array
            The sub-pixel lattice average on the image grid.
        corrections : list
            ``(delta, origin)`` pairs for
            :func:`socca.models.oversample.apply_correction`; the renderer adds
            them to the padded canvas of the convolution directly.
        """
        xi_c, eta_c, north = grid.centre(values["xc"], values["yc"])
        axes = profiles.axis_terms(values["theta"] + north, values["e"])
        xi_c, eta_c, *axes = materialise(xi_c, eta_c, *axes)
        boxy = not is_static_zero(values["cbox"])

        def brightness(xi, eta):
            r = profiles.radius_along_axes(xi - xi_c, eta - eta_c, *axes, values["cbox"], boxy=boxy)
            return self.radial_values(r, values)

        averaged = jnp.mean(brightness(grid.xi, grid.eta), axis=0)
        x0, y0 = grid.pixel_of(xi_c, eta_c)
        lattice = (grid.xi, grid.eta)
        return averaged, [grid.refiner.correction(brightness, x0, y0, lattice)]


@functools.cache
def profile_arguments(profile) -> tuple[str, ...]:
    """Names of a profile function's shape arguments (all but the radius)."""
    return tuple(inspect.signature(profile).parameters)[1:]


class Sersic(Profile):
    """Sérsic profile ``Ie exp(-b_n ((r/re)^(1/n) - 1))`` with exact ``b_n``."""

    PARAMS = (
        Param("re", None, "deg", "Effective (half-light) radius along the major axis", POSITIVE),
        Param("Ie", None, "image", "Surface brightness at re"),
        Param("ns", 0.5, "", "Sérsic index", POSITIVE),
    )
    profile = staticmethod(profiles.sersic)


class Exponential(Profile):
    """Exponential profile ``Is exp(-r/rs)``."""

    PARAMS = (
        Param("rs", None, "deg", "Scale radius", POSITIVE),
        Param("Is", None, "image", "Central surface brightness"),
    )
    profile = staticmethod(profiles.exponential)


class Gaussian(Profile):
    """Gaussian profile ``Is exp(-r^2 / (2 rs^2))``."""

    PARAMS = (
        Param("rs", None, "deg", "Standard deviation along the major axis", POSITIVE),
        Param("Is", None, "image", "Central surface brightness"),
    )
    profile = staticmethod(profiles.gaussian)


class Beta(Profile):
    """β-model ``Ic (1 + (r/rc)^alpha)^(-beta)`` (the classic form has alpha = 2)."""

    PARAMS = (
        Param("rc", None, "deg", "Core radius", POSITIVE),
        Param("Ic", None, "image", "Central surface brightness"),
        Param("alpha", 2.0, "", "Radial exponent", POSITIVE),
        Param("beta", 0.55, "", "Slope"),
    )
    profile = staticmethod(profiles.beta)


class Power(Profile):
    """Power law ``Ic (r/rc)^(-alpha)``."""

    PARAMS = (
        Param("rc", None, "deg", "Reference radius", POSITIVE),
        Param("Ic", None, "image", "Surface brightness at rc"),
        Param("alpha", 2.0, "", "Slope"),
    )
    profile = staticmethod(profiles.power)


class TopHat(Profile):
    """Uniform disk: ``Ic`` inside ``rc``, 0 outside (mainly a building block for bridges).

    ``Ic`` defaults to 1; inside a bridge it is the bridge's ``Is`` that sets
    the amplitude, and the top hat's own ``Ic`` is removed.
    """

    PARAMS = (
        Param("rc", 1.0 * DEG_PER_ARCSEC, "deg", "Radius", POSITIVE),
        Param("Ic", 1.0, "image", "Surface brightness inside rc"),
    )
    profile = staticmethod(profiles.tophat)


class gNFW(Profile):
    """Line-of-sight projection of the generalised NFW profile, ``Ic`` at the centre.

    The 3-D profile is ``x^-gamma (1 + x^alpha)^((gamma - beta)/alpha)`` with
    ``x = r/rc``; its projection is tabulated in log radius and interpolated
    (relative accuracy ~1e-5, see :mod:`socca.models.profiles.gnfw`). The
    slopes may be fixed (the table is computed once) or free (it is rebuilt
    inside the compiled likelihood). The central brightness is finite only
    for ``gamma < 1`` and the projection only for ``beta > 1``: fixed slopes
    outside these ranges, and priors reaching past them, raise
    :class:`~socca.errors.InputError`; a free slope drawn outside them (from
    the far tail of a normal prior) gives NaN, i.e. a rejected sample
    (log-likelihood ``-inf``).
    The defaults are the universal pressure profile of Arnaud et al. (2010).
    """

    PARAMS = (
        Param("rc", None, "deg", "Core (scale) radius", POSITIVE),
        Param("Ic", None, "image", "Central surface brightness"),
        Param("alpha", 1.051, "", "Intermediate slope", POSITIVE),
        Param("beta", 5.4905, "", "Outer slope (3-D, > 1)", ABOVE_ONE),
        Param("gamma", 0.3081, "", "Inner slope (3-D, < 1)", BELOW_ONE),
    )
    profile = staticmethod(gnfw)


class PolyExponential(Profile):
    """Exponential times a quartic, ``Is (1 + sum_k c_k (r/rc)^k) exp(-r/rs)``."""

    PARAMS = (
        Param("rs", None, "deg", "Scale radius", POSITIVE),
        Param("Is", None, "image", "Central surface brightness"),
        Param("c1", 0.0, "", "Coefficient of (r/rc)"),
        Param("c2", 0.0, "", "Coefficient of (r/rc)^2"),
        Param("c3", 0.0, "", "Coefficient of (r/rc)^3"),
        Param("c4", 0.0, "", "Coefficient of (r/rc)^4"),
        Param("rc", 1.0 * DEG_PER_ARCSEC, "deg", "Reference radius of the polynomial", POSITIVE),
    )
    profile = staticmethod(laws.polyexponential)


class PolyExpoRefact(Profile):
    """Exponential times a quartic in ``r/rs``, ``(Is + sum_k I_k (r/rs)^k) exp(-r/rs)``.

    The same family as :class:`PolyExponential`, parametrised by the
    coefficients' intensities: ``PolyExponential(rs, Is, c_k, rc)`` equals
    ``PolyExpoRefact(rs, Is, I_k = Is c_k (rs/rc)^k)``. ``rc`` is listed for
    compatibility with the reference parameter list; the form does not use it.
    """

    PARAMS = (
        Param("rs", None, "deg", "Scale radius", POSITIVE),
        Param("Is", None, "image", "Central surface brightness"),
        Param("I1", 0.0, "image", "Coefficient of (r/rs)"),
        Param("I2", 0.0, "image", "Coefficient of (r/rs)^2"),
        Param("I3", 0.0, "image", "Coefficient of (r/rs)^3"),
        Param("I4", 0.0, "image", "Coefficient of (r/rs)^4"),
        Param(
            "rc", 1.0 * DEG_PER_ARCSEC, "deg", "Reference radius (not used by the form)", POSITIVE
        ),
    )
    profile = staticmethod(laws.polyexporefact)


class ModExponential(Profile):
    """Modified exponential ``Is exp(-r/rs) (1 + r/rm)^alpha``."""

    PARAMS = (
        Param("rs", None, "deg", "Scale radius", POSITIVE),
        Param("Is", None, "image", "Central surface brightness"),
        Param("rm", None, "deg", "Radius of the power-law modification", POSITIVE),
        Param("alpha", None, "", "Exponent of the power-law modification"),
    )
    profile = staticmethod(laws.modexponential)


# ``socca.models.radial.truncation``: the truncations, next to the profiles they taper
importlib.import_module("socca.models.radial.truncation")
