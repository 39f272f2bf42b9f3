"""CustomProfile: declaration, validation, and equivalence with a built-in profile."""

import re

import dill
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from socca import priors
from socca.data import Image
from socca.inference import Problem
from socca.models import Model
from socca.models.custom import CustomProfile
from socca.models.radial import Gaussian
from socca.models.truncation import Exponential as ExpCut
from socca.noise import Normal
from tests.conftest import ARCSEC, make_hdu

SPEC = [
    {"name": "sigma", "unit": "deg", "description": "Standard deviation"},
    {"name": "amp", "units": "image", "description": "Peak brightness"},
]


def gauss(r, sigma, amp):
    x = r / sigma
    return amp * jnp.exp(-0.5 * x * x)


@pytest.fixture(scope="module")
def image():
    return Image(make_hdu((32, 36), seed=2), noise=Normal(sigma=1.0))


def test_declared_parameters_and_printout(capsys):
    comp = CustomProfile(parameters=SPEC, profile=gauss, sigma=2 * ARCSEC, e=0.3)
    assert comp.parameter_names == ("xc", "yc", "theta", "e", "cbox", "sigma", "amp")
    assert comp.sigma == 2 * ARCSEC and comp.amp is None and comp.e == 0.3
    comp.amp = priors.loguniform(0.1, 10.0)
    comp.parameters()
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{comp.id} (CustomProfile)"
    assert re.search(r"^sigma\s+: 5\.5556E-04\s+\[deg\]\s+Standard deviation", out, re.M)
    assert re.search(r"^amp\s+: LogUniform.*\[image\]\s+Peak brightness", out, re.M)
    with pytest.raises(AttributeError, match="sigmaa"):
        comp.sigmaa = 1.0
    with pytest.raises(ValueError, match="cannot be removed"):
        comp.removeparameter("sigma")
    # initial values in the declaration, bare names
    other = CustomProfile(parameters=["sigma", {"name": "amp", "value": 2.0}], profile=gauss)
    assert other.amp == 2.0 and other.parameter_entries()["sigma"].units == ""


def test_matches_builtin_gaussian_pixel_by_pixel(image):
    ra, dec = image.grid.ra[15, 17] + 0.2 * ARCSEC, image.grid.dec[15, 17] - 0.4 * ARCSEC
    geometry = dict(xc=ra, yc=dec, theta=0.5, e=0.4, cbox=0.3)
    custom = CustomProfile(SPEC, gauss, sigma=3 * ARCSEC, amp=1.7, **geometry)
    builtin = Gaussian(rs=3 * ARCSEC, Is=1.7, **geometry)
    np.testing.assert_allclose(custom.getmap(image), builtin.getmap(image), rtol=1e-14)
    # truncation works on it as on every profile
    custom.truncation = ExpCut(rt=5 * ARCSEC, wt=ARCSEC)
    builtin.truncation = ExpCut(rt=5 * ARCSEC, wt=ARCSEC)
    np.testing.assert_allclose(custom.getmap(image), builtin.getmap(image), rtol=1e-14)


def test_jit_vmap_grad_like_the_builtin(image):
    ra, dec = image.grid.ra[16, 18], image.grid.dec[16, 18]

    def problem(comp):
        comp.xc, comp.yc = ra, dec
        comp.theta = priors.uniform(0.0, np.pi)
        return Problem(Model([comp]), image)

    custom = CustomProfile(SPEC, gauss, e=0.3)
    custom.sigma = priors.loguniform(0.5 * ARCSEC, 10 * ARCSEC)
    custom.amp = priors.uniform(0.0, 5.0)
    builtin = Gaussian(rs=priors.loguniform(0.5 * ARCSEC, 10 * ARCSEC), Is=priors.uniform(0, 5))
    builtin.e = 0.3
    pc, pb = problem(custom), problem(builtin)
    assert len(pc.labels) == 3
    thetas = pc.prior_transform(np.random.default_rng(1).uniform(0.1, 0.9, (5, 3)))
    # labels are ordered by declaration: geometry first, then the shape parameters
    np.testing.assert_allclose(pc.loglike_batch(thetas), pb.loglike_batch(thetas), rtol=1e-12)
    gc, gb = jax.grad(pc.loglike)(thetas[0]), jax.grad(pb.loglike)(thetas[0])
    assert np.all(np.isfinite(np.asarray(gc)))
    np.testing.assert_allclose(np.asarray(gc), np.asarray(gb), rtol=1e-10)


def test_survives_dill_round_trip(image):
    ra, dec = image.grid.ra[16, 18], image.grid.dec[16, 18]
    comp = CustomProfile(
        [{"name": "s"}],
        lambda r, s: jnp.exp(-r / s),
        s=2 * ARCSEC,
        xc=ra,
        yc=dec,
        truncation=True,
    )
    copy = dill.loads(dill.dumps(comp, recurse=True))
    np.testing.assert_array_equal(copy.getmap(image), comp.getmap(image))
    assert copy.shape_names() == ("s",) and copy.truncation is not None


@pytest.mark.parametrize(
    "parameters, profile, error, message",
    [
        (SPEC[:1], gauss, ValueError, "not declared: amp"),
        ([*SPEC, {"name": "mu"}], gauss, ValueError, "not arguments of the function: mu"),
        ([{"name": "2x"}], gauss, ValueError, "identifier"),
        ([{"name": "lambda"}], gauss, ValueError, "identifier"),
        ([{"name": "sigma"}, {"name": "sigma"}], gauss, ValueError, "twice"),
        ([{"name": "xc"}], gauss, ValueError, "geometry"),
        ([{"name": "truncation"}], gauss, ValueError, "reserved"),
        ([{"name": "_x"}], gauss, ValueError, "underscore"),
        ([{"name": "a", "unit": "", "units": ""}], gauss, ValueError, "both"),
        ([{"name": "a", "scale": 1}], gauss, ValueError, "unknown key"),
        ([{"unit": "deg"}], gauss, ValueError, "no 'name'"),
        ([], gauss, ValueError, "at least one"),
        ({"name": "sigma"}, gauss, TypeError, "list"),
        (SPEC, "gauss", TypeError, "function"),
        (SPEC, lambda *args: 0.0, ValueError, "radius"),
        (SPEC, lambda r, *a, sigma, amp: 0.0, ValueError, r"\*args"),
    ],
)
def test_invalid_declarations(parameters, profile, error, message):
    with pytest.raises(error, match=message):
        CustomProfile(parameters=parameters, profile=profile)


def test_keyword_catch_all_and_truncation_clash():
    comp = CustomProfile(SPEC, lambda r, **p: p["amp"] * jnp.exp(-r / p["sigma"]))
    assert comp.shape_names() == ("sigma", "amp")
    with pytest.raises(ValueError, match="rt"):
        CustomProfile([{"name": "rt"}], lambda r, rt: r < rt, truncation=True)
