"""Accurate pixel averages near the centre of cuspy profiles.

A regular sub-pixel lattice integrates smooth light well but fails where the
profile has a cusp inside a pixel: a Sérsic n = 4 galaxy with a sub-pixel
effective radius has a central pixel average off by a large factor when the
lattice point sits on the peak. Every radial component is therefore rendered
twice near its centre:

* the ``PATCH x PATCH`` pixels around the pixel holding the centre are
  re-averaged with a ``FINE x FINE`` Gauss-Legendre product rule, and the
  3 x 3 pixels nearest the centre with a ``FINER x FINER`` one;
* the pixel holding the centre is integrated in polar coordinates about the
  centre itself: ``∫∫ f dA = ∫ dφ ∫_0^{s_max(φ)} f s ds``, over eight right
  triangles with the centre as apex (see ``CentreRefiner._polar_average``),
  with radial nodes crowded towards the centre by ``s = s_max t^RADIAL_POWER``,
  which turns the cusps of Sérsic profiles (up to n ≈ RADIAL_POWER) into
  smooth integrands in ``t``.

All of it is pure JAX with static shapes: jit, vmap and grad see one program.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

from socca.models.fusion import materialise

PATCH = 5
FINE = 8
INNER = 3
FINER = 16
RADIAL_POWER = 4
RADIAL_NODES = 16
ANGULAR_NODES = 8  # per triangle, along its pixel edge


def _lattice(n):
    """Gauss-Legendre product rule on the unit pixel: x, y offsets and weights, ``(n*n,)``."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    nodes, weights = 0.5 * nodes, 0.5 * weights
    y, x = np.meshgrid(nodes, nodes, indexing="ij")
    return x.ravel(), y.ravel(), np.outer(weights, weights).ravel()


