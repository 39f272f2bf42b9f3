"""Thick disks seen at any inclination, integrated along the line of sight.

The emissivity at cylindrical radius ``R`` and height ``z`` in the disk is
the product of a radial profile and a vertical one,
``j(R, z) = I(R) h(z)``, with ``h(0) = 1``. The surface brightness of a sky
point is ``∫ j ds`` along its line of sight, computed with the trapezoid rule
on ``losbins`` points over ``[-losdepth/2, losdepth/2]`` around the plane of
the sky through the disk centre. Seen face-on, a disk thus shows
``I(R) ∫ h dz`` (``2 zs I(R)`` for an exponential or ``sech²`` height), and its
total flux does not depend on the inclination (as long as the line of sight
covers the disk).
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from socca import priors
from socca.errors import InputError, InputTypeError
from socca.models.component import Composite, Param, SubProfileSlot
from socca.models.domain import DECLINATION
from socca.models.profiles.composite import disk_coordinates, rotate, trapezoid_nodes
from socca.models.radial import Sersic
from socca.models.subprofile import check_radial, geometry_free_names, radial_values, role_values
from socca.models.vertical import Height, HyperSecantHeight, vertical_classes

#: Default number of trapezoid points along each line of sight.
LOSBINS = 64
#: Units a radial amplitude takes inside a disk, where it is an emissivity.
EMISSIVITY_UNITS = "image/deg"


class Disk(Composite):
    """A thick disk: ``I(R) h(z)`` in the disk, projected at inclination ``inc``.

    Parameters
    ----------
    radial : Profile, optional
        Radial law ``I(R)`` of the cylindrical radius (default ``Sersic()``):
        any radial profile (truncated ones included) but ``PolyExpoRefact``.
        Its geometry (``xc, yc, theta, e, cbox``) is removed: the disk's own
        centre, position angle and inclination place it. Its amplitude
        (``Ie``, ``Is``, ``Ic``) is an emissivity, in image units per degree
        along the line of sight.
    vertical : Height, optional
        Vertical law ``h(z)`` (default ``HyperSecantHeight()``, ``sech²``), or
        ``ExponentialHeight()``.
    losdepth : float or None, optional
        Length of the line of sight integrated over, in degrees, centred on
        the plane of the sky through the disk centre. It must cover the disk
        (about its diameter when edge-on); None (default) uses the diagonal of
        the image, enough for any disk contained in it.
    losbins : int, optional
        Trapezoid points along the line of sight (default 64). The spacing
        ``losdepth / (losbins - 1)`` must resolve the smallest scale crossed:
        the scale height near face-on (``zs/3`` or finer keeps an exponential
        height within 0.5%; ``sech²`` converges much faster).
    **values
        Initial values of ``xc, yc, theta, inc`` and of the sub-profiles'
        parameters as ``radial_<name>``, ``vertical_<name>``.

    Notes
    -----
    The sub-profiles' parameters are set on them, ``disk.radial.re = ...``,
    ``disk.vertical.zs = ...``; in a model their labels are
    ``<id>_radial_<name>`` and ``<id>_vertical_<name>`` (``comp_00_radial_re``).
    ``losdepth`` and ``losbins`` are fixed settings, never fitted.
    """

    PARAMS = (
        Param("xc", None, "deg", "Right ascension of the centre"),
        Param("yc", None, "deg", "Declination of the centre", DECLINATION),
        Param("theta", 0.0, "rad", "Position angle of the major axis (line of nodes), E of N"),
        Param("inc", 0.0, "rad", "Inclination (0: face-on, pi/2: edge-on)"),
    )
    radial = SubProfileSlot()
    vertical = SubProfileSlot()
    _losdepth = None
    _losbins = LOSBINS

    def __init__(self, radial=None, vertical=None, losdepth=None, losbins=LOSBINS, **values):
        radial = Sersic() if radial is None else radial
        vertical = HyperSecantHeight() if vertical is None else vertical
        super().__init__({"radial": radial, "vertical": vertical}, **values)
        self.losdepth = losdepth
        self.losbins = losbins

    # -- hyper-parameters ---------------------------------------------------
    @property
    def losdepth(self):
        """Line-of-sight depth in degrees, or None for the image diagonal."""
        return self._losdepth

    @losdepth.setter
    def losdepth(self, value):
        if value is not None:
            real = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not real or not math.isfinite(value) or value <= 0:
                raise InputError(
                    f"{self.id}.losdepth must be a positive number (degrees) or None, got {value!r}"
                )
            value = float(value)
        object.__setattr__(self, "_losdepth", value)

    @property
    def losbins(self):
        """Number of trapezoid points along each line of sight."""
        return self._losbins

    @losbins.setter
    def losbins(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
            raise InputError(f"{self.id}.losbins must be an integer >= 2, got {value!r}")
        object.__setattr__(self, "_losbins", int(value))

    def hyperparameters(self):
        """``losdepth`` and ``losbins``, printed apart from the fitted parameters."""
        depth = "auto (image diagonal)" if self.losdepth is None else priors.describe(self.losdepth)
        return {
            "losdepth": (depth, "deg", "Line-of-sight depth integrated over"),
            "losbins": (self.losbins, "", "Trapezoid points along the line of sight"),
        }

    # -- sub-profiles ---------------------------------------------------------
    def _check_subprofile(self, role, profile):
        if role == "radial":
            check_radial(profile, "Disk", "radial")
            return geometry_free_names(profile)
        if not isinstance(profile, Height):
            given = profile.__name__ if isinstance(profile, type) else type(profile).__name__
            raise InputTypeError(
                f"Disk: vertical={given} is not supported; the vertical profile must be an "
                f"instance of one of {', '.join(vertical_classes())}"
            )
        return profile.parameter_names

    def _adopt(self, role, profile, keep):
        super()._adopt(role, profile, keep)
        if role == "radial":
            for entry in profile._params.values():
                if entry.units == "image":
                    entry.units = EMISSIVITY_UNITS

    # -- rendering --------------------------------------------------------------
    def depth(self, grid) -> float:
        """The line-of-sight depth used on ``grid``, in degrees."""
        if self.losdepth is not None:
            return self.losdepth
        xi, eta = np.asarray(grid.xi), np.asarray(grid.eta)
        return float(np.hypot(np.ptp(xi), np.ptp(eta)))

    def image(self, values, grid):
        """Pure rendering: the line-of-sight integral on each sub-pixel, averaged per pixel.

        Parameters
        ----------
        values : dict
            Parameter name → (traced) value, sub-profiles' as ``<role>_<name>``.
        grid : RenderGrid
            The renderer's tangent-plane sub-pixel grid.
        """
        xi_c, eta_c, north = grid.centre(values["xc"], values["yc"])
        u, v = rotate(grid.xi - xi_c, grid.eta - eta_c, values["theta"] + north)
        radial, vertical = self.radial, self.vertical
        radial_table = role_values(values, "radial", radial)
        vertical_table = role_values(values, "vertical", vertical)
        cos_i, sin_i = jnp.cos(values["inc"]), jnp.sin(values["inc"])
        nodes, weights = trapezoid_nodes(self.depth(grid), self.losbins)

        # one line-of-sight node at a time: memory stays that of one image,
        # also when a batch of parameter vectors is vmapped
        def add_node(total, node):
            s, w = node
            R, z = disk_coordinates(u, v, s, cos_i, sin_i)
            emissivity = radial_values(radial, R, radial_table) * vertical.vertical_values(
                z, vertical_table
            )
            return total + w * emissivity, None

        total, _ = jax.lax.scan(add_node, jnp.zeros(u.shape), (nodes, weights))
        return jnp.mean(total, axis=0)
