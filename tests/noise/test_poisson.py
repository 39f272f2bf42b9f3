"""Tests of the photon-counting noise model ``socca.noise.Poisson``."""

import contextlib
import io
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
from socca.models import Background, Beta, Model
from socca.noise import Noise, Normal, Poisson
from tests.conftest import ARCSEC, gaussian_psf, make_hdu

SHAPE = (20, 23)


def make_img(data, mask=None, exposure=None):
    """Minimal stand-in for ``socca.data.Image``."""
    data = np.asarray(data, dtype=np.float64)
    if mask is None:
        mask = np.ones(data.shape, dtype=bool)
    img = SimpleNamespace(data=data, mask=np.array(mask, dtype=bool), shape=data.shape)
    if exposure is not None:
        img.exposure = exposure
    return img


@pytest.fixture
def setup():
    rng = np.random.default_rng(8)
    mu = rng.uniform(0.05, 30.0, SHAPE)
    counts = rng.poisson(mu).astype(float)
    mask = rng.uniform(size=SHAPE) > 0.2
    return SimpleNamespace(rng=rng, mu=mu, counts=counts, mask=mask)


# -------------------------------------------------------------- log-likelihood


def test_matches_scipy_poisson(setup):
    for mask in (np.ones(SHAPE, dtype=bool), setup.mask):
        noise = Poisson()
        noise.bind(make_img(setup.counts, mask))
        got = float(noise.loglike_fn()(setup.mu))
        want = stats.poisson.logpmf(setup.counts[mask], setup.mu[mask]).sum()
        assert got == pytest.approx(want, rel=1e-12)


def test_is_the_cash_statistic_plus_log_factorials(setup):
    noise = Poisson()
    noise.bind(make_img(setup.counts))
    d, mu = setup.counts, setup.mu
    cash = 2.0 * np.sum(mu - d * np.log(mu))
    lnfact = np.sum([np.sum(np.log(np.arange(1, k + 1))) for k in d.ravel().astype(int)])
    assert float(noise.loglike_fn()(mu)) == pytest.approx(-0.5 * cash - lnfact, rel=1e-12)


def test_zero_and_negative_model(setup):
    counts = setup.counts.copy()
    counts[0, 0], counts[1, 1] = 0.0, 4.0
    noise = Poisson()
    noise.bind(make_img(counts, setup.mask | np.eye(*SHAPE, dtype=bool)))
    loglike = noise.loglike_fn()
    mu = setup.mu.copy()
    mu[0, 0] = 0.0  # no counts expected, none seen: allowed
    assert np.isfinite(float(loglike(mu)))
    assert float(loglike(mu)) == pytest.approx(
        float(loglike(np.where(np.arange(mu.size).reshape(SHAPE) == 0, 1e-300, mu))), rel=1e-12)
    mu[1, 1] = 0.0  # counts seen where none are expected
    assert float(loglike(mu)) == -np.inf
    mu = setup.mu.copy()
    mu[0, 0] = -1e-3
    assert float(loglike(mu)) == -np.inf
    masked = tuple(np.argwhere(~(setup.mask | np.eye(*SHAPE, dtype=bool)))[0])
    mu = setup.mu.copy()
    mu[masked] = -5.0  # masked pixels do not count
    assert np.isfinite(float(loglike(mu)))


def test_jit_vmap_grad(setup):
    noise = Poisson()
    noise.bind(make_img(setup.counts, setup.mask))
    loglike = noise.loglike_fn()
    mu = jnp.asarray(setup.mu)
    assert float(jax.jit(loglike)(mu)) == pytest.approx(float(loglike(mu)), rel=1e-13)
    mus = mu * jnp.asarray(setup.rng.uniform(0.8, 1.2, (6, *SHAPE)))
    batched = np.asarray(jax.jit(jax.vmap(loglike))(mus))
    np.testing.assert_allclose(batched, [float(loglike(m)) for m in mus], rtol=1e-12)
    grad = np.asarray(jax.grad(loglike)(mu))
    analytic = np.where(setup.mask, setup.counts / setup.mu - 1.0, 0.0)
    np.testing.assert_allclose(grad, analytic, rtol=1e-12, atol=1e-12)


def test_pickle_roundtrip(setup):
    noise = Poisson()
    noise.bind(make_img(setup.counts, setup.mask))
    clone = pickle.loads(pickle.dumps(noise))
    assert float(clone.loglike_fn()(setup.mu)) == float(noise.loglike_fn()(setup.mu))


# ------------------------------------------------------------------ the data


def test_float_stored_counts_are_accepted(setup):
    noise = Poisson()
    noise.bind(make_img(setup.counts + 3e-7))
    want = stats.poisson.logpmf(setup.counts, setup.mu).sum()
    assert float(noise.loglike_fn()(setup.mu)) == pytest.approx(want, rel=1e-12)


def test_negative_counts_refused(setup):
    counts = setup.counts.copy()
    counts[2, 2] = -1.0
    with pytest.raises(ValueError, match="photon counts.*1 unmasked pixels are negative"):
        Poisson().bind(make_img(counts))
    mask = np.ones(SHAPE, dtype=bool)
    mask[2, 2] = False
    Poisson().bind(make_img(counts, mask))  # masked: fine


