"""PSF kernels: placement on the image, normalisation, validation, extent."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from scipy.signal import fftconvolve

import socca  # noqa: F401  (turns on jax x64)
from socca.data import Image
from socca.data.psf import kernel_extent, place_kernel

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MOCK = DATA / "tutorial_mock.fits"
PSF = DATA / "tutorial_psf.fits"


class StubNoise:
    """Stand-in noise model counting how often it is bound."""

    def __init__(self):
        self.binds = 0

    def bind(self, img):
        self.binds += 1


def ramp(shape):
    return np.arange(1.0, np.prod(shape) + 1).reshape(shape)


# (kernel shape, image shape, destination slices, source slices), built by hand
# from: kernel centre (K-1)//2 goes to image index (N-1)//2 along each axis.
PLACEMENTS = [
    ((3, 3), (5, 5), np.s_[1:4, 1:4], np.s_[:, :]),  # odd in odd: centre 1 -> 2
    ((4, 4), (7, 7), np.s_[2:6, 2:6], np.s_[:, :]),  # even in odd: centre 1 -> 3
    ((3, 3), (6, 6), np.s_[1:4, 1:4], np.s_[:, :]),  # odd in even: centre 1 -> 2
    ((4, 4), (6, 6), np.s_[1:5, 1:5], np.s_[:, :]),  # even in even: centre 1 -> 2
    ((7, 7), (3, 3), np.s_[:, :], np.s_[2:5, 2:5]),  # larger, odd: centre 3 -> 1
    ((6, 6), (3, 3), np.s_[:, :], np.s_[1:4, 1:4]),  # larger, even in odd: 2 -> 1
    ((7, 7), (4, 4), np.s_[:, :], np.s_[2:6, 2:6]),  # larger, odd in even: 3 -> 1
    ((3, 5), (4, 8), np.s_[0:3, 1:6], np.s_[:, :]),  # rectangular
    ((9, 2), (4, 5), np.s_[:, 2:4], np.s_[3:7, :]),  # cropped along y, padded along x
]


@pytest.mark.parametrize("kshape, ishape, dst, src", PLACEMENTS)
def test_place_kernel_by_hand(kshape, ishape, dst, src):
    kernel = ramp(kshape)
    expected = np.zeros(ishape)
    expected[dst] = kernel[src]
    np.testing.assert_array_equal(place_kernel(kernel, ishape), expected)


@pytest.mark.parametrize("kshape, ishape", [p[:2] for p in PLACEMENTS])
def test_place_kernel_matches_fftconvolve_same(kshape, ishape):
    # A delta at the image centre convolved with the kernel ('same' mode) is the
    # kernel placed on the image with scipy's centring convention.
    kernel = ramp(kshape)
    delta = np.zeros(ishape)
    delta[(ishape[0] - 1) // 2, (ishape[1] - 1) // 2] = 1.0
    ref = fftconvolve(delta, kernel, mode="same")
    np.testing.assert_allclose(place_kernel(kernel, ishape), ref, rtol=0, atol=1e-9)


def test_kernel_extent():
    psf = np.zeros((9, 10))  # centre (4, 4)
    psf[4, 4] = 1
    assert kernel_extent(psf) == (0, 0)
    psf[1, 5] = 1
    psf[6, 9] = 1
    assert kernel_extent(psf) == (3, 5)
    assert kernel_extent(np.zeros((5, 5))) == (0, 0)


@pytest.fixture
def image():
    return Image(str(MOCK), noise=StubNoise())


def test_tutorial_psf(image):
    kernel = fits.getdata(PSF).astype(float)
    image.addpsf(str(PSF))
    assert image.psf.shape == (128, 128) and image.psf.dtype == np.float64
    assert image.psf.sum() == pytest.approx(1.0, abs=1e-14)
    # 34-pixel kernel, centre 16, on a 128-pixel axis, centre 63: pixels 47..80.
    expected = np.zeros((128, 128))
    expected[47:81, 47:81] = kernel / kernel.sum()
    np.testing.assert_allclose(image.psf, expected, rtol=1e-14, atol=0)
    assert image.psf_extent == (17, 17)
    assert image.noise.binds == 1  # a noise model that ignores the PSF is not rebound


def test_psf_change_rebinds_noise_that_uses_it():
    noise = StubNoise()
    noise.uses_psf = True
    img = Image(str(MOCK), noise=noise)
    img.addpsf(str(PSF))
    assert noise.binds == 2


def test_sources_and_normalisation(image):
    kernel = np.zeros((5, 5))
    kernel[1:4, 2] = [1.0, 4.0, 1.0]
    for source in (kernel, fits.ImageHDU(kernel), fits.HDUList([fits.PrimaryHDU(kernel)])):
        image.addpsf(source)
        assert image.psf[63, 63] == pytest.approx(4 / 6)
        assert image.psf_extent == (1, 0)
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(2 * kernel)])
    image.addpsf(hdul, normalize=False, idx=1)
    assert image.psf.sum() == pytest.approx(12.0)
    assert image.psf[63, 63] == 8.0


def test_cropped_kernel_is_normalised_on_the_image():
    small = Image(str(MOCK), noise=StubNoise(), center=(64, 64), csize=9)
    kernel = np.ones((21, 21))
    small.addpsf(kernel)
    assert small.psf.shape == (9, 9)
    np.testing.assert_allclose(small.psf, 1 / 81)
    assert small.psf_extent == (4, 4)
    small.addpsf(kernel, normalize=False)
    np.testing.assert_array_equal(small.psf, np.ones((9, 9)))


def test_invalid_kernels(image):
    nan = np.ones((5, 5))
    nan[0, 0] = nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="2 non-finite"):
        image.addpsf(nan)
    zero = np.zeros((5, 5))
    zero[2, 1], zero[2, 3] = 1.0, -1.0
    with pytest.raises(ValueError, match="sums to zero"):
        image.addpsf(zero)
    image.addpsf(zero, normalize=False)  # allowed when not normalising
    assert image.psf.sum() == 0.0 and image.psf_extent == (0, 1)
    with pytest.raises(ValueError, match="2-D"):
        image.addpsf(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        image.addpsf(np.ones(5))
    with pytest.raises(TypeError, match="psf"):
        image.addpsf(object())
    with pytest.raises(FileNotFoundError, match="missing.fits"):
        image.addpsf("missing.fits")
