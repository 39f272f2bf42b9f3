"""Compile a list of components and an image into one pure render function.

``build_render`` returns ``render(theta) -> Maps``, a pure function of the
free-parameter vector that can be jitted, vmapped and differentiated. All
static work (grids, PSF transform, which components exist, fixed values) is
done here, once.

With a PSF, extended light is drawn on the convolution's canvas, the image
and a margin of one PSF half-width around it, so that light from beyond the
edge is convolved in; along an axis where the PSF's centre lies between two
pixels the canvas is shifted by half a pixel (see
:class:`socca.models.convolve.FourierConvolver` and :mod:`socca.data.psf`).
The unconvolved ``raw`` map is drawn on the image's own pixels.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import ndimage

from socca.data.grid import Grid
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
    renderer = Renderer(components, img, doresp=doresp, doexp=doexp, include=include)
    return renderer.render, renderer.pmap


class Sources(NamedTuple):
    """What one parameter vector puts on the sky, before the PSF (see :meth:`Renderer.sources`)."""

    raw: object  # sources before PSF convolution, response applied, no exposure
    canvas: object  # extended light x response on the padded canvas, or None
    points: tuple  # (amplitude, x0, y0) of each point source, for the convolver
    direct: object  # the image itself where nothing is convolved, else None
    background: object  # background components, no exposure
    negative: object  # True where a positivity-constrained component is negative


class Renderer:
    """Components on an image, compiled into pure functions of the parameter vector.

    All static work (grids, PSF transform, which components exist, fixed
    values) is done here, once. :meth:`render` draws one parameter vector;
    :meth:`render_pair` draws two and convolves both with one complex FFT
    pair (see :meth:`socca.models.convolve.FourierConvolver.transform_pair`),
    which is what batches of evaluations use.

    Parameters
    ----------
    components, img, doresp, doexp, include
        As for :func:`build_render`.

    Attributes
    ----------
    pmap : ParameterMap
        Labels, priors and units of the free parameters.
    """

    def __init__(self, components, img, *, doresp=True, doexp=True, include=None):
        self.pmap = ParameterMap(components)
        chosen = select_components(list(components), include)
        self.grid = RenderGrid(img.grid, img.shape)
        self.shape = img.shape
        # a response of ones everywhere is skipped: nothing to apply
        self.response = (
            jnp.asarray(img.response) if doresp and np.any(img.response != 1.0) else None
        )
        # likewise an exposure of ones: inside a batch's compiled loop XLA sees a
        # constant map only as an array to read, not as ones to drop
        self.exposure = (
            jnp.asarray(img.exposure) if doexp and np.any(img.exposure != 1.0) else None
        )
        self.extended = [c for c in chosen if c.kind == "extended"]
        self.points = [c for c in chosen if c.kind == "point"]
        self.backgrounds = [c for c in chosen if c.kind == "background"]
        self.convolver = self.canvas_grid = self.canvas_response = None
        if img.psf is not None and (self.extended or self.points):
            self.convolver = FourierConvolver(img.psf, img.psf_offset)
        if self.convolver is not None and self.extended:
            conv, grid = self.convolver, img.grid
            origin = (grid.origin[0] + conv.origin[0], grid.origin[1] + conv.origin[1])
            canvas = Grid(grid.wcs, conv.canvas, grid.subgrid, origin=origin)
            self.canvas_grid = RenderGrid(canvas, conv.canvas)
            if self.response is not None:
                self.canvas_response = jnp.asarray(canvas_map(np.asarray(img.response), conv))

    def _light(self, values, grid, shape):
        """Extended light on ``grid``: the lattice image, its corrections, where it is negative.

        Negative pixels are those of the components constrained positive.
        """
        light, corrections = jnp.zeros(shape), []
        negative = jnp.zeros(shape, dtype=bool)
        for comp in self.extended:
            part, fixes = _image_parts(comp, self.pmap.component_values(comp, values), grid)
            light = light + part
            corrections += fixes
            if comp.positive:
                negative = negative | (_corrected(part, fixes) < 0)
        return light, corrections, negative

    def sources(self, theta):
        """The unconvolved light of ``theta``, split as the convolution needs it."""
        values = self.pmap.resolve(theta)
        zeros = jnp.zeros(self.shape)
        # on the image's pixels: the raw map (left out of a likelihood's program)
        ext, corrections, negative = self._light(values, self.grid, self.shape)
        raw = _corrected(ext, corrections)
        canvas = None
        if self.canvas_grid is not None:
            conv = self.convolver
            light, fixes, off_sign = self._light(values, self.canvas_grid, conv.canvas)
            negative = conv.crop(off_sign)
            canvas = _canvas(conv, light, fixes, self.canvas_response, theta)
        points = []
        for comp in self.points:
            cvals = self.pmap.component_values(comp, values)
            part = comp.image(cvals, self.grid)
            raw = raw + part
            if comp.positive:
                negative = negative | (part < 0)
            if self.convolver is not None:
                points.append(self._point(comp, cvals))
        if self.response is not None:
            raw = raw * self.response
        direct = raw if self.convolver is None else None
        background = zeros
        for comp in self.backgrounds:
            background = background + comp.image(
                self.pmap.component_values(comp, values), self.grid
            )
        return Sources(raw, canvas, tuple(points), direct, background, negative)

    def _point(self, comp, cvals):
        """``(amplitude, x0, y0)`` of a point source for the convolver (0 where it would alias)."""
        flux = cvals["Ic"]
        if self.response is not None:
            flux = flux * _at(self.response, comp, cvals, self.grid)
        x0, y0 = comp.pixel_position(cvals, self.grid)
        return jnp.where(self.convolver.covers(x0, y0), flux, 0.0), x0, y0

    def _maps(self, sources, smoothed):
        raw, background = sources.raw, sources.background
        if self.exposure is not None:
            raw, smoothed, background = (a * self.exposure for a in (raw, smoothed, background))
        return Maps(raw, smoothed, background, sources.negative)

    def render(self, theta):
        """``theta (nfree,) -> Maps``."""
        sources = self.sources(theta)
        if self.convolver is None:
            return self._maps(sources, sources.direct)
        conv = self.convolver
        spectrum = 0.0 if sources.canvas is None else conv.transform(sources.canvas)
        for amplitude, x0, y0 in sources.points:
            spectrum = spectrum + conv.point_spectrum(amplitude, x0, y0)
        return self._maps(sources, conv.finish(spectrum))

    def render_pair(self, theta_a, theta_b):
        """``(Maps, Maps)`` of two parameter vectors, convolved with one complex FFT pair.

        Each image enters the pair scaled by a power of two that brings its
        largest value near 1, so that the rounding one leaves in the other
        stays at the level of each one's own; an image with a NaN or
        infinite value enters as zeros and comes out as NaN, as it would
        alone, without spoiling its partner.
        """
        a, b = self.sources(theta_a), self.sources(theta_b)
        if self.convolver is None:
            return self._maps(a, a.direct), self._maps(b, b.direct)
        conv = self.convolver
        (ok_a, scale_a, _), (ok_b, scale_b, _) = scales = _pair_scale(a), _pair_scale(b)
        spectrum = 0.0
        if self.extended:
            spectrum = conv.transform_pair(
                jnp.where(ok_a, a.canvas * scale_a, 0.0), jnp.where(ok_b, b.canvas * scale_b, 0.0)
            )
        for ok, weight, sources in ((ok_a, scale_a, a), (ok_b, 1j * scale_b, b)):
            for amplitude, x0, y0 in sources.points:
                amplitude = jnp.where(ok, weight * amplitude, 0.0)
                x0, y0 = jnp.where(ok, x0, 0.0), jnp.where(ok, y0, 0.0)
                spectrum = spectrum + conv.point_spectrum_full(amplitude, x0, y0)
        return tuple(
            self._maps(sources, jnp.where(ok, smoothed * unscale, jnp.nan))
            for sources, (ok, _, unscale), smoothed in zip(
                (a, b), scales, conv.finish_pair(spectrum), strict=True
            )
        )


MAX_EXPONENT = 1000  # of the power of two that scales an image in a complex pair


def _pair_scale(sources):
    """``(finite, scale, 1 / scale)`` of one image of a complex pair (see ``render_pair``).

    ``scale`` is an exact power of two near the inverse of the image's
    largest value (its canvas and point amplitudes), 1 for an empty image;
    ``finite`` is False where a value or a point position is not.
    """
    largest = jnp.zeros(())
    if sources.canvas is not None:
        # NaN mapped to inf explicitly: XLA:CPU's max may skip NaN
        canvas = sources.canvas
        largest = jnp.max(jnp.where(jnp.isfinite(canvas), jnp.abs(canvas), jnp.inf))
    finite = jnp.isfinite(largest)
    for amplitude, x0, y0 in sources.points:
        largest = jnp.maximum(largest, jnp.abs(amplitude))
        finite = finite & jnp.isfinite(amplitude) & jnp.isfinite(x0) & jnp.isfinite(y0)
    _, exponent = jnp.frexp(jnp.where(finite & (largest > 0), largest, 1.0))
    exponent = jnp.clip(exponent, -MAX_EXPONENT, MAX_EXPONENT)  # both powers stay finite
    return finite, jnp.ldexp(1.0, -exponent), jnp.ldexp(1.0, exponent)


def _image_parts(comp, values, grid):
    """A component's image as ``(image, corrections)`` (see ``Profile.image_parts``)."""
    parts = getattr(comp, "image_parts", None)
    return parts(values, grid) if parts is not None else (comp.image(values, grid), [])


def _corrected(image, corrections):
    for correction in corrections:
        image = apply_correction(image, correction)
    return image


def _canvas(convolver, image, corrections, response, theta):
    """The extended light zero-padded for the convolution, corrections added on the canvas.

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
    return canvas


def canvas_map(image_map, convolver):
    """A map of the image (a response) on ``convolver``'s canvas.

    Linear interpolation at the canvas's pixel positions (which a PSF
    centred between pixels shifts by half a pixel); beyond the edge the
    map repeats its edge values.
    """
    x0, y0 = convolver.origin
    rows, cols = (np.arange(n, dtype=float) for n in convolver.canvas)
    coords = np.meshgrid(rows + y0, cols + x0, indexing="ij")
    return ndimage.map_coordinates(np.asarray(image_map, float), coords, order=1, mode="nearest")


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
