"""The compiled problem: batches in chunks equal single calls, no recompilation, input checks."""

import jax
import numpy as np
import pytest
from scipy import stats

from socca import priors
from socca.data import Image
from socca.errors import InputTypeError
from socca.inference import Problem
from socca.models import Background
from socca.noise import Normal
from tests.conftest import gaussian_psf, make_hdu
from tests.models.test_model import quickstart_model

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(5)
    img = Image(
        make_hdu((48, 56), data=rng.normal(size=(48, 56))),
        noise=Normal(sigma=1.0),
        addpsf=dict(img=gaussian_psf(13, 1.5)),
    )
    return quickstart_model(img)[0], img


@pytest.fixture(scope="module")
def problem(setup):
    return Problem(*setup)


def draws(problem, n, seed=0):
    u = np.random.default_rng(seed).uniform(0.05, 0.95, (n, problem.ndim))
    return np.asarray(problem.prior_transform(u))


@pytest.mark.parametrize("n", [1, 2, 5, 16, 17, 40, 100])
def test_batches_of_any_size_equal_single_calls(problem, n):
    thetas = draws(problem, n, seed=n)
    single = np.array([float(problem.loglike(t)) for t in thetas])
    for batch in (problem.loglike_batch, problem.loglike_batch_flagged):
        values = np.asarray(batch(thetas))
        assert values.shape == (n,)
        np.testing.assert_allclose(values, single, rtol=1e-12)


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("exposure", [1.0, "map"])
def test_loglike_is_the_normal_density_of_the_rendered_model(background, exposure):
    """Against scipy: smoothed light plus background, times the exposure, a Gaussian per pixel.

    Exposures and weights of one value everywhere and models without a background
    take shortcuts in the compiled likelihood; they must score the same.
    """
    rng = np.random.default_rng(11)
    shape = (40, 44)
    img = Image(
        make_hdu(shape, data=rng.normal(size=shape)),
        noise=Normal(sigma=0.8),
        addpsf=dict(img=gaussian_psf(11, 1.5)),
        exposure=rng.uniform(0.5, 2.0, shape) if exposure == "map" else exposure,
    )
    model = quickstart_model(img)[0]
    if background:
        model.addcomponent(Background(a0=priors.uniform(-1.0, 1.0), a1x=0.01))
    problem = Problem(model, img)
    thetas = draws(problem, 4, seed=3)
    want = []
    for theta in thetas:
        maps = problem.render(theta)
        light = np.asarray(maps.smoothed) + np.asarray(maps.background)
        if background:
            assert np.ptp(np.asarray(maps.background)) > 0
        want.append(stats.norm.logpdf(img.data, loc=light, scale=0.8).sum())
    got = [float(problem.loglike(theta)) for theta in thetas]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(problem.loglike_batch(thetas)), want, rtol=1e-12)


def test_no_recompilation_between_calls(problem):
    thetas = draws(problem, 3 * 40 + 1, seed=9)
    jax.block_until_ready(problem.loglike(thetas[0]))
    jax.block_until_ready(problem.loglike_batch(thetas[:40]))
    seen = []

    def listen(event, duration, **kwargs):
        if event == COMPILE_EVENT:
            seen.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        for theta in thetas[:30]:
            jax.block_until_ready(problem.loglike(theta))
        for k in range(3):
            jax.block_until_ready(problem.loglike_batch(thetas[40 * k : 40 * (k + 1)]))
        assert seen == []
        jax.block_until_ready(problem.loglike_batch(thetas[:41]))  # a new shape does compile
        assert seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


def test_problem_refuses_what_is_not_a_model_and_an_image(setup):
    model, img = setup
    with pytest.raises(InputTypeError, match="img: expected a socca.data.Image, got str"):
        Problem(model, "image.fits")
    with pytest.raises(InputTypeError, match="mod: expected a socca.models.Model, got list"):
        Problem(list(model.components), img)
