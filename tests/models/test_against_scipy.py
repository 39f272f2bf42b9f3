"""Rendering and convolution against a renderer written here from the published formulas.

The reference draws a Sérsic profile, ``I(r) = Ie exp(-b_n ((r / re)^(1/n) - 1))``
with ``b_n`` from ``scipy.special.gammaincinv(2n, 1/2)``, as pixel averages
(a fine midpoint lattice) on the image and a wide margin around it, and
convolves that with ``scipy.signal.fftconvolve``. Its conventions are the
ones socca documents (docs/data.md): pixel centres at integer 0-based
coordinates, and a kernel's centre at its geometric centre ``(K - 1) / 2``,
which for an even ``K`` lies between two pixels. Point sources are checked
against a Gaussian PSF evaluated analytically at the point's sub-pixel
offset.
"""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import signal, special

from socca.data import Image
from socca.models import Model, Point, Sersic
from socca.noise import Normal
from tests.conftest import SHARED_DATA, make_hdu

PIXEL = 0.2 / 3600.0  # degrees
SHAPE = (48, 56)
FINE = 8  # reference sub-pixels per axis
SIGMA_PSF = 1.6  # pixels


def sampled_gaussian(size):
    """A unit-sum Gaussian sampled at pixel offsets from the kernel's geometric centre."""
    y, x = np.indices((size, size)) - (size - 1) / 2
    kernel = np.exp(-0.5 * (x**2 + y**2) / SIGMA_PSF**2)
    return kernel / kernel.sum()


def image(kernel, shape=SHAPE, subgrid=4):
    hdu = make_hdu(shape, pixscale=PIXEL)
    return Image(hdu, noise=Normal(sigma=1.0), addpsf=dict(img=kernel), subgrid=subgrid)


def sky(img, x, y):
    """RA, Dec of 0-based pixel ``(x, y)`` (anywhere, on or off the image)."""
    ra, dec = WCS(img.hdu.header).pixel_to_world_values(x, y)
    return float(ra), float(dec)


def sersic_pixels(x0, y0, re_pix, n, ie, rows, cols):
    """Pixel averages of a circular Sérsic profile centred at pixel ``(x0, y0)``."""
    b = special.gammaincinv(2 * n, 0.5)
    offsets = (np.arange(FINE) + 0.5) / FINE - 0.5
    total = np.zeros((rows.size, cols.size))
    for dy in offsets:
        for dx in offsets:
            r = np.hypot(cols[None, :] + dx - x0, rows[:, None] + dy - y0)
            total += ie * np.exp(-b * ((r / re_pix) ** (1.0 / n) - 1.0))
    return total / FINE**2


def reference_convolved(x0, y0, re_pix, n, ie, kernel, shape=SHAPE):
    """The convolved profile on the image, drawn over a margin of a kernel's size."""
    ky, kx = kernel.shape
    shift = [0.5 if k % 2 == 0 else 0.0 for k in kernel.shape]  # geometric centre
    rows = np.arange(-ky, shape[0] + ky) + shift[0]
    cols = np.arange(-kx, shape[1] + kx) + shift[1]
    wide = sersic_pixels(x0, y0, re_pix, n, ie, rows, cols)
    full = signal.fftconvolve(wide, kernel, mode="full")
    # full[o] gathers wide[o - j] k[j]: the image's pixel p is o = p + K + (K - 1) / 2 - shift
    start = [int(k + (k - 1) / 2 - s) for k, s in zip(kernel.shape, shift, strict=True)]
    return full[start[0] : start[0] + shape[0], start[1] : start[1] + shape[1]]


def galaxy(img, x0, y0, re_pix, n, ie):
    ra, dec = sky(img, x0, y0)
    return Sersic(xc=ra, yc=dec, theta=0.0, e=0.0, re=re_pix * PIXEL, Ie=ie, ns=n)


