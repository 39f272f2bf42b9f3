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

import importlib

import jax
import jax.numpy as jnp
import numpy as np

from socca import priors
from socca.errors import InputError, InputTypeError
from socca.models.component import Composite, Param, SubProfileSlot
from socca.models.domain import DECLINATION
from socca.models.profiles.composite import disk_coordinates, rotate, trapezoid_nodes
from socca.models.radial import Profile, Sersic
from socca.models.subprofile import check_radial, geometry_free_names, radial_values, role_values
from socca.models.vertical import (
    INCLINATION,
    LOSBINS,
    Height,
    HyperSecantHeight,
    check_losbins,
    check_losdepth,
    vertical_classes,
)

#: Units a radial amplitude takes inside a disk, where it is an emissivity.
EMISSIVITY_UNITS = "image/deg"
#: The disk's parameters its sub-profiles also show: role → names.
SHARED = {"radial": ("xc", "yc", "theta"), "vertical": ("inc",)}


class Disk(Composite):
    """A thick disk: ``I(R) h(z)`` in the disk, projected at inclination ``inc``.

    Parameters
    ----------
    radial : Profile, optional
        Radial law ``I(R)`` of the cylindrical radius (default ``Sersic()``):
        any radial profile (truncated ones included) but ``PolyExpoRefact``.
        Its ellipticity and boxiness (``e``, ``cbox``) are removed, and its
        centre and position angle (``xc, yc, theta``) become the disk's:
        values given to the profile are taken over, and ``disk.radial.xc``
        is ``disk.xc``. Its amplitude (``Ie``, ``Is``, ``Ic``) is an
        emissivity, in image units per degree along the line of sight.
    vertical : Height, optional
        Vertical law ``h(z)`` (default ``HyperSecantHeight()``, ``sech²``), or
        ``ExponentialHeight()``. Its ``inc``, ``losdepth`` and ``losbins``
        become the disk's in the same way (``disk.vertical.inc`` is
        ``disk.inc``).
    losdepth : float or None, optional
        Full length of the line of sight integrated over, in degrees, centred
        on the plane of the sky through the disk centre (``losdepth/2`` on
        each side). It must cover the disk (about its diameter when
        edge-on); None (default, unless the vertical profile was given one)
        uses the diagonal of the image. An inclined disk whose light reaches
        the image edge may need more: the line of sight at offset ``v`` along
        the minor axis crosses the disk plane at ``v tan(inc)`` from the sky
        plane.
    losbins : int, optional
        Trapezoid points along the line of sight (default: the vertical
        profile's if it was given one, else 200). The spacing
        ``losdepth / (losbins - 1)`` must resolve the smallest scale crossed:
        the scale height near face-on (``zs/3`` or finer keeps an exponential
        height within 0.5%; ``sech²`` converges much faster). The cost of a
        disk grows linearly with ``losbins``.
    **values
        Initial values of ``xc, yc, theta, inc`` and of the sub-profiles'
        parameters as ``radial_<name>``, ``vertical_<name>``.

    Notes
    -----
    The sub-profiles' parameters are set on them, ``disk.radial.re = ...``,
    ``disk.vertical.zs = ...``; in a model their labels are
    ``<id>_radial_<name>`` and ``<id>_vertical_<name>`` (``comp_00_radial_re``).
    The centre, angle and inclination are the disk's own, whichever spelling
    sets them (``disk.radial.xc`` or ``disk.xc``): their labels are
    ``<id>_xc``, ``<id>_yc``, ``<id>_theta``, ``<id>_inc``.
    ``losdepth`` and ``losbins`` are fixed settings, never fitted.
    """

    PARAMS = (
        Param("xc", None, "deg", "Right ascension of the centre"),
        Param("yc", None, "deg", "Declination of the centre", DECLINATION),
        Param("theta", 0.0, "rad", "Position angle of the major axis (line of nodes), E of N"),
        INCLINATION,
    )
    SHARED = SHARED
    radial = SubProfileSlot()
    vertical = SubProfileSlot()
    _losdepth = None
    _losbins = LOSBINS

    def __init__(self, radial=None, vertical=None, losdepth=None, losbins=None, **values):
        radial = Sersic() if radial is None else radial
        vertical = HyperSecantHeight() if vertical is None else vertical
        if isinstance(radial, Profile):
            _refuse_given_twice("radial", radial, values)
        if isinstance(vertical, Height):
            settings = {"losdepth": losdepth, "losbins": losbins}
            _refuse_given_twice("vertical", vertical, {**values, **settings})
        super().__init__({"radial": radial, "vertical": vertical}, **values)
        if losdepth is not None:
            self.losdepth = losdepth
        if losbins is not None:
            self.losbins = losbins

    # -- hyper-parameters ---------------------------------------------------
    @property
    def losdepth(self):
        """Line-of-sight length in degrees, or None for the image diagonal."""
        return self._losdepth

    @losdepth.setter
    def losdepth(self, value):
        object.__setattr__(self, "_losdepth", check_losdepth(self.id, value))

    @property
    def losbins(self):
        """Number of trapezoid points along each line of sight."""
        return self._losbins

    @losbins.setter
    def losbins(self, value):
        object.__setattr__(self, "_losbins", check_losbins(self.id, value))

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
            return SHARED["radial"] + geometry_free_names(profile)
        if not isinstance(profile, Height):
            given = profile.__name__ if isinstance(profile, type) else type(profile).__name__
            raise InputTypeError(
                f"Disk: vertical={given} is not supported; the vertical profile must be an "
                f"instance of one of {', '.join(vertical_classes())}"
            )
        return profile.parameter_names

    def _adopt(self, role, profile, keep):
        """Adopt ``profile``, taking over the shared values and settings it was given."""
        given = _given_values(profile, SHARED[role])
        for name in SHARED[role]:
            profile._params.pop(name, None)
        if role == "vertical":
            given.update(_given_settings(profile))
        super()._adopt(role, profile, tuple(n for n in keep if n not in SHARED[role]))
        for name, value in given.items():
            setattr(self, name, value)
        if role == "radial":
            for entry in profile._params.values():
                if entry.units == "image":
                    entry.units = EMISSIVITY_UNITS

    # -- rendering --------------------------------------------------------------
    def depth(self, grid) -> float:
        """The line-of-sight length used on ``grid``, in degrees."""
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


