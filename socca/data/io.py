"""Reading images, maps and kernels handed in as paths, HDUs or arrays."""

from __future__ import annotations

import numbers
import os

import numpy as np
from astropy.io import fits

from socca.datasets import missing_hint
from socca.errors import InputError, InputIndexError, InputTypeError, MissingFileError

ArrayLike = str | os.PathLike | fits.HDUList | fits.PrimaryHDU | fits.ImageHDU | np.ndarray

_NOT_ARRAYS = (str, bytes, os.PathLike, fits.HDUList, fits.PrimaryHDU, fits.ImageHDU,
               fits.CompImageHDU)


def is_array_like(obj) -> bool:
    """Whether ``obj`` is an array or a number, rather than a path or an HDU.

    True for numpy arrays and scalars, Python numbers, and any object numpy
    can convert without copying it element by element: JAX arrays, and
    others with an ``__array__`` method or the array interface. Lists and
    tuples are not included (the callers decide how to read them).
    """
    if isinstance(obj, np.ndarray | np.generic | numbers.Number):
        return True
    if isinstance(obj, _NOT_ARRAYS):
        return False
    return hasattr(obj, "__array__") or hasattr(obj, "__array_interface__")


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
            raise MissingFileError(
                f"{what}: FITS file {os.fspath(source)!r} does not exist{missing_hint(source)}"
            )
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
    """Return ``(float64 array, header or None)`` for a path, HDU, HDUList, number or array.

    Arrays may be numpy arrays, nested lists, or any object numpy converts
    (JAX arrays, ...); see :func:`is_array_like`.
    """
    # An HDUList is a list: test for it before treating lists as arrays.
    is_list = isinstance(source, list | tuple) and not isinstance(source, fits.HDUList)
    if is_list or is_array_like(source):
        return as_float_array(source, what), None
    if not isinstance(source, _NOT_ARRAYS):
        raise InputTypeError(
            f"{what}: expected a number, an array (numpy, JAX, ...), a FITS path, an HDU or an "
            f"HDUList, got {type(source).__name__}"
        )
    hdu = read_hdu(source, idx=idx, what=what)
    return as_float_array(hdu.data, what), hdu.header
