"""Model + image + noise compiled into the functions every sampler needs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from socca.errors import InputError, InputTypeError
from socca.inference.fingerprint import fingerprint
from socca.models.convolve import padded_shape, psf_halfwidth
from socca.models.render import build_render
from socca.parallel.batching import CPU_CACHE_BYTES, CPU_CHUNK, accelerated


class Problem:
    """The compiled inference problem.

    Built once; every function is jit-compiled and pure in its argument.

    Parameters
    ----------
    model : socca.models.Model
        The composite model, with priors on its free parameters.
    img : socca.data.Image
        The data, with PSF, mask, response, exposure and a bound noise model.

    Attributes
    ----------
    labels : tuple of str
        Free-parameter labels, in vector order.
    units : tuple of str
        Their units.
    priors : tuple of numpyro.distributions.Distribution
        Their priors.
    render : callable
        ``theta -> Maps`` in data units (response and exposure applied).
    loglike : callable
        ``theta (nfree,) -> scalar``; -inf for NaN or positivity violations.
    loglike_batch : callable
        ``thetas (n, nfree) -> (n,)``, the vmapped twin of ``loglike``.
    loglike_flagged, loglike_batch_flagged : callable
        The same, but NaN where the evaluation failed numerically (see
        :mod:`socca.inference.accounting`): what the samplers evaluate, so
        that such points are counted before they become -inf.
    fingerprint : dict
        SHA-256 digests of the image side (``'data'``) and the model side
        (``'model'``) of the problem, recorded in checkpoints (see
        :mod:`socca.inference.fingerprint`).
    prior_transform : callable
        Unit cube ``u (..., nfree)`` -> parameters (inverse prior CDFs).
    log_prior : callable
        ``theta (..., nfree) -> (...)`` sum of the prior log densities.
    """

    def __init__(self, model, img):
        _check_inputs(model, img)
        self.render, pmap = build_render(model.components, img, doresp=True, doexp=True)
        if not pmap.labels:
            raise InputError("the model has no free parameters: give at least one a prior")
        self.labels = pmap.labels
        self.units = tuple(pmap.units[k] for k in self.labels)
        self.priors = tuple(pmap.free[k] for k in self.labels)
        self.ndim = len(self.labels)
        flagged = _make_loglike(self.render, img.noise.loglike_fn(), _has_positive(model))
        loglike = _finite(flagged)
        self.loglike = jax.jit(loglike)
        chunk = cpu_chunk(img)
        self.loglike_batch = jax.jit(_batched(loglike, chunk))
        self.loglike_flagged = jax.jit(flagged)
        self.loglike_batch_flagged = jax.jit(_batched(flagged, chunk))
        self.fingerprint = fingerprint(model, img, pmap)
        self.prior_transform = jax.jit(self._prior_transform)
        self.log_prior = jax.jit(self._log_prior)

    def _prior_transform(self, u):
        u = jnp.asarray(u, dtype=float)
        return jnp.stack([d.icdf(u[..., i]) for i, d in enumerate(self.priors)], axis=-1)

    def _log_prior(self, theta):
        theta = jnp.asarray(theta, dtype=float)
        return sum(d.log_prob(theta[..., i]) for i, d in enumerate(self.priors))


def _check_inputs(model, img):
    """Refuse anything but a socca model and image, before any work."""
    from socca.data import Image
    from socca.models import Model

    if not isinstance(model, Model):
        raise InputTypeError(
            f"mod: expected a socca.models.Model, got {type(model).__name__} {model!r:.60}"
        )
    if not isinstance(img, Image):
        raise InputTypeError(
            f"img: expected a socca.data.Image, got {type(img).__name__} {img!r:.60} "
            "(load a FITS file with socca.data.Image(path))"
        )


def _has_positive(model) -> bool:
    return any(c.positive for c in model.components)


def _make_loglike(render, noise_loglike, check_positive):
    """``theta -> log-likelihood``: NaN for a numerical fault, -inf for an impossible model.

    A fault is a NaN or ``+inf`` noise log-likelihood, or ``-inf`` from a
    model image holding NaN or inf; a positivity violation is -inf, not a fault.
    """

    def loglike(theta):
        maps = render(jnp.asarray(theta, dtype=float))
        model = maps.smoothed + maps.background
        value = noise_loglike(model)
        # the sum of the image is finite unless a pixel is NaN or infinite (or the
        # total overflows); unlike all(isfinite(...)), XLA computes it within the
        # noise model's own pass over the image
        fault = (
            jnp.isnan(value)
            | (value == jnp.inf)
            | ((value == -jnp.inf) & ~jnp.isfinite(jnp.sum(model)))
        )
        value = jnp.where(fault, jnp.nan, value)
        if check_positive:
            value = jnp.where(jnp.any(maps.negative), -jnp.inf, value)
        return value

    return loglike


def cpu_chunk(img):
    """Rows per chunk of a batched likelihood on a CPU: as many images as fit the caches.

    A power of two, at most ``CPU_CHUNK``: the number of the image's padded
    spectra (complex128) that fit in ``CPU_CACHE_BYTES``, at least 1.
    """
    shape = img.shape
    if img.psf is not None:
        shape = padded_shape(img.shape, psf_halfwidth(img.psf))
    spectrum = 16 * shape[0] * (shape[1] // 2 + 1)
    fit = max(1, CPU_CACHE_BYTES // spectrum)
    return min(CPU_CHUNK, 1 << (fit.bit_length() - 1))


def _batched(loglike, chunk):
    """``thetas (n, nfree) -> (n,)``: ``loglike`` vmapped, in chunks of ``chunk`` rows on a CPU.

    On a CPU batches cost least per point when their spectra fit the caches
    (see :func:`cpu_chunk`): on the tutorial image (128², spectra of 162²) a
    point costs 0.16 ms in chunks of 8 to 32, 0.21 ms in batches of 64 and
    0.43 ms in batches of 256; at 512² a batch of 16 costs 1.6 times the
    single calls it replaces. Larger batches are therefore split into equal
    chunks, padded by repeating the last row, and evaluated one after the
    other inside the same compiled function (``lax.map``). On an accelerator
    the batch goes whole.
    """
    vmapped = jax.vmap(loglike)

    def batch(thetas):
        thetas = jnp.asarray(thetas, dtype=float)
        n = thetas.shape[0]
        if accelerated() or n <= chunk:
            return vmapped(thetas)
        chunks = -(-n // chunk)
        size = -(-n // chunks)
        if chunks * size > n:
            tail = jnp.broadcast_to(thetas[-1:], (chunks * size - n, thetas.shape[1]))
            thetas = jnp.concatenate([thetas, tail])
        values = lax.map(vmapped, thetas.reshape(chunks, size, thetas.shape[1]))
        return values.reshape(-1)[:n]

    return batch


def _finite(flagged):
    """The public twin of a flagged log-likelihood: -inf for every fault."""

    def loglike(theta):
        value = flagged(theta)
        return jnp.where(jnp.isnan(value), -jnp.inf, value)

    return loglike
