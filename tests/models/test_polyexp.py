"""PolyExponential, PolyExpoRefact and ModExponential against their formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from socca import priors
from socca.data import Image
from socca.inference import Problem
from socca.models import Model
from socca.models.radial import ModExponential, PolyExponential, PolyExpoRefact
from socca.noise import Normal
from tests.conftest import ARCSEC, centre_patch, make_hdu
from tests.models.test_radial import reference_radius

RS, RC = 4 * ARCSEC, 2.5 * ARCSEC


def poly_exponential(r, rs, Is, c, rc):
    return Is * (1 + sum(ck * (r / rc) ** k for k, ck in enumerate(c, start=1))) * np.exp(-r / rs)


def poly_expo_refact(r, rs, Is, coeffs):
    return (Is + sum(ik * (r / rs) ** k for k, ik in enumerate(coeffs, start=1))) * np.exp(-r / rs)


def mod_exponential(r, rs, Is, rm, alpha):
    return Is * np.exp(-r / rs) * (1 + r / rm) ** alpha


CASES = [
    (
        PolyExponential,
        dict(rs=RS, Is=1.5, c1=0.3, c2=-0.05, c3=0.01, c4=2e-3, rc=RC),
        lambda r: poly_exponential(r, RS, 1.5, (0.3, -0.05, 0.01, 2e-3), RC),
    ),
    (
        PolyExpoRefact,
        dict(rs=RS, Is=1.5, I1=0.4, I2=-0.1, I3=0.03, I4=0.004),
        lambda r: poly_expo_refact(r, RS, 1.5, (0.4, -0.1, 0.03, 0.004)),
    ),
    (
        ModExponential,
        dict(rs=RS, Is=0.8, rm=6 * ARCSEC, alpha=1.7),
        lambda r: mod_exponential(r, RS, 0.8, 6 * ARCSEC, 1.7),
    ),
]
IDS = [c[0].__name__ for c in CASES]


@pytest.fixture(scope="module")
def image():
    return Image(make_hdu((40, 50)), noise=Normal(sigma=1.0))


@pytest.mark.parametrize("cls, shape, formula", CASES, ids=IDS)
def test_profile_function_matches_formula(cls, shape, formula):
    r = np.r_[0.0, np.logspace(-3, 1.5, 50)] * RS
    np.testing.assert_allclose(
        np.asarray(cls.profile(jnp.asarray(r), **_args(cls, shape))), formula(r), rtol=1e-13
    )


@pytest.mark.parametrize("cls, shape, formula", CASES, ids=IDS)
def test_rendering_matches_formula_pixel_by_pixel(image, cls, shape, formula):
    ra, dec = image.grid.ra[17, 22] + 0.3 * ARCSEC, image.grid.dec[17, 22] + 0.2 * ARCSEC
    comp = cls(xc=ra, yc=dec, theta=0.7, e=0.35, **shape)
    expected = formula(reference_radius(image, ra, dec, 0.7, 0.35))
    bright = np.abs(expected) > 1e-6 * np.abs(expected).max()
    bright &= ~centre_patch(image.shape, 17, 22)  # finer there: tests/models/test_oversample.py
    np.testing.assert_allclose(comp.getmap(image)[bright], expected[bright], rtol=1e-6)


def test_defaults():
    p = PolyExponential(rs=RS, Is=1.0)
    assert (p.c1, p.c2, p.c3, p.c4, p.rc) == (0.0, 0.0, 0.0, 0.0, ARCSEC)
    q = PolyExpoRefact(rs=RS, Is=1.0)
    assert (q.I1, q.I2, q.I3, q.I4, q.rc) == (0.0, 0.0, 0.0, 0.0, ARCSEC)
    assert ModExponential().rm is None and ModExponential().alpha is None
    # with no polynomial terms both reduce to the exponential
    r = jnp.linspace(0, 10 * RS, 7)
    for comp in (p, q):
        values = {n: getattr(comp, n) for n in comp.shape_names()}
        np.testing.assert_allclose(comp.radial_values(r, values), np.exp(-r / RS), rtol=1e-14)


def test_refactored_and_plain_polynomials_agree(image):
    """PolyExponential(rs, Is, c_k, rc) == PolyExpoRefact(rs, Is, I_k = Is c_k (rs/rc)^k)."""
    Is, c = 1.2, (0.4, -0.2, 0.05, 0.01)
    refact = {f"I{k}": Is * ck * (RS / RC) ** k for k, ck in enumerate(c, start=1)}
    ra, dec = image.grid.ra[20, 25], image.grid.dec[20, 25]
    geometry = dict(xc=ra, yc=dec, theta=0.3, e=0.2, rs=RS, Is=Is)
    plain = PolyExponential(
        **geometry, rc=RC, **dict(zip(("c1", "c2", "c3", "c4"), c, strict=True))
    )
    other = PolyExpoRefact(**geometry, **refact)
    np.testing.assert_allclose(other.getmap(image), plain.getmap(image), rtol=1e-12)
    # PolyExpoRefact's rc is not part of its form
    other.rc = 7 * ARCSEC
    np.testing.assert_allclose(other.getmap(image), plain.getmap(image), rtol=1e-12)


def _args(cls, shape):
    defaults = dict(c1=0.0, c2=0.0, c3=0.0, c4=0.0, rc=ARCSEC)
    return {n: shape.get(n, defaults.get(n)) for n in cls().shape_names()}


def test_free_tied_positive_vmap_and_grad(image):
    ra, dec = image.grid.ra[20, 25], image.grid.dec[20, 25]
    poly = PolyExponential(
        xc=ra,
        yc=dec,
        rs=priors.loguniform(1 * ARCSEC, 10 * ARCSEC),
        Is=priors.uniform(0, 3),
        c1=priors.uniform(-2, 2),
        c2=0.1,
    )
    mod = ModExponential(xc=ra, yc=dec, rs=priors.loguniform(1 * ARCSEC, 10 * ARCSEC), Is=1.0)
    mod.alpha = priors.uniform(0.0, 3.0)
    mod.rm = eval(f"lambda {poly.id}_rs: 1.5 * {poly.id}_rs")  # tied to the other component
    refact = PolyExpoRefact(xc=ra, yc=dec, rs=3 * ARCSEC, Is=0.5, I1=priors.normal(0.0, 1.0))
    model = Model()
    model.addcomponent(poly, positive=True)
    model.addcomponent(mod)
    model.addcomponent(refact)
    problem = Problem(model, image)
    assert len(problem.labels) == 6
    theta = jnp.asarray([3 * ARCSEC, 1.0, 0.2, 4 * ARCSEC, 1.1, 0.3])
    grad = np.asarray(jax.grad(problem.loglike)(theta))
    assert np.all(np.isfinite(grad)) and np.all(grad != 0)
    # the tie: ModExponential's rm follows PolyExponential's rs
    rendered = np.asarray(problem.render(theta).raw)
    fixed = [
        PolyExponential(xc=ra, yc=dec, rs=3 * ARCSEC, Is=1.0, c1=0.2, c2=0.1),
        ModExponential(xc=ra, yc=dec, rs=4 * ARCSEC, Is=1.0, alpha=1.1, rm=4.5 * ARCSEC),
        PolyExpoRefact(xc=ra, yc=dec, rs=3 * ARCSEC, Is=0.5, I1=0.3),
    ]
    np.testing.assert_allclose(rendered, Model(fixed).getmap(image), rtol=1e-12)
    # positivity: a strongly negative linear term makes PolyExponential negative
    bad = theta.at[2].set(-1.9)
    assert float(problem.loglike(bad)) == -np.inf and np.isfinite(float(problem.loglike(theta)))
    thetas = jnp.stack([theta, bad, theta.at[4].set(2.0)])
    batch = np.asarray(problem.loglike_batch(thetas))
    np.testing.assert_allclose(batch, [float(problem.loglike(t)) for t in thetas], rtol=1e-12)
