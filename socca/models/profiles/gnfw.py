"""Projected generalised NFW (gNFW) profile, tabulated and interpolated.

The 3-D gNFW density, with ``x = r/rc``,

    rho(x) = x^-gamma (1 + x^alpha)^((gamma - beta)/alpha),

is projected along the line of sight,

    I(X) = 2 int_0^inf rho(sqrt(X^2 + z^2)) dz,

and normalised by its central value, which has the closed form

    I(0) = (2/alpha) B((1 - gamma)/alpha, (beta - 1)/alpha),

finite for ``gamma < 1`` and ``beta > 1`` (``alpha > 0``).

How it is computed, all in ``jax.numpy`` so that the slopes may be free
(traced) parameters and everything is differentiable:

* ``log(I(X)/I(0))`` is tabulated on a fixed grid of ``X``, uniform in
  ``log X`` from ``1e-5`` to ``1e4`` with ``TABLE_PER_DEX`` nodes per decade.
* Each node's integral uses the substitution ``z = X sinh t`` (which removes
  the slow variation near ``z ~ X`` and spaces the nodes logarithmically
  beyond) and ``LOS_NODES``-point Gauss-Legendre on ``0 <= z <= LOS_REACH
  max(X, 1)``; the rest, out to infinity, is added from the asymptotic
  expansion of ``rho`` (three terms). The quadrature is good to ~1e-6.
* Between nodes ``log I`` is interpolated in ``log X`` by the polynomial
  through the 6 nearest nodes, stored per interval by its coefficients
  (error < 2e-5 for 0.5 <= alpha <= 4, 1.3 <= beta <= 10, -0.3 <= gamma <=
  0.99 over 1e-3 to 1e2 core radii; worst for the largest alpha, whose
  transition is sharpest). Below ``1e-5`` core radii the profile joins
  ``I(0)`` with the leading behaviour ``I(0) - I(X) ∝ X^(1-gamma)``; beyond
  ``1e4`` it continues the last logarithmic slope.

When the three slopes are fixed numbers the table is computed once, outside
the traced function, and cached; when any is traced it is rebuilt inside the
compiled function at every call (about 17 000 evaluations of ``rho``).

Invalid slopes (``gamma >= 1``, ``beta <= 1`` or ``alpha <= 0``) give a
``ValueError`` when they are fixed numbers, and NaN surface brightness when
they are traced: the likelihood turns NaN into ``-inf``, so such samples are
simply rejected. The component (:class:`socca.models.gNFW`) refuses priors
whose support reaches past ``gamma < 1``, ``beta > 1`` or ``alpha > 0``.
"""

from __future__ import annotations

import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from socca.errors import InputError

TABLE_LOG10_MIN = -5.0
TABLE_LOG10_MAX = 4.0
TABLE_PER_DEX = 20
LOS_NODES = 96
LOS_REACH = 1e4
STENCIL = 6
TINY = float(np.finfo(np.float64).tiny)


def _los_nodes(x):
    """Quadrature nodes for the projections at radii ``x`` (numpy, > 0).

    Returns the log of the 3-D radius at every node, shape ``(len(x),
    LOS_NODES)``, the matching weights (Jacobian and the factor 2 of the
    symmetric integral included, the 3-D radius excepted) and the upper
    limit ``zmax`` of the integral done numerically.
    """
    x = np.asarray(x, dtype=float)
    zmax = LOS_REACH * np.maximum(x, 1.0)
    tmax = np.arcsinh(zmax / x)
    nodes, weights = np.polynomial.legendre.leggauss(LOS_NODES)
    t = 0.5 * (nodes + 1.0)[None, :] * tmax[:, None]
    # z = X sinh t: dz = X cosh t dt, and the 3-D radius is X cosh t
    log_cosh = t + np.log1p(np.exp(-2.0 * t)) - np.log(2.0)
    log_radius = np.log(x)[:, None] + log_cosh
    quad_weights = weights[None, :] * tmax[:, None]  # 2 * (tmax / 2) * w
    return log_radius, quad_weights, zmax


def _projection(nodes, x, alpha, beta, gamma):
    """``log(I(x)/I(0))`` from the nodes of :func:`_los_nodes`."""
    lr, weights, zm = nodes
    log_rho = -gamma * lr + (gamma - beta) / alpha * jax.nn.softplus(alpha * lr)
    body = jnp.sum(weights * jnp.exp(log_rho + lr), axis=1)
    # beyond zmax: rho(s) = s^-beta (1 + (gamma-beta)/alpha s^-alpha + ...) and
    # s^-beta = z^-beta (1 - beta X^2 / (2 z^2) + ...)
    tail = 2.0 * (
        zm ** (1.0 - beta) / (beta - 1.0)
        + (gamma - beta) / alpha * zm ** (1.0 - beta - alpha) / (beta + alpha - 1.0)
        - 0.5 * beta * x * x * zm ** (-1.0 - beta) / (beta + 1.0)
    )
    # far out, steep slopes underflow the integral to zero: floor it at the smallest
    # normal float so the log table stays finite (an interpolating polynomial
    # through a -inf node would be NaN everywhere in its interval)
    total = jnp.maximum(body + tail, TINY)
    return jnp.log(total) - gnfw_log_central(alpha, beta, gamma)