@pytest.mark.parametrize("size", [15, 16, 21, 22])
@pytest.mark.parametrize(
    "x0, y0",
    [
        (27.3, 22.8),  # sub-pixel on both axes, well inside
        (1.6, 40.25),  # near the left edge, most of the light on the image
        (-3.4, 20.7),  # beyond the left edge: only its margin light reaches the image
        (54.2, -2.6),  # beyond a corner
    ],
)
def test_sersic_convolved_matches_the_reference(size, x0, y0):
    kernel = sampled_gaussian(size)
    img = image(kernel)
    model = galaxy(img, x0, y0, re_pix=4.0, n=1.0, ie=3.0)
    rendered = model.getmap(img, convolve=True)
    expected = reference_convolved(x0, y0, 4.0, 1.0, 3.0, kernel)
    # the scale is the profile's peak, so that a source off the image is held as tightly
    np.testing.assert_allclose(rendered, expected, rtol=0, atol=2e-3 * 3.0)


def test_flat_light_keeps_its_level_up_to_the_edges():
    """A profile flat over the image stays flat once convolved: no darkness from outside."""
    kernel = sampled_gaussian(21)
    img = image(kernel, subgrid=1)
    ra, dec = sky(img, 27.5, 23.5)
    flat = Sersic(xc=ra, yc=dec, theta=0.0, e=0.0, re=1.0, Ie=2.0, ns=0.5)  # re of a degree
    raw = flat.getmap(img)
    smoothed = flat.getmap(img, convolve=True)
    np.testing.assert_allclose(smoothed, raw, rtol=1e-3)
    assert np.ptp(raw) / raw.mean() < 1e-4  # the profile is flat to this level


def gaussian_point(x0, y0, flux, shape=SHAPE):
    """A point of ``flux`` at pixel ``(x0, y0)`` seen through the sampled Gaussian PSF."""
    y, x = np.indices(shape, dtype=float)
    values = np.exp(-0.5 * ((x - x0) ** 2 + (y - y0) ** 2) / SIGMA_PSF**2)
    return flux * values / (2 * np.pi * SIGMA_PSF**2)


@pytest.mark.parametrize("size", [21, 22])
@pytest.mark.parametrize("x0, y0", [(30.0, 20.0), (30.37, 19.81), (-2.3, 12.6), (57.4, 49.1)])
def test_point_matches_the_gaussian_psf_at_its_position(size, x0, y0):
    img = image(sampled_gaussian(size), subgrid=1)
    ra, dec = sky(img, x0, y0)
    point = Point(xc=ra, yc=dec, Ic=5.0)
    rendered = point.getmap(img, convolve=True)
    expected = gaussian_point(x0, y0, 5.0)
    peak = 5.0 / (2 * np.pi * SIGMA_PSF**2)
    np.testing.assert_allclose(rendered, expected, rtol=0, atol=2e-4 * peak)


def tutorial_psf():
    return fits.getdata(SHARED_DATA / "tutorial_psf.fits").astype(float)


@pytest.mark.parametrize("x0, y0", [(64.0, 64.0), (63.3, 64.7)])
def test_the_tutorial_even_psf_keeps_a_point_centroid(x0, y0):
    kernel = tutorial_psf()
    assert kernel.shape == (34, 34)
    img = image(kernel, shape=(128, 128), subgrid=1)
    ra, dec = sky(img, x0, y0)
    smoothed = Point(xc=ra, yc=dec, Ic=1.0).getmap(img, convolve=True)
    yy, xx = np.indices(smoothed.shape)
    # the expected centroid: the point's position plus the kernel's own centroid offset
    ky, kx = np.indices(kernel.shape)
    dy = (kernel * ky).sum() / kernel.sum() - 16.5
    dx = (kernel * kx).sum() / kernel.sum() - 16.5
    centroid = (smoothed * xx).sum() / smoothed.sum(), (smoothed * yy).sum() / smoothed.sum()
    assert centroid[0] == pytest.approx(x0 + dx, abs=1e-3)
    assert centroid[1] == pytest.approx(y0 + dy, abs=1e-3)
    assert abs(dx) < 0.01 and abs(dy) < 0.01  # the tutorial's kernel is centred


def test_model_of_several_components_renders_each_against_the_reference():
    kernel = sampled_gaussian(16)
    img = image(kernel)
    parts = [(20.4, 25.3, 3.0, 1.0, 2.0), (33.7, 15.2, 2.5, 0.7, 1.0)]
    model = Model([galaxy(img, *p) for p in parts])
    _, smoothed, _, _ = model.getmodel(img, [])
    expected = sum(reference_convolved(*p, kernel) for p in parts)
    np.testing.assert_allclose(smoothed, expected, rtol=0, atol=2e-3 * 2.0)
