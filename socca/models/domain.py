"""Valid ranges of component parameters, and the checks of values and priors against them.

A parameter declares its range once (``Param("e", 0.0, domain=ELLIPTICITY)``);
a fixed value must lie inside it, and so must the support of a prior:

* a prior with a bounded support (``uniform``, ``loguniform``, ...) must not
  reach past the range; touching an open end (``uniform(0, 1)`` for ``e < 1``,
  ``uniform(0, 1e-3)`` for a radius ``> 0``) is accepted, since a draw lands
  exactly on a bound with probability zero and the likelihood rejects
  (``-inf``) a sample whose image is not finite;
* a prior with unbounded tails (``normal``, ``splitnormal``) must keep all but
  :data:`TAIL_MASS` of its mass on each side inside the range: ``normal(4,
  0.5)`` for a Sérsic index is fine, ``normal(0.5, 0.3)`` for an ellipticity
  is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from socca import priors
from socca.errors import InputError

#: Probability a prior with unbounded tails may put beyond each end of a range.
TAIL_MASS = 1e-6


@dataclass(frozen=True)
class Domain:
    """An interval of the real line: the valid values of one parameter.

    Parameters
    ----------
    low, high : float
        Bounds; ``-inf``/``inf`` for none.
    low_open, high_open : bool
        True if the bound itself is excluded.
    """

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    @property
    def unbounded(self) -> bool:
        """True for the whole real line (nothing to check)."""
        return self.low == -math.inf and self.high == math.inf

    def contains(self, value: float) -> bool:
        """True if the number ``value`` lies in the interval."""
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self, name: str) -> str:
        """The range as an inequality on ``name``, e.g. ``'0 <= e < 1'``."""
        has_low, has_high = self.low > -math.inf, self.high < math.inf
        if has_low and not has_high:
            return f"{name} {'>' if self.low_open else '>='} {self.low:g}"
        lower = f"{self.low:g} {'<' if self.low_open else '<='} " if has_low else ""
        upper = f" {'<' if self.high_open else '<='} {self.high:g}" if has_high else ""
        return f"{lower}{name}{upper}" if has_low or has_high else f"{name} real"


#: No restriction.
REAL = Domain()
#: Strictly positive: radii, widths, scale heights.
POSITIVE = Domain(0.0, math.inf, low_open=True)
#: Ellipticity ``1 - axis ratio``: 1 would be a line.
ELLIPTICITY = Domain(0.0, 1.0, high_open=True)
#: Declination in degrees.
DECLINATION = Domain(-90.0, 90.0)
#: Boxiness: the radius exponent ``2 + cbox`` must stay positive.
BOXINESS = Domain(-2.0, math.inf, low_open=True)
#: Inner slope of a gNFW (finite central brightness).
BELOW_ONE = Domain(-math.inf, 1.0, high_open=True)
#: Outer slope of a gNFW (finite line-of-sight integral).
ABOVE_ONE = Domain(1.0, math.inf, low_open=True)


def check_number(owner: str, name: str, value: float, domain: Domain) -> None:
    """Raise :class:`~socca.errors.InputError` if the fixed ``value`` is outside ``domain``.

    Parameters
    ----------
    owner : str
        The component, e.g. ``'comp_00(Sersic)'``.
    name : str
        The parameter.
    value : float
        Its fixed value.
    domain : Domain
        Its valid range.
    """
    if not domain.contains(value):
        raise InputError(
            f"{owner}.{name}: value {value!r} is outside the valid range "
            f"{domain.describe(name)}; expected a number in that range"
        )


def support_bounds(dist) -> tuple[float, float] | None:
    """``(low, high)`` of a scalar prior's support, or None when it cannot be read."""
    try:
        support = dist.support
    except (AttributeError, NotImplementedError):
        return None
    low = getattr(support, "lower_bound", -math.inf)
    high = getattr(support, "upper_bound", math.inf)
    try:
        return float(jnp.asarray(low)), float(jnp.asarray(high))
    except (TypeError, ValueError):  # batched or symbolic bounds: leave it to the sampler
        return None


def _quantile(dist, q: float) -> float | None:
    """``icdf(q)`` as a float, or None for priors without a usable inverse CDF."""
    try:
        with jax.ensure_compile_time_eval():
            value = float(dist.icdf(jnp.asarray(q, dtype=jnp.float64)))
    except (NotImplementedError, ImportError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _reach(dist, side: str, bound: float) -> tuple[float, str]:
    """How far the prior reaches on ``side``; ``bound`` is the support's bound there."""
    if math.isfinite(bound):
        return bound, "reaches"
    q = TAIL_MASS if side == "low" else 1.0 - TAIL_MASS
    value = _quantile(dist, q)
    if value is None:
        return bound, "reaches"
    return value, f"has its {q:g} quantile at"


def check_prior(owner: str, name: str, dist, domain: Domain) -> None:
    """Raise :class:`~socca.errors.InputError` if the prior ``dist`` leaves ``domain``.

    Parameters
    ----------
    owner : str
        The component, e.g. ``'comp_00(Sersic)'``.
    name : str
        The parameter.
    dist : numpyro.distributions.Distribution
        Its prior.
    domain : Domain
        Its valid range.

    Notes
    -----
    See the module documentation for what is accepted at the open ends and
    for priors with unbounded tails.
    """
    if domain.unbounded or dist.batch_shape or dist.event_shape:
        return
    bounds = support_bounds(dist)
    if bounds is None:
        return
    problems = []
    if domain.low > -math.inf:
        reach, verb = _reach(dist, "low", bounds[0])
        if reach < domain.low:
            problems.append(f"{verb} {reach:.6g}")
    if domain.high < math.inf:
        reach, verb = _reach(dist, "high", bounds[1])
        if reach > domain.high:
            problems.append(f"{verb} {reach:.6g}")
    if problems:
        raise InputError(
            f"{owner}.{name}: prior {priors.describe(dist)} {' and '.join(problems)}, outside "
            f"the valid range {domain.describe(name)}; expected a prior whose support lies in "
            f"that range (e.g. uniform or loguniform bounds inside it)"
        )
