"""Noise statistics estimated from a cube of noise realisations.

Shared by :class:`~socca.noise.NormalCorrelated` (covariance as a function of
lag) and :class:`~socca.noise.NormalFourier` (power spectrum). Both smooth the
estimated *power spectrum* with a small kernel; for a covariance this is the
same as multiplying it by a lag window that is 1 at zero lag and tapers the
long, poorly measured lags, so the variance is preserved and the result stays
positive semi-definite.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from socca.data.io import read_array
from socca.errors import InputError

#: The default smoothing kernel: a 5-point stencil (centre 4, neighbours 1,
#: normalised). Its transform ``(4 + 2 cos a + 2 cos b) / 8`` is non-negative,
#: so repeated passes never flip the sign of a lag.
STENCIL = np.array([[0.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 0.0]]) / 8.0


def read_cube(cube, what: str) -> np.ndarray:
    """Read a cube of noise realisations.

    Parameters
    ----------
    cube : array, str, os.PathLike, HDU or HDUList
        Realisations stacked along the first axis, shape ``(nr, ny, nx)``; a
        single 2-D map counts as one realisation.
    what : str
        Name used in error messages, e.g. ``"NormalFourier cube"``.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(nr, ny, nx)``.
    """
    if isinstance(cube, str):
        cube = Path(cube)
    arr, _ = read_array(cube, what=what)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] < 1 or min(arr.shape[1:]) < 1:
        raise InputError(f"{what}: expected an array of shape (nr, ny, nx), got {arr.shape}")
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise InputError(f"{what}: {bad} values are NaN or inf; noise realisations must be finite")
    if not np.any(arr != arr.flat[0]):
        raise InputError(f"{what}: every value is {arr.flat[0]}; the realisations hold no noise")
    return arr


def check_cube_shape(cube: np.ndarray, shape, what: str) -> None:
    """Raise ``ValueError`` unless the realisations have the image ``shape``."""
    if cube.shape[1:] != tuple(shape):
        raise InputError(
            f"{what}: realisations have shape {cube.shape[1:]} but the image has shape "
            f"{tuple(shape)}"
        )


def check_smoothing(smooth, kernel, what: str) -> tuple[int, np.ndarray]:
    """Validate the number of smoothing passes and the kernel.

    Parameters
    ----------
    smooth : int
        Number of passes, >= 0.
    kernel : array-like or None
        2-D non-negative kernel with odd sides (centre at the middle pixel);
        None for :data:`STENCIL`.
    what : str
        Name used in error messages.

    Returns
    -------
    tuple
        ``(smooth, kernel)`` with the kernel normalised to unit sum.
    """
    if isinstance(smooth, bool) or not isinstance(smooth, numbers.Integral) or smooth < 0:
        raise InputError(f"{what}: smooth must be an integer >= 0 (passes), got {smooth!r}")
    if kernel is None:
        return int(smooth), STENCIL
    kern = np.array(kernel, dtype=np.float64)
    if kern.ndim != 2 or kern.shape[0] % 2 == 0 or kern.shape[1] % 2 == 0:
        raise InputError(
            f"{what}: kernel must be a 2-D array with odd sides (centre in the middle), got "
            f"shape {kern.shape}"
        )
    if not np.all(np.isfinite(kern)) or np.any(kern < 0) or kern.sum() <= 0:
        raise InputError(
            f"{what}: kernel values must be finite and >= 0 with a positive sum (a power "
            "spectrum smoothed with it must stay >= 0)"
        )
    return int(smooth), kern / kern.sum()


def smooth_spectrum(power: np.ndarray, kernel: np.ndarray, passes: int) -> np.ndarray:
    """Convolve a full-layout spectrum ``passes`` times with ``kernel``, periodically.

    Parameters
    ----------
    power : numpy.ndarray
        Spectrum in ``numpy.fft.fft2`` layout (zero frequency at index 0).
    kernel : numpy.ndarray
        Unit-sum kernel with odd sides, centred on its middle pixel.
    passes : int
        Number of convolutions.

    Returns
    -------
    numpy.ndarray
        The smoothed spectrum, symmetrised so that ``P(k) = P(-k)``.
    """
    if passes == 0:
        return power
    ky, kx = kernel.shape
    if ky > power.shape[0] or kx > power.shape[1]:
        raise InputError(
            f"smoothing kernel of shape {kernel.shape} is larger than the spectrum "
            f"{power.shape}"
        )
    placed = np.zeros(power.shape)
    placed[:ky, :kx] = kernel
    placed = np.roll(placed, (-(ky // 2), -(kx // 2)), axis=(0, 1))
    # frequency-space convolution = multiplication of the lag function
    taper = np.fft.fft2(placed) ** passes
    out = np.fft.ifft2(np.fft.fft2(power) * taper).real
    return 0.5 * (out + mirror(out))


def mirror(arr: np.ndarray) -> np.ndarray:
    """``arr[-i, -j]`` (indices modulo the shape): the value at the opposite frequency or lag."""
    return np.roll(arr[::-1, ::-1], (1, 1), axis=(0, 1))


def cube_power(cube: np.ndarray, apod: np.ndarray | None = None) -> np.ndarray:
    """Mean power spectrum of the realisations, full ``fft2`` layout, unnormalised FFT.

    Parameters
    ----------
    cube : numpy.ndarray
        ``(nr, ny, nx)`` realisations; the cube's overall mean is removed first.
    apod : numpy.ndarray or None
        Apodisation window of shape ``(ny, nx)`` multiplied into each
        realisation; the result is divided by ``mean(apod**2)`` so the total
        power (the pixel variance) is unchanged.

    Returns
    -------
    numpy.ndarray
        ``mean_r |numpy.fft.fft2(apod * n_r)|^2 / mean(apod^2)`` (numpy's
        default, unnormalised transform), shape ``(ny, nx)``. For white noise
        of standard deviation sigma this is ``ny * nx * sigma**2`` at every
        frequency.
    """
    centred = cube - cube.mean()
    gain = 1.0
    if apod is not None:
        centred = centred * apod
        gain = float(np.mean(apod**2))
    power = np.zeros(cube.shape[1:])
    for real in centred:  # one realisation at a time keeps memory at one complex image
        power += np.abs(np.fft.fft2(real)) ** 2
    return power / (cube.shape[0] * gain)


def cube_lag_covariance(cube: np.ndarray, kernel: np.ndarray, passes: int) -> np.ndarray:
    """Stationary covariance as a function of lag, estimated from realisations.

    Parameters
    ----------
    cube : numpy.ndarray
        ``(nr, ny, nx)`` realisations; the cube's overall mean is removed first.
    kernel : numpy.ndarray
        Unit-sum smoothing kernel applied to the power spectrum.
    passes : int
        Number of smoothing passes (0: raw estimate).

    Returns
    -------
    numpy.ndarray
        ``xi`` of shape ``(2 ny, 2 nx)``: ``xi[dy % (2 ny), dx % (2 nx)]`` is the
        covariance of two pixels ``(dy, dx)`` apart, for ``|dy| < ny`` and
        ``|dx| < nx``.

    Notes
    -----
    Each lag is the mean of ``n(x) n(x + lag)`` over all realisations and all
    pixel pairs inside the image (zero-padded FFTs, so nothing wraps), which is
    unbiased for stationary noise. The estimate is then moved to the power
    spectrum on the padded ``(2 ny, 2 nx)`` grid, smoothed there (a lag
    window), clipped at zero power (making the covariance positive
    semi-definite) and moved back.
    """
    nr, ny, nx = cube.shape
    padded = (2 * ny, 2 * nx)
    centred = cube - cube.mean()
    sums = np.zeros((padded[0], padded[1] // 2 + 1))
    for real in centred:
        sums += np.abs(np.fft.rfft2(real, s=padded)) ** 2
    lag_sums = np.fft.irfft2(sums / nr, s=padded)
    pairs = np.fft.irfft2(np.abs(np.fft.rfft2(np.ones((ny, nx)), s=padded)) ** 2, s=padded)
    pairs = np.rint(pairs)
    xi = np.where(pairs > 0, lag_sums / np.maximum(pairs, 1.0), 0.0)
    power = np.fft.fft2(xi).real
    power = np.maximum(smooth_spectrum(power, kernel, passes), 0.0)
    return np.fft.ifft2(power).real


def lag_matrix(xi: np.ndarray, shape) -> np.ndarray:
    """Full ``(npix, npix)`` covariance of an image of ``shape`` from a lag function.

    Parameters
    ----------
    xi : numpy.ndarray
        Output of :func:`cube_lag_covariance` (periodic indexing, padded grid).
    shape : tuple of int
        ``(ny, nx)``.
    """
    ny, nx = shape
    dy = (np.arange(ny)[None, :] - np.arange(ny)[:, None]) % xi.shape[0]
    dx = (np.arange(nx)[None, :] - np.arange(nx)[:, None]) % xi.shape[1]
    # block-Toeplitz structure: index with small broadcast arrays, not npix^2 ones
    full = xi[dy[:, None, :, None], dx[None, :, None, :]]
    return full.reshape(ny * nx, ny * nx)
