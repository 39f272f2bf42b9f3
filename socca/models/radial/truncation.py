"""Outer truncations of radial profiles, importable next to the profiles.

``socca.models.radial.truncation`` is the same module content as
:mod:`socca.models.truncation` (the classes are the same objects)::

    >>> from socca.models.radial.truncation import Exponential, HyperTangent
"""

from socca.models.truncation import (
    DEFAULT_RT,
    DEFAULT_WT,
    Exponential,
    HyperTangent,
    Truncation,
    as_truncation,
)

__all__ = ["DEFAULT_RT", "DEFAULT_WT", "Exponential", "HyperTangent", "Truncation", "as_truncation"]
