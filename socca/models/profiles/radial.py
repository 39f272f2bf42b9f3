"""Radial surface-brightness laws ``f(r, ...)``; radii in the units of ``r``."""

import jax.numpy as jnp

from socca.models.profiles.geometry import safe_pow
from socca.models.profiles.sersic_constant import sersic_bn

# Power laws diverge at r = 0: the radius is floored at this fraction of rc so
# the central pixel stays finite.
POWER_RMIN = 1e-8


def sersic(r, re, Ie, ns):
    """Sérsic law ``Ie exp(-b_n ((r/re)^(1/n) - 1))``."""
    bn = sersic_bn(ns)
    return Ie * jnp.exp(-bn * (safe_pow(r / re, 1.0 / ns) - 1.0))


def exponential(r, rs, Is):
    """Exponential disk ``Is exp(-r/rs)``."""
    return Is * jnp.exp(-r / rs)


def gaussian(r, rs, Is):
    """Gaussian ``Is exp(-r^2 / (2 rs^2))``."""
    x = r / rs
    return Is * jnp.exp(-0.5 * x * x)


def beta(r, rc, Ic, alpha, beta):
    """Generalised β-model ``Ic (1 + (r/rc)^alpha)^(-beta)``."""
    return Ic * (1.0 + safe_pow(r / rc, alpha)) ** (-beta)


def power(r, rc, Ic, alpha):
    """Power law ``Ic (r/rc)^(-alpha)``, floored at ``r = POWER_RMIN rc``."""
    x = jnp.maximum(r / rc, POWER_RMIN)
    return Ic * x ** (-alpha)


def tophat(r, rc):
    """One inside ``rc``, zero outside."""
    return jnp.where(r < rc, 1.0, 0.0)


def polyexponential(r, rs, Is, c1, c2, c3, c4, rc):
    """Exponential times a quartic, ``Is (1 + sum_k c_k (r/rc)^k) exp(-r/rs)``."""
    x = r / rc
    poly = 1.0 + x * (c1 + x * (c2 + x * (c3 + x * c4)))
    return Is * poly * jnp.exp(-r / rs)


def polyexporefact(r, rs, Is, I1, I2, I3, I4):
    """Exponential times a quartic in ``r/rs``, ``(Is + sum_k I_k (r/rs)^k) exp(-r/rs)``."""
    x = r / rs
    poly = Is + x * (I1 + x * (I2 + x * (I3 + x * I4)))
    return poly * jnp.exp(-x)


def modexponential(r, rs, Is, rm, alpha):
    """Modified exponential ``Is exp(-r/rs) (1 + r/rm)^alpha``."""
    return Is * jnp.exp(-r / rs) * (1.0 + r / rm) ** alpha
