"""Bad input gets a socca error that names the argument and the bad value.

One table, one entry per distinct bad input: what is built, the error type
expected, and fragments the message must contain (the argument or parameter at
fault and the offending value or what was expected). Every error must be a
:class:`socca.errors.SoccaError`, so that a pipeline can catch bad input apart
from bugs.
"""

from __future__ import annotations

import numpy as np
import numpyro.distributions as dist
import pytest
from astropy.io import fits

import socca
from socca import priors
from socca.data import Image
from socca.errors import (
    InputError,
    InputIndexError,
    InputTypeError,
    MissingFileError,
    SoccaError,
    UnknownParameterError,
)
from socca.models import (
    Background,
    Beta,
    Disk,
    Model,
    Point,
    Sersic,
    SimpleBridge,
    gNFW,
)
from socca.noise import Normal, NormalCorrelated, NormalFourier, NormalRI, Poisson
from tests.conftest import ARCSEC, gaussian_psf, make_hdu, tan_header

RA, DEC = 20.0, -10.0
SHAPE = (16, 16)


def hdu(data=None, header=True):
    """A 16x16 HDU with a TAN WCS (or none), Gaussian noise by default."""
    if data is None:
        data = np.random.default_rng(0).normal(size=SHAPE)
    data = np.asarray(data)
    head = tan_header(data.shape[-2:] if data.ndim >= 2 else (1, 1)) if header else None
    return fits.PrimaryHDU(data=data, header=head)


def image(**kw):
    kw.setdefault("noise", Normal(sigma=1.0))
    return Image(make_hdu(SHAPE), **kw)


def sersic(**kw):
    values = dict(xc=RA, yc=DEC, re=2 * ARCSEC, Ie=1.0)
    values.update(kw)
    return Sersic(**values)


def fit(*components, img=None):
    """Build the fitter (validation of the model happens here, before any compile)."""
    return socca.fitter(Model(list(components)), img if img is not None else image())


def _set_after_adding(name, value):
    comp = sersic(Ie=priors.uniform(0, 2))
    model = Model([comp])
    comp._params[name].value = value  # bypasses setattr, as a deserialised object might
    return socca.fitter(model, image())


def _tie(function):
    comp = sersic(Ie=priors.uniform(0, 2))
    comp.re = function
    return fit(comp)


def _lambda(argument):
    """``lambda <argument>: <argument>``; labels depend on creation order, hence eval."""
    return eval(f"lambda {argument}: {argument}")


def _tie_misspelt():
    comp = sersic(Ie=priors.uniform(0, 2))
    comp.re = _lambda(f"{comp.id}_ree")
    return fit(comp)


def _circular():
    a, b = sersic(Ie=priors.uniform(0, 2)), sersic()
    a.re = _lambda(f"{b.id}_re")
    b.re = priors.boundto(a, "re")
    return fit(a, b)


def _bound_outside():
    other = sersic()
    comp = sersic(Ie=priors.uniform(0, 2), re=priors.boundto(other, "re"))
    return fit(comp)


def _disk(**vertical):
    disk = Disk(xc=RA, yc=DEC)
    for name, value in vertical.items():
        setattr(disk.vertical, name, value)
    return disk


NAN_MAP = np.ones(SHAPE)
NAN_MAP[3, 4] = np.nan
NEG_MAP = np.ones(SHAPE)
NEG_MAP[2, 2] = -0.5
BAD_MASK = np.ones(SHAPE)
BAD_MASK[1, 1] = 2.0
NAN_PSF = gaussian_psf(7)
NAN_PSF[3, 3] = np.nan
INF_PSF = gaussian_psf(7)
INF_PSF[0, 0] = np.inf
NEG_PSF = -gaussian_psf(7)
ZERO_SUM_PSF = np.zeros((5, 5))
ZERO_SUM_PSF[2, 1], ZERO_SUM_PSF[2, 3] = 1.0, -1.0

