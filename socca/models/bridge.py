"""Filaments between two clusters: a profile across the bridge combined with one along it.

On sky axes turned to the bridge's position angle ``theta`` (``u`` along the
bridge, ``v`` across it, both from its centre), the two sub-profiles are
evaluated with their scale radius set to the bridge's ``rs`` and their
amplitude set to one:

* ``f_radial(|v| / (1 - e))``: the cross-section; its width is ``rs (1 - e)``;
* ``f_parallel(|u|)``: the profile along the bridge; its length is ``rs``,

so ``rs`` scales the whole bridge and ``e = 1 - width/length``, as the
ellipticity of the elliptical profiles. The factors are combined as

* ``SimpleBridge``: ``Is f_radial f_parallel``;
* ``MesaBridge``: ``Is / (1/f_radial + 1/f_parallel)``, a flat-topped "mesa"
  (with the defaults ``Is / (1 + (|v|/w)^8 + (|u|/rs)^8)``, ``w = rs(1-e)``).

Both equal ``Is`` at the centre for sub-profiles equal to one there (every
built-in profile with unit amplitude; the Sérsic law, whose ``Ie`` is the value
at ``re``, is divided by its central value; a power law, infinite at the
centre, is one at ``r = rs``, which in a mesa gives ``Is`` at the centre).
Only the sub-profiles' shape parameters remain free (``bridge.radial.beta``);
lengths other than the scale radius (a truncation radius, say) stay in
degrees along their own axis.
"""

from __future__ import annotations

import jax.numpy as jnp

from socca.models.component import Composite, Param, SubProfileSlot
from socca.models.domain import DECLINATION, ELLIPTICITY, POSITIVE
from socca.models.profiles.composite import harmonic, product, rotate
from socca.models.profiles.geometry import MIN_AXIS_RATIO
from socca.models.radial import Beta, Power, TopHat
from socca.models.subprofile import (
    check_radial,
    geometry_free_names,
    radial_values,
    role_values,
    scale_and_amplitude,
)


class Bridge(Composite):
    """Base class of the bridges: geometry, sub-profile roles and rendering.

    Subclasses set ``combine`` to a pure function of the two factors and
    ``default`` to a function returning a new default sub-profile for a role.

    Parameters
    ----------
    radial : Profile, optional
        Profile across the bridge (see the subclasses for the default).
    parallel : Profile, optional
        Profile along the bridge.
    **values
        Initial values of ``xc, yc, rs, Is, theta, e`` and of the sub-profiles'
        shape parameters as ``radial_<name>``, ``parallel_<name>``.
    """

    PARAMS = (
        Param("xc", None, "deg", "Right ascension of the centre"),
        Param("yc", None, "deg", "Declination of the centre", DECLINATION),
        Param("rs", None, "deg", "Scale radius: length scale along the bridge", POSITIVE),
        Param("Is", None, "image", "Central surface brightness"),
        Param("theta", 0.0, "rad", "Position angle of the bridge axis, east of north"),
        Param("e", 0.5, "", "1 - width/length", ELLIPTICITY),
    )
    radial = SubProfileSlot()
    parallel = SubProfileSlot()

    @staticmethod
    def combine(f_radial, f_parallel):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def default(role):  # pragma: no cover - abstract
        raise NotImplementedError

    def __init__(self, radial=None, parallel=None, **values):
        radial = self.default("radial") if radial is None else radial
        parallel = self.default("parallel") if parallel is None else parallel
        object.__setattr__(self, "_roles", {})
        super().__init__({"radial": radial, "parallel": parallel}, **values)

    def _check_subprofile(self, role, profile):
        check_radial(profile, type(self).__name__, role)
        scale, amplitude, _ = scale_and_amplitude(profile)
        return tuple(n for n in geometry_free_names(profile) if n not in (scale, amplitude))

    def _adopt(self, role, profile, keep):
        self._roles[role] = scale_and_amplitude(profile)  # before the scale and amplitude go
        super()._adopt(role, profile, keep)

    def factor(self, role, r, values):
        """Sub-profile ``role`` at ``r`` (degrees), scale radius ``rs``, one at the centre."""
        profile = self._subprofiles[role]
        scale, amplitude, central = self._roles[role]
        fixed = {}
        if scale is not None:
            fixed[scale] = values["rs"]
        if amplitude is not None:
            fixed[amplitude] = 1.0
        table = role_values(values, role, profile, fixed)
        out = radial_values(profile, r, table)
        if not central:
            out = out / radial_values(profile, jnp.zeros(()), table)
        return out

    def image(self, values, grid):
        """Pure rendering: sub-pixel averaged surface brightness on ``grid``.

        Parameters
        ----------
        values : dict
            Parameter name → (traced) value, sub-profiles' as ``<role>_<name>``.
        grid : RenderGrid
            The renderer's tangent-plane sub-pixel grid.
        """
        xi_c, eta_c, north = grid.centre(values["xc"], values["yc"])
        along, across = rotate(grid.xi - xi_c, grid.eta - eta_c, values["theta"] + north)
        width = jnp.maximum(1.0 - values["e"], MIN_AXIS_RATIO)
        f_radial = self.factor("radial", jnp.abs(across) / width, values)
        f_parallel = self.factor("parallel", jnp.abs(along), values)
        return jnp.mean(values["Is"] * self.combine(f_radial, f_parallel), axis=0)


class SimpleBridge(Bridge):
    """Bridge ``Is f_radial(|v|/(1-e)) f_parallel(|u|)``.

    Defaults: ``radial=Beta()`` (``alpha=2, beta=0.55``) across and
    ``parallel=TopHat()`` along, a uniform bar ``2 rs`` long. A top hat has no
    gradient with respect to its edge, so gradient-based fits of ``rs`` learn
    it only through the width: prefer a smooth ``parallel`` profile
    (``Beta(alpha=8, beta=1)``, say) to fit the length.
    """

    combine = staticmethod(product)

    @staticmethod
    def default(role):
        """A new default sub-profile: ``Beta()`` across, ``TopHat()`` along."""
        return Beta() if role == "radial" else TopHat()


class MesaBridge(Bridge):
    """Bridge ``Is / (1/f_radial(|v|/(1-e)) + 1/f_parallel(|u|))``, flat-topped.

    Defaults: ``radial=Beta(alpha=8, beta=1)`` and ``parallel=Power(alpha=8)``,
    giving ``Is / (1 + (|v|/(rs(1-e)))^8 + (|u|/rs)^8)``.
    """

    combine = staticmethod(harmonic)

    @staticmethod
    def default(role):
        """A new default sub-profile: ``Beta(alpha=8, beta=1)`` across, ``Power(alpha=8)`` along."""
        return Beta(alpha=8.0, beta=1.0) if role == "radial" else Power(alpha=8.0)
