"""Vertical profiles ``h(z)`` of :class:`~socca.models.disk.Disk`, with ``h(0) = 1``.

They are building blocks, not model components: they live inside a disk
(``Disk(vertical=ExponentialHeight(zs=...))``) and their parameters are set
there (``disk.vertical.zs = prior``).

A vertical profile also carries the disk's inclination ``inc`` and the
line-of-sight settings ``losdepth`` and ``losbins``: given to the profile
(``ExponentialHeight(zs=..., inc=...)``), they become the disk's when the disk
adopts it; from then on ``disk.vertical.inc`` and ``disk.inc`` (likewise
``losdepth``, ``losbins``) are the same setting.
"""

from __future__ import annotations

import math
import numbers

from socca import priors
from socca.errors import InputError
from socca.models.component import Component, Param
from socca.models.domain import POSITIVE
from socca.models.profiles.vertical import exponential_height, sech_height, sech_height_integer
from socca.models.radial import profile_arguments

#: Largest fixed whole exponent of a hyperbolic secant computed by repeated products.
MAX_INTEGER_POWER = 8
#: Default number of trapezoid points along each line of sight.
LOSBINS = 200
#: The inclination parameter, declared by a disk and carried by its vertical profile.
INCLINATION = Param("inc", 0.0, "rad", "Inclination (0: face-on, pi/2: edge-on)")


def check_losdepth(owner: str, value):
    """``value`` as a float line-of-sight depth in degrees (None kept), else InputError."""
    if value is None:
        return None
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not real or not math.isfinite(value) or value <= 0:
        raise InputError(
            f"{owner}.losdepth must be a positive number (degrees) or None, got {value!r}"
        )
    return float(value)


def check_losbins(owner: str, value) -> int:
    """``value`` as an int number of line-of-sight points (>= 2), else InputError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
        raise InputError(f"{owner}.losbins must be an integer >= 2, got {value!r}")
    return int(value)


class Height(Component):
    """Base class: a vertical law ``h(z)``, ``z`` the height above the disk plane in degrees.

    Subclasses set ``height`` to a pure function ``f(z, **shape)`` and declare
    its parameters in ``PARAMS``.

    Parameters
    ----------
    **values
        Initial values of the shape parameters (``zs``, ...), of the
        inclination ``inc`` and of the settings ``losdepth`` and ``losbins``
        (see :class:`~socca.models.disk.Disk`); the disk that adopts the
        profile takes the last three over.
    """

    PARAMS = (INCLINATION,)
    kind = "vertical"
    standalone = False
    _losdepth = None
    _losbins = LOSBINS

    # -- line-of-sight settings: the disk's once adopted -----------------------
    @property
    def losdepth(self):
        """Line-of-sight length in degrees, None for the image diagonal (the disk's if adopted)."""
        return self._losdepth if self.parent is None else self.parent.losdepth

    @losdepth.setter
    def losdepth(self, value):
        if self.parent is not None:
            self.parent.losdepth = value
        else:
            object.__setattr__(self, "_losdepth", check_losdepth(self.owner, value))

    @property
    def losbins(self):
        """Trapezoid points along each line of sight (the disk's if adopted)."""
        return self._losbins if self.parent is None else self.parent.losbins

    @losbins.setter
    def losbins(self, value):
        if self.parent is not None:
            self.parent.losbins = value
        else:
            object.__setattr__(self, "_losbins", check_losbins(self.owner, value))

    def hyperparameters(self):
        """``losdepth`` and ``losbins``, which only shape the disk's integration."""
        depth = "auto (image diagonal)" if self.losdepth is None else priors.describe(self.losdepth)
        return {
            "losdepth": (depth, "deg", "Line-of-sight depth integrated over"),
            "losbins": (self.losbins, "", "Trapezoid points along the line of sight"),
        }

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
