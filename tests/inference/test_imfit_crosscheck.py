"""Cross-check against an established fitting code: imfit (through pyimfit).

One simulated Sérsic galaxy (64x64, odd elliptical Moffat PSF, per-pixel σ map,
a mask) is fitted twice: with socca's optimizer and with imfit's
Levenberg-Marquardt solver, both given the same PSF, σ map, mask, start point
and bounds. The image is rendered here, from the published Sérsic formula and
``scipy.signal.fftconvolve``, not by either code.

The galaxy fills the frame (r_e is a sixth of it) and the σ map has a Poisson
term, so the faint outskirts near the edges carry weight: a model that dropped
the light from beyond the edge (zero padding before the convolution) moves n,
I_e and r_e by about 0.3 σ here, and a half-pixel shift of the PSF centre moves
the position by about 14 σ; both fail the 0.1 σ agreement below.

Conventions mapped between the two codes (the WCS is TAN, north up, east left,
CDELT1 < 0, 1 arcsec pixels, tangent point at the image centre):

* position: imfit's (X0, Y0) are 1-based pixel coordinates (first pixel centre
  at 1.0), i.e. 0-based (column, row) + 1; socca's (xc, yc) are the RA, Dec of
  that point, ``wcs.pixel_to_world_values(column, row)``;
* angle: imfit's PA is counter-clockwise from +y; with north up and east left
  that is from north through east, socca's ``theta``: ``theta = radians(PA)``;
* shape: ``e = ell`` (1 - b/a), ``ns = n``; ``re = r_e * pixel scale`` (deg,
  along the major axis); ``Ie = I_e`` (per pixel, at r_e) in both.

imfit samples pixels finely only within 10 px of the centre and takes the
pixel-centre value beyond; socca's ``subgrid=3`` averages a 3x3 lattice
everywhere. Against the reference renderer (noise free), imfit's parameters then
sit up to 0.06 σ from the truth at this S/N, socca's within 0.01 σ.
"""

import contextlib
import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy.signal import fftconvolve
from scipy.special import gammaincinv

import socca
from socca import priors
from socca.data import Image
from socca.models import Model, Sersic
from socca.noise import Normal

pyimfit = pytest.importorskip("pyimfit", reason="the cross-check needs pyimfit (test extra)")

SHAPE = (64, 64)
SCALE = 1.0 / 3600.0  # pixel size, deg
RA0, DEC0 = 150.0, 2.0
# truth in imfit's terms, with 0-based pixel coordinates (x0 = column, y0 = row)
TRUTH = dict(x0=33.3, y0=30.6, pa=0.6, ell=0.35, n=1.6, re=11.0, Ie=1.0)
# bounds (socca: uniform priors; imfit: parameter limits); the start is their middle
BOUNDS = dict(
    x0=(28.0, 38.0), y0=(26.0, 36.0), pa=(0.0, 1.5), ell=(0.0, 0.7),
    n=(0.5, 4.0), re=(5.0, 20.0), Ie=(0.3, 3.0),
)  # fmt: skip
ORDER = ("x0", "y0", "pa", "ell", "n", "Ie", "re")  # imfit's parameter order


def moffat_psf(size=15, fwhm=3.2, beta=3.0, q=0.9):
    """Unit-sum, slightly elliptical Moffat kernel of odd ``size``."""
    y, x = np.indices((size, size)) - (size - 1) / 2
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    kernel = (1 + (x**2 + (y / q) ** 2) / alpha**2) ** (-beta)
    return kernel / kernel.sum()


def sersic(x, y, x0, y0, pa, ell, n, re, Ie):
    """Sérsic surface brightness at 0-based pixel positions (PA from +y towards -x)."""
    dx, dy = x - x0, y - y0
    major = -dx * np.sin(pa) + dy * np.cos(pa)
    minor = (-dx * np.cos(pa) - dy * np.sin(pa)) / (1 - ell)
    bn = gammaincinv(2 * n, 0.5)
    return Ie * np.exp(-bn * ((np.hypot(major, minor) / re) ** (1 / n) - 1))


def pixel_averages(params, ny, nx, origin, sub=11, core=101):
    """Pixel averages on a grid whose first pixel is ``origin`` (0-based), midpoint rule.

    ``sub x sub`` points per pixel everywhere, ``core x core`` in the 5x5 pixels
    around the centre, where the profile has its cusp.
    """
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    ys = (np.arange(ny)[:, None] + offsets).ravel() + origin
    xs = (np.arange(nx)[:, None] + offsets).ravel() + origin
    image = sersic(xs[None, :], ys[:, None], **params).reshape(ny, sub, nx, sub).mean(axis=(1, 3))
    fine = (np.arange(core) + 0.5) / core - 0.5
    col, row = round(params["x0"]), round(params["y0"])
    for j in range(row - 2, row + 3):
        for i in range(col - 2, col + 3):
            value = sersic(i + fine[None, :], j + fine[:, None], **params).mean()
            image[j - origin, i - origin] = value
    return image


