"""Tests of the full-covariance Gaussian noise model ``socca.noise.NormalCorrelated``."""

import pickle
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import socca
from socca import priors
from socca.data import Image
from socca.inference.noise_run import noise_problem
from socca.models import Gaussian, Model
from socca.noise import Noise, Normal, NormalCorrelated
from tests.conftest import make_hdu

SHAPE = (16, 16)
NPIX = SHAPE[0] * SHAPE[1]


def make_img(data, mask=None):
    """Minimal stand-in for ``socca.data.Image``."""
    data = np.asarray(data, dtype=np.float64)
    if mask is None:
        mask = np.ones(data.shape, dtype=bool)
    return SimpleNamespace(data=data, mask=np.array(mask, dtype=bool), shape=data.shape)


def stationary_cov(shape, var=0.8, ell=1.5, white=0.2):
    """Gaussian-shaped stationary covariance plus a white part, flattened in C order."""
    rows, cols = (a.ravel() for a in np.indices(shape))
    lag2 = (rows[:, None] - rows[None, :]) ** 2 + (cols[:, None] - cols[None, :]) ** 2
    return var * np.exp(-0.5 * lag2 / ell**2) + white * np.eye(rows.size)


def draws(cov, nr, shape, rng):
    """``nr`` realisations of zero-mean Gaussian noise with covariance ``cov``."""
    chol = np.linalg.cholesky(cov)
    return (chol @ rng.standard_normal((cov.shape[0], nr))).T.reshape(nr, *shape)


@pytest.fixture
def setup():
    rng = np.random.default_rng(11)
    cov = stationary_cov(SHAPE)
    model = rng.normal(0.0, 2.0, SHAPE)
    data = model + draws(cov, 1, SHAPE, rng)[0]
    mask = rng.uniform(size=SHAPE) > 0.25
    return SimpleNamespace(rng=rng, cov=cov, model=model, data=data, mask=mask)


# -------------------------------------------------------------- log-likelihood


def test_diagonal_covariance_equals_normal(setup):
    sigma = setup.rng.uniform(0.5, 2.0, SHAPE)
    for mask in (None, setup.mask):
        normal, corr = Normal(sigma=sigma), NormalCorrelated(cov=np.diag(sigma.ravel() ** 2))
        normal.bind(make_img(setup.data, mask))
        corr.bind(make_img(setup.data, mask))
        want = float(normal.loglike_fn()(setup.model))
        assert float(corr.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-10)


def test_matches_scipy_multivariate_normal(setup):
    noise = NormalCorrelated(cov=setup.cov)
    noise.bind(make_img(setup.data))
    want = stats.multivariate_normal(setup.model.ravel(), setup.cov).logpdf(setup.data.ravel())
    assert float(noise.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-10)


def test_icov_equals_cov(setup):
    for mask in (None, setup.mask):
        a, b = NormalCorrelated(cov=setup.cov), NormalCorrelated(icov=np.linalg.inv(setup.cov))
        a.bind(make_img(setup.data, mask))
        b.bind(make_img(setup.data, mask))
        want = float(a.loglike_fn()(setup.model))
        assert float(b.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-9)


def test_mask_selects_pixels_before_inverting(setup):
    noise = NormalCorrelated(cov=setup.cov)
    noise.bind(make_img(setup.data, setup.mask))
    used = setup.mask.ravel()
    marginal = stats.multivariate_normal(setup.model.ravel()[used],
                                         setup.cov[np.ix_(used, used)])
    want = marginal.logpdf(setup.data.ravel()[used])
    loglike = noise.loglike_fn()
    assert float(loglike(setup.model)) == pytest.approx(want, rel=1e-10)
    wild = np.where(setup.mask, setup.model, 1e9)
    assert float(loglike(wild)) == float(loglike(setup.model))


def test_four_index_matrix_accepted(setup):
    noise = NormalCorrelated(cov=setup.cov.reshape(*SHAPE, *SHAPE))
    noise.bind(make_img(setup.data))
    ref = NormalCorrelated(cov=setup.cov)
    ref.bind(make_img(setup.data))
    assert float(noise.loglike_fn()(setup.model)) == float(ref.loglike_fn()(setup.model))


