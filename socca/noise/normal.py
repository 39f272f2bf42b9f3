"""Independent Gaussian pixel noise."""

from __future__ import annotations

import math
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from socca.data.io import read_array
from socca.errors import InputError, InputTypeError
from socca.noise.base import Noise

MAD_TO_SIGMA = 1.4826

ALIASES = {
    "sigma": ("sigma", "sig", "std", "rms", "stddev"),
    "variance": ("variance", "var"),
    "weight": ("weight", "wht", "wgt", "weights", "invvar"),
}
FAMILY = {alias: family for family, names in ALIASES.items() for alias in names}


def _join(names) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b' and 'c'``."""
    quoted = [repr(n) for n in names]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _check_keywords(kw: dict) -> None:
    """Reject unknown keywords and more than one amplitude keyword."""
    unknown = [k for k in kw if k not in FAMILY]
    if unknown:
        raise InputTypeError(
            f"Normal() got unexpected keyword argument(s) {_join(unknown)}; "
            f"accepted keywords: {', '.join(FAMILY)}"
        )
    if len(kw) > 1:
        raise InputError(
            f"Normal() takes a single noise amplitude keyword, got {_join(kw)}: "
            "give only one of sigma, variance or weight"
        )


def _read_amplitude(key: str, value) -> np.ndarray:
    """Read a scalar, a 2-D map or a FITS source and check its values."""
    if isinstance(value, str):
        value = Path(value)  # read_array would take a plain string for a scalar
    arr, _ = read_array(value, what=f"Normal {key}")
    if arr.ndim not in (0, 2):
        raise InputError(
            f"Normal {key}: expected a scalar or a 2-D map, got an array of shape {arr.shape}"
        )
    if arr.ndim == 0:
        # a single zero or infinite amplitude would mask every pixel: say so now
        if not (np.isfinite(arr) and arr > 0):
            raise InputError(
                f"Normal {key}: got {key}={arr.item()}; expected a finite number > 0 "
                "(zero, infinite or NaN would mask every pixel)"
            )
        return arr
    negative = arr < 0
    if negative.any():
        first = tuple(int(i) for i in np.argwhere(negative)[0])
        raise InputError(
            f"Normal {key}: the map has {int(negative.sum())} negative value(s); first at "
            f"index {first}: {arr[first]}; expected values >= 0 (NaN, a zero weight or an "
            "infinite sigma marks a pixel to ignore)"
        )
    nan = int(np.count_nonzero(np.isnan(arr)))
    if nan:
        print(f"Normal {key}: {nan} of {arr.size} map pixels are NaN; they are masked")
    return arr


def _inverse_variance(family: str, amp: np.ndarray) -> np.ndarray:
    """Convert a sigma, variance or weight array into an inverse variance."""
    with np.errstate(divide="ignore"):
        if family == "sigma":
            return 1.0 / amp**2
        if family == "variance":
            return 1.0 / amp
    return np.array(amp, dtype=np.float64)


def mad_sigma(values: np.ndarray) -> float:
    """Robust Gaussian sigma: 1.4826 times the median absolute deviation."""
    return float(MAD_TO_SIGMA * np.median(np.abs(values - np.median(values))))