def render(params, psf):
    """The convolved image: drawn with a margin of the PSF half-width, convolved, cropped."""
    m = psf.shape[0] // 2
    canvas = pixel_averages(params, SHAPE[0] + 2 * m, SHAPE[1] + 2 * m, origin=-m)
    return fftconvolve(canvas, psf, mode="same")[m:-m, m:-m]


def tan_wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [RA0, DEC0]
    w.wcs.cdelt = [-SCALE, SCALE]  # east left, north up
    w.wcs.crpix = [(SHAPE[1] + 1) / 2, (SHAPE[0] + 1) / 2]
    w.wcs.cunit = ["deg", "deg"]
    return w


@pytest.fixture(scope="module")
def mock():
    psf = moffat_psf()
    truth = render(TRUTH, psf)
    row, col = np.indices(SHAPE)
    sky = 0.05 * (1 + col / SHAPE[1] + 0.5 * row / SHAPE[0])  # a gradient across the frame
    sigma = np.sqrt(sky**2 + truth / 50.0)  # plus the source's Poisson term (gain 50)
    data = truth + np.random.default_rng(3).normal(0.0, sigma)
    used = np.ones(SHAPE, dtype=bool)
    used[(col - 50) ** 2 + (row - 48) ** 2 < 36] = False  # a star
    used[5:12, 20:40] = False  # a bleed trail
    used[:, :3] = False  # bad columns at the edge
    return dict(psf=psf, data=data, sigma=sigma, used=used)


def imfit_parameters(params):
    """imfit's parameter vector (1-based positions, PA in degrees) from the dict form."""
    p = dict(params, x0=params["x0"] + 1, y0=params["y0"] + 1, pa=np.degrees(params["pa"]))
    return np.array([p[k] for k in ORDER])


@pytest.fixture(scope="module")
def imfit_fit(mock):
    start = {k: 0.5 * (lo + hi) for k, (lo, hi) in BOUNDS.items()}
    lo = imfit_parameters({k: b[0] for k, b in BOUNDS.items()})
    hi = imfit_parameters({k: b[1] for k, b in BOUNDS.items()})
    desc = pyimfit.SimpleModelDescription()
    desc.x0.setValue(start["x0"] + 1, [lo[0], hi[0]])
    desc.y0.setValue(start["y0"] + 1, [lo[1], hi[1]])
    gal = pyimfit.make_imfit_function("Sersic")
    gal.PA.setValue(np.degrees(start["pa"]), [lo[2], hi[2]])
    gal.ell.setValue(start["ell"], [lo[3], hi[3]])
    gal.n.setValue(start["n"], [lo[4], hi[4]])
    gal.I_e.setValue(start["Ie"], [lo[5], hi[5]])
    gal.r_e.setValue(start["re"], [lo[6], hi[6]])
    desc.addFunction(gal)
    fitter = pyimfit.Imfit(desc, psf=mock["psf"], maxThreads=1)
    # imfit's mask: True (non-zero) = bad pixel
    fitter.loadData(mock["data"], error=mock["sigma"], error_type="sigma", mask=~mock["used"])
    fitter.doFit(solver="LM")
    assert fitter.fitConverged
    return fitter


@pytest.fixture(scope="module")
def socca_fit(mock):
    w = tan_wcs()
    hdu = fits.PrimaryHDU(data=mock["data"], header=w.to_header())
    with contextlib.redirect_stdout(io.StringIO()):
        img = Image(hdu, noise=Normal(sigma=mock["sigma"]), addpsf=dict(img=mock["psf"]), subgrid=3)
    img.addmask([mock["used"]])
    (ra_lo, ra_hi), (dec_lo, dec_hi) = w.pixel_to_world_values(
        BOUNDS["x0"][::-1], BOUNDS["y0"]
    )  # RA grows to the left
    gal = Sersic()
    gal.xc = priors.uniform(float(ra_lo), float(ra_hi))
    gal.yc = priors.uniform(float(dec_lo), float(dec_hi))
    gal.theta = priors.uniform(*BOUNDS["pa"])
    gal.e = priors.uniform(*BOUNDS["ell"])
    gal.re = priors.uniform(BOUNDS["re"][0] * SCALE, BOUNDS["re"][1] * SCALE)
    gal.Ie = priors.uniform(*BOUNDS["Ie"])
    gal.ns = priors.uniform(*BOUNDS["n"])
    fit = socca.fitter(Model(gal), img)
    fit.run(method="optimizer")
    return fit, img, w


