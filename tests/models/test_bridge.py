"""Bridges: the product and harmonic combinations against numpy, pixel by pixel.

On axes turned to the bridge's position angle (u along, v across), with the
bridge centred on the tangent point (where north is +eta):
SimpleBridge = Is f_r(|v|/(1-e)) f_p(|u|), MesaBridge = Is / (1/f_r + 1/f_p),
both sub-profiles with scale radius rs and unit amplitude.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

import socca
from socca import priors, simulate
from socca.data import Image
from socca.models import (
    Background,
    Beta,
    Exponential,
    Gaussian,
    Model,
    Point,
    Power,
    Sersic,
    TopHat,
)
from socca.models.bridge import MesaBridge, SimpleBridge
from socca.models.component import Param
from socca.models.disk import Disk
from socca.models.radial import Profile
from socca.models.vertical import ExponentialHeight
from socca.noise import Normal
from tests.conftest import ARCSEC, make_hdu

RA, DEC = 20.0, -10.0
RS, E, THETA, IS = 12 * ARCSEC, 0.6, 0.7, 2.5


@pytest.fixture
def img():
    return Image(make_hdu((50, 60)), noise=Normal(sigma=1.0))


def axes(img, theta=THETA, e=E):
    """|u| and |v|/(1-e) of every pixel centre."""
    xi, eta = img.grid.xi[0], img.grid.eta[0]
    u = xi * np.sin(theta) + eta * np.cos(theta)
    v = xi * np.cos(theta) - eta * np.sin(theta)
    return np.abs(u), np.abs(v) / (1 - e)


def beta(r, alpha, b):
    return (1 + (r / RS) ** alpha) ** -b


class Cosine(Profile):
    """A user's profile: a raised cosine of half-width rw, zero beyond (for the tests)."""

    PARAMS = (Param("rw", None, "deg", "Half-width"), Param("p", 1.0, "", "Power"))

    @staticmethod
    def profile(r, rw, p):
        x = jnp.clip(r / rw, 0.0, 1.0)
        return (0.5 * (1 + jnp.cos(jnp.pi * x))) ** p


def place(bridge):
    bridge.xc, bridge.yc, bridge.rs, bridge.Is, bridge.theta, bridge.e = RA, DEC, RS, IS, THETA, E
    return bridge


def test_default_simple_bridge_is_beta_times_top_hat(img):
    bridge = place(SimpleBridge())
    assert bridge.parameter_names == (
        "xc", "yc", "rs", "Is", "theta", "e", "radial_alpha", "radial_beta",
    )  # fmt: skip
    u, v = axes(img)
    expected = IS * beta(v, 2.0, 0.55) * (u < RS)
    got = bridge.getmap(img)
    edge = np.abs(u - RS) < 1e-9 * RS  # exactly on the top hat's edge: either side is fine
    np.testing.assert_allclose(got[~edge], expected[~edge], rtol=1e-10, atol=1e-14)
    assert got.max() == pytest.approx(IS, rel=0.05)


def test_default_mesa_bridge_is_the_harmonic_combination(img):
    bridge = place(MesaBridge())
    assert bridge.parameter_names[6:] == ("radial_alpha", "radial_beta", "parallel_alpha")
    u, v = axes(img)
    f_r, f_p = beta(v, 8.0, 1.0), np.maximum(u / RS, 1e-8) ** -8.0
    expected = IS / (1 / f_r + 1 / f_p)
    np.testing.assert_allclose(bridge.getmap(img), expected, rtol=1e-10)
    # the defaults make a flat-topped mesa Is / (1 + (v/w)^8 + (u/rs)^8)
    np.testing.assert_allclose(expected, IS / (1 + (v / RS) ** 8 + (u / RS) ** 8), rtol=1e-10)


def cosine(r):
    return (0.5 * (1 + np.cos(np.pi * np.minimum(r / RS, 1)))) ** 2


# a new sub-profile for each use, and its normalised law
CUSTOM = {
    "Gaussian": (Gaussian, lambda r: np.exp(-0.5 * (r / RS) ** 2)),
    "Beta": (lambda: Beta(alpha=6.0, beta=1.5), lambda r: beta(r, 6.0, 1.5)),
    "Exponential": (Exponential, lambda r: np.exp(-r / RS)),
    "Sersic": (
        lambda: Sersic(ns=2.0),
        lambda r: np.exp(-special.gammaincinv(4.0, 0.5) * (r / RS) ** 0.5),
    ),
    "TopHat": (TopHat, lambda r: (r < RS).astype(float)),
    "user": (lambda: Cosine(p=2.0), cosine),
}