def test_jit_vmap_grad(setup):
    noise = NormalCorrelated(cov=setup.cov)
    noise.bind(make_img(setup.data, setup.mask))
    loglike = noise.loglike_fn()
    model = jnp.asarray(setup.model)
    assert float(jax.jit(loglike)(model)) == pytest.approx(float(loglike(model)), rel=1e-12)
    models = model + 0.1 * jnp.asarray(setup.rng.normal(size=(5, *SHAPE)))
    batched = np.asarray(jax.jit(jax.vmap(loglike))(models))
    np.testing.assert_allclose(batched, [float(loglike(m)) for m in models], rtol=1e-12)
    grad = np.asarray(jax.grad(loglike)(model)).ravel()
    used = setup.mask.ravel()
    resid = (setup.data - setup.model).ravel()[used]
    analytic = np.zeros(NPIX)
    analytic[used] = np.linalg.solve(setup.cov[np.ix_(used, used)], resid)
    np.testing.assert_allclose(grad, analytic, rtol=1e-8, atol=1e-10)


def test_pickle_roundtrip(setup):
    noise = NormalCorrelated(cov=setup.cov)
    noise.bind(make_img(setup.data, setup.mask))
    clone = pickle.loads(pickle.dumps(noise))
    assert float(clone.loglike_fn()(setup.model)) == float(noise.loglike_fn()(setup.model))


# ----------------------------------------------------------- estimate from a cube


def test_cube_estimate_converges_to_stationary_covariance():
    rng = np.random.default_rng(5)
    cov = stationary_cov(SHAPE)
    cube = draws(cov, 20000, SHAPE, rng)
    rows, cols = (a.ravel() for a in np.indices(SHAPE))
    near = (np.abs(rows[:, None] - rows[None, :]) <= 8) & (
        np.abs(cols[:, None] - cols[None, :]) <= 8
    )
    errors = {}
    for nr in (200, 2000, 20000):
        noise = NormalCorrelated(cube=cube[:nr], smooth=0)
        noise.bind(make_img(np.zeros(SHAPE)))
        errors[nr] = np.abs(noise.covariance - cov)
    # statistical error ~ 1/sqrt(nr): with 2000 realisations every pixel pair up to 8 pixels
    # apart (at least 64 pairs per lag per realisation) is within 3% of the unit variance
    # and the rms error is below 1%; it keeps shrinking with more realisations
    assert errors[2000][near].max() < 0.03 and np.sqrt(np.mean(errors[2000] ** 2)) < 0.01
    assert np.mean(errors[20000]) < 0.5 * np.mean(errors[2000]) < 0.25 * np.mean(errors[200])
    # default smoothing: a lag window that keeps the variance and biases short lags a little
    smoothed = NormalCorrelated(cube=cube[:2000])
    smoothed.bind(make_img(np.zeros(SHAPE)))
    assert np.abs(smoothed.covariance - cov).max() < 0.03
    np.testing.assert_allclose(np.diag(smoothed.covariance), 1.0, atol=0.03)


def test_cube_single_map_and_kernel():
    rng = np.random.default_rng(2)
    white = rng.normal(0.0, 2.0, (32, 32))
    binomial = np.outer([1, 2, 1], [1, 2, 1])
    noise = NormalCorrelated(cube=white, kernel=binomial, smooth=2)
    noise.bind(make_img(np.zeros((32, 32))))
    diag = np.diag(noise.covariance)
    # one map of 1024 pixels: the variance is known to sqrt(2 / 1024) = 4.4%
    assert abs(diag.mean() / 4.0 - 1.0) < 0.1
    assert abs(noise.covariance[0, 1] / diag[0]) < 0.1


def test_cube_with_mask_uses_marginal(setup):
    cube = draws(setup.cov, 300, SHAPE, setup.rng)
    full = NormalCorrelated(cube=cube)
    full.bind(make_img(setup.data))
    masked = NormalCorrelated(cube=cube)
    masked.bind(make_img(setup.data, setup.mask))
    used = setup.mask.ravel()
    np.testing.assert_allclose(masked.covariance, full.covariance[np.ix_(used, used)])


