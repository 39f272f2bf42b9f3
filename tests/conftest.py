"""Shared fixtures: synthetic images with a TAN WCS, and the tutorial data."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import socca  # noqa: F401  (turns on float64 in JAX)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ARCSEC = 1.0 / 3600.0


def tan_header(shape, ra=20.0, dec=-10.0, pixscale=ARCSEC, crpix=None):
    """FITS header of a TAN image of ``shape`` centred on (ra, dec)."""
    ny, nx = shape
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.cdelt = [-pixscale, pixscale]
    w.wcs.crpix = list(crpix) if crpix is not None else [(nx + 1) / 2, (ny + 1) / 2]
    w.wcs.cunit = ["deg", "deg"]
    return w.to_header()


def make_hdu(shape=(64, 64), data=None, seed=0, **wcs_kw):
    """An ImageHDU with Gaussian noise (or ``data``) and a TAN WCS."""
    if data is None:
        data = np.random.default_rng(seed).normal(0.0, 1.0, shape)
    return fits.PrimaryHDU(data=np.asarray(data, dtype=float), header=tan_header(shape, **wcs_kw))


def gaussian_psf(size=15, sigma=1.5):
    """A symmetric, unit-sum Gaussian kernel of odd ``size``."""
    y, x = np.indices((size, size)) - (size - 1) / 2
    k = np.exp(-0.5 * (x**2 + y**2) / sigma**2)
    return k / k.sum()


@pytest.fixture
def tutorial_paths():
    mock, psf = SHARED_DATA / "tutorial_mock.fits", SHARED_DATA / "tutorial_psf.fits"
    if not mock.exists():
        pytest.fail(f"tutorial data missing at {SHARED_DATA}")
    return mock, psf


def centre_patch(shape, row, col):
    """Mask of the pixels re-integrated around a radial source centred in pixel (row, col).

    Outside it a rendered profile is the plain sub-pixel lattice average;
    inside it, socca.models.oversample integrates more accurately.
    """
    from socca.models.oversample import PATCH

    ny, nx = shape
    h = PATCH // 2
    r0 = min(max(row - h, 0), ny - min(PATCH, ny))
    c0 = min(max(col - h, 0), nx - min(PATCH, nx))
    mask = np.zeros(shape, dtype=bool)
    mask[r0 : r0 + PATCH, c0 : c0 + PATCH] = True
    return mask
