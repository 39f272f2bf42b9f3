"""Coordinate grid of an image: world and tangent-plane coordinates of its pixels.

The model components are evaluated in the gnomonic (TAN) tangent plane about
the WCS reference point, in degrees: the standard coordinates ``(xi, eta)``
with ``xi`` increasing eastward (with RA) and ``eta`` northward. Working in the
tangent plane, rather than with raw RA differences, makes RA wrap-around at
0/360 deg a non-issue and keeps sub-pixel offsets exact in float64.
"""

from __future__ import annotations

import numbers

import jax.numpy as jnp
import numpy as np
from astropy.wcs import WCS

from socca.errors import InputError, InputTypeError

# Largest number of pixel centres per axis used to fit the (xi, eta) -> pixel
# map; the map is affine, so a sparse lattice that includes the edges suffices.
_FIT_POINTS_PER_AXIS = 65


def gnomonic(ra, dec, ra0, dec0, xp=np):
    """Gnomonic (TAN) standard coordinates of ``(ra, dec)`` about ``(ra0, dec0)``.

    Parameters
    ----------
    ra, dec : float or array
        World coordinates in degrees.
    ra0, dec0 : float
        Tangent point in degrees.
    xp : module
        Array namespace, ``numpy`` or ``jax.numpy``.

    Returns
    -------
    xi, eta : float or array
        Standard coordinates in degrees; ``xi`` grows eastward, ``eta`` northward.
    """
    ra, dec = xp.deg2rad(ra), xp.deg2rad(dec)
    ra0, dec0 = xp.deg2rad(ra0), xp.deg2rad(dec0)
    dra = ra - ra0
    cos_dec, sin_dec = xp.cos(dec), xp.sin(dec)
    cos_dra = xp.cos(dra)
    cos_c = xp.sin(dec0) * sin_dec + xp.cos(dec0) * cos_dec * cos_dra
    xi = cos_dec * xp.sin(dra) / cos_c
    eta = (xp.cos(dec0) * sin_dec - xp.sin(dec0) * cos_dec * cos_dra) / cos_c
    return xp.rad2deg(xi), xp.rad2deg(eta)


def celestial_axes(wcs: WCS) -> tuple[int, int]:
    """Indices ``(lng, lat)`` of the longitude and latitude axes of a celestial WCS."""
    lng, lat = int(wcs.wcs.lng), int(wcs.wcs.lat)
    if lng < 0 or lat < 0:
        raise InputError(
            f"wcs: expected a celestial WCS, got CTYPE {list(wcs.wcs.ctype)!r} "
            "(need e.g. 'RA---TAN' and 'DEC--TAN')"
        )
    return lng, lat


def subpixel_offsets(subgrid: int) -> np.ndarray:
    """Offsets in pixels of the ``subgrid`` sub-pixel centres along one axis."""
    return (np.arange(subgrid) + 0.5) / subgrid - 0.5


