"""Gaussian noise whose covariance is diagonal in Fourier space (stationary noise)."""

from __future__ import annotations

import math
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from scipy.signal import windows

from socca.data.io import read_array
from socca.errors import InputError
from socca.noise.base import Noise, refuse_mask
from socca.noise.spectrum import (
    check_cube_shape,
    check_smoothing,
    cube_power,
    mirror,
    read_cube,
    smooth_spectrum,
)

FTYPES = ("real", "full")
#: Other spellings of ``ftype``, after the numpy function each layout comes from.
FTYPE_ALIASES = {"rfft": "real", "fft": "full"}
#: Relative tolerance of the check that a given spectrum satisfies P(k) = P(-k).
SYMMETRY_RTOL = 1e-6
#: Tukey window taper fraction for ``apod="tukey"``.
TUKEY_ALPHA = 0.5


def layout_shape(shape, ftype: str) -> tuple[int, int]:
    """Shape of a spectrum of an image of ``shape``: ``rfft2`` or ``fft2`` layout."""
    ny, nx = shape
    return (ny, nx // 2 + 1) if ftype == "real" else (ny, nx)


def multiplicity(shape, ftype: str) -> np.ndarray:
    """How many modes of the full plane each stored mode stands for.

    In the ``rfft2`` layout the columns ``0 < kx < nx / 2`` stand for their
    conjugate partners as well (2); the self-conjugate columns ``kx = 0`` and,
    for even ``nx``, ``kx = nx / 2`` hold both members of each pair (1).
    """
    ny, nx = shape
    mult = np.ones(layout_shape(shape, ftype))
    if ftype == "real":
        mult[:, 1:] = 2.0
        if nx % 2 == 0:
            mult[:, -1] = 1.0
    return mult


def mirror_layout(arr: np.ndarray, shape, ftype: str) -> np.ndarray:
    """Value at the opposite frequency ``-k`` where it is stored in the same layout, else itself."""
    if ftype == "full":
        return mirror(arr)
    nx = shape[1]
    out = arr.copy()
    for col in (0, nx // 2) if nx % 2 == 0 else (0,):
        out[:, col] = np.roll(arr[::-1, col], 1)
    return out


def apodisation(apod, shape) -> np.ndarray | None:
    """The apodisation window for an image of ``shape`` (None: no window)."""
    if apod is None:
        return None
    if isinstance(apod, str):
        ny, nx = shape
        if apod == "hann":
            wy, wx = windows.hann(ny, sym=False), windows.hann(nx, sym=False)
        else:
            wy, wx = windows.tukey(ny, TUKEY_ALPHA), windows.tukey(nx, TUKEY_ALPHA)
        return wy[:, None] * wx[None, :]
    if apod.shape != tuple(shape):
        raise InputError(
            f"NormalFourier apod: window of shape {apod.shape} but the image has shape "
            f"{tuple(shape)}"
        )
    return apod


def _check_apod(apod):
    """Validate ``apod`` at construction: None, ``'hann'``, ``'tukey'`` or a 2-D array."""
    if apod is None or (isinstance(apod, str) and apod in ("hann", "tukey")):
        return apod
    if isinstance(apod, str):
        raise InputError(
            f"NormalFourier apod: expected 'hann', 'tukey' or a 2-D array, got {apod!r}"
        )
    arr = np.array(apod, dtype=np.float64)
    if arr.ndim != 2 or not np.all(np.isfinite(arr)) or np.any(arr < 0) or not arr.any():
        raise InputError(
            "NormalFourier apod: the window must be a 2-D array of finite values >= 0, not all "
            "zero"
        )
    return arr


def _read_spectrum(value, key: str) -> np.ndarray:
    """Read ``cov`` or ``icov`` (scalar, array or FITS) and check its values."""
    if isinstance(value, str):
        value = Path(value)
    arr, _ = read_array(value, what=f"NormalFourier {key}")
    if arr.ndim not in (0, 2):
        raise InputError(
            f"NormalFourier {key}: expected a scalar or a 2-D spectrum, got shape {arr.shape}"
        )
    if key == "cov":
        bad = np.isnan(arr) | (arr <= 0)
        rule = "> 0 (inf to ignore a mode)"
    else:
        bad = ~np.isfinite(arr) | (arr < 0)
        rule = "finite and >= 0 (0 to ignore a mode)"
    if bad.any():
        raise InputError(
            f"NormalFourier {key}: {int(bad.sum())} value(s) are not {rule}, e.g. "
            f"{arr[bad].flat[0]}"
        )
    return arr


class FourierDiagonal(Noise):
    """Gaussian noise with a covariance diagonal in the Fourier basis.

    Base of :class:`NormalFourier` and :class:`~socca.noise.NormalRI`.
    Subclasses compute, in :meth:`bind`, the inverse power of every stored
    mode and hand it to :meth:`_store`.

    Notes
    -----
    Convention: numpy's unnormalised FFT (``numpy.fft.fft2`` with its default
    ``norm="backward"``). With ``R = FFT(d - m)`` and the noise power
    ``P(k) = E|FFT(n)(k)|^2`` (white noise of standard deviation sigma on
    ``npix`` pixels has ``P = npix sigma^2``), the normalised log-likelihood
    of the real image is

    ``ln L = -1/2 sum_k [|R(k)|^2 / P(k) + ln(2 pi P(k) / npix)]``

    over the ``npix`` modes of the full plane. This is exactly the Gaussian
    density with the (circulant) covariance ``C = F^H diag(P / npix) F``,
    ``F`` the unitary DFT, so a constant ``P = npix sigma^2`` gives the
    independent-pixel likelihood, and for noise with power ``P`` the
    chi-square ``sum_k |R(k)|^2 / P(k)`` has mean ``npix``. In the ``rfft2``
    layout each stored mode is weighted by :func:`multiplicity`, so both
    layouts give the same value. Modes whose inverse power is zero carry no
    information and are left out of both terms (the density is then that of
    the remaining modes).
    """

    ftype = "real"
    _bound = False

    def _store(self, data: np.ndarray, icov: np.ndarray) -> None:
        """Keep the data and weights.

        ``icov`` is the inverse power ``1 / P(k)`` (unnormalised FFT) in
        :attr:`ftype` layout, >= 0 and symmetric.
        """
        mult = multiplicity(data.shape, self.ftype)
        keep = icov > 0
        if not keep.any():
            raise InputError(f"{type(self).__name__}: every Fourier mode has zero weight")
        npix = data.size
        self.nmodes = int(mult[keep].sum())
        with np.errstate(divide="ignore"):
            self.power = np.where(keep, 1.0 / icov, np.inf)
        # ln(2 pi P / npix) per mode: the variance of the unitary transform of the noise
        log_var = math.log(2.0 * math.pi / npix) - np.log(icov[keep])
        self._const = float(-0.5 * (mult[keep] * log_var).sum())
        # amplitude of the unitary transform of a draw (used by simulate)
        self._amp = np.where(keep, np.sqrt(np.where(keep, self.power, 0.0) / npix), 0.0)
        self._weight = jnp.asarray(mult * icov)
        self._data = jnp.asarray(data)
        self._shape = data.shape
        self._bound = True

    def loglike_fn(self):
        """Return the Gaussian log-likelihood of a model image; see :class:`Noise`."""
        self._check_bound()
        data, weight, const = self._data, self._weight, self._const
        transform = jnp.fft.rfft2 if self.ftype == "real" else jnp.fft.fft2

        def loglike(model):
            spec = transform(data - model)  # unnormalised, as the power
            return const - 0.5 * jnp.sum(weight * (spec.real**2 + spec.imag**2))

        return loglike

    def simulate(self, rng) -> np.ndarray:
        """A Gaussian noise image with this power spectrum (nothing in ignored modes)."""
        self._check_bound()
        white = rng.standard_normal(self._shape)
        if self.ftype == "real":
            spec = np.fft.rfft2(white, norm="ortho") * self._amp
            return np.fft.irfft2(spec, s=self._shape, norm="ortho")
        return np.fft.ifft2(np.fft.fft2(white, norm="ortho") * self._amp, norm="ortho").real


class NormalFourier(FourierDiagonal):
    """Stationary Gaussian noise: a covariance diagonal in Fourier space.

    Parameters
    ----------
    cov : float, array-like, str or HDU, optional
        Power spectrum of the noise ``n``, in numpy's unnormalised FFT
        convention: ``P(k) = E|numpy.fft.fft2(n)(k)|^2``, the mean squared
        modulus of the FFTs of noise maps (so white noise of standard
        deviation sigma on ``npix = ny * nx`` pixels has
        ``P = npix sigma^2``). A scalar (a flat spectrum), or an array in the
        layout set by ``ftype``, zero frequency at index ``[0, 0]``. ``inf``
        ignores a mode.
    icov : float, array-like, str or HDU, optional
        Its inverse ``1 / P(k)``; ``0`` ignores a mode (e.g. modes filtered
        out of the data).
    cube : array-like, str or HDU, optional
        Noise realisations ``(nr, ny, nx)`` (a 2-D map is one); the power is
        the mean squared modulus of their (apodised) FFTs, in the convention
        of ``cov``.
    ftype : {'real', 'full'}
        ``'real'`` (or ``'rfft'``): ``rfft2`` transforms and spectra of shape
        ``(ny, nx // 2 + 1)``; ``'full'`` (or ``'fft'``): ``fft2`` and
        ``(ny, nx)``. Both give the same log-likelihood (each independent
        mode is counted once); ``'real'`` transforms only half of the plane.
    apod : None, 'hann', 'tukey' or array-like
        With ``cube``: window multiplied into each realisation before its
        FFT (separable Hann, Tukey with taper fraction 0.5, or an array of the
        image shape), reducing leakage from the image edges. The power is
        divided by ``mean(apod**2)`` so the pixel variance is unchanged.
    smooth : int
        With ``cube``: passes of the smoothing kernel over the estimated power
        spectrum (periodic in frequency; 0 keeps the raw estimate).
    kernel : array-like, optional
        With ``cube``: smoothing kernel (odd sides, non-negative, normalised to
        unit sum), used instead of the 5-point stencil
        ``[[0, 1, 0], [1, 4, 1], [0, 1, 0]] / 8``.

    Attributes
    ----------
    power : numpy.ndarray or None
        After :meth:`bind`, the power of each stored mode, in the convention
        of ``cov`` (``inf`` if ignored).
    nmodes : int or None
        Number of modes of the full plane that enter the likelihood.

    Notes
    -----
    Exactly one of ``cov``, ``icov`` and ``cube`` is given. The likelihood
    is described in :class:`FourierDiagonal`; it treats the image as periodic
    (the covariance is circulant), which is exact for noise that is and a
    good approximation for stationary noise whose correlation length is small
    against the image. A given spectrum must satisfy ``P(k) = P(-k)``, as the
    spectrum of a real image does. Modes of a cube estimate with zero power
    (e.g. the mean of a single realisation, which is removed) are ignored.

    Image features: response and exposure maps and PSFs work; masks do not
    (the Fourier modes of an image with holes are not independent) and are
    refused at :meth:`bind` -- use :class:`~socca.noise.NormalCorrelated`.
    """

    def __init__(self, cov=None, icov=None, cube=None, ftype="real", apod=None, smooth=3,
                 kernel=None):
        given = [k for k, v in (("cov", cov), ("icov", icov), ("cube", cube)) if v is not None]
        if len(given) != 1:
            raise InputError(
                "NormalFourier needs exactly one of cov, icov or cube, got "
                f"{', '.join(given) if given else 'none'}"
            )
        ftype = FTYPE_ALIASES.get(ftype, ftype) if isinstance(ftype, str) else ftype
        if ftype not in FTYPES:
            raise InputError(
                "NormalFourier ftype: expected 'real' (or 'rfft') or 'full' (or 'fft'), got "
                f"{ftype!r}"
            )
        (self.source,) = given
        if self.source != "cube" and (apod is not None or kernel is not None):
            raise InputError("NormalFourier: apod and kernel only apply to a cube estimate (cube=)")
        self.ftype = ftype
        self.apod = _check_apod(apod)
        self.smooth, self.kernel = check_smoothing(smooth, kernel, "NormalFourier")
        if self.source == "cube":
            self._input = read_cube(cube, "NormalFourier cube")
        else:
            self._input = _read_spectrum(cov if cov is not None else icov, self.source)
        self._estimate = None  # full-layout power of a cube, cached
        self.power = None
        self.nmodes = None
        self._bound = False

    def __repr__(self) -> str:
        if self.source == "cube":
            inner = f"cube=<{self._input.shape[0]} realisations>, smooth={self.smooth}"
        elif self._input.ndim == 0:
            inner = f"{self.source}={self._input.item():g}"
        else:
            inner = f"{self.source}=<spectrum {self._input.shape}>"
        return f"NormalFourier({inner}, ftype={self.ftype!r})"

    def bind(self, img) -> None:
        """Precompute the weights of every Fourier mode for ``img``; see :class:`Noise`."""
        self._bound = False
        refuse_mask(img, "NormalFourier")
        shape = tuple(img.shape)
        layout = layout_shape(shape, self.ftype)
        if self.source == "cube":
            icov = self._cube_icov(shape, layout)
        else:
            icov = self._given_icov(shape, layout)
        self._store(np.asarray(img.data, dtype=np.float64), icov)

    def _cube_icov(self, shape, layout) -> np.ndarray:
        check_cube_shape(self._input, shape, "NormalFourier cube")
        if self._estimate is None:
            power = cube_power(self._input, apodisation(self.apod, shape))
            self._estimate = np.maximum(smooth_spectrum(power, self.kernel, self.smooth), 0.0)
        power = self._estimate[:, : layout[1]]
        tiny = power <= np.finfo(float).eps * power.max()
        with np.errstate(divide="ignore"):
            return np.where(tiny, 0.0, 1.0 / np.where(tiny, 1.0, power))

    def _given_icov(self, shape, layout) -> np.ndarray:
        arr = self._input
        if arr.ndim == 2 and arr.shape != layout:
            other = "full" if self.ftype == "real" else "real"
            raise InputError(
                f"NormalFourier {self.source}: spectrum of shape {arr.shape}, but an image of "
                f"shape {shape} with ftype={self.ftype!r} needs {layout} (ftype={other!r} "
                f"needs {layout_shape(shape, other)})"
            )
        if self.source == "cov":
            icov = np.broadcast_to(1.0 / arr, layout).copy()
        else:
            icov = np.broadcast_to(arr, layout).copy()
        partner = mirror_layout(icov, shape, self.ftype)
        gap = np.abs(icov - partner).max()
        if gap > SYMMETRY_RTOL * icov.max():
            raise InputError(
                f"NormalFourier {self.source}: the spectrum is not symmetric, P(k) != P(-k) "
                f"(largest relative gap {gap / icov.max():.3g}); the noise of a real image has "
                "a symmetric spectrum"
            )
        return 0.5 * (icov + partner)
