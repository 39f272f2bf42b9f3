"""Truncations: the tapers, every radial profile truncated, the parameter bookkeeping, fits."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import socca
from socca import priors, simulate
from socca.data import Image
from socca.inference import Problem
from socca.models import Model
from socca.models.custom import CustomProfile
from socca.models.radial import (
    Beta,
    Exponential,
    Gaussian,
    ModExponential,
    PolyExponential,
    PolyExpoRefact,
    Power,
    Sersic,
    TopHat,
    gNFW,
)
from socca.models.truncation import DEFAULT_RT, DEFAULT_WT, HyperTangent
from socca.models.truncation import Exponential as ExpCut
from socca.noise import Normal
from tests.conftest import ARCSEC, centre_patch, make_hdu
from tests.models.test_radial import reference_radius

TAPERS = [HyperTangent, ExpCut]


def custom_gaussian():
    return CustomProfile(
        parameters=[{"name": "sigma", "unit": "deg"}, {"name": "amp"}],
        profile=lambda r, sigma, amp: amp * jnp.exp(-0.5 * (r / sigma) ** 2),
        sigma=4 * ARCSEC,
        amp=1.0,
    )


PROFILES = {
    "Sersic": lambda: Sersic(re=3 * ARCSEC, Ie=1.0, ns=2.0),
    "Exponential": lambda: Exponential(rs=3 * ARCSEC, Is=1.0),
    "Gaussian": lambda: Gaussian(rs=4 * ARCSEC, Is=1.0),
    "Beta": lambda: Beta(rc=3 * ARCSEC, Ic=1.0),
    "Power": lambda: Power(rc=3 * ARCSEC, Ic=1.0),
    "TopHat": lambda: TopHat(rc=8 * ARCSEC),
    "gNFW": lambda: gNFW(rc=3 * ARCSEC, Ic=1.0),
    "PolyExponential": lambda: PolyExponential(rs=3 * ARCSEC, Is=1.0, c1=0.2),
    "PolyExpoRefact": lambda: PolyExpoRefact(rs=3 * ARCSEC, Is=1.0, I2=0.1),
    "ModExponential": lambda: ModExponential(rs=3 * ARCSEC, Is=1.0, rm=2 * ARCSEC, alpha=0.5),
    "CustomProfile": custom_gaussian,
}


# -- the tapers ----------------------------------------------------------------
@pytest.mark.parametrize("taper", TAPERS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("rt, wt", [(10.0, 1.0), (5.0, 3.0), (1.0, 10.0), (50.0, 0.2)])
def test_taper_is_one_at_centre_and_monotone(taper, rt, wt):
    r = jnp.linspace(0.0, 3 * rt + 5 * wt, 4001)
    t = np.asarray(taper.taper(r, rt, wt))
    assert t[0] == pytest.approx(1.0, rel=1e-14)
    assert np.all(np.diff(t) <= 0.0) and np.all(t >= 0.0) and np.all(t <= 1.0 + 1e-15)
    assert t[-1] < 1e-3


@pytest.mark.parametrize("rt, wt", [(10.0, 1.0), (5.0, 3.0), (1.0, 10.0)])
def test_exponential_cut_is_exactly_zero_beyond_rt(rt, wt):
    r = jnp.asarray(np.r_[rt, rt * (1 + 1e-12), 1.5 * rt, 1e6 * rt])
    assert np.all(np.asarray(ExpCut.taper(r, rt, wt)) == 0.0)
    inside = jnp.asarray([0.5 * rt, rt - 0.1 * wt, rt * (1 - 1e-9)])
    assert np.all(np.asarray(ExpCut.taper(inside, rt, wt)) > 0.0)
    r = jnp.asarray(np.linspace(0, rt, 50))
    expected = (1 - np.exp(-(rt - r) / wt)) / (1 - np.exp(-rt / wt))
    np.testing.assert_allclose(np.asarray(ExpCut.taper(r, rt, wt)), expected, atol=1e-14)


def test_hypertangent_form():
    rt, wt = 6.0, 1.5
    r = jnp.linspace(0, 20, 81)
    got = np.asarray(HyperTangent.taper(r, rt, wt))
    literal = (1 - np.tanh((r - rt) / wt)) / (1 + np.tanh(rt / wt))
    np.testing.assert_allclose(got, literal, rtol=1e-8)  # 1 - tanh cancels in the tail
    stable = 2 / (1 + np.exp(2 * (r - rt) / wt)) / (1 + np.tanh(rt / wt))
    np.testing.assert_allclose(got, stable, rtol=1e-13)
    # positive (it only underflows far out) and finite: no 0/0 or overflow
    assert float(HyperTangent.taper(40.0, rt, wt)) > 0.0
    assert float(HyperTangent.taper(1e4, rt, wt)) == 0.0
    assert float(HyperTangent.taper(0.0, 1e4, 1.0)) == 1.0


# -- every radial profile, truncated -------------------------------------------
@pytest.mark.parametrize("taper", TAPERS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("name", list(PROFILES))
def test_truncated_profile_is_profile_times_taper(name, taper):
    plain, cut = PROFILES[name](), PROFILES[name]()
    cut.truncation = taper(rt=9 * ARCSEC, wt=1.5 * ARCSEC)
    r = jnp.asarray(np.linspace(0.05, 30, 300) * ARCSEC)
    values = {n: getattr(cut, n) for n in cut.radial_names()}
    assert set(values) == set(plain.radial_names()) | {"rt", "wt"}
    expected = np.asarray(plain.radial_values(r, values)) * np.asarray(
        taper.taper(r, 9 * ARCSEC, 1.5 * ARCSEC)
    )
    np.testing.assert_allclose(np.asarray(cut.radial_values(r, values)), expected, rtol=1e-14)


@pytest.mark.parametrize(
    "make, taper",
    [(PROFILES["Sersic"], HyperTangent), (PROFILES["gNFW"], ExpCut)],
    ids=["Sersic-HyperTangent", "gNFW-Exponential"],
)
def test_truncated_map_is_map_times_taper_pixel_by_pixel(make, taper):
    img = Image(make_hdu((40, 50)), noise=Normal(sigma=1.0))
    ra, dec = img.grid.ra[17, 22] + 0.3 * ARCSEC, img.grid.dec[17, 22] + 0.2 * ARCSEC
    plain, cut = make(), make()
    for comp in (plain, cut):
        comp.xc, comp.yc, comp.theta, comp.e = ra, dec, 0.7, 0.35
    cut.truncation = taper(rt=8 * ARCSEC, wt=2 * ARCSEC)
    r = reference_radius(img, ra, dec, 0.7, 0.35)
    expected = plain.getmap(img) * np.asarray(taper.taper(jnp.asarray(r), 8 * ARCSEC, 2 * ARCSEC))
    got = cut.getmap(img)
    # the reference radius departs from the tangent plane by ~1e-8: exclude the
    # few pixels straddling the exponential cut's edge at r = rt
    near_edge = np.abs(r - 8 * ARCSEC) < 1e-6 * ARCSEC
    # around the centre pixels are integrated finely, and the mean of a product is not
    # the product of means: compare the plain lattice pixels
    keep = ~near_edge & ~centre_patch(img.shape, 17, 22)
    np.testing.assert_allclose(got[keep], expected[keep], rtol=1e-6, atol=1e-12)
    if taper is ExpCut:
        assert np.all(got[r > 8 * ARCSEC + 1e-6 * ARCSEC] == 0.0)


# -- bookkeeping -----------------------------------------------------------------
def test_construction_forms():
    s = Sersic(truncation=True)
    assert isinstance(s.truncation, HyperTangent)
    assert (s.rt, s.wt) == (DEFAULT_RT, DEFAULT_WT) == (10 * ARCSEC, ARCSEC)
    s = Sersic(truncation=ExpCut(rt=5 * ARCSEC, wt=0.5 * ARCSEC), re=ARCSEC)
    assert isinstance(s.truncation, ExpCut) and (s.rt, s.wt) == (5 * ARCSEC, 0.5 * ARCSEC)
    s = Sersic(truncation=HyperTangent, rt=4 * ARCSEC)
    assert isinstance(s.truncation, HyperTangent) and s.rt == 4 * ARCSEC and s.wt == ARCSEC
    assert isinstance(Beta(truncation="exponential").truncation, ExpCut)
    assert Beta().truncation is None and "rt" not in Beta().parameter_names
    with pytest.raises(ValueError, match="truncation"):
        Sersic(rt=3 * ARCSEC)
    with pytest.raises(TypeError, match="truncation"):
        Sersic(truncation=3.0)
    with pytest.raises(ValueError, match="unknown truncation"):
        Sersic(truncation="gaussian")
    with pytest.raises(ValueError, match="finite"):
        Sersic(truncation=HyperTangent(rt=np.nan))


def test_assignment_switching_and_removal(capsys):
    s = Sersic(re=ARCSEC, Ie=1.0)
    names = s.parameter_names
    s.truncation = HyperTangent(rt=priors.uniform(ARCSEC, 20 * ARCSEC), wt=2 * ARCSEC)
    assert s.parameter_names == names + ("rt", "wt")
    assert priors.is_free(s.rt) and s.wt == 2 * ARCSEC
    s.parameters()
    out = capsys.readouterr().out
    assert re.search(r"^rt\s+: Uniform\(.*\)\s+\[deg\]\s+Truncation radius", out, re.M)
    assert re.search(r"^wt\s+: 5\.5556E-04\s+\[deg\]\s+Truncation width", out, re.M)
    s.rt = 7 * ARCSEC
    s.truncation = ExpCut(rt=3 * ARCSEC)  # a new truncation brings its own values
    assert isinstance(s.truncation, ExpCut) and s.rt == 3 * ARCSEC and s.wt == ARCSEC
    with pytest.raises(ValueError, match="truncation = None"):
        s.removeparameter("rt")
    s.truncation = None
    assert s.truncation is None and s.parameter_names == names
    with pytest.raises(AttributeError):
        s.rt = 1.0
    s.addparameter("rt", 1.0)  # the name is free again ...
    with pytest.raises(ValueError, match="rt"):
        s.truncation = True  # ... and a truncation cannot take it
    assert s.truncation is None and s.rt == 1.0


def test_labels_and_ties_in_a_model():
    a = Gaussian(xc=20.0, yc=-10.0, rs=4 * ARCSEC, Is=1.0, truncation=True)
    b = Exponential(xc=20.0, yc=-10.0, rs=2 * ARCSEC, Is=1.0, truncation=ExpCut())
    a.rt = priors.uniform(5 * ARCSEC, 20 * ARCSEC)
    b.rt = priors.boundto(a, "rt")
    b.wt = eval(f"lambda {a.id}_rt: 0.1 * {a.id}_rt")
    model = Model([a, b])
    assert model.labels == (f"{a.id}_rt",)
    img = Image(make_hdu((24, 24)), noise=Normal(sigma=1.0))
    problem = Problem(model, img)
    theta = jnp.asarray([9 * ARCSEC])
    fixed_b = Exponential(
        xc=20.0, yc=-10.0, rs=2 * ARCSEC, Is=1.0, truncation=ExpCut(9 * ARCSEC, 0.9 * ARCSEC)
    )
    fixed_a = Gaussian(xc=20.0, yc=-10.0, rs=4 * ARCSEC, Is=1.0, truncation=True, rt=9 * ARCSEC)
    np.testing.assert_allclose(
        np.asarray(problem.render(theta).raw), Model([fixed_a, fixed_b]).getmap(img), rtol=1e-12
    )


# -- fits --------------------------------------------------------------------------
@pytest.mark.parametrize("taper", TAPERS, ids=lambda t: t.__name__)
def test_truncation_parameters_are_differentiable(taper):
    img = Image(make_hdu((24, 24), seed=1), noise=Normal(sigma=1.0))
    comp = Exponential(xc=20.0, yc=-10.0, rs=6 * ARCSEC, Is=1.0, truncation=taper())
    comp.rt = priors.uniform(2 * ARCSEC, 15 * ARCSEC)
    comp.wt = priors.uniform(0.3 * ARCSEC, 4 * ARCSEC)
    problem = Problem(Model([comp]), img)
    theta = jnp.asarray([6.3 * ARCSEC, 1.7 * ARCSEC])
    grad = np.asarray(jax.grad(problem.loglike)(theta))
    assert np.all(np.isfinite(grad)) and np.all(grad != 0.0)
    step = 1e-4 * ARCSEC
    for i in range(2):
        dt = jnp.zeros(2).at[i].set(step)
        fd = (float(problem.loglike(theta + dt)) - float(problem.loglike(theta - dt))) / (2 * step)
        assert grad[i] == pytest.approx(fd, rel=1e-3)


def test_optimizer_recovers_truncation_radius_and_width():
    truth = dict(rt=7 * ARCSEC, wt=1.5 * ARCSEC)
    source = Gaussian(xc=20.0, yc=-10.0, rs=8 * ARCSEC, Is=1.0, truncation=HyperTangent(**truth))
    img, _ = simulate.mock_observation(
        Model([source]), shape=(32, 32), pixscale=ARCSEC, sigma=0.005, seed=4
    )
    comp = Gaussian(xc=20.0, yc=-10.0, rs=8 * ARCSEC, Is=priors.uniform(0.5, 2.0))
    comp.truncation = HyperTangent(
        rt=priors.uniform(3 * ARCSEC, 12 * ARCSEC), wt=priors.uniform(0.5 * ARCSEC, 3 * ARCSEC)
    )
    fit = socca.fitter(mod=Model([comp]), img=img)
    fit.run(method="optimizer", progress=False)
    best = dict(zip([lab.split("_", 2)[-1] for lab in fit.labels], fit.samples[0], strict=True))
    assert best["Is"] == pytest.approx(1.0, rel=0.01)
    assert best["rt"] == pytest.approx(truth["rt"], rel=0.01)
    assert best["wt"] == pytest.approx(truth["wt"], rel=0.05)


def test_truncations_import_from_the_radial_package():
    import socca.models.radial as radial
    from socca.models.radial.truncation import Exponential as Cut
    from socca.models.radial.truncation import HyperTangent as Tanh

    assert (Cut, Tanh) == (ExpCut, HyperTangent) and radial.truncation.HyperTangent is Tanh
    assert radial.Exponential is Exponential  # the profile keeps its name
    beta = Beta(rc=3 * ARCSEC, Ic=1.0, truncation=Cut(rt=1e-2, wt=5e-4))
    assert isinstance(beta.truncation, ExpCut) and (beta.rt, beta.wt) == (1e-2, 5e-4)