class Grid:
    """World and tangent-plane coordinates of the pixels of an image.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial (two-axis) WCS of the image.
    shape : tuple of int
        Image shape ``(ny, nx)``.
    subgrid : int
        Each pixel is sampled on a ``subgrid x subgrid`` lattice of sub-pixels.

    Attributes
    ----------
    wcs : astropy.wcs.WCS
        The WCS the grid was built from.
    shape : tuple of int
        ``(ny, nx)``.
    subgrid : int
        Sub-pixels per pixel along each axis.
    ra, dec : numpy.ndarray
        World coordinates (deg) of the pixel centres, shape ``(ny, nx)``; RA in [0, 360).
    ra0, dec0 : float
        Tangent point (deg): the celestial reference value ``CRVAL`` of the WCS.
    xi, eta : numpy.ndarray
        Standard coordinates (deg) of every sub-pixel centre about ``(ra0, dec0)``,
        shape ``(subgrid**2, ny, nx)``. Sub-pixel ``s = iy * subgrid + ix`` sits at
        offsets ``((ix + 0.5) / subgrid - 0.5, (iy + 0.5) / subgrid - 0.5)`` pixels
        from the pixel centre.
    pixscale : float
        Pixel scale in degrees, ``sqrt(|det J|)`` of the pixel -> ``(xi, eta)`` Jacobian.
    jacobian : numpy.ndarray
        ``d(xi, eta) / d(x, y)`` in deg per pixel, shape ``(2, 2)``.
    origin : tuple of float
        ``(x, y)`` pixel coordinates, in the WCS's own pixel frame, of this
        grid's pixel ``(0, 0)``: ``(0, 0)`` for an image's own grid. A grid
        that reaches beyond the image, or is shifted by a fraction of a pixel
        (the canvas of a PSF convolution, see :mod:`socca.models.render`),
        has another; :meth:`pixel_of` answers in this grid's pixels.
    """

    def __init__(self, wcs: WCS, shape, subgrid: int = 1, origin=(0.0, 0.0)):
        if not isinstance(wcs, WCS):
            raise InputTypeError(f"wcs: expected an astropy.wcs.WCS, got {type(wcs).__name__}")
        if wcs.naxis != 2:
            raise InputError(f"wcs: expected a two-axis celestial WCS, got {wcs.naxis} axes")
        lng, lat = celestial_axes(wcs)
        shape = tuple(shape)
        if len(shape) != 2 or not all(isinstance(n, numbers.Integral) and n > 0 for n in shape):
            raise InputError(f"shape: expected (ny, nx) positive integers, got {shape!r}")
        self.subgrid = check_subgrid(subgrid)
        self.wcs = wcs
        self.shape = (int(shape[0]), int(shape[1]))
        self.ra0 = float(wcs.wcs.crval[lng])
        self.dec0 = float(wcs.wcs.crval[lat])
        self._lng, self._lat = lng, lat
        self.origin = (float(origin[0]), float(origin[1]))

        y, x = np.indices(self.shape, dtype=np.float64)
        self.ra, self.dec = self._world(x, y)

        off = subpixel_offsets(self.subgrid)
        oy, ox = (a.ravel() for a in np.meshgrid(off, off, indexing="ij"))
        xs = x[None] + ox[:, None, None]
        ys = y[None] + oy[:, None, None]
        self.xi, self.eta = gnomonic(*self._world(xs, ys), self.ra0, self.dec0)

        self._fit_pixel_map()

    def _world(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RA in [0, 360) and Dec (deg) of this grid's 0-based pixel coordinates."""
        world = self.wcs.pixel_to_world_values(x + self.origin[0], y + self.origin[1])
        ra = np.mod(np.asarray(world[self._lng], dtype=np.float64), 360.0)
        return ra, np.asarray(world[self._lat], dtype=np.float64)

    def _fit_pixel_map(self) -> None:
        """Least-squares affine map pixel -> (xi, eta) on a lattice of pixel centres."""
        ny, nx = self.shape
        # at least two points per axis (pixel 1 lies just outside a one-pixel-wide
        # image, which the WCS describes as well), else the map is undetermined
        iy = np.unique(np.linspace(0, max(ny - 1, 1), _fit_points(ny)).round().astype(int))
        ix = np.unique(np.linspace(0, max(nx - 1, 1), _fit_points(nx)).round().astype(int))
        yy, xx = (a.ravel().astype(np.float64) for a in np.meshgrid(iy, ix, indexing="ij"))
        xi, eta = gnomonic(*self._world(xx, yy), self.ra0, self.dec0)
        design = np.column_stack([np.ones_like(xx), xx, yy])
        coef, *_ = np.linalg.lstsq(design, np.column_stack([xi, eta]), rcond=None)
        # coef rows: offset, d/dx, d/dy; columns: xi, eta.
        self._tangent_at_zero = coef[0].copy()
        self.jacobian = coef[1:].T.copy()
        det = np.linalg.det(self.jacobian)
        if det == 0.0:
            raise InputError("wcs: the pixel -> sky map is degenerate (zero Jacobian)")
        self._inverse = np.linalg.inv(self.jacobian)
        self.pixscale = float(np.sqrt(abs(det)))

    def project(self, ra, dec):
        """Standard coordinates (deg) about ``(ra0, dec0)`` of world positions.

        Parameters
        ----------
        ra, dec : float or array
            World coordinates in degrees (traced JAX values are fine).

        Returns
        -------
        xi, eta : jax.Array
            Tangent-plane coordinates in degrees.
        """
        return gnomonic(jnp.asarray(ra), jnp.asarray(dec), self.ra0, self.dec0, xp=jnp)

    def pixel_of(self, xi, eta):
        """0-based pixel coordinates ``(x, y)`` (x = column) of tangent-plane positions.

        Parameters
        ----------
        xi, eta : float or array
            Standard coordinates in degrees (traced JAX values are fine).

        Returns
        -------
        x, y : jax.Array
            Pixel coordinates; exact for a TAN WCS without distortions.
        """
        dxi = jnp.asarray(xi) - self._tangent_at_zero[0]
        deta = jnp.asarray(eta) - self._tangent_at_zero[1]
        inv = self._inverse
        return inv[0, 0] * dxi + inv[0, 1] * deta, inv[1, 0] * dxi + inv[1, 1] * deta

    def __repr__(self) -> str:
        origin = "" if self.origin == (0.0, 0.0) else f"origin={self.origin}, "
        return (
            f"Grid(shape={self.shape}, subgrid={self.subgrid}, {origin}"
            f"ra0={self.ra0:.6f}, dec0={self.dec0:.6f}, pixscale={self.pixscale * 3600:.4g}\")"
        )


def _fit_points(n: int) -> int:
    """Lattice points along an axis of ``n`` pixels used to fit the affine pixel map."""
    return min(max(n, 2), _FIT_POINTS_PER_AXIS)


def check_subgrid(subgrid) -> int:
    """Return ``subgrid`` as an int, or raise if it is not an integer >= 1."""
    if isinstance(subgrid, bool) or not isinstance(subgrid, numbers.Integral) or subgrid < 1:
        raise InputError(f"subgrid: expected an integer >= 1, got {subgrid!r}")
    return int(subgrid)
