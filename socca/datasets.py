"""Example data: the tutorial image of the user guide, made on demand.

The README's first fit, ``examples/tutorial.toml`` and the user guide's
"Getting started" read two files, ``tutorial_mock.fits`` and
``tutorial_psf.fits``. :func:`tutorial` writes them::

    >>> from socca import datasets
    >>> from socca.data import Image
    >>> mock, psf = datasets.tutorial()          # into the current folder
    >>> img = Image(mock, addpsf=dict(img=psf))

(``socca demo --data DIR`` does the same from the command line.)

The image is the guide's tutorial problem: 128 x 128 pixels of 0.1 arcsec on
a TAN projection centred on RA = 20 deg, Dec = -10 deg, holding a point source
on an exponential disk (:data:`TUTORIAL_TRUTH`), convolved with an elliptical
Gaussian PSF (FWHM 0.5 x 0.4 arcsec) and given white Gaussian noise of
standard deviation :data:`TUTORIAL_SIGMA`. It is rendered here with numpy and
scipy alone, not with socca's models: the sky is averaged over each pixel
(finely sub-sampled), rendered one PSF half-width beyond the edges, and
convolved with the PSF about its geometric centre. A fit with socca is
therefore a check of socca's own conventions, not a replay of them.

The PSF file holds that Gaussian sampled on 34 x 34 pixels about its
geometric centre (between the four middle pixels), normalised to unit sum:
the same array, to rounding, as the guide's ``tutorial_psf.fits``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from socca.errors import InputError, InputTypeError, SoccaError

__all__ = [
    "TUTORIAL_FILES",
    "TUTORIAL_SIGMA",
    "TUTORIAL_TRUTH",
    "ExistingFileError",
    "TutorialFiles",
    "missing_hint",
    "tutorial",
    "tutorial_hdus",
    "tutorial_image",
    "tutorial_psf",
]

ARCSEC = 1.0 / 3600.0  # degrees
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))

TUTORIAL_FILES = ("tutorial_mock.fits", "tutorial_psf.fits")
"""File names :func:`tutorial` writes: the image, then the PSF."""

TUTORIAL_SIGMA = 0.04
"""Standard deviation of the tutorial image's white Gaussian noise (image units)."""

TUTORIAL_TRUTH = {
    "xc": 20.0,  # deg, both components
    "yc": -10.0,  # deg
    "Ic": 10.0,  # point source: total flux (image units x pixels)
    "theta": 0.87,  # rad, major axis east of north
    "e": 0.6,  # 1 - axis ratio
    "re": 1.5 * ARCSEC,  # deg, along the major axis
    "Ie": 0.3,  # surface brightness at re (image units)
    "ns": 1.0,  # Sérsic index: an exponential disk
}
"""True parameters of the tutorial image: a ``Point`` and a ``Sersic`` sharing a centre."""

SHAPE = (128, 128)  # (ny, nx)
PIXSCALE = 0.1 * ARCSEC  # deg
PSF_SIZE = 34  # pixels along each axis
PSF_FWHM = (5.0, 4.0)  # pixels: major, minor
PSF_ANGLE = np.pi / 4  # major axis along the (+column, +row) diagonal, i.e. towards north-west
BEAM_PA = 135.0  # the same axis as a position angle east of north, degrees
SUBSAMPLE = 9  # sub-pixels per pixel side for the sky's pixel averages
CORE_SUBSAMPLE = 81  # finer, on the CORE x CORE pixels about the galaxy's cusp
CORE = 5


class ExistingFileError(SoccaError, FileExistsError):
    """A file that :func:`tutorial` would write already exists with other content."""


class TutorialFiles(NamedTuple):
    """Paths of the written tutorial files (unpack as ``mock, psf = ...``)."""

    mock: Path
    psf: Path


def tutorial_psf() -> np.ndarray:
    """The tutorial PSF: an elliptical Gaussian on 34 x 34 pixels, unit sum.

    The FWHM is 5 pixels (0.5 arcsec) along the major axis and 4 pixels
    (0.4 arcsec) along the minor one; the major axis runs along the array's
    (+column, +row) diagonal. The kernel is sampled about its geometric
    centre, the point between its four middle pixels.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(34, 34)`` that sums to 1.
    """
    rows, cols = np.indices((PSF_SIZE, PSF_SIZE)) - (PSF_SIZE - 1) / 2
    kernel = _gaussian(rows, cols)
    return kernel / kernel.sum()


