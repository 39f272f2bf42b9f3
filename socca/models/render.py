"""Compile a list of components and an image into one pure render function.

``build_render`` returns ``render(theta) -> Maps``, a pure function of the
free-parameter vector that can be jitted, vmapped and differentiated. All
static work (grids, PSF transform, which components exist, fixed values) is
done here, once.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from socca.errors import InputError, InputIndexError, InputTypeError
from socca.models.convolve import FourierConvolver
from socca.models.fusion import traced_zero
from socca.models.oversample import CentreRefiner, apply_correction
from socca.models.parameters import ParameterMap


class Maps(NamedTuple):
    """Images produced by one render call (all of the image's shape)."""

    raw: object  # sources before PSF convolution, no background
    smoothed: object  # sources after PSF convolution, no background
    background: object  # background components
    negative: object  # True where a positivity-constrained component is negative


class RenderGrid:
    """The image geometry as JAX constants, as read by the components' ``image`` methods."""

    def __init__(self, grid, shape):
        self.xi = jnp.asarray(grid.xi)
        self.eta = jnp.asarray(grid.eta)
        ny, nx = shape
        centre_xi, centre_eta = np.mean(grid.xi, axis=0), np.mean(grid.eta, axis=0)
        mid = ((ny - 1) // 2, (nx - 1) // 2)
        # pixel-centre offsets from the image centre, used by backgrounds
        self.xi_centre = jnp.asarray(centre_xi - centre_xi[mid])
        self.eta_centre = jnp.asarray(centre_eta - centre_eta[mid])
        self.rows = jnp.arange(ny, dtype=float)
        self.columns = jnp.arange(nx, dtype=float)
        self.project = grid.project
        self.pixel_of = grid.pixel_of
        # accurate pixel averages around each radial component's centre
        self.refiner = CentreRefiner(centre_xi, centre_eta, grid.jacobian)

    def centre(self, ra, dec):
        """Tangent-plane position of ``(ra, dec)`` and the angle of local north there.

        The angle (radians, from the +eta axis toward +xi) corrects position
        angles for meridian convergence away from the tangent point.
        """
        dec = jnp.asarray(dec, dtype=float)
        (xi, eta), (dxi, deta) = jax.jvp(
            lambda d: self.project(ra, d), (dec,), (jnp.ones_like(dec),)
        )
        return xi, eta, jnp.arctan2(dxi, deta)


def select_components(components, which):
    """Resolve ``which`` (None, index, id, component, or a list of them) to components."""
    if which is None:
        return list(components)
    items = which if isinstance(which, list | tuple) else [which]
    chosen = []
    for item in items:
        chosen.append(_find(components, item))
    return chosen


def _find(components, item):
    ids = [c.id for c in components]
    if isinstance(item, bool):
        raise InputTypeError(f"component: expected an index, id or component, got {item!r}")
    if isinstance(item, int | np.integer):
        if not -len(components) <= item < len(components):
            raise InputIndexError(
                f"component index {item} out of range for {len(components)} components"
            )
        return components[item]
    if isinstance(item, str):
        if item not in ids:
            raise InputError(f"component {item!r} is not in the model; ids are {', '.join(ids)}")
        return components[ids.index(item)]
    if any(item is c for c in components):
        return item
    raise InputError(f"component {item!r} is not part of the model (ids: {', '.join(ids)})")


def build_render(components, img, *, doresp=True, doexp=True, include=None):
    """Compile ``components`` on ``img`` into ``render(theta) -> Maps``.

    Parameters
    ----------
    components : sequence of Component
        Every component of the model (ties may refer to any of them).
    img : socca.data.Image
        Provides the grid, PSF, response and exposure.
    doresp : bool
        Multiply sources by the response map (before convolution).
    doexp : bool
        Multiply every output by the exposure map.
    include : None or selection
        Render only these components (see :func:`select_components`).

    Returns
    -------
    render : callable
        Pure function of the free-parameter vector.
    pmap : ParameterMap
        Labels, priors and units of the free parameters.
    """
    pmap = ParameterMap(components)
    chosen = select_components(list(components), include)
    grid = RenderGrid(img.grid, img.shape)
    convolver = FourierConvolver(img.psf) if img.psf is not None else None
    # a response of ones everywhere is skipped: nothing to apply
    response = jnp.asarray(img.response) if doresp and np.any(img.response != 1.0) else None
    exposure = jnp.asarray(img.exposure) if doexp else None
    extended = [c for c in chosen if c.kind == "extended"]
    points = [c for c in chosen if c.kind == "point"]
    backgrounds = [c for c in chosen if c.kind == "background"]
    zeros = jnp.zeros(img.shape)

    def render(theta):
        values = pmap.resolve(theta)
        negative = jnp.zeros(img.shape, dtype=bool)
        ext, corrections = zeros, []
        for comp in extended:
            part, fixes = _image_parts(comp, pmap.component_values(comp, values), grid)
            ext = ext + part
            corrections += fixes
            if comp.positive:
                negative = negative | (_corrected(part, fixes) < 0)
        raw = _corrected(ext, corrections)
        spectrum, direct = None, (raw if response is None else raw * response)
        if convolver is not None and (extended or points):
            spectrum = _spectrum(convolver, ext, corrections, response, theta) if extended else 0.0
            direct = zeros
        for comp in points:
            cvals = pmap.component_values(comp, values)
            part = comp.image(cvals, grid)
            raw = raw + part
            if comp.positive:
                negative = negative | (part < 0)
            flux = (
                cvals["Ic"] if response is None else cvals["Ic"] * _at(response, comp, cvals, grid)
            )
            if spectrum is None:
                direct = direct + (part if response is None else part * response)
            else:
                x0, y0 = comp.pixel_position(cvals, grid)
                amplitude = jnp.where(convolver.covers(x0, y0), flux, 0.0)
                spectrum = spectrum + convolver.point_spectrum(amplitude, x0, y0)
        smoothed = direct if spectrum is None else convolver.finish(spectrum)
        if response is not None:
            raw = raw * response
        background = zeros
        for comp in backgrounds:
            background = background + comp.image(pmap.component_values(comp, values), grid)
        if exposure is not None:
            raw, smoothed, background = raw * exposure, smoothed * exposure, background * exposure
        return Maps(raw, smoothed, background, negative)

    return render, pmap


def _image_parts(comp, values, grid):
    """A component's image as ``(image, corrections)`` (see ``Profile.image_parts``)."""
    parts = getattr(comp, "image_parts", None)
    return parts(values, grid) if parts is not None else (comp.image(values, grid), [])


def _corrected(image, corrections):
    for correction in corrections:
        image = apply_correction(image, correction)
    return image


def _spectrum(convolver, image, corrections, response, theta):
    """The transform of the zero-padded extended light, corrections added on the canvas.

    Padding first and correcting the canvas in place keeps the image's pass
    through memory to one: correcting the image first made XLA rewrite all
    of it (a quarter of a single likelihood call at 128²). The zero offset of
    the padding is traced from ``theta`` (see :mod:`socca.models.fusion`).
    """
    zero = traced_zero(jnp.sum(jnp.asarray(theta, dtype=float)))
    canvas = convolver.pad(image if response is None else image * response, zero)
    for delta, origin in corrections:
        if response is not None:
            delta = delta * lax.dynamic_slice(response, origin, delta.shape)
        canvas = apply_correction(canvas, (delta, origin))
    return convolver.transform(canvas)


def _at(image, point, values, grid):
    """Bilinear interpolation of ``image`` at a point source's position (clamped to the image).

    Written as an elementwise product and sum: the equivalent ``wy @ image @ wx``
    returned wrong values under ``vmap`` for batches of ~100 or more on XLA:CPU
    (jax 0.10.2), see tests/models/test_model.py.
    """
    x0, y0 = point.pixel_position(values, grid)
    x0 = jnp.clip(x0, 0.0, grid.columns[-1])
    y0 = jnp.clip(y0, 0.0, grid.rows[-1])
    wx = jnp.maximum(0.0, 1.0 - jnp.abs(grid.columns - x0))
    wy = jnp.maximum(0.0, 1.0 - jnp.abs(grid.rows - y0))
    return jnp.sum(wy[:, None] * image * wx[None, :])