_N_TABLE = int(round((TABLE_LOG10_MAX - TABLE_LOG10_MIN) * TABLE_PER_DEX)) + 1
_U = np.linspace(TABLE_LOG10_MIN, TABLE_LOG10_MAX, _N_TABLE) * np.log(10.0)
_X = np.exp(_U)
_TABLE_NODES = _los_nodes(_X)
_STEP = float(_U[1] - _U[0])
# Interval k (``_FIRST + k <= q < _FIRST + k + 1`` in node units) is interpolated
# by the polynomial through the STENCIL nodes around it, stored by its
# monomial coefficients in the fractional position p: sum_m C[k, m] p^m.
_OFFSETS = np.arange(-(STENCIL // 2 - 1), STENCIL // 2 + 1)
_FIRST, _LAST = int(-_OFFSETS[0]), int(_N_TABLE - 1 - _OFFSETS[-1])
_WINDOWS = np.arange(_FIRST, _LAST + 1)[:, None] + _OFFSETS[None, :]
_TO_MONOMIAL = np.linalg.inv(np.vander(_OFFSETS.astype(float), STENCIL, increasing=True)).T


def gnfw_log_central(alpha, beta, gamma):
    """``log I(0)`` of the projected gNFW, in units where ``rc = 1``.

    ``I(0) = (2/alpha) B((1 - gamma)/alpha, (beta - 1)/alpha)``.
    """
    a, b = (1.0 - gamma) / alpha, (beta - 1.0) / alpha
    return jnp.log(2.0 / alpha) + gammaln(a) + gammaln(b) - gammaln(a + b)


def gnfw_quadrature(x, alpha, beta, gamma):
    """``log(I(x)/I(0))`` by direct quadrature at arbitrary radii (no table).

    Parameters
    ----------
    x : numpy.ndarray
        Projected radii in core radii, ``> 0``; concrete (not traced).
    alpha, beta, gamma : float or traced scalar
        The slopes.
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    return _projection(_los_nodes(x), x, alpha, beta, gamma)


def gnfw_table(alpha, beta, gamma):
    """``log(I(X)/I(0))`` on the fixed grid of ``X`` (``exp(_U)``).

    Pure and differentiable in the three slopes.

    Returns
    -------
    array, shape (n,)
    """
    return _projection(_TABLE_NODES, _X, alpha, beta, gamma)


def _coefficients(table):
    """Per-interval monomial coefficients of the interpolating polynomials, ``(n, STENCIL)``."""
    return table[_WINDOWS] @ _TO_MONOMIAL


@functools.lru_cache(maxsize=64)
def _static_tables(alpha: float, beta: float, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    with jax.ensure_compile_time_eval():
        table = gnfw_table(alpha, beta, gamma)
        return np.asarray(table), np.asarray(_coefficients(table))


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_slopes(alpha, beta, gamma):
    """Raise ``ValueError`` for fixed slopes whose projection is not finite."""
    problems = []
    if alpha <= 0:
        problems.append(f"alpha = {alpha} must be > 0")
    if beta <= 1:
        problems.append(f"beta = {beta} must be > 1 (the line-of-sight integral diverges)")
    if gamma >= 1:
        problems.append(f"gamma = {gamma} must be < 1 (the central brightness is infinite)")
    if problems:
        raise InputError("gNFW: " + "; ".join(problems))


def gnfw_projected(x, alpha, beta, gamma):
    """Projected gNFW normalised to 1 at the centre, ``I(X)/I(0)`` with ``X = x``.

    Parameters
    ----------
    x : array
        Projected radius in units of the core radius (``>= 0``).
    alpha, beta, gamma : float or traced scalar
        Slopes of the 3-D profile. Fixed numbers use a cached table.

    Returns
    -------
    array
        The shape of ``x``; NaN everywhere if traced slopes are invalid.
    """
    static = all(_is_number(v) for v in (alpha, beta, gamma))
    if static:
        check_slopes(alpha, beta, gamma)
        table, coefficients = _static_tables(float(alpha), float(beta), float(gamma))
    else:
        table = gnfw_table(alpha, beta, gamma)
        coefficients = _coefficients(table)
    positive = x > 0
    u = jnp.log(jnp.where(positive, x, 1.0))
    # interior: polynomial through the 6 nodes around u, by Horner's rule;
    # one gather per coefficient (faster on XLA:CPU than gathering rows)
    q = (jnp.clip(u, _U[0], _U[-1]) - _U[0]) / _STEP
    i = jnp.clip(jnp.floor(q).astype(int), _FIRST, _LAST)
    p = q - i
    k = i - _FIRST
    log_value = jnp.take(coefficients[:, -1], k)
    for m in range(STENCIL - 2, -1, -1):
        log_value = log_value * p + jnp.take(coefficients[:, m], k)
    # beyond the grid: the last logarithmic slope
    slope = (table[-1] - table[-2]) / _STEP
    far = table[-1] + slope * (jnp.maximum(u, _U[-1]) - _U[-1])
    out = jnp.exp(jnp.where(u > _U[-1], far, log_value))
    # below the grid: I(0) - I(X) ∝ X^(1 - gamma), joining the table at its first node
    head = 1.0 + jnp.expm1(table[0]) * jnp.exp((1.0 - gamma) * jnp.minimum(u - _U[0], 0.0))
    out = jnp.where(positive, jnp.where(u < _U[0], head, out), 1.0)
    if not static:
        valid = (gamma < 1.0) & (beta > 1.0) & (alpha > 0.0)
        out = jnp.where(valid, out, jnp.nan)
    return out


def gnfw(r, rc, Ic, alpha, beta, gamma):
    """Projected gNFW surface brightness, ``Ic`` at the centre.

    Parameters
    ----------
    r : array
        Projected radius (same units as ``rc``).
    rc : float
        Core (scale) radius.
    Ic : float
        Central surface brightness.
    alpha, beta, gamma : float
        Intermediate, outer and inner slopes of the 3-D profile
        ``x^-gamma (1 + x^alpha)^((gamma - beta)/alpha)``.
    """
    return Ic * gnfw_projected(r / rc, alpha, beta, gamma)
