"""PSF convolution of a canvas (image and margin): linear, equal to scipy's direct convolution."""

import numpy as np
import pytest
from scipy import signal

from socca.data import Image
from socca.models import Gaussian
from socca.models.convolve import FourierConvolver, padded_shape, psf_halfwidth
from socca.noise import Normal
from tests.conftest import ARCSEC, gaussian_psf, make_hdu


def elongated_psf(size):
    y, x = np.indices((size, size)) - (size - 1) / 2
    k = np.exp(-0.5 * ((x + 0.3 * y) ** 2 / 2.0**2 + y**2 / 1.2**2)) + 0.01 * (x > 0)
    return k / k.sum()


@pytest.mark.parametrize("shape, ksize", [((64, 64), 15), ((50, 71), 34), ((33, 40), 9)])
def test_matches_scipy_fftconvolve_same(shape, ksize):
    rng = np.random.default_rng(1)
    image = rng.normal(size=shape)
    image[:, :3] += 50.0  # bright light along the edge must not wrap to the other side
    img = Image(make_hdu(shape), noise=Normal(sigma=1.0), addpsf=dict(img=elongated_psf(ksize)))
    conv = FourierConvolver(img.psf)
    expected = signal.fftconvolve(image, img.psf, mode="same")
    canvas = np.pad(image, [(h, h) for h in conv.halfwidth])  # nothing beyond the edge
    np.testing.assert_allclose(np.asarray(conv(canvas)), expected, rtol=1e-10, atol=1e-10 * 50)


def test_light_beyond_the_edge_is_convolved_in_and_does_not_wrap():
    """A source on the edge: its light from beyond the edge is there, none wraps around.

    The reference draws the source on an image 20 pixels wider on every side
    (the same WCS) and convolves it with scipy, then crops.
    """
    psf = dict(img=gaussian_psf(21, 2.0))
    img = Image(make_hdu((64, 64)), noise=Normal(sigma=1.0), addpsf=psf)
    wide = Image(
        make_hdu((104, 104), crpix=(32.5 + 20, 32.5 + 20)), noise=Normal(sigma=1.0), addpsf=psf
    )
    src = Gaussian(xc=img.grid.ra[32, 0], yc=img.grid.dec[32, 0], rs=1.5 * ARCSEC, Is=10.0)
    smoothed = src.getmap(img, convolve=True)
    expected = signal.fftconvolve(src.getmap(wide), img.psf, mode="same")[20:84, 20:84]
    np.testing.assert_allclose(smoothed, expected, rtol=0, atol=1e-10)
    inside_only = signal.fftconvolve(src.getmap(img), img.psf, mode="same")
    assert smoothed[32, 0] > 1.5 * inside_only[32, 0]  # the light from outside is in
    assert np.abs(smoothed[:, -8:]).max() < 1e-12


def test_padding_is_fft_friendly_and_just_enough():
    psf = np.zeros((128, 128))
    psf[63 - 17 : 63 + 17, 63 - 17 : 63 + 17] = 1.0  # a 34-pixel kernel placed in a 128 image
    assert psf_halfwidth(psf) == (17, 17)
    assert padded_shape((128, 128), (17, 17)) == (162, 162)


def test_point_spectrum_is_a_shifted_delta():
    kernel = np.pad(gaussian_psf(9, 1.2), 10)  # a 29 x 29 image holding the PSF
    conv = FourierConvolver(kernel)
    x0, y0 = 7.3, 11.6
    spectrum = np.asarray(conv.point_spectrum(2.5, x0, y0))
    fy, fx = np.fft.fftfreq(conv.padded[0]), np.fft.rfftfreq(conv.padded[1])
    # on the canvas the point lies one half-width (the margin) farther on
    (hy, hx) = conv.halfwidth
    ramp_y, ramp_x = np.exp(-2j * np.pi * fy * (y0 + hy)), np.exp(-2j * np.pi * fx * (x0 + hx))
    # the Nyquist terms of even axes are real (cos), as for any real image
    ramp_y[np.abs(fy) == 0.5] = ramp_y[np.abs(fy) == 0.5].real
    ramp_x[np.abs(fx) == 0.5] = ramp_x[np.abs(fx) == 0.5].real
    assert conv.padded[0] % 2 == 0 and np.any(np.abs(fy) == 0.5)
    np.testing.assert_allclose(spectrum, 2.5 * np.outer(ramp_y, ramp_x), rtol=1e-13, atol=1e-13)
    # at an integer position the image is the PSF, centred there
    image = np.asarray(conv.finish(conv.point_spectrum(1.0, 12.0, 14.0)))
    delta = np.zeros(conv.shape)
    delta[14, 12] = 1.0
    expected = signal.fftconvolve(delta, kernel, mode="same")
    np.testing.assert_allclose(image, expected, atol=1e-12)


def test_a_shifted_point_is_the_same_along_both_axes():
    """A symmetric PSF and a point at (x0, y0): the transposed image is the point at (y0, x0)."""
    conv = FourierConvolver(np.pad(gaussian_psf(9, 0.6), 10))
    image = np.asarray(conv.finish(conv.point_spectrum(1.0, 7.3, 11.6)))
    swapped = np.asarray(conv.finish(conv.point_spectrum(1.0, 11.6, 7.3)))
    np.testing.assert_allclose(image.T, swapped, rtol=0, atol=1e-15)


def test_a_complex_pair_convolves_two_images_at_once():
    img = Image(make_hdu((50, 71)), noise=Normal(sigma=1.0), addpsf=dict(img=elongated_psf(34)))
    conv = FourierConvolver(img.psf)
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 50, 71))
    b[:, -3:] += 1e3  # the second much brighter: rounding must not leak into the first
    canvas = [np.zeros(conv.padded) for _ in range(2)]
    (hy, hx) = conv.halfwidth
    canvas[0][hy : hy + 50, hx : hx + 71], canvas[1][hy : hy + 50, hx : hx + 71] = a, b
    spectrum = conv.transform_pair(*canvas)
    spectrum = spectrum + conv.point_spectrum_full(2.0, 10.4, 20.7)  # a point in the first
    spectrum = spectrum + conv.point_spectrum_full(3.0j, 60.1, -5.5)  # and one in the second
    first, second = (np.asarray(x) for x in conv.finish_pair(spectrum))
    expected_a = conv.finish(conv.transform(canvas[0]) + conv.point_spectrum(2.0, 10.4, 20.7))
    expected_b = conv.finish(conv.transform(canvas[1]) + conv.point_spectrum(3.0, 60.1, -5.5))
    np.testing.assert_allclose(first, expected_a, rtol=0, atol=1e-9)
    np.testing.assert_allclose(second, expected_b, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        first,
        signal.fftconvolve(a, img.psf, mode="same") + np.asarray(expected_a - conv(canvas[0])),
        rtol=0, atol=1e-9,
    )  # fmt: skip
