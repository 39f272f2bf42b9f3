"""Vertical profiles ``h(z)`` of :class:`~socca.models.disk.Disk`, with ``h(0) = 1``.

They are building blocks, not model components: they live inside a disk
(``Disk(vertical=ExponentialHeight(zs=...))``) and their parameters are set
there (``disk.vertical.zs = prior``).
"""

from __future__ import annotations

from socca.models.component import Component, Param
from socca.models.domain import POSITIVE
from socca.models.profiles.vertical import exponential_height, sech_height, sech_height_integer
from socca.models.radial import profile_arguments

#: Largest fixed whole exponent of a hyperbolic secant computed by repeated products.
MAX_INTEGER_POWER = 8


class Height(Component):
    """Base class: a vertical law ``h(z)``, ``z`` the height above the disk plane in degrees.

    Subclasses set ``height`` to a pure function ``f(z, **shape)`` and declare
    its parameters in ``PARAMS``.
    """

    kind = "vertical"
    standalone = False

    @staticmethod
    def height(z, **shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def vertical_values(self, z, values):
        """``h(z)`` for a name → (possibly traced) value table of this profile's parameters."""
        return self.height(z, **{n: values[n] for n in profile_arguments(self.height)})


class HyperSecantHeight(Height):
    """``sech^alpha(|z|/zs)``: isothermal sheet for ``alpha = 2``, exponential-like wings.

    Its integral over z is ``zs B(alpha/2, 1/2)`` (``2 zs`` for ``alpha = 2``).
    """

    PARAMS = (
        Param("zs", None, "deg", "Scale height", POSITIVE),
        Param("alpha", 2.0, "", "Exponent of the hyperbolic secant", POSITIVE),
    )
    height = staticmethod(sech_height)

    def vertical_values(self, z, values):
        """``h(z)``; a fixed whole exponent (the default 2) takes a cheaper exact form."""
        alpha = values["alpha"]
        if isinstance(alpha, float) and alpha.is_integer() and 1 <= alpha <= MAX_INTEGER_POWER:
            return sech_height_integer(z, values["zs"], int(alpha))
        return super().vertical_values(z, values)


class ExponentialHeight(Height):
    """``exp(-|z|/zs)``; its integral over z is ``2 zs``."""

    PARAMS = (Param("zs", None, "deg", "Scale height", POSITIVE),)
    height = staticmethod(exponential_height)


def vertical_classes() -> list[str]:
    """Names of the available vertical profiles."""
    found, stack = set(), [Height]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            found.add(sub.__name__)
    return sorted(found)
