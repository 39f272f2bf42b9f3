"""The pure-noise counterpart of a fit, used to calibrate Bayes factors.

``fit.run(getzprior=True)`` fits the same model, with the same priors, to a
noise realisation drawn from the image's noise model. The log Bayes factor
the model reaches there (against the empty model) measures how much evidence
its freedom alone buys; :meth:`socca.fitter.bmc` subtracts it ("deboosts").
"""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np

from socca.inference.problem import Problem


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
