"""The projected gNFW profile: quadrature, lookup table, limits, fits.

The reference is ``scipy.integrate.quad`` of the 3-D profile along the line
of sight; the central value is checked against its own quadrature, so the
normalisation is tested independently of the closed form used by the code.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

import socca
from socca import priors, simulate
from socca.data import Image
from socca.inference import Problem
from socca.models import Model
from socca.models.profiles import gnfw as tab
from socca.models.radial import Beta, gNFW
from socca.noise import Normal
from tests.conftest import ARCSEC, make_hdu

DEFAULTS = (1.051, 5.4905, 0.3081)
# (alpha, beta, gamma): the defaults, the β-model limit, steep and shallow
# transitions, cusps up to gamma = 0.95, a cored-out centre (gamma < 0), and
# outer slopes down to 1.3 (where the line-of-sight tail matters most)
SLOPES = [
    DEFAULTS,
    (2.0, 3.0, 0.0),
    (1.0, 3.0, 0.99),  # close to the limit (NFW has gamma = 1)
    (0.5, 1.5, 0.9),
    (3.0, 8.0, 0.5),
    (0.6, 1.3, 0.0),
    (4.0, 2.0, 0.95),
    (2.0, 5.0, -0.3),
    (1.33, 4.13, 0.31),
    (0.9, 5.0, 0.7),
    (1.5, 2.5, 0.2),
    (2.5, 6.0, 0.1),
    (3.5, 1.6, 0.69),
    (1.1, 8.8, 0.51),
    (0.93, 7.1, 0.61),
    (2.65, 4.64, 0.94),
    (3.93, 7.26, 0.62),
    (2.9, 4.7, 0.13),
    (3.0, 5.9, 0.29),
    (2.2, 9.0, 0.89),
    (1.75, 6.27, 0.31),
    (0.7, 10.0, 0.4),
]
RADII = np.logspace(-3, 2, 16)


def rho(x, alpha, beta, gamma):
    return x**-gamma * (1.0 + x**alpha) ** ((gamma - beta) / alpha)


def quad_projection(big_x, alpha, beta, gamma):
    """2 ∫ rho(sqrt(X² + z²)) dz by adaptive quadrature, split at the scales of the profile."""

    def f(z):
        return 2.0 * rho(np.hypot(big_x, z), alpha, beta, gamma)

    edges = [0.0, *sorted({big_x, 1.0, 10.0 * max(big_x, 1.0)}), np.inf]
    return sum(
        integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-11, limit=400)[0]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    )


def quad_central(alpha, beta, gamma):
    def f(z):
        return 2.0 * rho(z, alpha, beta, gamma)

    return sum(
        integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-11, limit=400)[0]
        for lo, hi in ((0.0, 1.0), (1.0, np.inf))
    )


@pytest.mark.parametrize("slopes", [DEFAULTS, (2.0, 3.0, 0.0), (0.5, 1.5, 0.9), (3.0, 8.0, -0.3)])
def test_closed_form_central_value(slopes):
    expected = quad_central(*slopes)
    assert np.exp(float(tab.gnfw_log_central(*slopes))) == pytest.approx(expected, rel=1e-9)
    alpha, beta, gamma = slopes
    beta_fn = 2 / alpha * special.beta((1 - gamma) / alpha, (beta - 1) / alpha)
    assert beta_fn == pytest.approx(expected, rel=1e-9)


def test_table_matches_quad_for_many_slopes():
    """Static (cached) and traced (rebuilt in the compiled function) paths, 1e-3 to 1e2 rc."""
    assert len(SLOPES) >= 20
    traced = jax.jit(tab.gnfw_projected)
    worst = 0.0
    for alpha, beta, gamma in SLOPES:
        central = quad_central(alpha, beta, gamma)
        expected = np.array([quad_projection(x, alpha, beta, gamma) for x in RADII]) / central
        static = np.asarray(tab.gnfw_projected(jnp.asarray(RADII), alpha, beta, gamma))
        dynamic = np.asarray(
            traced(jnp.asarray(RADII), jnp.asarray(alpha), jnp.asarray(beta), jnp.asarray(gamma))
        )
        np.testing.assert_allclose(dynamic, static, rtol=1e-12)
        err = np.max(np.abs(static / expected - 1.0))
        assert err < 1e-4, (alpha, beta, gamma, err)
        worst = max(worst, err)
    assert worst < 2e-5  # measured 3.9e-6 (quadrature alone: 1.0e-6)


def test_lookup_table_interpolation_error_bound():
    """Interpolated values against the direct quadrature half-way between nodes (worst case)."""
    u = tab._U[:-1] + 0.5 * tab._STEP
    x = np.exp(u[(u > np.log(1e-3)) & (u < np.log(1e2))])
    interpolated = jax.jit(lambda *slopes: tab.gnfw_projected(jnp.asarray(x), *slopes))
    direct = jax.jit(lambda *slopes: jnp.exp(tab.gnfw_quadrature(x, *slopes)))
    worst = 0.0
    for slopes in SLOPES:
        slopes = [jnp.asarray(v) for v in slopes]
        worst = max(worst, float(jnp.max(jnp.abs(interpolated(*slopes) / direct(*slopes) - 1))))
    assert worst < 2e-5  # measured 1.1e-5 (large alpha: the sharpest transitions)


def test_centre_and_ends_of_the_table():
    x0, x1 = tab._X[0], tab._X[-1]
    x = jnp.asarray([0.0, 1e-9, x0 * (1 - 1e-9), x0 * (1 + 1e-9), x1 * (1 - 1e-9), x1 * (1 + 1e-9)])
    x = jnp.append(x, 1e6)
    traced = jax.jit(tab.gnfw_projected)
    for slopes in (DEFAULTS, (0.5, 1.5, 0.9), (2.0, 3.0, 0.0)):
        v = np.asarray(traced(x, *[jnp.asarray(s) for s in slopes]))
        assert v[0] == 1.0 and 0.0 < v[1] <= 1.0
        # continuous where the table starts and where it ends; decreasing beyond
        assert v[2] == pytest.approx(v[3], rel=1e-8) and v[4] == pytest.approx(v[5], rel=1e-8)
        assert 0.0 < v[6] < v[5]


@pytest.mark.parametrize("b", [1.5, 2.1, 3.0, 5.4905])
def test_beta_model_limit(b):
    """gNFW(alpha=2, gamma=0, beta=b) projects to the β-model with beta = (b - 1)/2."""
    r = jnp.asarray(np.r_[0.0, np.logspace(-3, 2.5, 60)]) * 7.0 * ARCSEC
    shape = dict(rc=7.0 * ARCSEC, Ic=1.3)
    g = np.asarray(gNFW.profile(r, **shape, alpha=2.0, beta=b, gamma=0.0))
    expected = np.asarray(Beta.profile(r, **shape, alpha=2.0, beta=(b - 1.0) / 2.0))
    np.testing.assert_allclose(g, expected, rtol=1e-5)
    assert g[0] == 1.3


def test_beta_model_limit_pixel_by_pixel():
    img = Image(make_hdu((40, 50)), noise=Normal(sigma=1.0))
    ra, dec = img.grid.ra[17, 22] + 0.3 * ARCSEC, img.grid.dec[17, 22] + 0.2 * ARCSEC
    geometry = dict(xc=ra, yc=dec, theta=0.7, e=0.35, rc=5 * ARCSEC, Ic=2.0)
    g = gNFW(**geometry, alpha=2.0, beta=4.0, gamma=0.0).getmap(img)
    b = Beta(**geometry, alpha=2.0, beta=1.5).getmap(img)
    np.testing.assert_allclose(g, b, rtol=1e-4)


def test_invalid_slopes():
    img = Image(make_hdu((16, 16)), noise=Normal(sigma=1.0))
    ra, dec = img.grid.ra[8, 8], img.grid.dec[8, 8]
    for bad, word in ((dict(gamma=1.2), "gamma < 1"), (dict(beta=0.9), "beta > 1")):
        with pytest.raises(ValueError, match=word):
            gNFW(xc=ra, yc=dec, rc=3 * ARCSEC, Ic=1.0, **bad)
    # so is a prior reaching past the valid range
    with pytest.raises(ValueError, match=r"gamma: prior Uniform.*reaches 1\.5"):
        gNFW(xc=ra, yc=dec, rc=3 * ARCSEC, Ic=1.0, gamma=priors.uniform(0.5, 1.5))
    # a free inner slope drawn outside its range (from the far tail of a normal
    # prior) gives a rejected sample, not an error
    comp = gNFW(xc=ra, yc=dec, rc=3 * ARCSEC, Ic=1.0, gamma=priors.normal(0.5, 0.05))
    problem = Problem(Model([comp]), img)
    assert np.isfinite(float(problem.loglike(jnp.asarray([0.8]))))
    assert float(problem.loglike(jnp.asarray([1.2]))) == -np.inf


@pytest.fixture(scope="module")
def free_gnfw():
    img = Image(make_hdu((32, 32), seed=4), noise=Normal(sigma=1.0))
    ra, dec = img.grid.ra[16, 16], img.grid.dec[16, 16]
    comp = gNFW(
        xc=ra,
        yc=dec,
        e=0.2,
        theta=0.4,
        rc=priors.loguniform(1 * ARCSEC, 20 * ARCSEC),
        Ic=priors.uniform(0.1, 5.0),
        alpha=priors.uniform(0.5, 3.0),
        beta=priors.uniform(2.0, 8.0),
        gamma=priors.uniform(-0.5, 0.9),
    )
    return Problem(Model([comp]), img)


def test_gradients_with_free_slopes_are_finite_and_correct(free_gnfw):
    problem = free_gnfw
    theta = jnp.asarray([4 * ARCSEC, 1.2, 1.3, 4.5, 0.4])
    grad = np.asarray(jax.grad(problem.loglike)(theta))
    assert np.all(np.isfinite(grad)) and np.all(grad != 0.0)
    for i, step in enumerate([1e-4 * ARCSEC, 1e-5, 1e-5, 1e-5, 1e-5]):
        dt = jnp.zeros(5).at[i].set(step)
        fd = (float(problem.loglike(theta + dt)) - float(problem.loglike(theta - dt))) / (2 * step)
        assert grad[i] == pytest.approx(fd, rel=1e-4, abs=1e-6 * abs(fd) + 1e-8)


def test_vmap_matches_single_calls(free_gnfw):
    problem = free_gnfw
    rng = np.random.default_rng(0)
    thetas = problem.prior_transform(rng.uniform(0.05, 0.95, (6, 5)))
    batch = np.asarray(problem.loglike_batch(thetas))
    single = np.array([float(problem.loglike(t)) for t in thetas])
    np.testing.assert_allclose(batch, single, rtol=1e-10)


def test_optimizer_recovers_rc_ic_and_outer_slope():
    truth = dict(rc=5 * ARCSEC, Ic=2.0, beta=4.0)
    fixed = gNFW(xc=20.0, yc=-10.0, e=0.1, theta=0.3, **truth)
    img, _ = simulate.mock_observation(
        Model([fixed]),
        shape=(48, 48),
        pixscale=ARCSEC,
        psf=simulate.gaussian_psf(size=9, fwhm=2.0),
        sigma=0.002,
        seed=2,
    )
    comp = gNFW(
        xc=20.0,
        yc=-10.0,
        e=0.1,
        theta=0.3,
        rc=priors.loguniform(1 * ARCSEC, 30 * ARCSEC),
        Ic=priors.loguniform(0.1, 10.0),
        beta=priors.uniform(2.5, 8.0),
    )
    fit = socca.fitter(mod=Model([comp]), img=img)
    fit.run(method="optimizer", progress=False)
    best = dict(zip([lab.split("_", 2)[-1] for lab in fit.labels], fit.samples[0], strict=True))
    for name, value in truth.items():
        assert best[name] == pytest.approx(value, rel=0.02), (name, best[name])
