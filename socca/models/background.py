"""Sky background."""

from __future__ import annotations

from socca.models.component import DEG_PER_ARCSEC, Component, Param, is_static_zero
from socca.models.domain import POSITIVE

# (parameter, power of x, power of y) of the cubic polynomial beyond a0
TERMS = (
    ("a1x", 1, 0),
    ("a1y", 0, 1),
    ("a2xx", 2, 0),
    ("a2xy", 1, 1),
    ("a2yy", 0, 2),
    ("a3xxx", 3, 0),
    ("a3xxy", 2, 1),
    ("a3xyy", 1, 2),
    ("a3yyy", 0, 3),
)


class Background(Component):
    """Polynomial sky background, up to third order; never PSF-convolved.

    ``B(x, y) = a0 + a1x x + a1y y + a2xx x² + ... + a3yyy y³`` with
    ``x, y`` the tangent-plane offsets (east, north) from the image centre in
    units of ``rs`` (1 arcsec by default).
    """

    kind = "background"
    PARAMS = (
        Param("rs", DEG_PER_ARCSEC, "deg", "Length unit of the polynomial coordinates", POSITIVE),
        Param("a0", None, "image", "Constant level"),
    ) + tuple(Param(name, 0.0, "image", f"Coefficient of x^{px} y^{py}") for name, px, py in TERMS)

    def image(self, values, grid):
        """Background on the pixel centres of ``grid``."""
        x = grid.xi_centre / values["rs"]
        y = grid.eta_centre / values["rs"]
        out = values["a0"] + 0.0 * x
        for name, px, py in TERMS:
            if is_static_zero(values[name]):
                continue
            out = out + values[name] * x**px * y**py
        return out
