"""Point-spread-function kernels: reading, validating and placing them on an image.

Conventions (the same for every kernel and image):

* A pixel's centre has integer 0-based coordinates: pixel ``(row, column)``
  spans ``row - 1/2 .. row + 1/2`` and ``column - 1/2 .. column + 1/2``.
* A kernel's centre is its geometric centre, ``((ky - 1) / 2, (kx - 1) / 2)``:
  the middle pixel along an axis of odd length, the point between the two
  middle pixels along an even one. A symmetric kernel therefore moves no
  light, whatever its size.
* A kernel placed on an image of shape ``(ny, nx)`` has its pixel
  ``((ky - 1) // 2, (kx - 1) // 2)`` at the image's pixel
  ``((ny - 1) // 2, (nx - 1) // 2)``; it is zero-padded, or cropped about that
  pixel, to the image shape. Along an even axis its true centre lies half a
  pixel beyond (:func:`centre_offset`); the convolution accounts for it
  (:mod:`socca.models.render`).
"""

from __future__ import annotations

import numpy as np

from socca.data.io import read_array
from socca.errors import InputError


def read_kernel(source, idx: int = 0) -> np.ndarray:
    """Read and validate a PSF kernel.

    Parameters
    ----------
    source : str, os.PathLike, HDU, HDUList or array
        The kernel: a FITS path, an HDU/HDU list or a 2-D array.
    idx : int
        HDU to read from a file or an HDU list.

    Returns
    -------
    numpy.ndarray
        Native-endian float64 copy of the kernel, shape ``(ky, kx)``.

    Raises
    ------
    ValueError
        If the kernel is not 2-D (after dropping length-1 leading axes), is empty
        or has non-finite pixels.
    """
    kernel, _ = read_array(source, idx=idx, what="psf")
    while kernel.ndim > 2 and kernel.shape[0] == 1:
        kernel = kernel[0]
    if kernel.ndim != 2:
        raise InputError(f"psf: expected a 2-D kernel, got an array of shape {kernel.shape}")
    if kernel.size == 0:
        raise InputError(f"psf: the kernel is empty (shape {kernel.shape})")
    bad = int(np.count_nonzero(~np.isfinite(kernel)))
    if bad:
        raise InputError(
            f"psf: the kernel has {bad} non-finite (NaN/inf) pixels out of {kernel.size}; "
            "expected finite values"
        )
    return kernel


def _place_axis(klen: int, nlen: int) -> tuple[slice, slice]:
    """Source and destination slices putting kernel centre on image centre, one axis."""
    shift = (nlen - 1) // 2 - (klen - 1) // 2  # destination index = source index + shift
    lo, hi = max(0, -shift), min(klen, nlen - shift)
    return slice(lo, hi), slice(lo + shift, hi + shift)


def place_kernel(kernel: np.ndarray, shape) -> np.ndarray:
    """Centre ``kernel`` on an array of ``shape``, zero-padding or cropping it.

    Parameters
    ----------
    kernel : numpy.ndarray
        2-D kernel whose centre is pixel ``((ky - 1) // 2, (kx - 1) // 2)``.
    shape : tuple of int
        Target shape ``(ny, nx)``.

    Returns
    -------
    numpy.ndarray
        Float64 array of ``shape`` with the kernel centre at
        ``((ny - 1) // 2, (nx - 1) // 2)``.
    """
    out = np.zeros(tuple(shape), dtype=np.float64)
    (sy, dy), (sx, dx) = (_place_axis(k, n) for k, n in zip(kernel.shape, shape, strict=True))
    out[dy, dx] = kernel[sy, sx]
    return out


def centre_offset(kernel_shape) -> tuple[float, float]:
    """Offset ``(rows, columns)`` of a kernel's geometric centre from its pixel ``(k - 1) // 2``.

    Parameters
    ----------
    kernel_shape : tuple of int
        ``(ky, kx)`` of the kernel as given, before placing it on an image.

    Returns
    -------
    tuple of float
        0 along an axis of odd length, 0.5 along an even one.
    """
    return tuple(0.5 if k % 2 == 0 else 0.0 for k in kernel_shape)


def kernel_extent(psf: np.ndarray) -> tuple[int, int]:
    """Largest distance ``(hy, hx)`` in pixels between the centre and a non-zero pixel.

    Parameters
    ----------
    psf : numpy.ndarray
        Placed kernel, centre at ``((ny - 1) // 2, (nx - 1) // 2)``.

    Returns
    -------
    tuple of int
        ``(hy, hx)``; ``(0, 0)`` for an all-zero array.
    """
    rows, cols = np.nonzero(psf)
    if rows.size == 0:
        return 0, 0
    cy, cx = ((n - 1) // 2 for n in psf.shape)
    return int(np.abs(rows - cy).max()), int(np.abs(cols - cx).max())


def prepare_psf(kernel: np.ndarray, shape, normalize: bool = True) -> np.ndarray:
    """Place ``kernel`` on an image of ``shape`` and optionally normalise it.

    Parameters
    ----------
    kernel : numpy.ndarray
        Validated 2-D kernel (see :func:`read_kernel`).
    shape : tuple of int
        Image shape ``(ny, nx)``.
    normalize : bool
        Scale the placed kernel to unit sum.

    Returns
    -------
    numpy.ndarray
        The placed kernel, float64 of ``shape``.

    Raises
    ------
    InputError
        If ``normalize`` is set and the placed kernel does not sum to a
        positive number.
    """
    psf = place_kernel(kernel, shape)
    if normalize:
        total = psf.sum()
        if not total > 0.0:
            cropped = " after cropping to the image" if kernel.sum() > 0.0 else ""
            raise InputError(f"psf: the kernel {_sum_problem(total, cropped)}; {_NORMALIZE_HINT}")
        psf /= total
    return psf


_NORMALIZE_HINT = (
    "expected a kernel with a positive sum, or pass normalize=False to keep it as is"
)


def _sum_problem(total: float, where: str = "") -> str:
    """Why a kernel summing to ``total`` (``where``: after what) cannot be scaled to unit sum."""
    if total == 0.0:
        return f"sums to zero{where} and cannot be normalised to unit sum"
    return f"sums to {total:.4g}{where} < 0: normalising it to unit sum would flip its sign"


def check_normalizable(kernel: np.ndarray, normalize: bool) -> None:
    """Raise :class:`~socca.errors.InputError` if ``kernel`` must be normalised but cannot be.

    Parameters
    ----------
    kernel : numpy.ndarray
        The kernel as read.
    normalize : bool
        Whether it is to be scaled to unit sum.
    """
    total = float(kernel.sum())
    if normalize and not total > 0.0:
        raise InputError(f"psf: the kernel {_sum_problem(total)}; {_NORMALIZE_HINT}")
