"""The MAP optimizer: L-BFGS-B in the unit cube on the analytic problem and on an image."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from socca import priors
from socca.data import Image
from socca.inference import Problem
from socca.inference.backends import optimizer
from socca.models import Model, Point, Sersic
from socca.noise import Normal
from tests.conftest import ARCSEC, gaussian_psf, make_hdu
from tests.inference.analytic import GaussianProblem

TOL_SIGMA = 1e-4  # optimum vs the Gaussian mean, in units of sigma


class OffCentreGaussian(GaussianProblem):
    """The analytic problem in a box off its centre, so that u = 0.5 is not the optimum.

    ``invalid_above`` (optional) makes the log-likelihood ``-inf`` where the
    first parameter exceeds it.
    """

    def __init__(self, below=3.0, above=7.0, invalid_above=None):
        super().__init__()
        self.low, self.high = self.mean - below, self.mean + above
        self.priors = tuple(
            priors.uniform(lo, hi) for lo, hi in zip(self.low, self.high, strict=True)
        )
        low, high = jnp.asarray(self.low), jnp.asarray(self.high)
        self.prior_transform = jax.jit(lambda u: low + (high - low) * u)
        if invalid_above is not None:
            gaussian = self.loglike

            def loglike(theta):
                return jnp.where(theta[0] > invalid_above, -jnp.inf, gaussian(theta))

            self.loglike = jax.jit(loglike)
            self.loglike_batch = jax.jit(jax.vmap(loglike))

    def sigma(self):
        return np.sqrt(np.diag(self.cov))


@pytest.fixture(scope="module")
def problem():
    return OffCentreGaussian()


def assert_at_mean(problem, result):
    res = result.extras["results"]
    np.testing.assert_array_less(np.abs(res.x - problem.mean) / problem.sigma(), TOL_SIGMA)
    np.testing.assert_array_equal(result.samples, res.x[None, :])


@pytest.mark.parametrize("pinits", ["median", "random"])
def test_optimum_is_the_gaussian_mean(problem, pinits):
    result = optimizer.run(problem, pinits=pinits, seed=1)
    res = result.extras["results"]
    assert_at_mean(problem, result)
    assert res.success and res.nit > 0
    assert result.sampler is res and result.logz is None and result.weights.tolist() == [1.0]
    np.testing.assert_allclose(np.asarray(problem.prior_transform(res.u)), res.x, rtol=1e-12)
    assert -res.fun == pytest.approx(float(problem.loglike(res.x)), rel=1e-10, abs=1e-10)
    assert result.extras["ncall"] > res.nit


def test_random_start_depends_on_seed(problem):
    first = optimizer.run(problem, pinits="random", seed=5, options={"maxiter": 1})
    again = optimizer.run(problem, pinits="random", seed=5, options={"maxiter": 1})
    other = optimizer.run(problem, pinits="random", seed=6, options={"maxiter": 1})
    np.testing.assert_array_equal(first.samples, again.samples)
    assert not np.allclose(first.samples, other.samples)


def test_pinits_values_map_through_the_prior_cdf(problem):
    """Starting at the optimum itself, the optimizer stays there."""
    result = optimizer.run(problem, pinits=list(problem.mean))
    np.testing.assert_allclose(result.samples[0], problem.mean, rtol=0, atol=1e-9)
    away = optimizer.run(problem, pinits=problem.mean + np.array([2.0, -1.5, 3.0]))
    assert_at_mean(problem, away)


@pytest.mark.parametrize(
    "pinits, match",
    [
        ([0.5, -1.0], "expected 3 values"),
        ([[0.5, -1.0, 2.0]], "expected 3 values"),
        ([0.5, -1.0, 12.0], r"comp_00_p2=12\.0 is outside .*\[-1, 9\]"),
        ([np.nan, -1.0, 2.0], "comp_00_p0=nan"),
        ("centre", "'median', 'random'"),
        (["a", "b", "c"], "expected numbers"),
    ],
)
def test_bad_pinits_raise(problem, pinits, match):
    with pytest.raises(ValueError, match=match):
        optimizer.run(problem, pinits=pinits)


def test_pinits_values_need_priors():
    with pytest.raises(ValueError, match="priors"):
        optimizer.run(GaussianProblem(), pinits=[0.5, -1.0, 2.0])


def test_invalid_start_moves_to_a_valid_point_and_converges():
    """u = 0.5 sits in a -inf region: the optimizer must not stop there."""
    problem = OffCentreGaussian(invalid_above=OffCentreGaussian().mean[0] + 1.0)
    assert not np.isfinite(float(problem.loglike(problem.prior_transform(np.full(3, 0.5)))))
    with pytest.warns(UserWarning, match="not finite at the starting point"):
        result = optimizer.run(problem, seed=0)
    assert_at_mean(problem, result)
    assert np.isfinite(-result.extras["results"].fun)


def test_invalid_region_next_to_the_path_is_avoided():
    """A -inf region on the far side of the optimum: penalised steps are backed out of."""
    mean0 = OffCentreGaussian().mean[0]
    problem = OffCentreGaussian(below=7.0, above=3.0, invalid_above=mean0 + 0.05)
    result = optimizer.run(problem)
    assert_at_mean(problem, result)


class CuspAtStart(OffCentreGaussian):
    """A narrow cusp 1e-13 from the median start: the gradient there is huge and useless.

    This is what a cusped profile centred on a pixel centre does to an image
    likelihood; beyond 1e-3 of the cusp the problem is the plain Gaussian.
    """

    def __init__(self):
        super().__init__()
        cusp = float(self.prior_transform(np.full(3, 0.5))[0]) + 1e-13
        gaussian = self.loglike

        def loglike(theta):
            x = jnp.minimum(jnp.abs(theta[0] - cusp), 1e-3)
            return gaussian(theta) - 0.1 * jnp.sqrt(x * x + 1e-300) ** 0.3

        self.loglike = jax.jit(loglike)
        self.loglike_batch = jax.jit(jax.vmap(loglike))


def test_a_cusp_at_the_start_does_not_stop_the_optimizer(monkeypatch):
    problem = CuspAtStart()
    result = optimizer.run(problem)
    assert_at_mean(problem, result)
    assert result.extras["results"].success
    # without the retries after a failed line search, L-BFGS-B stops where it started
    monkeypatch.setattr(optimizer, "RETRIES", 0)
    stalled = optimizer.run(problem).extras["results"]
    assert stalled.nit == 0 and not stalled.success
    np.testing.assert_allclose(stalled.u, 0.5)


def test_nrestarts_keeps_the_best(problem):
    result = optimizer.run(problem, nrestarts=2, seed=4)
    assert_at_mean(problem, result)
    single = optimizer.run(problem)
    assert result.extras["ncall"] > single.extras["ncall"]
    with pytest.raises(ValueError, match="nrestarts"):
        optimizer.run(problem, nrestarts=-1)


def test_forwarded_options(problem):
    seen = []
    result = optimizer.run(
        problem, pinits="random", seed=2, options={"maxiter": 2}, tol=1e-3, callback=seen.append
    )
    assert result.extras["results"].nit == 2 and len(seen) == 2
    assert np.all((seen[-1] > 0) & (seen[-1] < 1))  # the callback sees unit-cube points


def test_unknown_option_and_checkpoint_raise(problem):
    with pytest.raises(TypeError, match="'nlive'"):
        optimizer.run(problem, nlive=100)
    with pytest.raises(TypeError, match="'method'"):
        optimizer.run(problem, method="BFGS")
    with pytest.raises(ValueError, match="checkpointing is not available for the optimizer"):
        optimizer.run(problem, checkpoint="fit")
    assert optimizer.EVIDENCE is False and optimizer.CHECKPOINT is None


# --------------------------------------------------------------------------- an image fit

PIX = ARCSEC  # make_hdu's pixel size


def image_model(ra, dec):
    """A Sérsic galaxy and a point source two pixels apart, every parameter free."""
    galaxy = Sersic(
        xc=priors.uniform(ra - 3 * PIX, ra + 3 * PIX),
        yc=priors.uniform(dec - 3 * PIX, dec + 3 * PIX),
        theta=priors.uniform(0.0, np.pi),
        e=priors.uniform(0.0, 0.8),
        re=priors.loguniform(1 * PIX, 20 * PIX),
        Ie=priors.loguniform(0.01, 10.0),
        ns=priors.uniform(0.5, 3.0),
    )
    point = Point(
        xc=priors.uniform(ra - 5 * PIX, ra + 5 * PIX),
        yc=priors.uniform(dec - 5 * PIX, dec + 5 * PIX),
        Ic=priors.loguniform(1.0, 1000.0),
    )
    return Model([galaxy, point])


@pytest.fixture(scope="module")
def image_fit():
    """A noisy render of known parameters, its problem and the truth vector."""
    shape, sigma, psf = (64, 64), 0.01, gaussian_psf(15, 1.5)
    blank = Image(
        make_hdu(shape, data=np.zeros(shape)), noise=Normal(sigma=sigma), addpsf=dict(img=psf)
    )
    ra, dec = float(blank.grid.ra[32, 32]), float(blank.grid.dec[32, 32])
    model = image_model(ra, dec)
    galaxy = [ra + 0.4 * PIX, dec - 0.3 * PIX, 0.7, 0.35, 6 * PIX, 0.8, 1.3]  # xc .. ns
    point = [ra - 2.2 * PIX, dec + 1.6 * PIX, 40.0]  # xc, yc, Ic
    truth = np.array(galaxy + point)
    clean = model.getmodel(blank, truth)[1]
    noisy = clean + np.random.default_rng(7).normal(0.0, sigma, shape)
    img = Image(make_hdu(shape, data=noisy), noise=Normal(sigma=sigma), addpsf=dict(img=psf))
    return Problem(model, img), truth


def test_image_fit_recovers_the_truth_from_the_median(image_fit):
    problem, truth = image_fit
    result = optimizer.run(problem)
    res = result.extras["results"]
    best = dict(zip(problem.labels, res.x, strict=True))
    true = dict(zip(problem.labels, truth, strict=True))
    positions = [k for k in problem.labels if k.endswith(("_xc", "_yc"))]
    for k in problem.labels:
        if k in positions:
            assert abs(best[k] - true[k]) < 0.05 * PIX, (k, (best[k] - true[k]) / PIX)
        elif k.endswith("_theta"):
            assert abs(best[k] - true[k]) < 0.01, (k, best[k], true[k])
        else:
            assert best[k] == pytest.approx(true[k], rel=0.01), k
    assert res.nit > 10, res.nit  # it moved away from the start point
    assert -res.fun == pytest.approx(float(problem.loglike(res.x)), rel=1e-9)


def test_a_first_step_into_a_corner_is_recovered_from():
    """A star fit whose first L-BFGS-B step lands at zero flux (where the position
    gradients vanish) still reaches the optimum near the truth."""
    import socca
    from socca import priors, simulate
    from socca.models import Model, Point

    arcsec = 1 / 3600
    truth = Model([Point(xc=150.0, yc=2.0, Ic=5.0)])
    img, _ = simulate.mock_observation(
        truth, shape=(24, 24), ra=150.0, dec=2.0, pixscale=0.2 * arcsec, sigma=0.05, seed=1
    )
    star = Point(
        xc=priors.uniform(150 - arcsec, 150 + arcsec),
        yc=priors.uniform(2 - arcsec, 2 + arcsec),
        Ic=priors.uniform(0, 20),
    )
    fit = socca.fitter(Model([star]), img)
    fit.run(method="optimizer")
    best = fit.results.x
    assert abs(best[2] - 5.0) < 0.5
    assert -fit.results.fun >= float(fit.loglike(np.array([150.0, 2.0, 5.0])))
