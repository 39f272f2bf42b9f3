"""Common interface of the noise models."""

from __future__ import annotations

import abc
from collections.abc import Callable

import jax
import numpy as np

from socca.errors import InputError, StateError


class Noise(abc.ABC):
    """Abstract noise model.

    A noise model is attached to an image with :meth:`bind`, which precomputes
    everything the likelihood needs, and then hands out a pure JAX
    log-likelihood with :meth:`loglike_fn`.
    """

    _bound: bool = False
    #: Whether :meth:`bind` reads the image PSF (e.g. a dirty beam); the image
    #: rebinds such models when its PSF changes.
    uses_psf: bool = False
    #: Where the image's PSF has its centre: ``"geometric"``, the middle of the
    #: kernel (optical PSFs), or ``"peak"``, its brightest pixel (a dirty beam,
    #: whose centre is its peak by definition); see :mod:`socca.data.psf`.
    psf_centre: str = "geometric"

    @abc.abstractmethod
    def bind(self, img) -> None:
        """Precompute the likelihood ingredients for ``img``.

        Parameters
        ----------
        img : Image-like
            Object with ``data`` (float64 array), ``mask`` (bool array, True
            where the pixel is used) and ``shape``. The mask may be shrunk in
            place for pixels the noise model cannot use.

        Notes
        -----
        Called again whenever the image data or mask change, so it must be
        idempotent.
        """

    @abc.abstractmethod
    def loglike_fn(self) -> Callable[[jax.Array], jax.Array]:
        """Return ``f(model) -> scalar`` normalised log-likelihood.

        Returns
        -------
        callable
            Pure JAX function of a model image (shape ``img.shape``, data
            units), safe under ``jax.jit``, ``jax.vmap`` and ``jax.grad``.
        """

    def check(self, img) -> None:
        """Raise if ``img``, as it is set up now, cannot be used with this model.

        Called when the likelihood is built (``socca.fitter``), after the
        image's set-up is complete, so that models whose requirements span
        several set-up steps (a PSF, maps) do not depend on their order. The
        default accepts any image that :meth:`bind` accepted.

        Parameters
        ----------
        img : Image-like
            The image the model is bound to.
        """
        return None

    def _check_bound(self) -> None:
        """Raise ``RuntimeError`` if :meth:`bind` was never called."""
        if not self._bound:
            name = type(self).__name__
            raise StateError(
                f"{name} noise is not bound to an image: call {name}.bind(img) "
                "(done by Image when the noise is attached) before loglike_fn()"
            )

    def simulate(self, rng) -> np.ndarray:
        """Draw a pure-noise image (used to calibrate Bayes factors).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        """
        raise InputError(
            f"{type(self).__name__} cannot simulate noise realisations, which "
            "getzprior=True needs"
        )


def refuse_mask(img, name: str) -> None:
    """Raise ``ValueError`` if any pixel of ``img`` is masked.

    For noise models whose covariance is diagonal in Fourier space: the
    Fourier modes of an image with holes are no longer independent.

    Parameters
    ----------
    img : Image-like
        Object with a boolean ``mask`` (True where the pixel is used).
    name : str
        The noise model, for the message.
    """
    mask = np.asarray(img.mask, dtype=bool)
    if not mask.all():
        raise InputError(
            f"{name} cannot use a mask: {int((~mask).sum())} of {mask.size} pixels are masked "
            "(by addmask, or because they are NaN/inf), but a covariance diagonal in Fourier "
            "space needs every pixel. Drop the mask (replace non-finite pixels by finite "
            "values), or use NormalCorrelated, which handles masks"
        )
