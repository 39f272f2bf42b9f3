"""How far outside the image the point sources of a model can lie.

The convolution pads the image so that no light wraps around
(:class:`socca.models.convolve.FourierConvolver`). Extended light is drawn on
the image only and needs one PSF half-width of padding. A point source may
lie outside the image and still shine on it; it needs as much padding again
as it can lie outside, up to another half-width (farther out, its light
misses the image). Reading that distance from the point sources' priors
makes the FFTs smaller when they stay on the image: 150² instead of 162²
for the tutorial (a 128² image, a 34² PSF).
"""

from __future__ import annotations

import math

import numpy as np

from socca.models.domain import support_bounds
from socca.models.parameters import label

SAMPLES = 9  # positions per side of a prior's (RA, Dec) box projected to pixels
MARGIN = 1.0  # pixels added to what the samples show, for curvature and rounding
MAX_BOX_DEG = 10.0  # wider boxes may fold in the gnomonic projection: assume the worst


def parameter_bounds(pmap, key) -> tuple[float, float] | None:
    """Finite ``(low, high)`` that parameter ``key`` can take, or None when not known.

    Fixed values, priors with a bounded support and ``boundto`` ties to
    either are known; unbounded priors and functional ties are not.
    """
    if key in pmap.fixed:
        value = np.asarray(pmap.fixed[key], dtype=float)
        return (float(value), float(value)) if value.ndim == 0 else None
    if key in pmap.free:
        bounds = support_bounds(pmap.free[key])
        return bounds if bounds is not None and all(map(math.isfinite, bounds)) else None
    tie = pmap.ties.get(key)
    if tie is not None and tie.alias is not None:
        return parameter_bounds(pmap, tie.alias)
    return None


def point_reach(pmap, points, grid, shape, halfwidth) -> tuple[int, int]:
    """Pixels, per axis (rows, columns), by which ``points`` may lie outside the image.

    Parameters
    ----------
    pmap : ParameterMap
        The model's parameters.
    points : sequence of Component
        The point sources (``kind == "point"``), with ``pixel_position``.
    grid : RenderGrid
        The image geometry.
    shape : tuple of int
        The image's ``(rows, columns)``.
    halfwidth : tuple of int
        The PSF half-width per axis: the answer never exceeds it, and is it
        for a point whose position is not bounded.
    """
    reach = np.full(2, -np.inf)
    for comp in points:
        box = [parameter_bounds(pmap, label(comp, name)) for name in ("xc", "yc")]
        if None in box or max(high - low for low, high in box) > MAX_BOX_DEG:
            return tuple(int(h) for h in halfwidth)
        ra, dec = np.meshgrid(*(np.linspace(low, high, SAMPLES) for low, high in box))
        x, y = (np.asarray(v) for v in comp.pixel_position({"xc": ra, "yc": dec}, grid))
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            return tuple(int(h) for h in halfwidth)
        reach = np.maximum(reach, [_excess(y, shape[0]), _excess(x, shape[1])])
    # a point within MARGIN of an edge still gets room, against curvature and rounding
    return tuple(
        int(np.clip(math.ceil(r + MARGIN), 0, h)) if math.isfinite(r) else 0
        for r, h in zip(reach, halfwidth, strict=True)
    )


def _excess(position, n) -> float:
    """How far ``position`` goes past the farther end of an axis of ``n`` pixels (< 0 inside)."""
    return max(-float(position.min()), float(position.max()) - (n - 1))
