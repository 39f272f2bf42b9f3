"""Simulated images: blank WCS images, Gaussian PSFs, and mock observations of a model.

Used by ``socca demo``, the tests and the benchmarks; handy for injection and
recovery experiments::

    >>> from socca import simulate
    >>> img, truth = simulate.mock_observation(simulate.quickstart_truth(), sigma=0.05)
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from socca.data import Image
from socca.models import Model, Point, Sersic
from socca.noise import Normal

ARCSEC = 1.0 / 3600.0


def blank_hdu(shape=(128, 128), ra=20.0, dec=-10.0, pixscale=0.1 * ARCSEC):
    """A zero-valued image with a TAN WCS centred on ``(ra, dec)``.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)``.
    ra, dec : float
        Centre, degrees.
    pixscale : float
        Pixel size, degrees (default 0.1 arcsec).
    """
    ny, nx = shape
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra, dec]
    w.wcs.cdelt = [-pixscale, pixscale]
    w.wcs.crpix = [nx / 2 + 1, ny / 2 + 1]
    w.wcs.cunit = ["deg", "deg"]
    return fits.PrimaryHDU(data=np.zeros(shape), header=w.to_header())


def gaussian_psf(size=25, fwhm=4.0, e=0.0, theta=0.0):
    """A unit-sum elliptical Gaussian kernel of odd ``size`` (``fwhm`` in pixels)."""
    if size % 2 == 0:
        raise ValueError(f"size must be odd so the kernel has a central pixel, got {size}")
    y, x = np.indices((size, size)) - (size - 1) / 2
    sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
    major = x * np.sin(theta) + y * np.cos(theta)
    minor = (x * np.cos(theta) - y * np.sin(theta)) / (1 - e)
    kernel = np.exp(-0.5 * (major**2 + minor**2) / sigma**2)
    return kernel / kernel.sum()


def quickstart_truth(ra=20.0, dec=-10.0):
    """The guide's quickstart source: a point source on a Sérsic galaxy (all fixed)."""
    point = Point(xc=ra, yc=dec, Ic=10.0)
    galaxy = Sersic(xc=ra, yc=dec, theta=0.87, e=0.6, re=1.5 * ARCSEC, Ie=0.3, ns=1.0)
    return Model([point, galaxy])


def mock_observation(
    model,
    shape=(128, 128),
    ra=20.0,
    dec=-10.0,
    pixscale=0.1 * ARCSEC,
    psf=None,
    sigma=0.05,
    seed=0,
    subgrid=1,
):
    """Render a fully fixed model, convolve it, add Gaussian noise.

    Parameters
    ----------
    model : socca.models.Model
        Every parameter must be fixed (or tied to fixed ones).
    shape, ra, dec, pixscale
        Image geometry (see :func:`blank_hdu`).
    psf : numpy.ndarray, optional
        PSF kernel; default :func:`gaussian_psf` with a 4-pixel FWHM.
    sigma : float
        Noise standard deviation, image units.
    seed : int
        Seed of the noise draw.
    subgrid : int
        Sub-pixel sampling of the rendering.

    Returns
    -------
    img : socca.data.Image
        The mock, with its PSF attached and ``Normal(sigma=sigma)`` noise.
    truth : numpy.ndarray
        The noiseless model image.
    """
    psf = gaussian_psf() if psf is None else psf
    hdu = blank_hdu(shape, ra, dec, pixscale)
    with contextlib.redirect_stdout(io.StringIO()):
        frame = Image(hdu, noise=Normal(sigma=sigma), addpsf=dict(img=psf), subgrid=subgrid)
    truth = model.getmap(frame, convolve=True, addbackground=True)
    noisy = truth + np.random.default_rng(seed).normal(0.0, sigma, shape)
    hdu = fits.PrimaryHDU(data=noisy, header=hdu.header)
    img = Image(hdu, noise=Normal(sigma=sigma), addpsf=dict(img=psf), subgrid=subgrid)
    return img, truth