def socca_to_imfit(fit, w, theta):
    """socca's free-parameter vector as imfit's parameter vector."""
    p = dict(zip((label.split("_", 2)[-1] for label in fit.labels), theta, strict=True))
    col, row = w.world_to_pixel_values(p["xc"], p["yc"])
    return imfit_parameters(
        dict(x0=col, y0=row, pa=p["theta"], ell=p["e"], n=p["ns"], Ie=p["Ie"], re=p["re"] / SCALE)
    )


def imfit_to_socca(fit, w, params):
    """imfit's parameter vector as socca's free-parameter vector (in label order)."""
    p = dict(zip(ORDER, params, strict=True))
    ra, dec = w.pixel_to_world_values(p["x0"] - 1, p["y0"] - 1)
    named = dict(xc=float(ra), yc=float(dec), theta=np.radians(p["pa"]), e=p["ell"],
                 re=p["re"] * SCALE, Ie=p["Ie"], ns=p["n"])  # fmt: skip
    return np.array([named[label.split("_", 2)[-1]] for label in fit.labels])


def chi2(mock, model):
    """χ² of ``model`` over the used pixels, with the σ map."""
    return float(np.sum(mock["used"] * ((mock["data"] - model) / mock["sigma"]) ** 2))


def test_socca_and_imfit_agree_within_a_tenth_of_sigma(socca_fit, imfit_fit):
    fit, _, w = socca_fit
    assert fit.results.success
    ours = socca_to_imfit(fit, w, np.asarray(fit.results.x))
    theirs, sigma = imfit_fit.getRawParameters(), imfit_fit.getParameterErrors()
    pulls = (ours - theirs) / sigma
    assert np.all(np.abs(pulls) < 0.1), dict(zip(ORDER, np.round(pulls, 3), strict=True))


def test_imfit_statistic_is_chi2_over_the_used_pixels(mock, imfit_fit):
    """The σ map and mask reached imfit as intended."""
    assert imfit_fit.fitStatistic == pytest.approx(chi2(mock, imfit_fit.getModelImage()), rel=1e-9)
    assert imfit_fit.nValidPixels == mock["used"].sum()


def socca_chi2(mock, loglike):
    """χ² from a socca log-likelihood: ``-2 lnL`` less the Gaussian normalisation."""
    norm = np.sum(mock["used"] * np.log(2 * np.pi * mock["sigma"] ** 2))
    return -2 * loglike - norm


def test_socca_likelihood_is_imfits_chi2(mock, socca_fit, imfit_fit):
    """At imfit's optimum socca's χ² equals imfit's: same σ map, same pixels.

    The two renderers differ by ~1e-3 of the pixel values (imfit takes pixel-centre
    values beyond 10 px from the centre), worth ~0.02 in χ² here; a wrong mask or
    σ map would change it by hundreds.
    """
    fit, _, w = socca_fit
    at_theirs = float(fit.loglike(imfit_to_socca(fit, w, imfit_fit.getRawParameters())))
    assert socca_chi2(mock, at_theirs) == pytest.approx(imfit_fit.fitStatistic, abs=0.05)


def test_socca_chi2_is_no_worse_than_imfits(mock, socca_fit, imfit_fit):
    fit, _, w = socca_fit
    ours, theirs = socca_to_imfit(fit, w, np.asarray(fit.results.x)), imfit_fit.getRawParameters()
    # 1. both optima through the independent renderer of this file, on the same pixels
    reference = []
    for params in (ours, theirs):
        p = dict(zip(ORDER, params, strict=True))
        p.update(x0=p["x0"] - 1, y0=p["y0"] - 1, pa=np.radians(p["pa"]))
        reference.append(chi2(mock, render(p, mock["psf"])))
    assert reference[0] <= reference[1], reference
    # 2. socca's optimum beats imfit's parameters under socca's own likelihood
    at_theirs = float(fit.loglike(imfit_to_socca(fit, w, theirs)))
    assert -fit.results.fun >= at_theirs
    # 3. each code's χ² with its own renderer, within the renderers' difference
    ours_chi2 = socca_chi2(mock, -fit.results.fun)
    assert ours_chi2 <= imfit_fit.fitStatistic + 0.05, (ours_chi2, imfit_fit.fitStatistic)
