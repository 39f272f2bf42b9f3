"""Vertical laws ``h(z)`` of thick disks, with ``h(0) = 1``; heights in the units of ``z``."""

import math

import jax.numpy as jnp

LN2 = math.log(2.0)


def sech_height(z, zs, alpha):
    """``sech^alpha(|z|/zs)``.

    Written as ``exp(alpha (ln 2 - x - ln(1 + e^(-2x))))`` with ``x = |z|/zs``,
    which stays finite (and underflows gracefully) far from the plane, where
    ``cosh`` would overflow.
    """
    x = jnp.abs(z) / zs
    return jnp.exp(alpha * (LN2 - x - jnp.log1p(jnp.exp(-2.0 * x))))


def sech_height_integer(z, zs, n):
    """``sech^n(|z|/zs)`` for a whole, fixed ``n``: ``(2t / (1 + t²))^n`` with ``t = e^(-|z|/zs)``.

    One exponential and ``n`` products instead of three transcendental
    functions: the common ``sech²`` disk renders about twice as fast.
    """
    t = jnp.exp(-jnp.abs(z) / zs)
    return (2.0 * t / (1.0 + t * t)) ** n


def exponential_height(z, zs):
    """``exp(-|z|/zs)``."""
    return jnp.exp(-jnp.abs(z) / zs)
