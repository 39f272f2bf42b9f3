"""Pure ``jax.numpy`` functions for the model components.

Everything here is a plain function of arrays and numbers: no classes, no
Python branching on traced values. The component classes declare parameters
and call these.
"""

from socca.models.profiles.geometry import (
    axis_terms,
    elliptical_radius,
    radius_along_axes,
    safe_pow,
)
from socca.models.profiles.radial import beta, exponential, gaussian, power, sersic, tophat
from socca.models.profiles.sersic_constant import sersic_bn

__all__ = [
    "axis_terms",
    "beta",
    "elliptical_radius",
    "exponential",
    "gaussian",
    "power",
    "radius_along_axes",
    "safe_pow",
    "sersic",
    "sersic_bn",
    "tophat",
]
