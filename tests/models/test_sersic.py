"""Sérsic profile: b_n, total flux against the analytic integral, n = 0.5 = Gaussian."""

import jax
import numpy as np
import pytest
from scipy import integrate, special

from socca.data import Image
from socca.models import Gaussian, Sersic
from socca.models.profiles import sersic_bn
from socca.noise import Normal
from tests.conftest import ARCSEC, make_hdu


def test_bn_matches_scipy_over_the_valid_range():
    n = np.linspace(0.25, 10.0, 500)
    reference = special.gammaincinv(2 * n, 0.5)
    np.testing.assert_allclose(np.asarray(sersic_bn(n)), reference, rtol=1e-6)


def test_bn_gradient_is_the_implicit_derivative():
    eps = 1e-6
    for n in (0.3, 1.0, 4.0, 9.0):
        numeric = special.gammaincinv(2 * (n + eps), 0.5) - special.gammaincinv(2 * (n - eps), 0.5)
        assert float(jax.grad(sersic_bn)(n)) == pytest.approx(numeric / (2 * eps), rel=1e-6)


def analytic_total(re, Ie, n, e):
    b = special.gammaincinv(2 * n, 0.5)
    return 2 * np.pi * n * re**2 * Ie * np.exp(b) * b ** (-2 * n) * special.gamma(2 * n) * (1 - e)


def fraction_inside_square(re, n, half):
    """Fraction of a round Sérsic's light inside a square of half-side ``half`` (quadrature)."""
    b = special.gammaincinv(2 * n, 0.5)

    def ring(r):
        arc = 2 * np.pi * r
        if r > half:
            arc -= 8 * r * np.arccos(half / r)
        return np.exp(-b * (r / re) ** (1 / n)) * arc

    radii = [0, re * 1e-4, re * 1e-2, re, half, half * np.sqrt(2)]
    inside = sum(
        integrate.quad(ring, a, c, limit=400, epsabs=0)[0]
        for a, c in zip(radii, radii[1:], strict=False)
    )
    total = 2 * np.pi * n * re**2 * b ** (-2 * n) * special.gamma(2 * n)
    return inside / total


# Cusp-y high-index profiles need finer sub-pixel sampling to converge.
@pytest.mark.parametrize("ns, subgrid", [(0.5, 5), (1.0, 5), (2.0, 9), (4.0, 9), (8.0, 15)])
def test_total_flux_matches_the_analytic_integral(ns, subgrid):
    re_pix = 12.0
    img = Image(make_hdu((128, 128)), noise=Normal(sigma=1.0), subgrid=subgrid)
    # centred on the corner shared by four pixels: 64 pixels from every edge
    ra, dec = img.wcs.pixel_to_world_values(63.5, 63.5)
    comp = Sersic(xc=float(ra), yc=float(dec), re=re_pix * ARCSEC, Ie=1.0, ns=ns)
    flux = comp.getmap(img).sum()  # 1"/pixel: a sum over pixels integrates in pixel units
    expected = analytic_total(re_pix, 1.0, ns, 0.0) * fraction_inside_square(re_pix, ns, 64.0)
    assert flux == pytest.approx(expected, rel=5e-3)


def test_flux_scales_with_axis_ratio():
    img = Image(make_hdu((96, 96)), noise=Normal(sigma=1.0), subgrid=5)
    centre = img.grid.ra[48, 48], img.grid.dec[48, 48]
    for e in (0.0, 0.3, 0.6):
        comp = Sersic(xc=centre[0], yc=centre[1], re=6 * ARCSEC, Ie=2.0, ns=1.0, e=e, theta=0.4)
        flux = comp.getmap(img).sum()
        assert flux == pytest.approx(analytic_total(6.0, 2.0, 1.0, e), rel=5e-3)


def test_half_index_sersic_is_a_gaussian():
    img = Image(make_hdu((48, 48)), noise=Normal(sigma=1.0))
    ra, dec = img.grid.ra[20, 25], img.grid.dec[20, 25]
    re, Ie = 5 * ARCSEC, 3.0
    b = special.gammaincinv(1.0, 0.5)
    ser = Sersic(xc=ra, yc=dec, re=re, Ie=Ie, ns=0.5, e=0.4, theta=1.1).getmap(img)
    gau = Gaussian(xc=ra, yc=dec, rs=re / np.sqrt(2 * b), Is=Ie * np.exp(b), e=0.4, theta=1.1)
    np.testing.assert_allclose(ser, gau.getmap(img), rtol=1e-10, atol=1e-14)
