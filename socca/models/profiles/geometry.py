"""Elliptical, optionally boxy, radii in the tangent plane."""

import jax
import jax.numpy as jnp

MIN_AXIS_RATIO = 1e-12


def safe_pow(x, p):
    """``x ** p`` for ``x >= 0`` with finite gradients at ``x = 0``.

    ``jnp.power`` differentiates through ``log(x)``, which gives NaN gradients
    at zero; the double ``where`` keeps both the value and the gradient finite.
    """
    positive = x > 0
    base = jnp.where(positive, x, 1.0)
    if isinstance(p, jax.core.Tracer):
        # a power known only at run time: XLA:CPU's pow costs twice its log and exp
        value = jnp.exp(p * jnp.log(base))
    else:
        value = base**p  # a known power, which XLA simplifies (p = 1, 2, 0.5, ...)
    return jnp.where(positive, value, 0.0)


def elliptical_radius(dxi, deta, theta, e, cbox=0.0, boxy=True):
    """Generalised elliptical radius of tangent-plane offsets.

    Parameters
    ----------
    dxi, deta : array
        Offsets from the centre, east and north, in degrees.
    theta : float
        Position angle of the major axis, east of north, in radians.
    e : float
        Ellipticity, 1 - axis ratio.
    cbox : float
        Boxiness: the radius is ``(|x'|^(2+c) + |y'/(1-e)|^(2+c))^(1/(2+c))``.
    boxy : bool
        Static switch: when False (``cbox`` known to be zero) the cheaper
        Euclidean form is used.

    Returns
    -------
    array
        The radius in degrees, measured along the major axis.
    """
    return radius_along_axes(dxi, deta, *axis_terms(theta, e), cbox, boxy)


def axis_terms(theta, e):
    """``sin(theta)``, ``cos(theta)`` and ``1 / (1 - e)``, the scalars of an ellipse.

    The axis ratio is floored at 1e-12 so that ``e = 1``, the open end of its
    range that a prior's edge can reach, gives a needle rather than NaN.
    """
    return jnp.sin(theta), jnp.cos(theta), 1.0 / jnp.maximum(1.0 - e, MIN_AXIS_RATIO)


def radius_along_axes(dxi, deta, sin_t, cos_t, inv_q, cbox=0.0, boxy=True):
    """:func:`elliptical_radius` from the precomputed :func:`axis_terms`."""
    major = dxi * sin_t + deta * cos_t
    minor = (dxi * cos_t - deta * sin_t) * inv_q
    if not boxy:
        r2 = major * major + minor * minor
        positive = r2 > 0
        return jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)
    p = 2.0 + cbox
    return safe_pow(safe_pow(jnp.abs(major), p) + safe_pow(jnp.abs(minor), p), 1.0 / p)
