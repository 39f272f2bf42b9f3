"""Renderer: two parameter vectors through one complex FFT pair equal two renders."""

import jax.numpy as jnp
import numpy as np
import pytest

from socca import priors
from socca.data import Image
from socca.models import Model, Point, Sersic
from socca.models.render import Renderer
from socca.noise import Normal
from tests.conftest import ARCSEC, gaussian_psf, make_hdu

RA, DEC = 20.0, -10.0


def model():
    point = Point(
        xc=priors.uniform(RA - 40 * ARCSEC, RA + 40 * ARCSEC),
        yc=priors.uniform(DEC - 40 * ARCSEC, DEC + 40 * ARCSEC),
        Ic=priors.loguniform(1e-3, 1e20),
    )
    galaxy = Sersic(
        xc=priors.boundto(point, "xc"),
        yc=priors.boundto(point, "yc"),
        theta=priors.uniform(0.0, np.pi),
        e=priors.uniform(0.0, 0.9),
        re=priors.loguniform(0.5 * ARCSEC, 10 * ARCSEC),
        Ie=priors.loguniform(1e-3, 1e20),
        ns=priors.uniform(0.5, 4.0),
    )
    return Model([point, galaxy])


def image(psf=True, response=False, exposure=False):
    kw = {"addpsf": dict(img=gaussian_psf(15, 2.0))} if psf else {}
    img = Image(make_hdu((48, 56)), noise=Normal(sigma=1.0), **kw)
    rng = np.random.default_rng(5)
    if response:
        img.response = rng.uniform(0.5, 1.5, img.shape)
    if exposure:
        img.exposure = rng.uniform(100.0, 200.0, img.shape)
    return img


THETA_A = np.array([RA + 3 * ARCSEC, DEC - 2 * ARCSEC, 5.0, 0.7, 0.3, 3 * ARCSEC, 2.0, 1.5])
THETA_B = np.array([RA - 30 * ARCSEC, DEC + 25 * ARCSEC, 0.2, 2.0, 0.6, 6 * ARCSEC, 0.5, 0.8])


def assert_maps_equal(got, want, atol):
    for name in ("raw", "smoothed", "background", "negative"):
        np.testing.assert_allclose(
            np.asarray(getattr(got, name)), np.asarray(getattr(want, name)), rtol=1e-12,
            atol=atol, err_msg=name,
        )  # fmt: skip


@pytest.mark.parametrize(
    "psf, response, exposure", [(True, False, False), (True, True, True), (False, True, False)]
)
def test_a_pair_renders_as_two_single_renders(psf, response, exposure):
    renderer = Renderer(model().components, image(psf, response, exposure))
    a, b = renderer.render_pair(jnp.asarray(THETA_A), jnp.asarray(THETA_B))
    assert_maps_equal(a, renderer.render(jnp.asarray(THETA_A)), atol=1e-10)
    assert_maps_equal(b, renderer.render(jnp.asarray(THETA_B)), atol=1e-10)


def test_points_alone_pair_too():
    renderer = Renderer(model().components[:1], image())
    a, b = renderer.render_pair(jnp.asarray(THETA_A[:3]), jnp.asarray(THETA_B[:3]))
    assert_maps_equal(a, renderer.render(jnp.asarray(THETA_A[:3])), atol=1e-12)
    assert_maps_equal(b, renderer.render(jnp.asarray(THETA_B[:3])), atol=1e-12)


def test_a_far_brighter_partner_leaves_an_image_as_accurate_as_alone():
    renderer = Renderer(model().components, image())
    bright = THETA_B.copy()
    bright[2], bright[6] = 1e18, 1e18  # 17 orders of magnitude above THETA_A
    a, b = renderer.render_pair(jnp.asarray(THETA_A), jnp.asarray(bright))
    alone = renderer.render(jnp.asarray(THETA_A))
    peak = float(np.max(np.abs(alone.smoothed)))
    np.testing.assert_allclose(np.asarray(a.smoothed), alone.smoothed, rtol=0, atol=1e-12 * peak)
    brightest = renderer.render(jnp.asarray(bright))
    np.testing.assert_allclose(b.smoothed, brightest.smoothed, rtol=1e-10, atol=1e-12 * 1e18)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_failed_image_fails_alone_without_spoiling_its_partner(bad):
    renderer = Renderer(model().components, image())
    broken = THETA_B.copy()
    broken[6] = bad  # Ie: the extended light is not finite
    a, b = renderer.render_pair(jnp.asarray(THETA_A), jnp.asarray(broken))
    assert np.all(np.isnan(np.asarray(b.smoothed)))
    assert_maps_equal(a, renderer.render(jnp.asarray(THETA_A)), atol=1e-10)
    unplaced = THETA_B.copy()
    unplaced[2] = bad  # Ic: the point source is not finite
    b, a = renderer.render_pair(jnp.asarray(unplaced), jnp.asarray(THETA_A))
    assert np.all(np.isnan(np.asarray(b.smoothed)))
    assert_maps_equal(a, renderer.render(jnp.asarray(THETA_A)), atol=1e-10)


@pytest.mark.parametrize("amplitude", [1e-300, 1e-200, 1e300])
def test_extreme_but_finite_images_pair_as_scaled_renders(amplitude):
    """The light is linear in the amplitudes: a render at amplitude 1, scaled, is the reference.

    (Subnormal amplitudes, below 2.2e-308, are not compared: XLA:CPU treats them as zero.)
    """
    renderer = Renderer(model().components, image())
    extreme, unit = THETA_B.copy(), THETA_B.copy()
    extreme[[2, 6]], unit[[2, 6]] = amplitude, 1.0
    a, b = renderer.render_pair(jnp.asarray(extreme), jnp.asarray(THETA_A))
    expected = np.asarray(renderer.render(jnp.asarray(unit)).smoothed) * amplitude
    assert np.all(np.isfinite(np.asarray(a.smoothed)))
    # XLA:CPU flushes subnormal results (below 2.2e-308) to zero
    atol = 1e-8 * np.max(np.abs(expected)) + 1e-307
    np.testing.assert_allclose(a.smoothed, expected, rtol=0, atol=atol)
    assert_maps_equal(b, renderer.render(jnp.asarray(THETA_A)), atol=1e-10)
