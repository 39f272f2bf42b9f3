"""Model + image + noise compiled into the functions every sampler needs."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from socca.errors import InputError, InputTypeError
from socca.inference.batched import BatchedLoglike
from socca.inference.fingerprint import fingerprint
from socca.models.render import Renderer
from socca.parallel.devices import Compiled, batch_devices


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
        check_noise = getattr(img.noise, "check", None)
        if check_noise is not None:  # requirements deferred until the image is set up
            check_noise(img)
        renderer = Renderer(model.components, img, doresp=True, doexp=True)
        pmap = renderer.pmap
        if not pmap.labels:
            raise InputError("the model has no free parameters: give at least one a prior")
        self.render = renderer.render
        self.labels = pmap.labels
        self.units = tuple(pmap.units[k] for k in self.labels)
        self.priors = tuple(pmap.free[k] for k in self.labels)
        self.ndim = len(self.labels)
        score = _make_score(
            img.noise.loglike_fn(), _has_positive(model), bool(renderer.backgrounds)
        )

        def flagged(theta):
            return score(renderer.render(jnp.asarray(theta, dtype=float)))

        def flagged_pair(pair):
            pair = jnp.asarray(pair, dtype=float)
            return jnp.stack([score(m) for m in renderer.render_pair(pair[0], pair[1])])

        devices = batch_devices()
        self.loglike = Compiled(_finite(flagged))
        self.loglike_flagged = Compiled(flagged)
        self.loglike_batch = BatchedLoglike(_finite(flagged_pair), devices)
        self.loglike_batch_flagged = BatchedLoglike(flagged_pair, devices)
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


def _make_score(noise_loglike, check_positive, background=True):
    """``Maps -> log-likelihood``: NaN for a numerical fault, -inf for an impossible model.

    A fault is a NaN or ``+inf`` noise log-likelihood, or ``-inf`` from a
    model image holding NaN or inf; a positivity violation is -inf, not a fault.
    Without ``background`` components the background map (zeros) is not
    added: inside a batch's compiled loop it would be an array to read.
    """

    def score(maps):
        model = maps.smoothed + maps.background if background else maps.smoothed
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

    return score


def _finite(flagged):
    """The public twin of a flagged log-likelihood: -inf for every fault."""

    def loglike(theta):
        value = flagged(theta)
        return jnp.where(jnp.isnan(value), -jnp.inf, value)

    return loglike
