"""Through ``fitter.run``: the same seed gives identical results, and stray options are refused.

Every stochastic method (emcee, dynesty, nautilus, pocomc, numpyro) and the
optimizer (random starts) run twice with one seed and once with another on
the small two-parameter fit of tests/parallel/small.py: the repeated run must
give bit-identical samples, weights and evidence, the other seed different
samples (so that the comparison can fail). Every method refuses an unknown
keyword of ``run`` with a TypeError naming it, before any sampling.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from socca.inference.backends import METHODS
from tests.parallel import small

QUICK = {
    "nautilus": {"n_live": 100, "n_eff": 300, "n_networks": 1},
    "dynesty": {"nlive": 60, "dlogz": 1.0},
    "pocomc": {"nlive": 100, "n_total": 300, "n_evidence": 300, "flow": "maf3"},
    "emcee": {"nwalkers": 8, "nsteps": 100},
    "numpyro": {"nwarmup": 50, "nsamples": 50},
    "optimizer": {"pinits": "random", "nrestarts": 1},
}


@pytest.fixture(scope="module")
def fit():
    return small.fitter()


def outcome(fit, method, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpyro's experimental notice
        fit.run(method=method, seed=seed, progress=False, **QUICK[method])
    return fit.samples.copy(), fit.weights.copy(), fit.logz


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_result(fit, method):
    first, again, other = (outcome(fit, method, seed) for seed in (3, 3, 4))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[2] == again[2]
    assert first[0].shape != other[0].shape or not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("method", METHODS)
def test_unknown_option_is_refused(fit, method):
    with pytest.raises(TypeError, match="'no_such_option'"):
        fit.run(method=method, seed=0, progress=False, no_such_option=1)