def test_simulate_has_the_covariance(setup):
    noise = NormalCorrelated(cov=setup.cov)
    noise.bind(make_img(setup.data, setup.mask))
    rng = np.random.default_rng(0)
    sims = np.array([noise.simulate(rng) for _ in range(4000)])
    assert np.all(sims[:, ~setup.mask] == 0.0)
    used = setup.mask.ravel()
    sample = np.cov(sims.reshape(len(sims), -1)[:, used].T)
    assert np.abs(sample - setup.cov[np.ix_(used, used)]).max() < 0.12
    icov = NormalCorrelated(icov=np.linalg.inv(setup.cov))
    icov.bind(make_img(setup.data))
    sims = np.array([icov.simulate(rng) for _ in range(4000)]).reshape(4000, -1)
    assert np.abs(np.cov(sims.T) - setup.cov).max() < 0.12


# ------------------------------------------------------------- with an Image


def test_works_inside_image_and_fit():
    rng = np.random.default_rng(4)
    cov = stationary_cov(SHAPE, var=0.01, white=0.002)
    data = draws(cov, 1, SHAPE, rng)[0]
    hdu = make_hdu(SHAPE, data=data)
    noise = NormalCorrelated(cov=cov)
    img = Image(hdu, noise=noise, exposure=2.0, response=np.full(SHAPE, 0.5),
                addmask=np.pad(np.ones((14, 14)), 1))
    assert img.mask.sum() == 14 * 14 and noise.covariance.shape == (196, 196)
    mod = Model([Gaussian(xc=20.0, yc=-10.0, rs=2 / 3600, Is=priors.uniform(-1.0, 1.0))])
    fit = socca.fitter(mod, img)
    # the model reaching the noise is Is * response * exposure = Is at the centre
    used = img.mask.ravel()
    want = stats.multivariate_normal(np.zeros(196), cov[np.ix_(used, used)]).logpdf(
        data.ravel()[used])
    assert float(fit.loglike(np.array([0.0]))) == pytest.approx(want, rel=1e-10)
    sim = noise.simulate(np.random.default_rng(0))
    assert sim.shape == SHAPE and np.all(sim[~img.mask] == 0.0)


# ---------------------------------------------------------------------- errors


def test_is_a_noise():
    assert isinstance(NormalCorrelated(cov=np.eye(4)), Noise)


@pytest.mark.parametrize("given", [{}, {"cov": np.eye(4), "cube": np.ones((2, 2, 2))},
                                   {"icov": np.eye(4), "cube": np.ones((2, 2, 2))}])
def test_exactly_one_source(given):
    with pytest.raises(ValueError, match="exactly one of cov, icov or cube"):
        NormalCorrelated(**given)