# (id, thunk, error type, fragments the message must contain)
CASES = [
    # ---------------------------------------------------------------- images
    ("img-no-data", lambda: Image(fits.PrimaryHDU(header=tan_header(SHAPE))), InputError,
     ["img", "no data"]),
    ("img-no-wcs", lambda: Image(hdu(header=False)), InputError, ["img", "no celestial WCS"]),
    ("img-1d", lambda: Image(fits.PrimaryHDU(np.ones(16), tan_header(SHAPE))), InputError,
     ["img", "2-D", "(16,)"]),
    ("img-3d", lambda: Image(fits.PrimaryHDU(np.ones((2, 16, 16)), tan_header(SHAPE))), InputError,
     ["img", "2-D", "(2, 16, 16)"]),
    ("exposure-complex", lambda: image(exposure=np.ones(SHAPE) * 1j), InputTypeError,
     ["exposure", "numeric", "complex"]),
    ("psf-strings", lambda: image(addpsf=np.full((3, 3), "x")), InputTypeError,
     ["psf", "numeric", "<U1"]),
    ("img-all-nan", lambda: Image(hdu(np.full(SHAPE, np.nan))), InputError,
     ["img", "256 pixels", "NaN"]),
    ("img-all-inf", lambda: Image(hdu(np.full(SHAPE, -np.inf))), InputError,
     ["img", "256 pixels", "inf"]),
    ("img-empty", lambda: Image(fits.PrimaryHDU(np.ones((0, 16)), tan_header(SHAPE))), InputError,
     ["img", "empty", "(0, 16)"]),
    ("img-missing-file", lambda: Image("nowhere/missing.fits"), MissingFileError,
     ["img", "missing.fits"]),
    ("img-wrong-type", lambda: Image(42), InputTypeError, ["img", "int"]),
    ("img-hdu-index", lambda: Image(fits.HDUList([make_hdu(SHAPE)]), img_idx=3), InputIndexError,
     ["img", "HDU index 3"]),
    ("subgrid-zero", lambda: image(subgrid=0), InputError, ["subgrid", "0"]),
    ("subgrid-float", lambda: image(subgrid=1.5), InputError, ["subgrid", "1.5"]),
    ("noise-not-model", lambda: image(noise="normal"), InputTypeError, ["noise", "str"]),
    ("exposure-shape", lambda: image(exposure=np.ones((4, 4))), InputError,
     ["exposure", "(4, 4)", "(16, 16)"]),
    ("exposure-nan", lambda: image(exposure=NAN_MAP), InputError, ["exposure", "1 pixels", "NaN"]),
    ("exposure-negative", lambda: image(exposure=NEG_MAP), InputError,
     ["exposure", "negative", "-0.5"]),
    ("response-nan", lambda: image(response=NAN_MAP), InputError, ["response", "NaN"]),
    ("cutout-center-only", lambda: image(center=(8, 8)), InputError, ["center, csize", "(8, 8)"]),
    ("cutout-size-negative", lambda: image(center=(8, 8), csize=-4), InputError, ["csize", "-4"]),
    ("cutout-center-outside", lambda: image(center=(40, 8), csize=4), InputError,
     ["center", "40.00", "outside"]),
    # ------------------------------------------------------------------ PSFs
    ("psf-nan", lambda: image(addpsf=NAN_PSF), InputError, ["psf", "1 non-finite"]),
    ("psf-inf", lambda: image(addpsf=INF_PSF), InputError, ["psf", "non-finite"]),
    ("psf-1d", lambda: image(addpsf=np.ones(5)), InputError, ["psf", "2-D", "(5,)"]),
    ("psf-empty", lambda: image(addpsf=np.ones((0, 0))), InputError, ["psf", "empty"]),
    ("psf-zero-sum", lambda: image(addpsf=ZERO_SUM_PSF), InputError, ["psf", "sums to zero"]),
    ("psf-negative-sum", lambda: image(addpsf=NEG_PSF), InputError, ["psf", "sums to -1", "< 0"]),
    ("psf-cropped-to-zero", lambda: image(addpsf=_ring_kernel()), InputError,
     ["psf", "sums to zero after cropping"]),
    ("psf-missing-file", lambda: image(addpsf="missing_psf.fits"), MissingFileError,
     ["psf", "missing_psf.fits"]),
    ("psf-bad-option", lambda: image(addpsf={"image": gaussian_psf()}), InputError,
     ["addpsf", "'img'", "'image'"]),
    # ----------------------------------------------------------------- masks
    ("mask-shape", lambda: image(addmask=np.ones((4, 4))), InputError,
     ["mask", "(4, 4)", "(16, 16)"]),
    ("mask-values", lambda: image(addmask=BAD_MASK), InputError, ["mask", "0/1", "2.0"]),
    ("mask-nan", lambda: image(addmask=NAN_MAP), InputError, ["mask", "0/1", "nan"]),
    ("mask-strings", lambda: image(addmask=np.full(SHAPE, "a")), InputError, ["mask", "dtype"]),
    ("mask-all-zero", lambda: image(addmask=np.zeros(SHAPE)), InputError,
     ["Normal", "every pixel is masked"]),
    ("mask-region-garbage", lambda: image(addmask="fk5; blob(20, -10, 3)"), InputError,
     ["regions", "blob"]),
    ("mask-empty-list", lambda: image(addmask=[]), InputError, ["regions", "empty list"]),
    ("mask-missing-region-file", lambda: image(addmask="nothere.reg"), MissingFileError,
     ["regions", "nothere.reg"]),
    ("mask-combine-type", lambda: image().addmask(np.ones(SHAPE), combine="yes"), InputTypeError,
     ["combine", "'yes'"]),
    # ----------------------------------------------------------------- noise
    ("sigma-negative", lambda: Normal(sigma=-1.0), InputError, ["sigma", "-1.0", "> 0"]),
    ("sigma-zero", lambda: Normal(sigma=0.0), InputError, ["sigma", "0.0", "> 0"]),
    ("sigma-nan", lambda: Normal(sigma=np.nan), InputError, ["sigma", "nan"]),
    ("sigma-inf", lambda: Normal(sigma=np.inf), InputError, ["sigma", "inf"]),
    ("variance-negative", lambda: Normal(variance=-2.0), InputError, ["variance", "-2.0"]),
    ("weight-zero", lambda: Normal(weight=0.0), InputError, ["weight", "0.0"]),
    ("weight-negative", lambda: Normal(wht=-3.0), InputError, ["wht", "-3.0"]),
    ("sigma-map-negative", lambda: Normal(rms=NEG_MAP), InputError, ["rms", "(2, 2)", "-0.5"]),
    ("sigma-map-shape", lambda: image(noise=Normal(sigma=np.ones((4, 4)))), InputError,
     ["sigma", "(4, 4)", "(16, 16)"]),
    ("sigma-3d", lambda: Normal(sigma=np.ones((2, 4, 4))), InputError, ["sigma", "(2, 4, 4)"]),
    ("noise-two-amplitudes", lambda: Normal(sigma=1.0, var=1.0), InputError,
     ["'sigma' and 'var'"]),
    ("noise-unknown-keyword", lambda: Normal(sgima=1.0), InputTypeError, ["'sgima'"]),
    ("noise-missing-file", lambda: Normal(sigma="nofile.fits"), MissingFileError,
     ["sigma", "nofile.fits"]),
    ("noise-mad-zero", lambda: Image(hdu(np.ones(SHAPE))), InputError, ["Normal", "MAD", "zero"]),
    ("poisson-negative", lambda: image(noise=Poisson()), InputError, ["Poisson", "negative"]),
    ("poisson-non-integer",
     lambda: Image(hdu(np.full(SHAPE, 2.5)), noise=Poisson()), InputError,
     ["Poisson", "not integers", "2.5"]),
    ("fourier-with-mask",
     lambda: Image(hdu(_with_nan()), noise=NormalFourier(icov=np.ones((16, 9)))), InputError,
     ["NormalFourier", "mask", "1 of 256"]),
    ("ri-sigma-negative", lambda: NormalRI(sigma=-1.0), InputError, ["NormalRI", "sigma", "-1"]),
    ("correlated-cov-shape",
     lambda: image(noise=NormalCorrelated(cov=np.eye(5))), InputError,
     ["NormalCorrelated", "(5, 5)"]),
    ("correlated-cov-nan", lambda: NormalCorrelated(cov=np.full((4, 4), np.nan)), InputError,
     ["NormalCorrelated", "cov", "NaN"]),
    # ---------------------------------------------------------------- priors
    ("uniform-reversed", lambda: priors.uniform(1.0, 0.0), InputError,
     ["uniform", "low=1.0", "high=0.0"]),
    ("uniform-nan", lambda: priors.uniform(0.0, np.nan), InputError, ["uniform", "high=nan"]),
    ("uniform-string", lambda: priors.uniform("a", 1.0), InputTypeError, ["uniform", "low='a'"]),
    ("loguniform-zero", lambda: priors.loguniform(0.0, 1.0), InputError,
     ["loguniform", "low=0.0", "positive"]),
    ("normal-negative-scale", lambda: priors.normal(0.0, -1.0), InputError,
     ["normal", "scale=-1.0"]),
    ("powerlaw-negative-low", lambda: priors.powerlaw(1.0, -1.0, 2.0), InputError,
     ["powerlaw", "low=-1.0"]),
    ("splitnormal-zero-width", lambda: priors.splitnormal(0.0, 0.0, 1.0), InputError,
     ["splitnormal", "losig=0.0"]),
    ("prior-without-icdf", lambda: fit(sersic(Ie=dist.Gamma(2.0, 1.0))), InputTypeError,
     ["comp_", "_Ie", "Gamma", "icdf"]),
    ("prior-batched", lambda: fit(sersic(Ie=priors.normal(0.0, 1.0).expand([2]))), InputError,
     ["_Ie", "scalar", "(2,)"]),
    # ------------------------------------------------- parameter values and ranges
    ("e-one", lambda: sersic(e=1.0), InputError, ["e", "1.0", "0 <= e < 1"]),
    ("e-negative", lambda: sersic(e=-0.1), InputError, ["e", "-0.1", "0 <= e < 1"]),
    ("ns-zero", lambda: sersic(ns=0.0), InputError, ["ns", "0.0", "ns > 0"]),
    ("ns-negative", lambda: sersic(ns=-1.0), InputError, ["ns", "-1.0", "ns > 0"]),
    ("re-negative", lambda: sersic(re=-1e-3), InputError, ["re", "-0.001", "re > 0"]),
    ("re-zero", lambda: sersic(re=0), InputError, ["re", "0.0", "re > 0"]),
    ("yc-beyond-pole", lambda: sersic(yc=95.0), InputError, ["yc", "95.0", "-90 <= yc <= 90"]),
    ("cbox-too-discy", lambda: sersic(cbox=-3.0), InputError, ["cbox", "-3.0", "cbox > -2"]),
    ("xc-nan", lambda: sersic(xc=np.nan), InputError, ["xc", "finite", "nan"]),
    ("xc-string", lambda: sersic(xc="20"), InputTypeError, ["xc", "'20'", "expected a number"]),
    ("ie-bool", lambda: sersic(Ie=True), InputTypeError, ["Ie", "True"]),
    ("re-list", lambda: sersic(re=[1.0, 2.0]), InputTypeError, ["re", "[1.0, 2.0]"]),
    ("unknown-parameter", lambda: Sersic(nn=3), UnknownParameterError, ["'nn'", "ns"]),
    ("truncation-rt-negative", lambda: sersic(truncation=True, rt=-1.0), InputError,
     ["rt", "-1.0", "rt > 0"]),
    ("truncation-wt-zero", lambda: sersic(truncation=True, wt=0.0), InputError,
     ["wt", "0.0", "wt > 0"]),
    ("rt-without-truncation", lambda: sersic(rt=1e-3), InputError, ["rt", "truncation"]),
    ("beta-alpha-zero", lambda: Beta(rc=1e-3, Ic=1.0, alpha=0.0), InputError,
     ["alpha", "0.0", "alpha > 0"]),
    ("gnfw-beta-one", lambda: gNFW(beta=1.0), InputError, ["beta", "1.0", "beta > 1"]),
    ("gnfw-gamma-one", lambda: gNFW(gamma=1.0), InputError, ["gamma", "1.0", "gamma < 1"]),
    ("background-rs-zero", lambda: Background(rs=0.0), InputError, ["rs", "0.0", "rs > 0"]),
    ("disk-zs-negative", lambda: _disk(zs=-1e-3), InputError, ["zs", "-0.001", "zs > 0"]),
    ("disk-losbins", lambda: Disk(losbins=1), InputError, ["losbins", "1", ">= 2"]),
    ("disk-losdepth", lambda: Disk(losdepth=-1.0), InputError, ["losdepth", "-1.0"]),
    ("bridge-e-one", lambda: SimpleBridge(e=1.0), InputError, ["e", "1.0", "0 <= e < 1"]),
    ("point-dec", lambda: Point(xc=RA, yc=-91.0, Ic=1.0), InputError, ["yc", "-91.0"]),
    # ------------------------------------------------------- priors outside ranges
    ("prior-e-past-one", lambda: sersic(e=priors.uniform(0.0, 1.2)), InputError,
     ["e", "Uniform", "reaches 1.2", "0 <= e < 1"]),
    ("prior-ns-negative", lambda: sersic(ns=priors.uniform(-1.0, 3.0)), InputError,
     ["ns", "Uniform", "reaches -1", "ns > 0"]),
    ("prior-re-negative", lambda: sersic(re=priors.uniform(-1e-3, 1e-3)), InputError,
     ["re", "reaches -0.001", "re > 0"]),
    ("prior-e-normal-tail", lambda: sersic(e=priors.normal(0.5, 0.3)), InputError,
     ["e", "Normal", "quantile", "0 <= e < 1"]),
    ("prior-gamma-past-one", lambda: gNFW(gamma=priors.uniform(0.0, 1.5)), InputError,
     ["gamma", "reaches 1.5", "gamma < 1"]),
    ("prior-rt-negative", lambda: sersic(truncation=True, rt=priors.uniform(-1.0, 1.0)),
     InputError, ["rt", "reaches -1"]),
    ("prior-zs-numpyro", lambda: _disk(zs=dist.Normal(0.0, 1e-3)), InputError,
     ["zs", "Normal", "zs > 0"]),
    ("prior-bridge-e", lambda: SimpleBridge(e=priors.uniform(0.5, 2.0)), InputError,
     ["e", "reaches 2"]),
    # ----------------------------------------------------------------- models
    ("model-not-component", lambda: Model().addcomponent("sersic"), InputTypeError,
     ["addcomponent", "str"]),
    ("model-parameter-none", lambda: Model([Sersic(xc=RA, yc=DEC)]), InputError,
     ["re", "Ie", "None"]),
    ("model-empty", lambda: socca.fitter(Model(), image()), InputError,
     ["model", "no components"]),
    ("parameter-none-after-add", lambda: _set_after_adding("re", None), InputError,
     ["_re", "None"]),
    ("parameter-out-of-range-after-add", lambda: _set_after_adding("e", 1.5), InputError,
     ["e", "1.5", "0 <= e < 1"]),
    ("tie-unknown-label", lambda: _tie(lambda comp_9999_re: comp_9999_re), InputError,
     ["_re: its functional prior", "comp_9999_re", "unknown"]),
    ("tie-misspelt-label", _tie_misspelt, InputError, ["_ree", "did you mean", "_re'"]),
    ("tie-varargs", lambda: _tie(lambda *args: args[0]), InputError, ["_re:", "*args", "args"]),
    ("tie-no-arguments", lambda: _tie(lambda: 1.0), InputError, ["_re:", "no arguments"]),
    ("tie-circular", _circular, InputError, ["circular"]),
    ("boundto-unknown-name", lambda: priors.boundto(sersic(), "rr"), InputError,
     ["boundto", "'rr'"]),
    ("boundto-outside-model", _bound_outside, InputError, ["bound to", "not part of this model"]),
    ("addparameter-bad-name", lambda: sersic().addparameter("2x"), InputError, ["'2x'"]),
    ("getmodel-wrong-length",
     lambda: Model([sersic(Ie=priors.uniform(0, 2))]).getmodel(image(), [1.0, 2.0]), InputError,
     ["params", "2 values", "1 free"]),
]


