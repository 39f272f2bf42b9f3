"""Outer truncations of radial profiles.

A truncation multiplies a radial profile ``I(r)`` by a taper ``T(r)`` with
``T(0) = 1`` that decreases monotonically to zero around the truncation
radius ``rt``, over a width ``wt``. Attaching one to a profile adds the two
ordinary parameters ``rt`` and ``wt`` to the component (fixed, free with a
prior, or tied, like any other)::

    >>> from socca import priors
    >>> from socca.models.radial import Sersic
    >>> from socca.models.truncation import Exponential, HyperTangent
    >>> gal = Sersic(re=1e-4, Ie=1.0, truncation=True)        # HyperTangent defaults
    >>> gal.truncation = Exponential(rt=5e-3, wt=2e-4)         # swap it
    >>> gal.rt = priors.uniform(1e-3, 1e-2)                     # and fit it
    >>> gal.truncation = None                                   # remove: rt, wt go away

The two forms (``x_+ = max(x, 0)``):

``HyperTangent``
    ``T(r) = [1 - tanh((r - rt)/wt)] / [1 + tanh(rt/wt)]``: a smooth step,
    ``T(rt) ≈ 1/2``, falling from 88% to 12% of the way between ``rt - wt``
    and ``rt + wt``; never exactly zero.
``Exponential``
    ``T(r) = [1 - exp(-(rt - r)_+/wt)] / [1 - exp(-rt/wt)]``: the profile is
    untouched well inside ``rt`` and the deficit ``1 - T`` grows
    exponentially, with scale ``wt``, towards the edge, where ``T`` reaches
    exactly zero; ``T = 0`` for every ``r >= rt``. ``T`` is continuous, with
    a kink at ``rt``. ``T(rt - 3 wt) ≈ 0.95``.

Both need ``rt > 0`` and ``wt > 0``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from socca.errors import InputError, InputTypeError
from socca.models.component import DEG_PER_ARCSEC

#: Truncation radius used when none is given (10 arcsec, in degrees).
DEFAULT_RT = 10.0 * DEG_PER_ARCSEC
#: Truncation width used when none is given (1 arcsec, in degrees).
DEFAULT_WT = 1.0 * DEG_PER_ARCSEC

#: The parameters a truncation adds to its profile: name, units, description.
TRUNCATION_PARAMS = (
    ("rt", "deg", "Truncation radius"),
    ("wt", "deg", "Truncation width"),
)


class Truncation:
    """Base class: a taper ``T(r; rt, wt)`` and the initial values of ``rt``, ``wt``.

    Parameters
    ----------
    rt : float, Distribution or callable
        Truncation radius in degrees (a number, a prior or a tie); copied into
        the profile's ``rt`` parameter when the truncation is attached.
        Default: 10 arcsec.
    wt : float, Distribution or callable
        Truncation width in degrees, copied into ``wt``. Default: 1 arcsec.

    Notes
    -----
    The values are copied when the truncation is assigned to a profile; from
    then on edit them on the profile (``comp.rt = ...``), not here.
    """

    #: Shown in the descriptions of ``rt`` and ``wt``.
    label = "cut-off"

    def __init__(self, rt=DEFAULT_RT, wt=DEFAULT_WT):
        self.rt = rt
        self.wt = wt

    @staticmethod
    def taper(r, rt, wt):  # pragma: no cover - abstract
        """The multiplicative taper ``T(r)``; pure ``jax.numpy``."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(rt={self.rt!r}, wt={self.wt!r})"


class HyperTangent(Truncation):
    """Smooth hyperbolic-tangent cut-off, ``[1 - tanh((r - rt)/wt)] / [1 + tanh(rt/wt)]``.

    Parameters
    ----------
    rt, wt : float, Distribution or callable
        See :class:`Truncation` (defaults 10 and 1 arcsec).
    """

    label = "hyperbolic-tangent cut-off"

    @staticmethod
    def taper(r, rt, wt):
        """``T(r)``, written with logistic functions so it never over- or underflows."""
        # 1 - tanh(u) = 2 sigmoid(-2u)
        return jax.nn.sigmoid(2.0 * (rt - r) / wt) / jax.nn.sigmoid(2.0 * rt / wt)


class Exponential(Truncation):
    """Exponential cut-off reaching exactly zero at ``rt``.

    ``T(r) = [1 - exp(-(rt - r)_+/wt)] / [1 - exp(-rt/wt)]``, zero for ``r >= rt``.

    Parameters
    ----------
    rt, wt : float, Distribution or callable
        See :class:`Truncation` (defaults 10 and 1 arcsec).
    """

    label = "exponential cut-off, zero beyond rt"

    @staticmethod
    def taper(r, rt, wt):
        """``T(r)``; ``expm1`` keeps it accurate when ``rt/wt`` is small."""
        return jnp.expm1(-jnp.maximum(rt - r, 0.0) / wt) / jnp.expm1(-rt / wt)


_BY_NAME = {"hypertangent": HyperTangent, "tanh": HyperTangent, "exponential": Exponential}


def as_truncation(value) -> Truncation | None:
    """Interpret what a user assigns to ``comp.truncation``.

    Parameters
    ----------
    value : None, bool, str, Truncation subclass or instance
        ``None``/``False``: no truncation; ``True``: :class:`HyperTangent`
        with default ``rt``, ``wt``; a class (``HyperTangent``) or a name
        (``"hypertangent"``, ``"exponential"``): that form with defaults; an
        instance: that form with its values.

    Returns
    -------
    Truncation or None
    """
    if value is None or value is False:
        return None
    if value is True:
        return HyperTangent()
    if isinstance(value, str):
        cls = _BY_NAME.get(value.lower())
        if cls is None:
            raise InputError(
                f"unknown truncation {value!r}; use HyperTangent(...), Exponential(...), "
                f"True (HyperTangent with defaults) or None"
            )
        return cls()
    if isinstance(value, type) and issubclass(value, Truncation):
        return value()
    if isinstance(value, Truncation):
        return value
    raise InputTypeError(
        f"truncation must be None, True, HyperTangent(...) or Exponential(...) "
        f"(from socca.models.truncation), got {value!r}"
    )