def tutorial_image() -> np.ndarray:
    """The noiseless tutorial image: the true sources convolved with the PSF.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(128, 128)``, image units; row 0 is the
        southern edge and column 0 the eastern one.
    """
    half = PSF_SIZE // 2
    offsets = np.arange(-half, half + 1)
    kernel = _gaussian(offsets[:, None], offsets[None, :])
    kernel /= kernel.sum()
    sky = _disk_pixel_means(margin=half)
    disk = _convolve_valid(sky, kernel)
    rows, cols = np.indices(SHAPE) - _centre_pixel()
    point = _gaussian(rows, cols)
    return disk + TUTORIAL_TRUTH["Ic"] * point / _kernel_sum()


def tutorial_hdus(seed: int = 0) -> tuple[fits.PrimaryHDU, fits.PrimaryHDU]:
    """The tutorial image (with noise) and PSF as FITS HDUs, without writing files.

    Parameters
    ----------
    seed : int
        Seed of the noise (numpy's ``default_rng``); the same seed gives the
        same image.

    Returns
    -------
    mock : astropy.io.fits.PrimaryHDU
        The 128 x 128 image with its TAN WCS and the beam keywords.
    psf : astropy.io.fits.PrimaryHDU
        The 34 x 34 PSF (:func:`tutorial_psf`).
    """
    seed = _check_seed(seed)
    noise = np.random.default_rng(seed).normal(0.0, TUTORIAL_SIGMA, SHAPE)
    mock = fits.PrimaryHDU(data=tutorial_image() + noise, header=_image_header(seed))
    psf = fits.PrimaryHDU(data=tutorial_psf())
    psf.header["HISTORY"] = "socca.datasets.tutorial: PSF of tutorial_mock.fits"
    return mock, psf


def tutorial(outdir=".", overwrite: bool = False, seed: int = 0) -> TutorialFiles:
    """Write ``tutorial_mock.fits`` and ``tutorial_psf.fits`` into ``outdir``.

    Parameters
    ----------
    outdir : str or os.PathLike
        Folder for the two files; created if missing.
    overwrite : bool
        Replace files of these names that hold something else. Without it
        such a file stops the call before anything is written; a file that
        already holds exactly the data to be written is left as it is.
    seed : int
        Seed of the noise (see :func:`tutorial_hdus`).

    Returns
    -------
    TutorialFiles
        ``(mock, psf)``: the paths of the image and the PSF.

    Raises
    ------
    ExistingFileError
        If a file would be replaced and ``overwrite`` is false.
    """
    folder = _check_outdir(outdir)
    paths = TutorialFiles(*(folder / name for name in TUTORIAL_FILES))
    contents = [_fits_bytes(hdu) for hdu in tutorial_hdus(seed)]
    if not overwrite:
        for path, content in zip(paths, contents, strict=True):
            _refuse_other_file(path, content)
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in zip(paths, contents, strict=True):
        if not (path.is_file() and path.read_bytes() == content):
            path.write_bytes(content)
    return paths


def missing_hint(*paths) -> str:
    """Advice to append to a "file not found" message, or ``""``.

    Parameters
    ----------
    *paths : str or os.PathLike
        The missing files.

    Returns
    -------
    str
        When one of them is named ``tutorial_mock.fits`` or
        ``tutorial_psf.fits``, a clause (starting with ``"; "``) on how to
        make the tutorial data; otherwise an empty string.
    """
    if not any(os.path.basename(os.fspath(path)) in TUTORIAL_FILES for path in paths):
        return ""
    return (
        "; the tutorial data can be made with socca.datasets.tutorial(outdir) in Python "
        "or `socca demo --data DIR` on the command line"
    )


# --------------------------------------------------------------------------- rendering


def _gaussian(rows, cols):
    """The unnormalised tutorial PSF at offsets ``(rows, cols)`` in pixels from its centre."""
    sigma_major, sigma_minor = (f * FWHM_TO_SIGMA for f in PSF_FWHM)
    major = cols * np.cos(PSF_ANGLE) + rows * np.sin(PSF_ANGLE)
    minor = rows * np.cos(PSF_ANGLE) - cols * np.sin(PSF_ANGLE)
    return np.exp(-0.5 * ((major / sigma_major) ** 2 + (minor / sigma_minor) ** 2))


def _kernel_sum() -> float:
    """Sum of the unnormalised PSF at whole-pixel offsets, far enough to hold all its light."""
    offsets = np.arange(-4 * PSF_SIZE, 4 * PSF_SIZE + 1)
    return float(_gaussian(offsets[:, None], offsets[None, :]).sum())