class CentreRefiner:
    """Static data for refining a rendered image around a source centre.

    Parameters
    ----------
    pixel_xi, pixel_eta : numpy.ndarray
        Tangent-plane coordinates (deg) of the pixel centres, ``(ny, nx)``.
    jacobian : numpy.ndarray
        ``d(xi, eta) / d(x, y)`` of the pixel grid, ``(2, 2)``.
    """

    def __init__(self, pixel_xi, pixel_eta, jacobian):
        ny, nx = pixel_xi.shape
        self.shape = (ny, nx)
        self.size = (min(PATCH, ny), min(PATCH, nx))
        self.pixel_xi = jnp.asarray(pixel_xi)
        self.pixel_eta = jnp.asarray(pixel_eta)
        self.jacobian = np.asarray(jacobian, dtype=float)
        self.fine = self._rule(FINE)
        self.finer = self._rule(FINER)
        t, wt = np.polynomial.legendre.leggauss(RADIAL_NODES)
        self.t = jnp.asarray(0.5 * (t + 1.0))
        self.wt = jnp.asarray(0.5 * wt)
        u, wu = np.polynomial.legendre.leggauss(ANGULAR_NODES)
        self.u = jnp.asarray(0.5 * (u + 1.0))
        self.wu = jnp.asarray(0.5 * wu)

    def _rule(self, n):
        x, y, w = _lattice(n)
        return tuple(jnp.asarray(a) for a in (*self._to_tangent(x, y), w))

    def _to_tangent(self, dx, dy):
        jac = self.jacobian
        return jac[0, 0] * dx + jac[0, 1] * dy, jac[1, 0] * dx + jac[1, 1] * dy

    def refine(self, image, brightness, x0, y0):
        """``image`` with the pixels around pixel position ``(x0, y0)`` integrated accurately.

        Parameters
        ----------
        image : jax.Array
            The lattice-averaged image ``(ny, nx)``.
        brightness : callable
            ``(xi, eta) -> surface brightness`` at tangent-plane positions (deg).
        x0, y0 : jax.Array
            The source centre in 0-based pixel coordinates (column, row).

        Returns
        -------
        jax.Array
            The image with the patch replaced. A centre off the image refines
            the nearest patch on the image, which is harmless.
        """
        patch, origin = self.correction(brightness, x0, y0)
        return lax.dynamic_update_slice(image, patch, origin)

    def correction(self, brightness, x0, y0, lattice=None):
        """What :meth:`refine` adds to the lattice-averaged image, as ``(delta, (row, column))``.

        Parameters
        ----------
        brightness : callable
            As for :meth:`refine`.
        x0, y0 : jax.Array
            The source centre in 0-based pixel coordinates (column, row).
        lattice : tuple of jax.Array, optional
            ``(xi, eta)`` of the image's own sub-pixel lattice, ``(S, ny, nx)``
            each: ``delta`` is then the accurate averages minus the lattice
            averages over the patch, to be added at the given origin (see
            :func:`apply_correction`). Without it, ``delta`` holds the accurate
            averages themselves.

        Notes
        -----
        The lattice averages of the patch are recomputed here rather than
        read from the image, so that the image has a single consumer and XLA
        writes it straight into the zero-padded canvas of the convolution;
        the renderer adds the correction to that canvas in place.
        """
        col = jnp.round(x0).astype(int)
        row = jnp.round(y0).astype(int)
        ny, nx = self.shape
        origin = self._origin(row, col, self.size)
        patch = self._lattice_average(brightness, origin, self.size, self.fine)
        inner_size = (min(INNER, ny), min(INNER, nx))
        inner_origin = self._origin(row, col, inner_size)
        inner = self._lattice_average(brightness, inner_origin, inner_size, self.finer)
        offset = (inner_origin[0] - origin[0], inner_origin[1] - origin[1])
        patch = lax.dynamic_update_slice(patch, inner, offset)
        inside = (row >= 0) & (row < ny) & (col >= 0) & (col < nx)
        rc, cc = jnp.clip(row, 0, ny - 1), jnp.clip(col, 0, nx - 1)
        centre = self._polar_average(brightness, x0 - col, y0 - row, rc, cc)
        local = (rc - origin[0], cc - origin[1])
        patch = patch.at[local].set(jnp.where(inside, centre, patch[local]))
        if lattice is not None:
            start = (0, *origin)
            size = (lattice[0].shape[0], *self.size)
            xi, eta = (lax.dynamic_slice(a, start, size) for a in lattice)
            patch = patch - jnp.mean(brightness(xi, eta), axis=0)
        return patch, origin

    def _origin(self, row, col, size):
        """First row and column of the ``size`` block about ``(row, col)``, kept on the image."""
        ny, nx = self.shape
        return (
            jnp.clip(row - size[0] // 2, 0, ny - size[0]),
            jnp.clip(col - size[1] // 2, 0, nx - size[1]),
        )

    def _lattice_average(self, brightness, origin, size, offsets):
        """Lattice averages of the ``size`` block of pixels starting at ``origin``."""
        pxi, peta = materialise(  # else the slicing is redone for every node
            lax.dynamic_slice(self.pixel_xi, origin, size),
            lax.dynamic_slice(self.pixel_eta, origin, size),
        )
        dxi, deta, weights = offsets
        # nodes on the last axis: XLA vectorises along it, so it must be the long one
        values = brightness(pxi[..., None] + dxi, peta[..., None] + deta)
        return values @ weights

    def _polar_average(self, brightness, dx, dy, row, col):
        """Mean brightness over pixel ``(row, col)``, integrated in polar coordinates.

        The pole is the source centre, at offset ``(dx, dy)`` pixels (within
        ±0.5) from the pixel centre. The pixel is cut into eight right
        triangles, each with the pole as apex and the foot of the
        perpendicular on one edge: with ``q`` the distance along the edge
        from that foot, ``dφ = d dq / (d² + q²)`` and the ray to the edge has
        length ``sqrt(d² + q²)``, so a constant is integrated exactly.
        """
        d = jnp.stack([0.5 - dx, 0.5 - dx, 0.5 + dx, 0.5 + dx,
                       0.5 - dy, 0.5 - dy, 0.5 + dy, 0.5 + dy])  # fmt: skip
        length = jnp.stack([0.5 - dy, 0.5 + dy, 0.5 - dy, 0.5 + dy,
                            0.5 - dx, 0.5 + dx, 0.5 - dx, 0.5 + dx])  # fmt: skip
        normal, tangent = _TRIANGLE_NORMALS, _TRIANGLE_TANGENTS
        q = length[:, None] * self.u[None, :]  # (8, A) along each edge
        wq = length[:, None] * self.wu[None, :] * d[:, None] / (d[:, None] ** 2 + q**2)
        # ray to the edge point: direction (d n + q t), length smax
        ex = d[:, None] * normal[:, 0:1] + q * tangent[:, 0:1]
        ey = d[:, None] * normal[:, 1:2] + q * tangent[:, 1:2]
        p = RADIAL_POWER
        # s = smax t^p along the ray: the point is (ex, ey) t^p; ds = smax p t^(p-1) dt
        frac = self.t**p  # (R,)
        px = dx + ex[..., None] * frac
        py = dy + ey[..., None] * frac
        smax2 = (ex**2 + ey**2)[..., None]
        weight = wq[..., None] * self.wt * smax2 * frac * p * self.t ** (p - 1)
        dxi, deta = self._to_tangent(px, py)
        values = brightness(self.pixel_xi[row, col] + dxi, self.pixel_eta[row, col] + deta)
        return jnp.sum(weight * values)


# Unit outward normals and edge directions of the eight right triangles (right, left,
# top, bottom edges; each split at the foot of the perpendicular from the pole).
_TRIANGLE_NORMALS = np.repeat([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], 2, 0)
_TRIANGLE_TANGENTS = np.asarray([[0.0, 1.0], [0.0, -1.0]] * 2 + [[1.0, 0.0], [-1.0, 0.0]] * 2)


def apply_correction(target, correction):
    """Add a :meth:`CentreRefiner.correction` to ``target`` (the image or a padded canvas)."""
    delta, origin = correction
    current = lax.dynamic_slice(target, origin, delta.shape)
    return lax.dynamic_update_slice(target, current + delta, origin)
