"""Keep XLA from recomputing per-source scalars inside per-pixel loops.

XLA fuses cheap-looking producers into the loops of their consumers. When a
scalar of a source (the sine of its position angle, its projected centre, the
phase ramp of a point source) feeds an image-sized loop, the fused loop
recomputes it for every pixel: on CPU that made the trigonometry of a handful
of scalars cost as much as the profile itself. A reduction is never fused
into its consumers, so passing the values through one fixes them in memory.
``lax.optimization_barrier`` would say the same, but XLA:CPU removes it
before fusion.

Zero padding has the opposite problem: XLA turns any padding with constant
offsets into a ``pad`` instruction, and a ``pad`` fused with the image that
feeds it runs about three times slower on CPU than the image alone. Writing
the image into a zero canvas at an offset XLA cannot see is zero
(:func:`place`) keeps the image's loop as fast as without padding.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax


def materialise(*arrays):
    """The arrays unchanged, computed into memory before their consumers run.

    Parameters
    ----------
    *arrays : array_like
        Values of one shape (scalars, or vectors such as phase ramps).

    Returns
    -------
    tuple
        The same values, one per argument.
    """
    stacked = jnp.stack(jnp.broadcast_arrays(*arrays))
    kept = jnp.sum(jnp.stack([stacked, jnp.zeros_like(stacked)]), axis=0)
    return tuple(kept)


def traced_zero(value):
    """An integer zero that XLA cannot constant-fold, computed from ``value``.

    ``value * 0.0`` is not simplified (it is NaN for a NaN ``value``); a NaN
    converts to an out-of-range index, which :func:`place` clamps back to 0.
    """
    return (jnp.asarray(value, dtype=float) * 0.0).astype(int)


def place(image, shape, zero):
    """``image`` in the top-left corner of a zero array of ``shape``.

    Parameters
    ----------
    image : jax.Array
        ``(ny, nx)`` values.
    shape : tuple of int
        The canvas shape, at least the image's.
    zero : jax.Array
        A :func:`traced_zero`.
    """
    canvas = jnp.zeros(shape, dtype=image.dtype)
    return lax.dynamic_update_slice(canvas, image, (zero, zero))