@pytest.mark.parametrize("cls", [SimpleBridge, MesaBridge])
@pytest.mark.parametrize("name", list(CUSTOM))
def test_custom_subprofiles(img, cls, name):
    # each profile across, a smooth mesa (SimpleBridge) or a power law (MesaBridge) along
    make, f_radial = CUSTOM[name]
    if cls is SimpleBridge:
        parallel, f_parallel = Beta(alpha=8.0, beta=1.0), lambda r: beta(r, 8.0, 1.0)
    else:
        parallel, f_parallel = Power(alpha=6.0), lambda r: np.maximum(r / RS, 1e-8) ** -6.0
    bridge = place(cls(radial=make(), parallel=parallel))
    u, v = axes(img)
    f_r, f_p = f_radial(v), f_parallel(u)
    if cls is SimpleBridge:
        expected = IS * f_r * f_p
    else:
        expected = IS * np.where(f_r > 0, f_r * f_p / np.maximum(f_r + f_p, 1e-300), 0.0)
    got = bridge.getmap(img)
    keep = np.abs(v - RS) > 1e-9 * RS  # off a top hat's edge
    np.testing.assert_allclose(got[keep], expected[keep], rtol=1e-9, atol=1e-14)
    # the parallel profile is the one along the bridge: swapping the roles changes the map
    swapped = place(cls(radial=Beta(alpha=8.0, beta=1.0), parallel=make()))
    assert not np.allclose(swapped.getmap(img), got)


def test_scale_and_amplitude_of_subprofiles_belong_to_the_bridge():
    bridge = SimpleBridge(radial=Sersic(ns=3.0), parallel=Cosine(p=2.0))
    assert bridge.parameter_names[6:] == ("radial_ns", "parallel_p")  # rw became rs
    for name in ("re", "Ie", "xc", "e"):
        with pytest.raises(AttributeError, match=f"no parameter '{name}'"):
            setattr(bridge.radial, name, 1.0)


def test_tophat_amplitude_belongs_to_the_bridge():
    bridge = SimpleBridge()  # parallel=TopHat(): its Ic, like its rc, is the bridge's
    assert bridge.parameter_names[6:] == ("radial_alpha", "radial_beta")
    with pytest.raises(ValueError, match=r"has Ic set, but a SimpleBridge sets it itself"):
        SimpleBridge(parallel=TopHat(Ic=2.0))


def test_unsupported_subprofiles_are_refused():
    refused = type("PolyExpoRefact", (Exponential,), {})
    for cls in (SimpleBridge, MesaBridge):
        for role in ("radial", "parallel"):
            for bad in (Point(), Background(), refused(), ExponentialHeight(), Beta):
                with pytest.raises(TypeError, match=rf"{role}=\w+ is .*one of .*Beta.*TopHat"):
                    cls(**{role: bad})
    with pytest.raises(ValueError, match="two roles"):
        profile = Beta()
        SimpleBridge(radial=profile, parallel=profile)
    with pytest.raises(ValueError, match=r"has rc set, but a SimpleBridge sets it itself"):
        SimpleBridge(radial=Beta(rc=5 * ARCSEC))  # the scale radius is the bridge's rs
    disk = Disk()
    with pytest.raises(ValueError, match="already belongs"):
        SimpleBridge(radial=disk.radial)


def test_optimizer_recovers_a_bridge():
    smooth = dict(parallel=Beta(alpha=8.0, beta=1.0))  # a top hat's edge has no gradient
    truth = dict(rs=10 * ARCSEC, Is=1.5, theta=0.87, e=0.6, radial_beta=0.8)
    true_bridge = SimpleBridge(radial=Beta(), xc=RA, yc=DEC, **truth, **smooth)
    img, _ = simulate.mock_observation(
        Model([true_bridge]), shape=(48, 48), pixscale=ARCSEC, sigma=0.01, seed=2
    )
    bridge = SimpleBridge(
        radial=Beta(beta=priors.uniform(0.3, 2.0)),
        parallel=Beta(alpha=8.0, beta=1.0),
        xc=priors.uniform(RA - 2 * ARCSEC, RA + 2 * ARCSEC),
        yc=priors.uniform(DEC - 2 * ARCSEC, DEC + 2 * ARCSEC),
        rs=priors.loguniform(2 * ARCSEC, 30 * ARCSEC),
        Is=priors.loguniform(0.1, 10.0),
        theta=priors.uniform(0.0, np.pi),
        e=priors.uniform(0.0, 0.9),
    )
    fit = socca.fitter(mod=Model([bridge]), img=img)
    fit.run(method="optimizer")
    best = dict(zip(fit.labels, fit.samples[0], strict=True))
    for name, value in truth.items():
        assert best[f"{bridge.id}_{name}"] == pytest.approx(value, rel=0.01), name
    assert best[f"{bridge.id}_yc"] == pytest.approx(DEC, abs=0.05 * ARCSEC)


def test_custom_profile_takes_rs_for_its_first_length_and_one_for_its_amplitude(img):
    custom = pytest.importorskip("socca.models.custom")
    profile = custom.CustomProfile(
        parameters=[
            {"name": "width", "unit": "deg", "description": "Width"},
            {"name": "amp", "unit": "image", "description": "Peak"},
            {"name": "q", "description": "Exponent"},
        ],
        profile=lambda r, width, amp, q: amp * jnp.exp(-((r / width) ** q)),
        q=1.5,
    )
    bridge = place(SimpleBridge(radial=profile, parallel=Gaussian()))
    assert bridge.parameter_names[6:] == ("radial_q",)
    u, v = axes(img)
    expected = IS * np.exp(-((v / RS) ** 1.5)) * np.exp(-0.5 * (u / RS) ** 2)
    np.testing.assert_allclose(bridge.getmap(img), expected, rtol=1e-9, atol=1e-14)