def test_non_integer_counts_refused(setup):
    counts = setup.counts.copy()
    counts[3, 4] += 0.25
    with pytest.raises(ValueError, match="integer photon counts.*1 unmasked.*not integers"):
        Poisson().bind(make_img(counts))


def test_zero_exposure_pixels_are_masked(setup):
    exposure = np.ones(SHAPE)
    exposure[:, 5] = 0.0
    img = make_img(setup.counts, exposure=exposure)
    noise = Poisson()
    noise.bind(img)
    assert not img.mask[:, 5].any() and img.mask.sum() == img.mask.size - SHAPE[0]
    mu = setup.mu.copy()
    mu[:, 5] = 0.0  # exposure zero: the model predicts nothing there
    want = stats.poisson.logpmf(setup.counts[img.mask], setup.mu[img.mask]).sum()
    assert float(noise.loglike_fn()(mu)) == pytest.approx(want, rel=1e-12)


def test_nan_pixels_in_image_are_masked():
    counts = np.random.default_rng(0).poisson(3.0, SHAPE).astype(float)
    counts[4, 4] = np.nan
    img = Image(make_hdu(SHAPE, data=counts), noise=Poisson())
    assert not img.mask[4, 4] and img.mask.sum() == counts.size - 1


def test_no_pure_noise_realisation(setup):
    noise = Poisson()
    noise.bind(make_img(setup.counts))
    with pytest.raises(ValueError, match="getzprior=True is not supported with Poisson"):
        noise.simulate(np.random.default_rng(0))
    img = Image(make_hdu(SHAPE, data=setup.counts), noise=Poisson())
    mod = Model([Background(a0=priors.uniform(0.0, 50.0))])
    with pytest.raises(ValueError, match="getzprior"):
        noise_problem(mod, img, seed=0)


def test_is_a_noise():
    assert isinstance(Poisson(), Noise)


# ------------------------------------------------------- injection and recovery


def xray_truth(ra=20.0, dec=-10.0):
    """A β-model cluster (count rate per pixel) on a flat background."""
    cluster = Beta(xc=ra, yc=dec, rc=12 * ARCSEC, Ic=0.03, beta=0.7)
    return Model([cluster, Background(a0=2e-3)])


def xray_image(shape=(48, 48), seed=3):
    """Counts image: the truth times a vignetted exposure map with a chip gap, Poisson drawn."""
    pixscale = 4 * ARCSEC
    y, x = np.indices(shape) - (np.array(shape)[:, None, None] - 1) / 2
    exposure = 2000.0 * (1.0 - 0.4 * (x**2 + y**2) / (shape[0] / 2) ** 2)
    exposure[:, shape[1] // 2 + 6: shape[1] // 2 + 8] = 0.0  # chip gap
    psf = gaussian_psf(size=9, sigma=1.0)
    blank = make_hdu(shape, data=np.zeros(shape), pixscale=pixscale)
    with contextlib.redirect_stdout(io.StringIO()):
        ref = Image(blank, noise=Normal(sigma=1.0), exposure=exposure, addpsf=psf)
    _, mu, _, _ = xray_truth().getmodel(ref, [], doresp=True, doexp=True)
    counts = np.random.default_rng(seed).poisson(np.asarray(mu)).astype(float)
    hdu = make_hdu(shape, data=counts, pixscale=pixscale)
    return Image(hdu, noise=Poisson(), exposure=exposure, addpsf=psf), counts


def test_recovers_beta_model_from_counts():
    img, counts = xray_image()
    assert counts.max() > 20 and np.median(counts) < 10  # X-ray-like: few counts per pixel
    assert img.mask.sum() == counts.size - 2 * 48  # the chip gap is masked
    cluster = Beta(xc=priors.uniform(20.0 - 12 * ARCSEC, 20.0 + 12 * ARCSEC),
                   yc=priors.uniform(-10.0 - 12 * ARCSEC, -10.0 + 12 * ARCSEC),
                   rc=priors.loguniform(4 * ARCSEC, 60 * ARCSEC),
                   Ic=priors.loguniform(5e-3, 0.2), beta=priors.uniform(0.4, 1.2))
    mod = Model([cluster, Background(a0=priors.loguniform(5e-4, 1e-2))])
    fit = socca.fitter(mod, img)
    fit.run(method="emcee", nwalkers=32, nsteps=1200, discard=500, seed=2, progress=False)
    truth = np.array([20.0, -10.0, 12 * ARCSEC, 0.03, 0.7, 2e-3])
    low, mid, high = np.percentile(fit.samples, [16, 50, 84], axis=0)
    width = 0.5 * (high - low)
    pulls = (mid - truth) / width
    assert np.all(np.abs(pulls) < 3.0), dict(zip(fit.labels, pulls, strict=True))
    # informative: the slope and the background to better than 20% from ~14000 counts
    assert width[4] / truth[4] < 0.2 and width[5] / truth[5] < 0.2