def _given_values(profile, names) -> dict:
    """The values of ``names`` set on a sub-profile before adoption (defaults left out)."""
    defaults = {}
    for cls in reversed(type(profile).__mro__):
        defaults.update({p.name: p.default for p in cls.__dict__.get("PARAMS", ())})
    entries = profile.__dict__["_params"]
    return {
        n: entries[n].value
        for n in names
        if n in entries and _differs(entries[n].value, defaults.get(n))
    }


def _given_settings(profile) -> dict:
    """``losdepth`` and ``losbins`` assigned to a vertical profile before adoption."""
    own = profile.__dict__
    given = {"losdepth": own.get("_losdepth"), "losbins": own.get("_losbins")}
    return {name: value for name, value in given.items() if value is not None}


def _differs(value, other) -> bool:
    return value is not other and bool(value != other)


def _refuse_given_twice(role, profile, values) -> None:
    """Refuse a setting given both to the disk and, differently, to its ``role`` profile."""
    found = _given_values(profile, SHARED[role])
    if role == "vertical":
        found.update(_given_settings(profile))
    for name, value in found.items():
        mine = values.get(name)
        if mine is not None and _differs(mine, value):
            raise InputError(
                f"Disk: {name} is given twice, {mine!r} to the disk and {value!r} to its "
                f"{role} profile ({type(profile).__name__}); give it once"
            )


# ``socca.models.disk.vertical``: the vertical profiles, next to the disk
importlib.import_module("socca.models.disk.vertical")
