"""Radial surface-brightness laws ``f(r, ...)``; radii in the units of ``r``."""

import jax
import jax.numpy as jnp

from socca.models.profiles.geometry import safe_pow
from socca.models.profiles.sersic_constant import sersic_bn

# Power laws diverge at r = 0: the radius is floored at this fraction of rc so
# the central pixel stays finite.
POWER_RMIN = 1e-8
# Largest natural log of a profile relative to its amplitude. Laws that can grow
# (steep power laws, beta < 0, large Sersic indices) saturate at e^300 ~ 2e130:
# far beyond anything physical, and small enough that images, their squares in
# the likelihood and their FFTs stay finite instead of overflowing to inf/NaN.
LOG_CEILING = 300.0


def _capped_exp(log_value):
    """``exp(log_value)``, saturated at ``exp(LOG_CEILING)``."""
    return jnp.exp(jnp.minimum(log_value, LOG_CEILING))


def sersic(r, re, Ie, ns):
    """Sérsic law ``Ie exp(-b_n ((r/re)^(1/n) - 1))``."""
    bn = sersic_bn(ns)
    return Ie * _capped_exp(-bn * (safe_pow(r / re, 1.0 / ns) - 1.0))


def exponential(r, rs, Is):
    """Exponential disk ``Is exp(-r/rs)``."""
    return Is * jnp.exp(-r / rs)


def gaussian(r, rs, Is):
    """Gaussian ``Is exp(-r^2 / (2 rs^2))``."""
    x = r / rs
    return Is * jnp.exp(-0.5 * x * x)


def beta(r, rc, Ic, alpha, beta):
    """Generalised β-model ``Ic (1 + (r/rc)^alpha)^(-beta)``.

    Computed as ``exp(-beta softplus(alpha ln x))``: ``(r/rc)^alpha`` alone
    overflows for steep slopes far out, and ``inf^0`` would be NaN.
    """
    x = r / rc
    positive = x > 0
    log_x = jnp.log(jnp.where(positive, x, 1.0))
    log_base = jnp.where(positive, jax.nn.softplus(alpha * log_x), 0.0)  # ln(1 + x^alpha)
    return Ic * _capped_exp(-beta * log_base)


def power(r, rc, Ic, alpha):
    """Power law ``Ic (r/rc)^(-alpha)``, floored at ``r = POWER_RMIN rc``."""
    x = jnp.maximum(r / rc, POWER_RMIN)
    return Ic * _capped_exp(-alpha * jnp.log(x))


def tophat(r, rc, Ic):
    """``Ic`` inside ``rc``, zero outside."""
    return jnp.where(r < rc, Ic, 0.0)


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
    """Modified exponential ``Is exp(-r/rs) (1 + r/rm)^alpha``, as one capped exponential."""
    return Is * _capped_exp(alpha * jnp.log1p(r / rm) - r / rs)
