"""Point sources: flux and sub-pixel centroid, before and after convolution."""

import numpy as np
import pytest

from socca.data import Image
from socca.models import Point
from socca.noise import Normal
from tests.conftest import gaussian_psf, make_hdu


def centroid(image):
    y, x = np.indices(image.shape)
    return (image * x).sum() / image.sum(), (image * y).sum() / image.sum()


@pytest.fixture
def image():
    return Image(
        make_hdu((64, 64)), noise=Normal(sigma=1.0), addpsf=dict(img=gaussian_psf(25, 2.0))
    )


@pytest.mark.parametrize("x0, y0", [(30.37, 31.81), (20.5, 40.02), (33.0, 29.999)])
def test_flux_and_centroid(image, x0, y0):
    (ra, dec) = image.wcs.pixel_to_world_values(x0, y0)
    point = Point(xc=float(ra), yc=float(dec), Ic=7.5)
    for convolve in (False, True):
        m = point.getmap(image, convolve=convolve)
        assert m.sum() == pytest.approx(7.5, rel=1e-6)
        cx, cy = centroid(m)
        assert abs(cx - x0) < 1e-3 and abs(cy - y0) < 1e-3


def test_convolved_point_is_the_shifted_psf(image):
    # at an integer pixel the convolved image is exactly the PSF moved there
    ra, dec = image.wcs.pixel_to_world_values(25, 36)
    m = Point(xc=float(ra), yc=float(dec), Ic=2.0).getmap(image, convolve=True)
    expected = np.roll(image.psf, (36 - 31, 25 - 31), axis=(0, 1)) * 2.0
    np.testing.assert_allclose(m, expected, atol=1e-12)


def test_point_outside_the_image_sheds_light_only_at_the_near_edge(image):
    ra, dec = image.wcs.pixel_to_world_values(-3.0, 30.0)
    m = Point(xc=float(ra), yc=float(dec), Ic=5.0).getmap(image, convolve=True)
    assert m[:, :8].sum() > 0.1
    assert np.abs(m[:, 20:]).max() < 1e-12