def _centre_pixel() -> float:
    """0-based pixel index (both axes) of the reference point, where the sources sit."""
    return SHAPE[0] / 2


def _disk_intensity(rows, cols):
    """Surface brightness of the tutorial's Sérsic disk at 0-based pixel coordinates."""
    from scipy.special import gammaincinv

    t = TUTORIAL_TRUTH
    centre = _centre_pixel()
    east = -(cols - centre) * PIXSCALE  # RA grows towards lower columns (CDELT1 < 0)
    north = (rows - centre) * PIXSCALE
    major = east * np.sin(t["theta"]) + north * np.cos(t["theta"])
    minor = (east * np.cos(t["theta"]) - north * np.sin(t["theta"])) / (1.0 - t["e"])
    radius = np.hypot(major, minor)
    bn = gammaincinv(2.0 * t["ns"], 0.5)
    return t["Ie"] * np.exp(-bn * ((radius / t["re"]) ** (1.0 / t["ns"]) - 1.0))


def _pixel_means(first_row, first_col, ny, nx, sub):
    """Mean of the disk over each of ``ny x nx`` pixels, on ``sub x sub`` points per pixel."""
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    rows = (first_row + np.arange(ny)[:, None] + offsets).ravel()
    cols = (first_col + np.arange(nx)[:, None] + offsets).ravel()
    values = _disk_intensity(rows[:, None], cols[None, :])
    return values.reshape(ny, sub, nx, sub).mean(axis=(1, 3))


def _disk_pixel_means(margin):
    """Pixel means of the disk on the image grown by ``margin`` pixels on every side."""
    ny, nx = SHAPE[0] + 2 * margin, SHAPE[1] + 2 * margin
    sky = _pixel_means(-margin, -margin, ny, nx, SUBSAMPLE)
    first = int(_centre_pixel()) - CORE // 2
    core = _pixel_means(first, first, CORE, CORE, CORE_SUBSAMPLE)
    sky[first + margin : first + margin + CORE, first + margin : first + margin + CORE] = core
    return sky


def _convolve_valid(sky, kernel):
    """``sky`` convolved with the odd, centred ``kernel``, keeping only fully covered pixels."""
    from scipy.signal import fftconvolve

    return fftconvolve(sky, kernel, mode="valid")


def _image_header(seed) -> fits.Header:
    """TAN WCS of the tutorial image, the beam, and how it was made."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [TUTORIAL_TRUTH["xc"], TUTORIAL_TRUTH["yc"]]
    wcs.wcs.cdelt = [-PIXSCALE, PIXSCALE]
    wcs.wcs.crpix = [_centre_pixel() + 1, _centre_pixel() + 1]  # FITS pixels count from 1
    wcs.wcs.cunit = ["deg", "deg"]
    header = wcs.to_header()
    header["BMAJ"] = (PSF_FWHM[0] * PIXSCALE, "[deg] PSF FWHM, major axis")
    header["BMIN"] = (PSF_FWHM[1] * PIXSCALE, "[deg] PSF FWHM, minor axis")
    header["BPA"] = (BEAM_PA, "[deg] PSF major axis, east of north")
    header["NOISE"] = (TUTORIAL_SIGMA, "standard deviation of the Gaussian noise")
    header["SEED"] = (seed, "seed of the noise (numpy default_rng)")
    header["HISTORY"] = "socca.datasets.tutorial: the user guide's tutorial image"
    return header


# --------------------------------------------------------------------------- checks and files


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputTypeError(f"seed: expected a non-negative integer, got {seed!r}")
    if seed < 0:
        raise InputError(f"seed: expected a non-negative integer, got {seed}")
    return int(seed)


def _check_outdir(outdir) -> Path:
    if not isinstance(outdir, str | os.PathLike):
        raise InputTypeError(
            f"outdir: expected a folder path (str or os.PathLike), got {type(outdir).__name__}"
        )
    folder = Path(outdir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"outdir: {folder} exists and is not a folder")
    return folder


def _fits_bytes(hdu) -> bytes:
    buffer = io.BytesIO()
    hdu.writeto(buffer)
    return buffer.getvalue()


def _refuse_other_file(path: Path, content: bytes) -> None:
    """Raise :class:`ExistingFileError` if ``path`` exists and holds anything but ``content``."""
    if not os.path.lexists(path):
        return
    if path.is_file() and path.read_bytes() == content:
        return
    raise ExistingFileError(
        f"{path} already exists and is not this tutorial data; pass overwrite=True "
        "(--overwrite on the command line) to replace it, or choose another folder"
    )
