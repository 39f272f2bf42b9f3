"""Numerical faults (NaN, inf) never reach a sampler: they become -inf and are counted.

The test model is a custom profile that turns NaN when its width exceeds
``NAN_ABOVE``, inside the prior range: every sampler meets the bad region.
Each backend is run where it evaluates points one at a time, so that a
recorder around the problem's flagged likelihood counts the faults directly
(no padding rows), and the count in the warning must equal it.
"""

from __future__ import annotations

import re
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import socca
from socca import priors
from socca.inference import Problem
from socca.inference.accounting import Faults, NumericalWarning, flagged_functions
from socca.inference.backends import get_backend
from socca.models import Model
from socca.models.custom import CustomProfile
from socca.parallel.session import Distributed
from tests.inference.analytic import GaussianProblem
from tests.parallel import small

ARCSEC = 1.0 / 3600.0
NAN_ABOVE = 4.5 * ARCSEC
COUNT = re.compile(r"(\d+) of (\d+) likelihood evaluations were not finite")


def blob(r, rs, amp):
    """A Gaussian blob that is NaN everywhere once ``rs > NAN_ABOVE``."""
    return jnp.where(rs > NAN_ABOVE, jnp.nan, amp * jnp.exp(-0.5 * (r / rs) ** 2))


def nan_model(positive=False, amp=(0.2, 2.0)):
    comp = CustomProfile(
        parameters=["rs", "amp"],
        profile=blob,
        xc=20.0,
        yc=-10.0,
        rs=priors.uniform(1 * ARCSEC, 6 * ARCSEC),
        amp=priors.uniform(*amp),
    )
    comp.positive = positive
    return Model([comp])


@pytest.fixture(scope="module")
def image():
    return small.image()


@pytest.fixture(scope="module")
def problem(image):
    return Problem(nan_model(), image)


class Recorder:
    """Wraps a problem's flagged likelihoods and counts the NaN answers they give."""

    def __init__(self, problem):
        self.problem = problem
        self.nan = self.calls = 0
        single, batch = flagged_functions(problem)
        self.loglike_flagged = self._record(single)
        self.loglike_batch_flagged = self._record(batch)

    def _record(self, fn):
        def recorded(x):
            values = np.asarray(fn(x))
            self.nan += int(np.isnan(values).sum())
            self.calls += values.size
            return values

        return recorded

    def __getattr__(self, name):
        return getattr(self.problem, name)


def warned_count(record):
    texts = [str(w.message) for w in record if issubclass(w.category, NumericalWarning)]
    assert len(texts) == 1, texts
    found = COUNT.search(texts[0])
    assert found, texts[0]
    return int(found.group(1)), int(found.group(2)), texts[0]


def test_flagged_and_public_likelihoods(image):
    problem = Problem(nan_model(positive=True, amp=(-1.0, 2.0)), image)
    thetas = np.array(
        [
            [3 * ARCSEC, 1.0],  # fine
            [5 * ARCSEC, 1.0],  # NaN profile: a fault
            [3 * ARCSEC, -0.5],  # negative: impossible, not a fault
        ]
    )
    flagged = np.asarray(problem.loglike_batch_flagged(thetas))
    public = np.asarray(problem.loglike_batch(thetas))
    assert np.isfinite(flagged[0]) and np.isnan(flagged[1]) and flagged[2] == -np.inf
    assert public[0] == flagged[0] and public[1] == public[2] == -np.inf
    assert float(problem.loglike(thetas[1])) == -np.inf
    assert np.isnan(float(problem.loglike_flagged(thetas[1])))
    faults = Faults(problem.labels)
    np.testing.assert_array_equal(faults.screen(thetas, flagged), public)
    assert faults.count == 1 and faults.ncall == 3  # the positivity violation is not counted
    np.testing.assert_array_equal(faults.low, thetas[1])


