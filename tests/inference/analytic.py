"""An analytic inference problem shared by every backend's tests.

A correlated Gaussian likelihood, normalised in θ, inside a uniform prior box
much wider than it: the posterior is that Gaussian and the evidence is
``1 / volume(box)`` to high accuracy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

import socca  # noqa: F401  (float64)


class GaussianProblem:
    """Duck-typed stand-in for :class:`socca.inference.Problem`."""

    def __init__(self, mean=(0.5, -1.0, 2.0), sigma=(0.3, 0.5, 0.2), rho=0.4, half_width=5.0):
        self.mean = np.asarray(mean, dtype=float)
        sigma = np.asarray(sigma, dtype=float)
        self.ndim = self.mean.size
        corr = np.full((self.ndim, self.ndim), rho) + (1 - rho) * np.eye(self.ndim)
        self.cov = corr * np.outer(sigma, sigma)
        self.low = self.mean - half_width
        self.high = self.mean + half_width
        self.labels = tuple(f"comp_00_p{i}" for i in range(self.ndim))
        self.units = ("",) * self.ndim
        self.logz_true = -float(np.sum(np.log(self.high - self.low)))
        icov = jnp.asarray(np.linalg.inv(self.cov))
        const = -0.5 * (self.ndim * np.log(2 * np.pi) + np.linalg.slogdet(self.cov)[1])
        mean, low, high = jnp.asarray(self.mean), jnp.asarray(self.low), jnp.asarray(self.high)

        def loglike(theta):
            d = theta - mean
            return const - 0.5 * d @ icov @ d

        def prior_transform(u):
            return low + (high - low) * u

        def log_prior(theta):
            inside = jnp.all((theta >= low) & (theta <= high), axis=-1)
            return jnp.where(inside, self.logz_true, -jnp.inf)

        self.loglike = jax.jit(loglike)
        self.loglike_batch = jax.jit(jax.vmap(loglike))
        self.prior_transform = jax.jit(prior_transform)
        self.log_prior = jax.jit(log_prior)

    def check_posterior(self, result, tol_sigma=0.15, tol_ks=1e-3):
        """Assert weighted mean and spread match and a KS test passes on each axis."""
        w = result.weights
        mean = w @ result.samples
        std = np.sqrt(w @ (result.samples - mean) ** 2)
        sd = np.sqrt(np.diag(self.cov))
        assert np.all(np.abs(mean - self.mean) < tol_sigma * sd * 2), (mean, self.mean)
        assert np.all(np.abs(std / sd - 1) < tol_sigma), (std, sd)
        rng = np.random.default_rng(0)
        # no more draws than the weights' effective sample size: repeats of one
        # weighted sample would make the KS test stricter than the run can support
        ess = int(1.0 / np.sum(w**2))
        idx = rng.choice(len(w), size=min(2000, len(w), ess), p=w)
        for j in range(self.ndim):
            p = stats.kstest(result.samples[idx, j], stats.norm(self.mean[j], sd[j]).cdf).pvalue
            assert p > tol_ks, (j, p)