def _ring_kernel():
    """A 41x41 kernel whose only non-zero pixels lie outside a 16x16 crop around its centre."""
    kernel = np.zeros((41, 41))
    kernel[0, 0] = kernel[-1, -1] = 1.0
    return kernel


def _with_nan():
    data = np.random.default_rng(1).normal(size=SHAPE)
    data[5, 5] = np.nan
    return data


@pytest.mark.parametrize(
    ("thunk", "kind", "fragments"),
    [pytest.param(thunk, kind, fragments, id=name) for name, thunk, kind, fragments in CASES],
)
def test_bad_input_gets_a_clear_socca_error(thunk, kind, fragments):
    with pytest.raises(SoccaError) as info:
        thunk()
    err = info.value
    assert isinstance(err, kind), f"expected {kind.__name__}, got {type(err).__name__}: {err}"
    message = str(err)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_cases_are_distinct():
    names = [case[0] for case in CASES]
    assert len(names) == len(set(names))


def test_errors_keep_their_builtin_bases():
    """Code that caught ValueError/TypeError before still catches socca's errors."""
    assert issubclass(InputError, ValueError) and issubclass(InputTypeError, TypeError)
    assert issubclass(MissingFileError, FileNotFoundError)
    assert issubclass(UnknownParameterError, AttributeError)
    assert socca.SoccaError is SoccaError
    from socca.config.errors import ConfigError

    assert issubclass(ConfigError, SoccaError)


def test_valid_edge_values_are_accepted():
    """The ranges are not stricter than the physics: bounds that are allowed pass."""
    sersic(e=0.0, ns=0.05, cbox=-1.9, yc=90.0)
    sersic(e=0.999999, ns=20.0)
    sersic(e=priors.uniform(0.0, 1.0))  # touches the open end: a draw of exactly 1 has mass 0
    sersic(re=priors.uniform(0.0, 1e-3))
    sersic(ns=priors.normal(4.0, 0.5))  # unbounded tails, but all but 1e-6 above 0
    gNFW(gamma=priors.uniform(-1.0, 1.0), beta=priors.loguniform(1.1, 10.0))
    Point(xc=RA, yc=DEC, Ic=-5.0)  # negative fluxes are legitimate (residual fits)