def test_faults_screen_and_message():
    faults = Faults(("a", "b"))
    values = faults.screen(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, -6.0]]), [0.5, np.nan, np.inf])
    np.testing.assert_array_equal(values, [0.5, -np.inf, -np.inf])
    assert faults.screen_one(np.array([0.0, 0.0]), -np.inf) == -np.inf  # legitimate: not counted
    assert (faults.count, faults.ncall) == (2, 4)
    text = faults.message("test")
    assert "2 of 4" in text and "a in [3, 5]" in text and "b in [-6, 4]" in text
    assert Faults(("a",)).message("test") is None
    with pytest.warns(NumericalWarning, match="2 of 4"):
        result = faults.report(type("R", (), {"extras": {}})(), "test")
    assert result.extras["nonfinite"] == 2


SERIAL = {
    "nautilus": {"vectorized": False, "n_live": 100, "n_eff": 300, "n_networks": 1},
    "dynesty": {"queue_size": 1, "nlive": 60, "dlogz": 1.0},
    "emcee": {"vectorize": False, "nwalkers": 8, "nsteps": 150},
    "pocomc": {"vectorize": False, "nlive": 100, "n_total": 300, "n_evidence": 0, "flow": "maf3"},
}


@pytest.mark.parametrize("method", list(SERIAL))
def test_every_fault_is_counted_once(problem, method):
    recorder = Recorder(problem)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = get_backend(method).run(recorder, seed=1, progress=False, **SERIAL[method])
    count, ncall, text = warned_count(record)
    assert 0 < recorder.nan == count == result.extras["nonfinite"]
    assert ncall == recorder.calls
    low = float(re.search(rf"{problem.labels[0]} in \[([^,]+),", text).group(1))
    assert low > NAN_ABOVE  # where: only the bad region
    assert np.isfinite(result.weights).all()


def test_no_warning_without_faults(image):
    problem = Problem(small.model(), image)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumericalWarning)
        result = get_backend("emcee").run(problem, seed=0, nsteps=20, progress=False)
    assert result.extras["nonfinite"] == 0


def test_optimizer_counts_faults(problem):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = get_backend("optimizer").run(problem, pinits=[5 * ARCSEC, 1.0], seed=0)
    count, _, text = warned_count(record)
    assert count == result.extras["nonfinite"] >= 1  # at least the start
    assert result.samples[0, 0] <= NAN_ABOVE


def test_fitter_warns(image):
    fit = socca.fitter(nan_model(), image)
    with pytest.warns(NumericalWarning, match="emcee: [1-9][0-9]* of"):
        fit.run(method="emcee", seed=2, nsteps=50, nwalkers=8, progress=False)
    assert fit.nonfinite > 0
    assert np.all(fit.samples[:, 0] <= NAN_ABOVE)


def test_duck_typed_problems_are_screened():
    gauss = GaussianProblem()
    batch = gauss.loglike_batch
    gauss.loglike_batch = lambda x: np.where(np.asarray(x)[:, 0] > 1.5, np.nan, batch(x))
    with pytest.warns(NumericalWarning, match="comp_00_p0 in \\[1.5"):
        result = get_backend("emcee").run(gauss, seed=0, nsteps=100, progress=False)
    assert result.extras["nonfinite"] > 0 and np.all(result.samples[:, 0] <= 1.5)


def test_distributed_batches_keep_the_flag(problem):
    thetas = np.array([[3 * ARCSEC, 1.0], [5 * ARCSEC, 1.0]])
    dist = Distributed(problem, lambda x: np.asarray(problem.loglike_batch_flagged(x)), 2)
    flagged = dist.loglike_batch_flagged(thetas)
    assert np.isfinite(flagged[0]) and np.isnan(flagged[1])
    np.testing.assert_array_equal(dist.loglike_batch(thetas), [flagged[0], -np.inf])
    assert flagged_functions(dist)[1] == dist.loglike_batch_flagged


def test_pool_workers_send_the_flag_back(image):
    from socca.parallel.pool import Pool, Recipe

    thetas = np.array([[3 * ARCSEC, 1.0], [5 * ARCSEC, 1.0], [2 * ARCSEC, 0.5]])
    build = _Build(image)
    with Pool(1, threads=1) as pool:
        pool.bind(Recipe(build))
        values = pool.evaluate(thetas)
    assert np.isnan(values[1]) and np.isfinite(values[[0, 2]]).all()


class _Build:
    """Picklable recipe: the NaN model on ``image``."""

    def __init__(self, image):
        self.image = image

    def __call__(self):
        return Problem(nan_model(), self.image)