def test_cov_and_icov_warns_and_uses_icov(setup):
    """The other implementation's rule: with both, the precision matrix wins."""
    icov = np.linalg.inv(setup.cov)
    with pytest.warns(UserWarning, match="both cov and icov.*using icov"):
        noise = NormalCorrelated(cov=np.eye(NPIX), icov=icov)
    assert noise.source == "icov"
    noise.bind(make_img(setup.data))
    want = stats.multivariate_normal(setup.model.ravel(), setup.cov).logpdf(setup.data.ravel())
    assert float(noise.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("key", ["cov", "icov", "cube"])
def test_accepts_jax_arrays(setup, key):
    value = {"cov": setup.cov, "icov": np.linalg.inv(setup.cov),
             "cube": draws(setup.cov, 20, SHAPE, setup.rng)}[key]
    from_jax, from_numpy = (NormalCorrelated(**{key: v}) for v in (jnp.asarray(value), value))
    for noise in (from_jax, from_numpy):
        noise.bind(make_img(setup.data, setup.mask))
    got, want = (float(n.loglike_fn()(setup.model)) for n in (from_jax, from_numpy))
    assert got == pytest.approx(want, rel=1e-12)


def test_not_positive_definite():
    cov = np.eye(NPIX)
    cov[0, 0] = -1.0
    with pytest.raises(ValueError, match="not positive definite"):
        NormalCorrelated(cov=cov).bind(make_img(np.zeros(SHAPE)))


def test_not_symmetric():
    cov = np.eye(NPIX)
    cov[0, 1] = 0.3
    with pytest.raises(ValueError, match="not symmetric"):
        NormalCorrelated(cov=cov)


@pytest.mark.parametrize("bad", [np.ones((3, 4)), np.ones(5)])
def test_bad_matrix_shape(bad):
    with pytest.raises(ValueError, match="square"):
        NormalCorrelated(cov=bad)


def test_wrong_size_for_image():
    with pytest.raises(ValueError, match=r"\(256, 256\).*4 x 4 = 16 pixels"):
        NormalCorrelated(cov=np.eye(16 * 16)).bind(make_img(np.zeros((4, 4))))
    with pytest.raises(ValueError, match=r"realisations have shape \(8, 8\)"):
        NormalCorrelated(cube=np.ones((3, 8, 8)) + np.arange(8)).bind(make_img(np.zeros(SHAPE)))


def test_nonfinite_inputs():
    cov = np.eye(4)
    cov[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        NormalCorrelated(cov=cov)
    cube = np.random.default_rng(0).normal(size=(3, 4, 4))
    cube[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        NormalCorrelated(cube=cube)


@pytest.mark.parametrize("smooth", [-1, 1.5, True])
def test_bad_smooth(smooth):
    with pytest.raises(ValueError, match="smooth"):
        NormalCorrelated(cube=np.random.default_rng(0).normal(size=(3, 4, 4)), smooth=smooth)


def test_kernel_needs_cube_and_valid_values():
    with pytest.raises(ValueError, match="kernel only applies"):
        NormalCorrelated(cov=np.eye(4), kernel=np.ones((3, 3)))
    cube = np.random.default_rng(0).normal(size=(3, 4, 4))
    with pytest.raises(ValueError, match="odd sides"):
        NormalCorrelated(cube=cube, kernel=np.ones((2, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        NormalCorrelated(cube=cube, kernel=-np.ones((3, 3)))


def test_failed_bind_leaves_noise_unbound(setup):
    noise = NormalCorrelated(cov=setup.cov)
    noise.bind(make_img(setup.data))
    with pytest.raises(ValueError, match="every pixel is masked"):
        noise.bind(make_img(setup.data, np.zeros(SHAPE, dtype=bool)))
    with pytest.raises(RuntimeError, match="bind"):
        noise.loglike_fn()


def test_rebinding_new_data_reuses_the_factorisation(setup):
    noise = NormalCorrelated(cov=setup.cov)
    noise.bind(make_img(setup.data, setup.mask))
    whiten = noise._whiten
    other = setup.rng.normal(size=SHAPE)
    noise.bind(make_img(other, setup.mask))
    assert noise._whiten is whiten
    used = setup.mask.ravel()
    want = stats.multivariate_normal(setup.model.ravel()[used],
                                     setup.cov[np.ix_(used, used)]).logpdf(other.ravel()[used])
    assert float(noise.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-10)
    noise.bind(make_img(other))  # a new mask: factorised again
    assert noise._whiten is not whiten and noise.covariance.shape == (NPIX, NPIX)


@pytest.mark.parametrize("source", ["cov", "cube"])
def test_pure_noise_problem_for_getzprior(source):
    rng = np.random.default_rng(9)
    cov = stationary_cov(SHAPE, var=0.01, white=0.002)
    arg = cov if source == "cov" else draws(cov, 500, SHAPE, rng)
    img = Image(make_hdu(SHAPE, data=draws(cov, 1, SHAPE, rng)[0]),
                noise=NormalCorrelated(**{source: arg}))
    mod = Model([Gaussian(xc=20.0, yc=-10.0, rs=2 / 3600, Is=priors.uniform(-1.0, 1.0))])
    problem = noise_problem(mod, img, seed=0)
    assert np.isfinite(problem.null_loglike)
    assert np.isfinite(float(problem.loglike(np.array([0.1]))))
