"""Geometry and combination rules of the composite components (thick disks, bridges)."""

import jax.numpy as jnp
import numpy as np


def rotate(dxi, deta, theta):
    """Offsets along and across position angle ``theta`` (radians, east of north).

    Returns
    -------
    along, across : array
        ``along`` points to position angle ``theta``; ``across`` to ``theta - 90°``
        (the same axes as the elliptical radius of the radial profiles).
    """
    sin_t, cos_t = jnp.sin(theta), jnp.cos(theta)
    return dxi * sin_t + deta * cos_t, dxi * cos_t - deta * sin_t


def safe_hypot(x, y):
    """``sqrt(x² + y²)`` with finite gradients at the origin."""
    r2 = x * x + y * y
    positive = r2 > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)


def disk_coordinates(u, v, s, cos_i, sin_i):
    """Cylindrical radius and height in a disk of inclination ``i`` of a point on the sky.

    The disk's line of nodes is the sky axis ``u``; ``v`` is the projected
    minor axis and ``s`` the distance along the line of sight. The disk frame
    is the sky frame turned by ``i`` about ``u``: ``y = v cos i + s sin i``,
    ``z = s cos i - v sin i`` (face-on, ``i = 0``: ``z = s``; edge-on:
    ``z = -v``).

    Returns
    -------
    R, z : array
        Radius in the disk plane, ``sqrt(u² + y²)``, and height above it.
    """
    y = v * cos_i + s * sin_i
    z = s * cos_i - v * sin_i
    return safe_hypot(u, y), z


def trapezoid_nodes(depth, n):
    """Nodes and weights of the ``n``-point trapezoid rule over ``[-depth/2, depth/2]``."""
    nodes = np.linspace(-0.5 * depth, 0.5 * depth, n)
    weights = np.full(n, depth / (n - 1))
    weights[[0, -1]] *= 0.5
    return nodes, weights


def product(f_radial, f_parallel):
    """``f_radial × f_parallel``: the simple bridge."""
    return f_radial * f_parallel


def harmonic(f_radial, f_parallel):
    """``1 / (1/f_radial + 1/f_parallel)``, zero where either factor is zero: the mesa bridge.

    Written as ``f_r f_p / (f_r + f_p)`` with the zero case guarded so that
    values and gradients stay finite.
    """
    total = f_radial + f_parallel
    positive = total > 0
    return jnp.where(positive, f_radial * f_parallel / jnp.where(positive, total, 1.0), 0.0)
