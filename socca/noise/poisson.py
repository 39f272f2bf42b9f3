"""Poisson noise for photon-counting images (the Cash statistic)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from scipy.special import gammaln

from socca.errors import InputError
from socca.noise.base import Noise

#: Largest distance to the nearest integer tolerated in a counts image stored
#: as floating point.
INTEGER_TOL = 1e-6


class Poisson(Noise):
    """Poisson likelihood of an image of photon counts.

    The model reaching the likelihood is the expected number of counts in
    each pixel, ``mu``: the rendered model (count rate) times the image's
    exposure map, which the renderer applies (response before the PSF,
    exposure after), so build the image with ``Image(counts,
    exposure=expmap, noise=Poisson())`` and give the model in counts per unit
    exposure.

    Notes
    -----
    The log-likelihood, over the unmasked pixels, is the normalised Poisson
    log-probability of the counts ``d``

    ``ln L = sum[d ln mu - mu - ln d!]``,

    i.e. ``-C / 2 - sum ln d!`` with the Cash (1979) statistic
    ``C = 2 sum(mu - d ln mu)``; the ``ln d!`` term, a constant, is kept so
    that evidences are those of the counts. A pixel with ``mu < 0``, or with
    ``mu = 0`` and ``d > 0``, makes the likelihood ``-inf``.

    Data must be non-negative integers (floating-point storage is fine within
    1e-6 of an integer) on the unmasked pixels. Pixels with zero exposure
    carry no data and are removed from the mask. Masks, response and
    exposure maps and PSFs work.

    Pure-noise realisations (``getzprior=True``) are not defined: counts have
    no source-free, zero-mean noise, and the empty model predicts no counts.
    """

    def __init__(self):
        self._bound = False

    def __repr__(self) -> str:
        return "Poisson()"

    def bind(self, img) -> None:
        """Check the counts and precompute ``sum ln d!`` for ``img``; see :class:`Noise`."""
        self._bound = False
        mask = img.mask
        exposure = getattr(img, "exposure", None)
        if exposure is not None:
            mask &= np.asarray(exposure) > 0
        if not mask.any():
            raise InputError("Poisson: every pixel is masked (or has zero exposure)")
        data = np.asarray(img.data, dtype=np.float64)
        counts = np.rint(data)
        used = data[mask]
        negative = used < 0
        if negative.any():
            raise InputError(
                f"Poisson: the data must be photon counts (>= 0), but {int(negative.sum())} "
                f"unmasked pixels are negative (minimum {used.min():.4g})"
            )
        off = np.abs(used - counts[mask])
        if off.max() > INTEGER_TOL:
            nbad = int((off > INTEGER_TOL).sum())
            raise InputError(
                f"Poisson: the data must be integer photon counts, but {nbad} "
                f"unmasked pixels are not integers (e.g. {used[off.argmax()]:.6g}); "
                "a background-subtracted or exposure-corrected image is not Poisson"
            )
        counts = np.where(mask, counts, 0.0)
        self._const = float(-gammaln(counts[mask] + 1.0).sum())
        self._counts = jnp.asarray(counts)
        self._mask = jnp.asarray(mask)
        self._bound = True

    def loglike_fn(self):
        """Return the Poisson log-likelihood of a model in counts; see :class:`Noise`."""
        self._check_bound()
        counts, mask, const = self._counts, self._mask, self._const

        def loglike(model):
            positive = model > 0
            safe = jnp.where(positive, model, 1.0)  # keeps log and its gradient finite
            terms = jnp.where(counts > 0, counts * jnp.log(safe), 0.0) - model
            value = const + jnp.sum(jnp.where(mask, terms, 0.0))
            impossible = mask & ((model < 0) | (~positive & (counts > 0)))
            return jnp.where(jnp.any(impossible), -jnp.inf, value)

        return loglike

    def simulate(self, rng) -> np.ndarray:
        """Not defined for counts: always raises ``ValueError``."""
        raise InputError(
            "Poisson cannot simulate a pure-noise image: photon counts have no source-free, "
            "zero-mean noise (the empty model predicts zero counts), so getzprior=True is not "
            "supported with Poisson; compare models through their evidences (fit.logz) instead"
        )
