"""The experimental NumPyro (NUTS) backend on the analytic Gaussian problem."""

import importlib

import numpy as np
import pytest

from socca import priors
from socca.inference.backends import get_backend
from tests.inference.analytic import GaussianProblem

backend = importlib.import_module("socca.inference.backends.numpyro")
pytestmark = pytest.mark.filterwarnings("ignore:the numpyro .NUTS. backend is experimental")

QUICK = dict(nwarmup=100, nsamples=100, progress=False)


class PriorGaussian(GaussianProblem):
    """The analytic problem with its uniform box as ``priors``.

    The labels are out of alphabetical order, so that samples must be put in
    label order by name, not by numpyro's dictionary order.
    """

    def __init__(self):
        super().__init__()
        self.labels = ("comp_00_z", "comp_00_b", "comp_00_a")
        self.priors = tuple(
            priors.uniform(lo, hi) for lo, hi in zip(self.low, self.high, strict=True)
        )


@pytest.fixture(scope="module")
def problem():
    return PriorGaussian()


@pytest.fixture(scope="module")
def one_chain(problem):
    return backend.run(problem, seed=0, nsamples=2000, progress=False)


@pytest.fixture(scope="module")
def two_chains(problem):
    return backend.run(problem, seed=1, ncores=2, nwarmup=300, nsamples=500, progress=False)


def test_module_imports_the_numpyro_library():
    """Inside the package, ``import numpyro`` must still give the library."""
    assert get_backend("numpyro") is backend
    assert backend.numpyro.__name__ == "numpyro" and hasattr(backend.numpyro, "sample")
    assert backend.EVIDENCE is False and backend.CHECKPOINT is None


def test_posterior_matches_the_gaussian(problem, one_chain):
    result = one_chain
    sd = np.sqrt(np.diag(problem.cov))
    mean = result.weights @ result.samples
    std = np.sqrt(result.weights @ (result.samples - mean) ** 2)
    np.testing.assert_array_less(np.abs(mean - problem.mean) / sd, 0.1)
    np.testing.assert_array_less(np.abs(std / sd - 1), 0.1)
    # correlated MCMC draws: the KS test of the harness only guards against gross errors
    problem.check_posterior(result, tol_sigma=0.1, tol_ks=1e-6)
    corr = np.corrcoef(result.samples.T)[0, 1]
    assert corr == pytest.approx(0.4, abs=0.1)


def test_result_layout(one_chain):
    result = one_chain
    assert result.samples.shape == (2000, 3) and result.logz is None
    np.testing.assert_allclose(result.weights, 1 / 2000)
    assert result.extras["nchains"] == 1 and result.extras["divergences"] == 0
    assert result.extras["ncall"] >= 2000
    assert result.extras["r_hat"].shape == (3,) and result.extras["ess"].shape == (3,)
    assert np.all(result.extras["ess"] > 300)
    assert type(result.sampler).__name__ == "MCMC"


def test_two_chains(two_chains):
    result = two_chains
    assert result.samples.shape == (1000, 3) and result.extras["nchains"] == 2
    np.testing.assert_array_less(np.abs(result.extras["r_hat"] - 1), 0.02)
    chains = result.sampler.get_samples(group_by_chain=True)["comp_00_z"]
    assert chains.shape == (2, 500)
    np.testing.assert_array_equal(result.samples[:500, 0], chains[0])


def test_seed_reproducibility_and_aliases(problem):
    first = backend.run(problem, seed=3, **QUICK)
    again = backend.run(problem, seed=3, num_warmup=100, num_samples=100, progress=False)
    other = backend.run(problem, seed=4, **QUICK)
    np.testing.assert_array_equal(first.samples, again.samples)
    assert not np.allclose(first.samples, other.samples)


def test_experimental_warning(problem):
    with pytest.warns(UserWarning, match="experimental"):
        backend.run(problem, seed=0, nwarmup=10, nsamples=10, progress=False)


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(nlive=100), TypeError, "'nlive'"),
        (dict(nsamples=10, num_samples=10), TypeError, "not both"),
        (dict(nsamples=0), ValueError, "num_samples must be a positive integer"),
        (dict(ncores=1.5), ValueError, "num_chains"),
        (dict(checkpoint="fit"), ValueError, "checkpointing is not available for the numpyro"),
    ],
)
def test_bad_options_raise_before_sampling(problem, options, error, match):
    with pytest.raises(error, match=match):
        backend.run(problem, **options)


def test_priors_are_required():
    with pytest.raises(TypeError, match="priors"):
        backend.run(GaussianProblem(), **QUICK)
