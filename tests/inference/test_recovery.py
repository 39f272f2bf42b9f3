"""Injection and recovery: every method recovers the simulated quickstart source.

One small mock (48x48, Sérsic + point source, PSF, Gaussian noise) is fitted
with each method at modest settings; every free parameter must lie within
3 posterior sigma of its input value (the optimizer: within 1% at this S/N).
"""

import warnings

import numpy as np
import pytest

import socca
from socca import simulate
from socca.cli import quickstart_fit_model

ARCSEC = 1 / 3600
TRUTH = {
    "xc": 20.0,
    "yc": -10.0,
    "Ic": 10.0,
    "theta": 0.87,
    "e": 0.6,
    "re": 1.5 * ARCSEC,
    "Ie": 0.3,
}

SETTINGS = {
    "nautilus": dict(nlive=300),
    "dynesty": dict(nlive=100, sample="rslice"),
    "pocomc": dict(nlive=400, flow="maf3"),
    "emcee": dict(nwalkers=32, nsteps=2500, discard=1000),
    "numpyro": dict(nwarmup=300, nsamples=400),
}


@pytest.fixture(scope="module")
def fit():
    img, _ = simulate.mock_observation(
        simulate.quickstart_truth(), shape=(48, 48), sigma=0.05, seed=11
    )
    return socca.fitter(mod=quickstart_fit_model(), img=img)


def truth_vector(fit):
    return np.array([TRUTH[label.split("_", 2)[-1]] for label in fit.labels])


@pytest.mark.parametrize("method", list(SETTINGS))
def test_sampler_recovers_the_input_within_3_sigma(fit, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpyro's experimental notice
        fit.run(method=method, seed=5, progress=False, **SETTINGS[method])
    mean = fit.weights @ fit.samples
    std = np.sqrt(fit.weights @ (fit.samples - mean) ** 2)
    pull = np.abs(mean - truth_vector(fit)) / std
    assert np.all(pull < 3), dict(zip(fit.labels, pull, strict=True))
    assert fit.weights.sum() == pytest.approx(1.0)
    assert (fit.logz is None) == (method in ("emcee", "numpyro"))


def test_optimizer_recovers_the_input_within_one_percent():
    img, _ = simulate.mock_observation(
        simulate.quickstart_truth(), shape=(48, 48), sigma=0.005, seed=11
    )
    fit = socca.fitter(mod=quickstart_fit_model(), img=img)
    fit.run(method="optimizer")
    best, truth = fit.samples[0], truth_vector(fit)
    np.testing.assert_allclose(best[:2], truth[:2], atol=0.01 * 0.1 * ARCSEC)  # 1% of a pixel
    np.testing.assert_allclose(best[2:], truth[2:], rtol=0.01)
