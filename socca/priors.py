"""Priors on model parameters: factories, bindings and helpers.

A model parameter is

* *free* when it holds a numpyro :class:`~numpyro.distributions.Distribution`
  (its prior),
* *fixed* when it holds a real number,
* *tied* when it holds a function of other parameters (a *functional prior*,
  whose argument names are ``<component id>_<parameter>``) or a
  :class:`BoundTo` made by :func:`boundto`.

Nested samplers and the optimizer map the unit hypercube onto the priors through
each distribution's inverse CDF, so every prior made here has a jax-traceable,
differentiable ``icdf`` as well as ``log_prob``, ``cdf`` and ``sample``. Any
other numpyro distribution with a working ``icdf`` (``Normal``,
``TruncatedNormal``, ...) may be used directly; :func:`check_icdf` tells which
ones cannot.
"""

from __future__ import annotations

import inspect
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf, ndtr, ndtri
from numpyro.distributions import Distribution, Normal, constraints

from socca.errors import InputError, InputTypeError

__all__ = [
    "BoundTo",
    "LogPowerLaw",
    "LogUniform",
    "PowerLaw",
    "SplitNormal",
    "Uniform",
    "boundto",
    "check_icdf",
    "describe",
    "functional_arguments",
    "is_fixed",
    "is_free",
    "is_tied",
    "logpowerlaw",
    "loguniform",
    "normal",
    "powerlaw",
    "splitnormal",
    "uniform",
]

