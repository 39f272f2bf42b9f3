"""Property-based tests: any input either works or gets a socca error, never NaN.

Hypothesis generates images (dtypes, byte orders, shapes, NaN/inf pixels),
masks, PSFs, noise settings, parameter values and priors. For each, socca must
either accept the input, and then produce finite data, weights, images and a
log-likelihood that is finite or -inf, or raise a :class:`socca.errors.SoccaError`
with a message: never a raw NumPy/JAX/astropy exception, never NaN.

Compiling a likelihood costs seconds, so the properties that need one share a
module-scoped compiled problem and let hypothesis vary only the parameter
vector; the input-validation properties fail or succeed before any compile.
Examples are derandomised, so every run tries the same inputs.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from socca import priors
from socca.data import Image
from socca.errors import SoccaError
from socca.inference import Problem
from socca.models import (
    Background,
    Beta,
    Model,
    ModExponential,
    Point,
    Power,
    Sersic,
    gNFW,
)
from socca.noise import Normal, Poisson
from tests.conftest import ARCSEC, gaussian_psf, tan_header

RA, DEC = 20.0, -10.0
FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OUTCOMES: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_outcomes():
    """Print how many generated inputs were accepted and how many refused (run with -s)."""
    yield
    print(f"\nproperty outcomes: {dict(sorted(OUTCOMES.items()))}")


def attempt(kind, build):
    """Run ``build()``; a SoccaError with a message counts as a clear refusal.

    Returns the result, or None when the input was refused. Any other
    exception propagates and fails the property.
    """
    try:
        result = build()
    except SoccaError as err:
        assert str(err).strip(), f"{type(err).__name__} without a message"
        OUTCOMES[f"{kind}: refused"] += 1
        argument = re.sub(r"comp_\d+", "comp", str(err).split(":")[0])[:40]
        OUTCOMES[f"{kind}: refused by '{argument}'"] += 1
        return None
    OUTCOMES[f"{kind}: accepted"] += 1
    return result


# ----------------------------------------------------------------------- strategies

DTYPES = st.sampled_from(["<f8", ">f8", "<f4", ">f4", "<i2", ">i4", "|u1", "<i8"])
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def images(draw):
    """Pixel arrays of any small shape and numeric dtype, with NaN/inf sprinkled in floats."""
    dtype = np.dtype(draw(DTYPES))
    shape = draw(st.tuples(st.integers(1, 12), st.integers(1, 12)))
    if dtype.kind == "f":
        elements = st.floats(-1e3, 1e3, width=32)
    else:
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -1000), min(info.max, 1000))
    data = draw(hnp.arrays(dtype, shape, elements=elements))
    if dtype.kind == "f":
        for _ in range(draw(st.sampled_from([0, 0, 1, 3, data.size]))):
            data[draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))] = draw(
                SPECIAL
            )
    return data


@st.composite
def masks(draw, shape):
    """None, a 0/1 array (sometimes all zero, sometimes the wrong shape) or junk values."""
    kind = draw(st.sampled_from(["none", "none", "binary", "binary", "zeros", "wrong-shape",
                                 "junk"]))
    if kind == "none":
        return None
    if kind == "wrong-shape":
        shape = (shape[0] + 1, shape[1])
    if kind == "zeros":
        return np.zeros(shape)
    values = st.sampled_from([0.0, 1.0]) if kind == "binary" else st.floats(allow_nan=True)
    return draw(hnp.arrays(np.float64, shape, elements=values))


@st.composite
def psfs(draw):
    """None or kernels of any size (larger than the image too), zeros and NaN included."""
    kind = draw(st.sampled_from(["none", "gaussian", "gaussian", "random", "random", "zeros",
                                 "nan", "negative"]))
    if kind == "none":
        return None
    size = draw(st.integers(1, 25))
    if kind == "gaussian":
        return gaussian_psf(size, draw(st.floats(0.3, 5.0)))
    if kind == "zeros":
        return np.zeros((size, size))
    kernel = draw(hnp.arrays(np.float64, (size, draw(st.integers(1, 25))),
                             elements=st.floats(0.0, 1.0)))
    if kind == "nan":
        kernel.flat[draw(st.integers(0, kernel.size - 1))] = np.nan
    if kind == "negative":
        kernel = -kernel
    return kernel


AMPLITUDES = st.one_of(
    st.floats(1e-3, 1e3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e-300, 1e300]),
)


@st.composite
def noises(draw, shape):
    """Normal with a scalar or map amplitude of any value, MAD estimate, or Poisson."""
    kind = draw(st.sampled_from(["mad", "scalar", "scalar", "map", "poisson"]))
    if kind == "mad":
        return Normal
    if kind == "poisson":
        return Poisson
    key = draw(st.sampled_from(["sigma", "var", "weight", "rms", "invvar"]))
    if kind == "scalar":
        value = draw(AMPLITUDES)
    else:
        good = draw(st.booleans())
        value = draw(hnp.arrays(np.float64, shape,
                                elements=st.floats(0.1, 10.0) if good else AMPLITUDES))
    return lambda: Normal(**{key: value})


# ------------------------------------------------------------ input validation (no compile)


def _check_image(img):
    """What an accepted image guarantees: finite data, a usable mask, a unit-sum PSF."""
    assert img.data.dtype == np.float64 and img.data.dtype.isnative
    assert np.all(np.isfinite(img.data))
    assert img.mask.any()
    if img.psf is not None:
        assert np.all(np.isfinite(img.psf)) and math.isclose(img.psf.sum(), 1.0, rel_tol=1e-9)
    loglike = img.noise.loglike_fn()
    value = float(loglike(jnp.zeros(img.shape)))
    assert not math.isnan(value)
    assert value < math.inf


@settings(FAST, max_examples=150)
@given(data=st.data(), pixels=images())
def test_any_image_mask_psf_and_noise_works_or_is_refused(data, pixels):
    mask = data.draw(masks(pixels.shape))
    psf = data.draw(psfs())
    noise = data.draw(noises(pixels.shape))

    def build():
        img = Image(
            fits.PrimaryHDU(data=pixels, header=tan_header(pixels.shape)),
            noise=noise(),
            addpsf=psf,
            addmask=mask,
        )
        _check_image(img)
        return img

    attempt("image", build)


#: The valid range of every parameter drawn below, written out independently of
#: the declarations: (lowest, highest, lowest allowed, highest allowed).
RANGES = {
    ("Sersic", "e"): (0.0, 1.0, True, False),
    ("Sersic", "ns"): (0.0, math.inf, False, False),
    ("Sersic", "re"): (0.0, math.inf, False, False),
    ("Sersic", "cbox"): (-2.0, math.inf, False, False),
    ("Sersic", "yc"): (-90.0, 90.0, True, True),
    ("Sersic", "theta"): (-math.inf, math.inf, False, False),
    ("Sersic", "Ie"): (-math.inf, math.inf, False, False),
    ("gNFW", "gamma"): (-math.inf, 1.0, False, False),
    ("gNFW", "beta"): (1.0, math.inf, False, False),
    ("Beta", "alpha"): (0.0, math.inf, False, False),
    ("Power", "alpha"): (-math.inf, math.inf, False, False),
    ("Background", "rs"): (0.0, math.inf, False, False),
}
CLASSES = {"Sersic": Sersic, "gNFW": gNFW, "Beta": Beta, "Power": Power, "Background": Background}
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -2.0, 90.0, -90.0, 0.999999, 1e-300]),
)


def _inside(value, low, high, low_ok, high_ok):
    above = value >= low if low_ok else value > low
    below = value <= high if high_ok else value < high
    return above and below


@FAST
@given(target=st.sampled_from(sorted(RANGES)), value=NUMBERS)
def test_fixed_values_are_accepted_exactly_inside_the_valid_range(target, value):
    cls, name = target
    low, high, low_ok, high_ok = RANGES[target]
    comp = attempt("fixed value", lambda: CLASSES[cls](**{name: value}))
    expected = math.isfinite(value) and _inside(value, low, high, low_ok, high_ok)
    assert (comp is not None) == expected, (target, value)


@FAST
@given(
    target=st.sampled_from(sorted(RANGES)),
    bounds=st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)),
    family=st.sampled_from(["uniform", "loguniform", "normal"]),
)
def test_priors_are_accepted_exactly_when_their_support_fits_the_range(target, bounds, family):
    cls, name = target
    low, high, _, _ = RANGES[target]
    a, b = sorted(bounds)
    prior = attempt("prior", lambda: getattr(priors, family)(a, b))
    if prior is None:
        return
    comp = attempt("prior on parameter", lambda: CLASSES[cls](**{name: prior}))
    if family == "normal":  # unbounded: all but 1e-6 of the mass on each side must fit
        z = 4.753424308822899  # the 1 - 1e-6 quantile of a standard normal
        reach = (a - z * b, a + z * b)
    else:
        reach = (a, b)
    fits_range = reach[0] >= low and reach[1] <= high
    near = any(
        math.isclose(r, edge, rel_tol=1e-9, abs_tol=1e-12) for r in reach for edge in (low, high)
    )
    if not near:  # at a bound the verdict rests on rounding; both are fine
        assert (comp is not None) == fits_range, (target, family, a, b)


# --------------------------------------------------- one compiled problem, many parameters


def _problem_image():
    rng = np.random.default_rng(3)
    shape = (20, 24)
    hdu = fits.PrimaryHDU(data=rng.normal(size=shape), header=tan_header(shape, ra=RA, dec=DEC))
    mask = np.ones(shape)
    mask[:3, :5] = 0
    return Image(hdu, noise=Normal(sigma=1.0), addpsf=gaussian_psf(9, 1.5), addmask=mask)


@pytest.fixture(scope="module")
def problem():
    """Every parameter free, with priors spanning extreme but valid values."""
    far = 1.0  # degrees: sources may sit an hour of arc off the image
    galaxy = Sersic(
        xc=priors.uniform(RA - far, RA + far),
        yc=priors.uniform(DEC - far, DEC + far),
        theta=priors.uniform(-7.0, 7.0),
        e=priors.uniform(0.0, 0.999999),
        cbox=priors.uniform(-1.9, 5.0),
        re=priors.loguniform(1e-4 * ARCSEC, 1e4 * ARCSEC),  # far below a pixel to the sky
        Ie=priors.loguniform(1e-20, 1e20),
        ns=priors.uniform(0.1, 15.0),
    )
    cluster = Beta(
        xc=RA, yc=DEC, rc=priors.loguniform(1e-4 * ARCSEC, 1e4 * ARCSEC),
        Ic=priors.uniform(-1e6, 1e6), alpha=priors.uniform(0.05, 50.0),
        beta=priors.uniform(-20.0, 20.0),
    )
    cusp = Power(xc=RA, yc=DEC, rc=priors.loguniform(1e-4 * ARCSEC, 1e4 * ARCSEC), Ic=1.0,
                 alpha=priors.uniform(-60.0, 60.0))
    modexp = ModExponential(
        xc=RA, yc=DEC, rs=priors.loguniform(1e-4 * ARCSEC, 1e4 * ARCSEC), Is=1.0,
        rm=priors.loguniform(1e-4 * ARCSEC, 1e4 * ARCSEC), alpha=priors.uniform(-300.0, 300.0),
    )
    star = Point(xc=priors.uniform(RA - far, RA + far), yc=priors.uniform(DEC - far, DEC + far),
                 Ic=priors.uniform(-1e10, 1e10))
    sky = Background(a0=priors.uniform(-1e3, 1e3), a1x=priors.uniform(-1.0, 1.0),
                     a3yyy=priors.uniform(-1e-3, 1e-3))
    model = Model([galaxy, cluster, cusp, modexp, star, sky])
    prob = Problem(model, _problem_image())

    def image(theta):
        maps = prob.render(theta)
        return maps.smoothed + maps.background, maps.raw

    return prob, jax.jit(image)


UNIT = st.floats(0.0, 1.0)
INTERIOR = st.one_of(st.floats(1e-300, 1.0, exclude_max=True), st.sampled_from([1e-12, 1 - 1e-12]))


@FAST
@given(data=st.data())
def test_every_prior_draw_renders_finite_and_loglike_is_never_nan(problem, data):
    prob, image = problem
    u = np.array(data.draw(st.lists(INTERIOR, min_size=prob.ndim, max_size=prob.ndim)))
    theta = prob.prior_transform(u)
    assert np.all(np.isfinite(np.asarray(theta)))
    smoothed, raw = image(theta)
    labels = dict(zip(prob.labels, np.asarray(theta).tolist(), strict=True))
    assert np.all(np.isfinite(np.asarray(smoothed))), labels
    assert np.all(np.isfinite(np.asarray(raw))), labels
    value = float(prob.loglike(theta))
    assert not math.isnan(value) and value < math.inf, labels
    OUTCOMES["prior draw: finite" if math.isfinite(value) else "prior draw: -inf"] += 1


@FAST
@given(data=st.data())
def test_loglike_is_never_nan_on_the_closed_cube_and_beyond(problem, data):
    """Even at the cube's faces and for values no prior gives, the likelihood is not NaN."""
    prob, _ = problem
    u = np.array(data.draw(st.lists(UNIT, min_size=prob.ndim, max_size=prob.ndim)))
    theta = np.asarray(prob.prior_transform(u))
    scale = data.draw(st.sampled_from([1.0, -1.0, 1e3]))
    batch = np.stack([theta, theta * scale])
    values = np.asarray(prob.loglike_batch(batch))
    assert not np.any(np.isnan(values)) and np.all(values < np.inf)
