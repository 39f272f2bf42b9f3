"""Model + image + noise compiled into the functions every sampler needs."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from socca.models.render import build_render


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
    prior_transform : callable
        Unit cube ``u (..., nfree)`` -> parameters (inverse prior CDFs).
    log_prior : callable
        ``theta (..., nfree) -> (...)`` sum of the prior log densities.
    """

    def __init__(self, model, img):
        self.render, pmap = build_render(model.components, img, doresp=True, doexp=True)
        if not pmap.labels:
            raise ValueError("the model has no free parameters: give at least one a prior")
        self.labels = pmap.labels
        self.units = tuple(pmap.units[k] for k in self.labels)
        self.priors = tuple(pmap.free[k] for k in self.labels)
        self.ndim = len(self.labels)
        loglike = _make_loglike(self.render, img.noise.loglike_fn(), _has_positive(model))
        self.loglike = jax.jit(loglike)
        batch = jax.vmap(loglike)
        self.loglike_batch = jax.jit(lambda thetas: batch(jnp.asarray(thetas, dtype=float)))
        self.prior_transform = jax.jit(self._prior_transform)
        self.log_prior = jax.jit(self._log_prior)

    def _prior_transform(self, u):
        u = jnp.asarray(u, dtype=float)
        return jnp.stack([d.icdf(u[..., i]) for i, d in enumerate(self.priors)], axis=-1)

    def _log_prior(self, theta):
        theta = jnp.asarray(theta, dtype=float)
        return sum(d.log_prob(theta[..., i]) for i, d in enumerate(self.priors))


def _has_positive(model) -> bool:
    return any(c.positive for c in model.components)


def _make_loglike(render, noise_loglike, check_positive):
    def loglike(theta):
        maps = render(jnp.asarray(theta, dtype=float))
        value = noise_loglike(maps.smoothed + maps.background)
        bad = ~jnp.isfinite(value)
        if check_positive:
            bad = bad | jnp.any(maps.negative)
        return jnp.where(bad, -jnp.inf, value)

    return loglike
