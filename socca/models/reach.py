"""The values a parameter can take, read from its prior, fixed value or tie.

Used before a fit to check a model against its image (a source whose
position prior lies wholly off the image).
"""

from __future__ import annotations

import math

import numpy as np

from socca.models.domain import support_bounds


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
