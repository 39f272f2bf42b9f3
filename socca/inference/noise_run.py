"""The extra runs behind Bayes-factor calibration.

``fit.run(getzprior=True)`` estimates the *prior evidence*: the same sampler
is run once more on :class:`PriorProblem`, which samples the prior with the
log prior density in place of the log-likelihood, so that its evidence is

    Z_prior = ∫ π(θ) π(θ) dθ.

:meth:`socca.fitter.bmc` subtracts ``ln Z_prior`` from the raw log Bayes
factor ("deboosts" it). For independent uniform priors of widths ``w_i``,
``ln Z_prior = -Σ ln w_i``; for a normal prior of scale ``σ`` the factor is
``1 / (2 σ sqrt(π))``.

:func:`noise_problem`, a pure-noise copy of a problem, remains for tests of
the noise models' simulations.
"""

from __future__ import annotations

import contextlib
import copy
import io

import jax
import numpy as np

from socca.inference.problem import Problem


class PriorProblem:
    """A problem whose "likelihood" is its own log prior density.

    Has the attributes the sampler backends use (``labels``, ``units``,
    ``ndim``, ``priors``, ``prior_transform``, ``log_prior``, ``loglike``,
    ``loglike_batch``, ``fingerprint``), so any evidence-computing backend
    runs it as it runs the fit.

    Parameters
    ----------
    problem : socca.inference.Problem
        The fit's problem, whose priors are used.
    """

    def __init__(self, problem):
        self.labels = problem.labels
        self.units = problem.units
        self.ndim = problem.ndim
        self.priors = problem.priors
        self.prior_transform = problem.prior_transform
        self.log_prior = problem.log_prior
        # log_prior takes (..., nfree): one compiled function serves single points and batches
        self.loglike = jax.jit(problem.log_prior)
        self.loglike_batch = self.loglike
        self.fingerprint = {**problem.fingerprint, "model": "prior:" + problem.fingerprint["model"]}


def prior_problem(mod, img):
    """The :class:`PriorProblem` of ``mod`` on ``img`` (how pool workers build it)."""
    return PriorProblem(Problem(mod, img))


def noise_problem(mod, img, seed=None):
    """A :class:`Problem` on a pure-noise copy of ``img``, with ``null_loglike`` set."""
    rng = np.random.default_rng(seed)
    sim = copy.deepcopy(img)
    sim.data = img.noise.simulate(rng)
    with contextlib.redirect_stdout(io.StringIO()):
        sim.noise.bind(sim)
    problem = Problem(mod, sim)
    problem.null_loglike = float(sim.noise.loglike_fn()(np.zeros(sim.shape)))
    return problem
