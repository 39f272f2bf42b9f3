"""Elliptical, optionally boxy, radii in the tangent plane."""

import jax.numpy as jnp


def safe_pow(x, p):
    """``x ** p`` for ``x >= 0`` with finite gradients at ``x = 0``.

    ``jnp.power`` differentiates through ``log(x)``, which gives NaN gradients
    at zero; the double ``where`` keeps both the value and the gradient finite.
    """
    positive = x > 0
    base = jnp.where(positive, x, 1.0)
    return jnp.where(positive, base**p, 0.0)


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
    sin_t, cos_t = jnp.sin(theta), jnp.cos(theta)
    major = dxi * sin_t + deta * cos_t
    minor = (dxi * cos_t - deta * sin_t) / (1.0 - e)
    if not boxy:
        r2 = major * major + minor * minor
        positive = r2 > 0
        return jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)
    p = 2.0 + cbox
    return safe_pow(safe_pow(jnp.abs(major), p) + safe_pow(jnp.abs(minor), p), 1.0 / p)