class Normal(Noise):
    """Independent Gaussian noise on every pixel.

    Parameters
    ----------
    **kw
        At most one amplitude keyword. Standard deviation: ``sigma``, ``sig``,
        ``std``, ``rms`` or ``stddev``; variance: ``variance`` or ``var``;
        inverse variance: ``weight``, ``wht``, ``wgt``, ``weights`` or
        ``invvar``. The value is a scalar, a 2-D map with the image shape, or
        a FITS path/HDU/HDUList. Without a keyword sigma is estimated at
        :meth:`bind` as 1.4826 times the MAD of the unmasked pixels.

    Attributes
    ----------
    sigma : numpy.ndarray or None
        Per-pixel standard deviation after :meth:`bind` (``inf`` on masked
        pixels).
    noise_level : float or None
        Scalar sigma, when given as a scalar or estimated from the MAD.

    Notes
    -----
    Pixels with zero weight, infinite sigma/variance, or a NaN amplitude (as
    maps often carry outside the survey footprint; their number is printed
    when the map is read) are removed from the image mask at :meth:`bind`.
    Negative amplitudes are refused. The log-likelihood is
    ``-1/2 sum[(d - m)^2 / sigma^2 + ln(2 pi sigma^2)]`` over unmasked pixels.
    """

    def __init__(self, **kw):
        _check_keywords(kw)
        self.key = None
        self.family = None
        self.amplitude = None
        self.noise_level = None
        self.sigma = None
        self._bound = False
        if kw:
            ((self.key, value),) = kw.items()
            self.family = FAMILY[self.key]
            self.amplitude = _read_amplitude(self.key, value)
            if self.amplitude.ndim == 0:
                self.noise_level = self._scalar_sigma(self.amplitude)

    def __repr__(self) -> str:
        if self.key is None:
            return "Normal()"
        if self.amplitude.ndim == 0:
            return f"Normal({self.key}={self.amplitude.item():g})"
        return f"Normal({self.key}=<map {self.amplitude.shape}>)"

    def _scalar_sigma(self, amp: np.ndarray) -> float:
        """Standard deviation implied by a scalar amplitude."""
        with np.errstate(divide="ignore"):
            return float(1.0 / np.sqrt(_inverse_variance(self.family, amp)))

    def bind(self, img) -> None:
        """Precompute weights and normalisation for ``img``; see :class:`Noise`."""
        mask = img.mask
        if self.family is None:
            ivar = self._mad_inverse_variance(img.data, mask)
        else:
            ivar = self._map_inverse_variance(img.shape)
        usable = np.isfinite(ivar) & (ivar > 0)
        mask &= usable
        if not mask.any():
            raise InputError(
                "Normal: every pixel is masked (no unmasked pixel with finite, "
                "positive inverse variance)"
            )
        self._store(np.asarray(img.data, dtype=np.float64), mask, ivar)

    def _mad_inverse_variance(self, data, mask) -> np.ndarray:
        """Estimate a scalar sigma from the MAD of the unmasked pixels."""
        if not mask.any():
            raise InputError("Normal: cannot estimate the noise from the MAD: no unmasked pixel")
        sigma = mad_sigma(np.asarray(data)[mask])
        print("Using MAD for estimating noise level")
        print(f"- noise level: {sigma:.2E}")
        if not sigma > 0:
            raise InputError(
                "Normal: the MAD of the unmasked pixels is zero; give sigma, variance or weight"
            )
        self.noise_level = sigma
        return np.asarray(1.0 / sigma**2)

    def _map_inverse_variance(self, shape) -> np.ndarray:
        """Inverse variance of the user amplitude, checked against ``shape``."""
        amp = self.amplitude
        if amp.ndim == 2 and amp.shape != tuple(shape):
            raise InputError(
                f"Normal {self.key}: the map has shape {amp.shape} but the image has shape "
                f"{tuple(shape)}"
            )
        return _inverse_variance(self.family, amp)

    def _store(self, data: np.ndarray, mask: np.ndarray, ivar: np.ndarray) -> None:
        """Keep masked weights, data and the normalisation constant."""
        weight = np.where(mask, ivar, 0.0)
        with np.errstate(divide="ignore"):
            self.sigma = np.where(mask, 1.0 / np.sqrt(weight), np.inf)
            log_ivar = np.log(weight[mask])
        npix = int(mask.sum())
        self._const = float(-0.5 * (npix * math.log(2.0 * math.pi) - log_ivar.sum()))
        self._weight = jnp.asarray(weight)
        self._data = jnp.asarray(np.where(mask, data, 0.0))
        self._bound = True

    def loglike_fn(self):
        """Return the Gaussian log-likelihood of a model image; see :class:`Noise`."""
        self._check_bound()
        data, weight, const = self._data, self._weight, self._const
        values = np.asarray(weight)
        if np.all(values == values.flat[0]):
            # one weight for every pixel as a number: inside a batch's compiled loop
            # XLA would read a constant map as an array
            weight = float(values.flat[0])

        def loglike(model):
            resid = data - model
            return const - 0.5 * jnp.sum(weight * resid * resid)

        return loglike

    def simulate(self, rng) -> np.ndarray:
        """A Gaussian noise image with this model's sigma (zero on masked pixels)."""
        self._check_bound()
        finite = np.isfinite(self.sigma)
        draw = rng.standard_normal(self.sigma.shape)
        return np.where(finite, draw * np.where(finite, self.sigma, 0.0), 0.0)