LN10 = math.log(10.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- validation


def _is_real_scalar(value) -> bool:
    """True for python/numpy real scalars and 0-d real arrays (booleans excluded)."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, numbers.Real):
        return True
    if isinstance(value, np.ndarray | jax.Array):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return False


def _finite(factory: str, name: str, value) -> float:
    """Return ``value`` as a finite float, or raise naming factory, argument and value."""
    if not _is_real_scalar(value):
        raise InputTypeError(f"{factory}: {name}={value!r} must be a real number")
    try:
        number = float(value)
    except TypeError as err:  # e.g. a jax tracer: priors need concrete numbers
        raise InputTypeError(f"{factory}: {name} must be a concrete real number") from err
    if not math.isfinite(number):
        raise InputError(f"{factory}: {name}={number!r} must be a finite number")
    return number


def _positive(factory: str, name: str, value) -> float:
    number = _finite(factory, name, value)
    if number <= 0.0:
        raise InputError(f"{factory}: {name}={number!r} must be positive")
    return number


def _ordered(factory: str, low: float, high: float) -> None:
    if low >= high:
        raise InputError(f"{factory}: low={low!r} must be smaller than high={high!r}")


def _f64(value: float) -> jax.Array:
    return jnp.asarray(value, dtype=jnp.float64)


# --------------------------------------------------------------------------- distributions


def _clamp(x, low, high):
    """Clip ``x`` to ``[low, high]`` keeping the full gradient where ``x`` is on a bound."""
    return jnp.where(x < low, low, jnp.where(x > high, high, x))


class _UnitCubePrior(Distribution):
    """Scalar distribution defined by its inverse CDF on a support ``[lower, upper]``.

    Subclasses set ``arg_constraints``, store their parameters as float64 arrays
    and implement ``_bounds``, ``_log_prob``, ``_cdf`` and ``_icdf`` for values
    inside the support. This base masks ``log_prob`` to ``-inf`` outside the
    support (whatever numpyro's validation setting), keeps ``icdf`` inside it
    despite rounding, and samples by pushing uniform draws through ``icdf``.
    """

    def _bounds(self) -> tuple[jax.Array, jax.Array]:
        raise NotImplementedError

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.interval(*self._bounds())

    def log_prob(self, value) -> jax.Array:
        value = jnp.asarray(value)
        low, high = self._bounds()
        inside = (value >= low) & (value <= high)
        # Evaluate on clamped values so the unused branch never produces NaN gradients.
        return jnp.where(inside, self._log_prob(_clamp(value, low, high)), -jnp.inf)

    def cdf(self, value) -> jax.Array:
        return self._cdf(_clamp(jnp.asarray(value), *self._bounds()))

    def icdf(self, q) -> jax.Array:
        return _clamp(self._icdf(jnp.asarray(q)), *self._bounds())

    def sample(self, key: jax.Array, sample_shape: tuple[int, ...] = ()) -> jax.Array:
        shape = tuple(sample_shape) + self.batch_shape
        return self.icdf(jax.random.uniform(key, shape, dtype=jnp.float64))


class Uniform(_UnitCubePrior):
    """Uniform distribution on ``[low, high]``; see :func:`uniform`."""

    arg_constraints = {"low": constraints.real, "high": constraints.real}

    def __init__(self, low, high, *, validate_args=None):
        self.low, self.high = _f64(low), _f64(high)
        super().__init__(batch_shape=(), validate_args=validate_args)

    def _bounds(self):
        return self.low, self.high

    def _log_prob(self, x):
        return jnp.broadcast_to(-jnp.log(self.high - self.low), jnp.shape(x))

    def _cdf(self, x):
        return (x - self.low) / (self.high - self.low)

    def _icdf(self, q):
        return self.low + q * (self.high - self.low)


class LogUniform(_UnitCubePrior):
    """Log-uniform distribution, ``p(x) ∝ 1/x`` on ``[low, high]``; see :func:`loguniform`."""

    arg_constraints = {"low": constraints.positive, "high": constraints.positive}

    def __init__(self, low, high, *, validate_args=None):
        self.low, self.high = _f64(low), _f64(high)
        super().__init__(batch_shape=(), validate_args=validate_args)

    def _bounds(self):
        return self.low, self.high

    def _log_range(self):
        return jnp.log(self.high / self.low)

    def _log_prob(self, x):
        return -jnp.log(x) - jnp.log(self._log_range())

    def _cdf(self, x):
        return jnp.log(x / self.low) / self._log_range()

    def _icdf(self, q):
        return self.low * jnp.exp(q * self._log_range())


class SplitNormal(_UnitCubePrior):
    """Two half-Gaussians joined at their common mode; see :func:`splitnormal`."""

    arg_constraints = {
        "loc": constraints.real,
        "losig": constraints.positive,
        "hisig": constraints.positive,
    }
    support = constraints.real

    def __init__(self, loc, losig, hisig, *, validate_args=None):
        self.loc, self.losig, self.hisig = _f64(loc), _f64(losig), _f64(hisig)
        super().__init__(batch_shape=(), validate_args=validate_args)

    def _bounds(self):
        return -jnp.inf, jnp.inf

    def _lower_mass(self):
        """Probability of the half below ``loc``."""
        return self.losig / (self.losig + self.hisig)

    def _log_prob(self, x):
        sigma = jnp.where(x < self.loc, self.losig, self.hisig)
        z = (x - self.loc) / sigma
        return math.log(2.0) - _LOG_SQRT_2PI - jnp.log(self.losig + self.hisig) - 0.5 * z**2

    def _cdf(self, x):
        p = self._lower_mass()
        below = 2.0 * p * ndtr((x - self.loc) / self.losig)
        above = p + (1.0 - p) * erf((x - self.loc) / (self.hisig * math.sqrt(2)))
        return jnp.where(x < self.loc, below, above)

    def _icdf(self, q):
        p = self._lower_mass()
        # Clip each branch's argument to its own half so the unused one stays finite.
        q_below = jnp.minimum(q / (2.0 * p), 0.5)
        q_above = jnp.maximum(0.5 + (q - p) / (2.0 * (1.0 - p)), 0.5)
        below = self.loc + self.losig * ndtri(q_below)
        above = self.loc + self.hisig * ndtri(q_above)
        return jnp.where(q < p, below, above)


# Power-law helpers, written in log(x) for stability over many decades. With
# a1 = alpha + 1 and k = -|a1| <= 0, every exponential below has a non-positive
# argument: the quantile is measured from ``low`` when a1 < 0 and from ``high``
# when a1 > 0. a1 == 0 (log-uniform) is taken exactly by a separate branch; the
# general branch then runs with a harmless stand-in k = -1 to keep gradients finite.


def _powerlaw_terms(alpha, log_low, log_high):
    a1 = alpha + 1.0
    flat = a1 == 0.0
    k = jnp.where(flat, -1.0, -jnp.abs(a1))
    return a1, flat, k, log_high - log_low


def _powerlaw_log_norm(alpha, log_low, log_high):
    """Log of ``Z = ∫ x**alpha dx`` over ``[low, high]``."""
    a1, flat, k, span = _powerlaw_terms(alpha, log_low, log_high)
    log_ref = jnp.where(a1 < 0.0, log_low, log_high)
    general = a1 * log_ref + jnp.log(-jnp.expm1(k * span)) - jnp.log(-k)
    return jnp.where(flat, jnp.log(span), general)


def _powerlaw_log_quantile(q, alpha, log_low, log_high):
    """``log(x)`` at cumulative probability ``q``."""
    a1, flat, k, span = _powerlaw_terms(alpha, log_low, log_high)
    rising = a1 > 0.0
    weight = jnp.where(rising, 1.0 - q, q)
    distance = jnp.log1p(weight * jnp.expm1(k * span)) / k
    general = jnp.where(rising, log_high - distance, log_low + distance)
    return jnp.where(flat, log_low + q * span, general)


def _powerlaw_cdf(log_x, alpha, log_low, log_high):
    """Cumulative probability at ``log(x)`` (``log_x`` inside the support)."""
    a1, flat, k, span = _powerlaw_terms(alpha, log_low, log_high)
    rising = a1 > 0.0
    distance = jnp.where(rising, log_high - log_x, log_x - log_low)
    ratio = jnp.expm1(k * distance) / jnp.expm1(k * span)
    general = jnp.where(rising, 1.0 - ratio, ratio)
    return jnp.where(flat, (log_x - log_low) / span, general)


class _PowerLawFamily(_UnitCubePrior):
    """Parameters shared by :class:`PowerLaw` and :class:`LogPowerLaw`."""

    arg_constraints = {
        "alpha": constraints.real,
        "low": constraints.positive,
        "high": constraints.positive,
    }

    def __init__(self, alpha, low, high, *, validate_args=None):
        self.alpha, self.low, self.high = _f64(alpha), _f64(low), _f64(high)
        super().__init__(batch_shape=(), validate_args=validate_args)

    def _log_args(self):
        return self.alpha, jnp.log(self.low), jnp.log(self.high)


class PowerLaw(_PowerLawFamily):
    """Power law ``p(x) ∝ x**alpha`` on ``[low, high]``; see :func:`powerlaw`."""

    def _bounds(self):
        return self.low, self.high

    def _log_prob(self, x):
        return self.alpha * jnp.log(x) - _powerlaw_log_norm(*self._log_args())

    def _cdf(self, x):
        return _powerlaw_cdf(jnp.log(x), *self._log_args())

    def _icdf(self, q):
        return jnp.exp(_powerlaw_log_quantile(q, *self._log_args()))


class LogPowerLaw(_PowerLawFamily):
    """Distribution of ``log10(x)`` for ``x ~ PowerLaw(alpha, low, high)``.

    ``low`` and ``high`` are linear bounds on ``x``; see :func:`logpowerlaw`.
    """

    def _bounds(self):
        return jnp.log10(self.low), jnp.log10(self.high)

    def _log_args(self):
        # ln(x) of the bounds as LN10 * log10(x), the same rounding as ``y * LN10``,
        # so that the cdf is exactly 0 and 1 on the bounds of y.
        low, high = self._bounds()
        return self.alpha, low * LN10, high * LN10

    def _log_prob(self, y):
        # p(y) = p_x(10**y) * 10**y * ln 10
        log_x = y * LN10
        return (self.alpha + 1.0) * log_x + math.log(LN10) - _powerlaw_log_norm(
            *self._log_args()
        )

    def _cdf(self, y):
        return _powerlaw_cdf(y * LN10, *self._log_args())

    def _icdf(self, q):
        return _powerlaw_log_quantile(q, *self._log_args()) / LN10


# --------------------------------------------------------------------------- factories


def uniform(low, high) -> Uniform:
    """Uniform prior on ``[low, high]``.

    Parameters
    ----------
    low, high : float
        Finite bounds, ``low < high``.

    Returns
    -------
    Uniform
        A numpyro distribution with ``icdf(u) = low + u (high - low)``.

    Raises
    ------
    ValueError
        If a bound is not finite or ``low >= high``.
    """
    low, high = _finite("uniform", "low", low), _finite("uniform", "high", high)
    _ordered("uniform", low, high)
    return Uniform(low, high)


def loguniform(low, high) -> LogUniform:
    """Log-uniform (reciprocal) prior, ``p(x) ∝ 1/x`` on ``[low, high]``.

    Every decade between the bounds carries the same probability.

    Parameters
    ----------
    low, high : float
        Finite positive bounds, ``0 < low < high``.

    Returns
    -------
    LogUniform
        A numpyro distribution with ``icdf(u) = low (high / low)**u``.

    Raises
    ------
    ValueError
        If a bound is not finite or not positive, or ``low >= high``.
    """
    low, high = _positive("loguniform", "low", low), _positive("loguniform", "high", high)
    _ordered("loguniform", low, high)
    return LogUniform(low, high)


def normal(loc, scale) -> Normal:
    """Gaussian prior with mean ``loc`` and standard deviation ``scale``.

    Parameters
    ----------
    loc : float
        Finite mean.
    scale : float
        Finite positive standard deviation.

    Returns
    -------
    numpyro.distributions.Normal
        numpyro's own normal distribution (it has an ``icdf``) in float64.

    Raises
    ------
    ValueError
        If ``loc`` or ``scale`` is not finite, or ``scale <= 0``.
    """
    loc, scale = _finite("normal", "loc", loc), _positive("normal", "scale", scale)
    return Normal(_f64(loc), _f64(scale))


def splitnormal(loc, losig, hisig) -> SplitNormal:
    """Split-normal prior: two half-Gaussians joined at the mode ``loc``.

    The density is continuous at ``loc``::

        p(x) = 2 / (sqrt(2 pi) (losig + hisig)) * exp(-(x - loc)**2 / (2 s**2))

    with ``s = losig`` for ``x < loc`` and ``s = hisig`` otherwise, so a fraction
    ``losig / (losig + hisig)`` of the probability lies below ``loc``. It suits
    asymmetric measurements quoted as ``loc (+hisig / -losig)``.

    Parameters
    ----------
    loc : float
        Finite mode.
    losig, hisig : float
        Finite positive widths below and above the mode.

    Returns
    -------
    SplitNormal

    Raises
    ------
    ValueError
        If an argument is not finite, or a width is not positive.
    """
    loc = _finite("splitnormal", "loc", loc)
    losig = _positive("splitnormal", "losig", losig)
    hisig = _positive("splitnormal", "hisig", hisig)
    return SplitNormal(loc, losig, hisig)


def _powerlaw_args(factory: str, alpha, low, high) -> tuple[float, float, float]:
    alpha = _finite(factory, "alpha", alpha)
    low, high = _positive(factory, "low", low), _positive(factory, "high", high)
    _ordered(factory, low, high)
    return alpha, low, high


def powerlaw(alpha, low, high) -> PowerLaw:
    """Truncated power-law prior, ``p(x) ∝ x**alpha`` on ``[low, high]``.

    ``alpha = -1`` is handled exactly and gives the log-uniform prior; any other
    finite ``alpha`` is allowed (the density is normalised over the bounds).

    Parameters
    ----------
    alpha : float
        Finite power-law index.
    low, high : float
        Finite positive bounds, ``0 < low < high``.

    Returns
    -------
    PowerLaw

    Raises
    ------
    ValueError
        If an argument is not finite, a bound is not positive, or ``low >= high``.
    """
    return PowerLaw(*_powerlaw_args("powerlaw", alpha, low, high))


def logpowerlaw(alpha, low, high) -> LogPowerLaw:
    """Prior on ``y = log10(x)`` where ``x`` follows ``powerlaw(alpha, low, high)``.

    Use it for a parameter sampled in log10 units (e.g. a log-mass) whose linear
    value should follow ``p(x) ∝ x**alpha``. The bounds are given in *linear*
    units, as for :func:`powerlaw`, and the parameter lies in
    ``[log10(low), log10(high)]``, with density::

        p(y) ∝ 10**((alpha + 1) y)

    so ``alpha = -1`` is uniform in ``y`` and ``icdf(u)`` equals
    ``log10(powerlaw(alpha, low, high).icdf(u))``.

    Parameters
    ----------
    alpha : float
        Finite power-law index of the linear quantity ``x``.
    low, high : float
        Finite positive linear bounds on ``x``, ``0 < low < high``.

    Returns
    -------
    LogPowerLaw

    Raises
    ------
    ValueError
        If an argument is not finite, a bound is not positive, or ``low >= high``.
    """
    return LogPowerLaw(*_powerlaw_args("logpowerlaw", alpha, low, high))


# --------------------------------------------------------------------------- bindings


class BoundTo:
    """Marks a parameter that always equals parameter ``name`` of ``component``.

    Parameters
    ----------
    component : object
        A model component; it must expose ``parameter_names`` (a tuple of str)
        and, for printing, an ``id`` such as ``"comp_00"``.
    name : str
        One of ``component.parameter_names``.

    Attributes
    ----------
    component : object
        The component the parameter is bound to.
    name : str
        The name of that component's parameter.

    Raises
    ------
    ValueError
        If ``component`` has no ``parameter_names`` or ``name`` is not among them.
    """

    __slots__ = ("component", "name")

    def __init__(self, component, name: str):
        names = getattr(component, "parameter_names", None)
        if names is None:
            raise InputError(
                f"boundto: cannot bind to {name!r} of {type(component).__name__} object, "
                "which has no parameter_names (expected a model component)"
            )
        if name not in tuple(names):
            raise InputError(
                f"boundto: {_component_label(component)} has no parameter {name!r}; "
                f"valid names are {', '.join(map(str, names))}"
            )
        self.component = component
        self.name = name

    def __repr__(self) -> str:
        return f"boundto({_component_label(self.component)}.{self.name})"


def _component_label(component) -> str:
    return str(getattr(component, "id", type(component).__name__))


def boundto(comp, name: str) -> BoundTo:
    """Tie a parameter to parameter ``name`` of component ``comp``.

    Parameters
    ----------
    comp : object
        The model component holding the reference parameter.
    name : str
        The parameter of ``comp`` to follow, e.g. ``"xc"``.

    Returns
    -------
    BoundTo

    Raises
    ------
    ValueError
        If ``comp`` is not a component or has no parameter ``name``.

    Examples
    --------
    >>> comp2.xc = boundto(comp1, "xc")  # doctest: +SKIP
    """
    return BoundTo(comp, name)


# --------------------------------------------------------------------------- classification


def is_free(value) -> bool:
    """True if ``value`` is a prior (a numpyro distribution), i.e. the parameter is fitted."""
    return isinstance(value, Distribution)


def is_tied(value) -> bool:
    """True if ``value`` is a :class:`BoundTo` or a function of other parameters."""
    return isinstance(value, BoundTo) or (callable(value) and not is_free(value))


def is_fixed(value) -> bool:
    """True if ``value`` is a finite real number (python/numpy scalar or 0-d array)."""
    if not _is_real_scalar(value):
        return False
    try:
        return math.isfinite(float(value))
    except TypeError:  # a jax tracer is a value being computed, not a fixed number
        return False


def check_icdf(dist, label: str) -> None:
    """Make sure ``dist`` can serve as a prior for the unit-cube samplers.

    Parameters
    ----------
    dist : numpyro.distributions.Distribution
        The prior of one parameter.
    label : str
        The parameter's name, used in the error message (e.g. ``"comp_00_re"``).

    Raises
    ------
    TypeError
        If ``dist`` is not a numpyro distribution or its ``icdf`` is not implemented
        (numpyro raises ``NotImplementedError``, or ``ImportError`` for inverses that
        need tensorflow-probability, such as ``Gamma``).
    ValueError
        If ``dist`` is not a scalar distribution.
    """
    if not is_free(dist):
        raise InputTypeError(f"{label}: expected a numpyro distribution, got {type(dist).__name__}")
    if dist.batch_shape or dist.event_shape:
        raise InputError(
            f"{label}: the prior must be a scalar distribution, got batch shape "
            f"{dist.batch_shape} and event shape {dist.event_shape}"
        )
    try:
        dist.icdf(jnp.asarray(0.5))
    except (NotImplementedError, ImportError) as err:
        raise InputTypeError(
            f"{label}: prior {type(dist).__name__} has no usable inverse CDF (icdf), which "
            "the samplers need to map the unit cube to the parameter; use a socca.priors "
            "factory or a numpyro distribution that implements icdf"
        ) from err


# ------------------------------------------------------------------- functional priors, printing


def functional_arguments(func) -> tuple[str, ...]:
    """Names of the parameters a functional prior depends on.

    Parameters
    ----------
    func : callable
        A functional prior such as ``lambda comp_01_re_scale, comp_02_re: ...``;
        each argument is named ``<component id>_<parameter>``.

    Returns
    -------
    tuple of str
        The argument names, in order.

    Raises
    ------
    TypeError
        If ``func`` is not callable or is a distribution.
    ValueError
        If ``func`` has no arguments, takes ``*args`` or ``**kwargs``, or has no
        inspectable signature.
    """
    if not callable(func) or is_free(func):
        raise InputTypeError(f"functional prior must be a function, got {type(func).__name__}")
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as err:
        raise InputError(f"cannot read the arguments of functional prior {func!r}") from err
    params = tuple(signature.parameters.values())
    variadic = [p.name for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if variadic:
        raise InputError(
            f"functional prior cannot take *args/**kwargs ({', '.join(variadic)}); name each "
            "parameter it uses as <component id>_<parameter>"
        )
    if not params:
        raise InputError("functional prior takes no arguments; it should be a number instead")
    return tuple(p.name for p in params)


def _format_arg(value) -> str:
    array = np.asarray(value)
    if array.ndim == 0 and array.dtype.kind in "iuf":
        return repr(float(array))
    if array.dtype.kind in "iuf":
        return repr(array.tolist())
    return repr(value)


def _describe_distribution(dist: Distribution) -> str:
    parts = []
    base = getattr(dist, "base_dist", None)
    if isinstance(base, Distribution):
        parts.append(_describe_distribution(base))
    for name in dist.arg_constraints:
        try:
            parts.append(f"{name}={_format_arg(getattr(dist, name))}")
        except (AttributeError, NotImplementedError):
            continue
    return f"{type(dist).__name__}({', '.join(parts)})"


def describe(value) -> str:
    """Short text describing a parameter's value or prior, for printing.

    Parameters
    ----------
    value : Distribution, BoundTo, callable, number or None
        What a model parameter holds.

    Returns
    -------
    str
        ``"Uniform(low=1.0, high=2.0)"`` for a distribution, ``"boundto(comp_00.xc)"``
        for a binding, ``"lambda(comp_01_re_scale, comp_02_re)"`` for a functional
        prior, ``"1.5000E+00"`` for a number and ``repr(value)`` otherwise.
    """
    if is_free(value):
        return _describe_distribution(value)
    if isinstance(value, BoundTo):
        return repr(value)
    if callable(value):
        try:
            names = inspect.signature(value).parameters
        except (TypeError, ValueError):
            return "lambda(...)"
        return f"lambda({', '.join(names)})"
    if is_fixed(value):
        return f"{float(value):.4E}"
    return repr(value)
