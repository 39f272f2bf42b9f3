"""Reading images, maps and kernels handed in as paths, HDUs or arrays."""

from __future__ import annotations

import os

import numpy as np
from astropy.io import fits

from socca.errors import InputError, InputIndexError, InputTypeError, MissingFileError

ArrayLike = str | os.PathLike | fits.HDUList | fits.PrimaryHDU | fits.ImageHDU | np.ndarray


def read_hdu(source, idx: int = 0, what: str = "image") -> fits.PrimaryHDU | fits.ImageHDU:
    """Return the image HDU named by ``source``.

    Parameters
    ----------
    source : str, os.PathLike, HDUList, PrimaryHDU or ImageHDU
        A FITS file path or an already opened HDU/HDU list.
    idx : int
        Which HDU to take from a file or an ``HDUList``.
    what : str
        What the data are (used in error messages), e.g. ``"image"`` or ``"psf"``.
    """
    if isinstance(source, str | os.PathLike):
        if not os.path.exists(source):
            raise MissingFileError(f"{what}: FITS file {os.fspath(source)!r} does not exist")
        with fits.open(source, memmap=False) as hdul:
            hdu = _pick(hdul, idx, what, os.fspath(source))
            return hdu.__class__(data=None if hdu.data is None else np.array(hdu.data),
                                 header=hdu.header.copy())
    if isinstance(source, fits.HDUList):
        return _pick(source, idx, what, "the HDUList")
    if isinstance(source, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU):
        return source
    raise InputTypeError(
        f"{what}: expected a FITS path, an HDU or an HDUList, got {type(source).__name__}"
    )


def _pick(hdul: fits.HDUList, idx: int, what: str, where: str):
    if not -len(hdul) <= idx < len(hdul):
        raise InputIndexError(
            f"{what}: HDU index {idx} out of range for {where} with {len(hdul)} HDUs"
        )
    hdu = hdul[idx]
    if hdu.data is None:
        raise InputError(f"{what}: HDU {idx} of {where} holds no data")
    return hdu


def as_float_array(data, what: str = "array") -> np.ndarray:
    """Native-endian float64 copy of ``data`` (FITS data are often big-endian)."""
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise InputTypeError(f"{what}: expected numeric data, got dtype {arr.dtype}")
    return np.array(arr, dtype=np.float64)


def read_array(source, idx: int = 0, what: str = "array") -> tuple[np.ndarray, fits.Header | None]:
    """Return ``(float64 array, header or None)`` for a path, HDU, HDUList or array."""
    # An HDUList is a list: test for it before treating lists as arrays.
    is_array = isinstance(source, np.ndarray | list | tuple | float | int | np.number)
    if is_array and not isinstance(source, fits.HDUList):
        return as_float_array(source, what), None
    hdu = read_hdu(source, idx=idx, what=what)
    return as_float_array(hdu.data, what), hdu.header
