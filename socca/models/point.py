"""Unresolved sources."""

from __future__ import annotations

import jax.numpy as jnp

from socca.models.component import Component, Param
from socca.models.domain import DECLINATION


class Point(Component):
    """A point source of total flux ``Ic`` at ``(xc, yc)``.

    Convolved with the PSF it is rendered in Fourier space as a phase ramp
    times the PSF transform, so sub-pixel positions are exact. The
    unconvolved ("raw") image deposits the flux on the four nearest pixels
    with bilinear weights, which conserves both the flux and the centroid.
    """

    kind = "point"
    PARAMS = (
        Param("xc", None, "deg", "Right ascension"),
        Param("yc", None, "deg", "Declination", DECLINATION),
        Param("Ic", None, "image", "Total flux (image units x pixels)"),
    )

    @staticmethod
    def pixel_position(values, grid):
        """0-based (column, row) pixel position of the source."""
        return grid.pixel_of(*grid.project(values["xc"], values["yc"]))

    def weights(self, values, grid):
        """Bilinear (tent) weights along rows and columns, shapes (ny,) and (nx,)."""
        x0, y0 = self.pixel_position(values, grid)
        wx = jnp.maximum(0.0, 1.0 - jnp.abs(grid.columns - x0))
        wy = jnp.maximum(0.0, 1.0 - jnp.abs(grid.rows - y0))
        return wy, wx

    def image(self, values, grid):
        """Unconvolved image: the flux split over the four nearest pixels."""
        wy, wx = self.weights(values, grid)
        return values["Ic"] * wy[:, None] * wx[None, :]
