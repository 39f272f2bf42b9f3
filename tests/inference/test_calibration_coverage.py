"""Coverage of socca's uncertainties on mocks rendered independently of socca.

The cheap version of ``benchmarks/calibration.py``: 20 mocks of a tutorial-like
problem (a point source on an exponential galaxy sharing its centre, odd
Gaussian PSF, Gaussian noise) on a 24x24 image, true parameters drawn from the
uniform priors. The mocks are rendered here from the published formulas (Sérsic
with b_n = gammaincinv(2n, 1/2), pixel-averaged, a PSF half-width of margin,
``scipy.signal.fftconvolve``; the point source is the PSF's Gaussian at the pixel
centres).

socca's compiled model (``fit.problem.render``, built once) gives the model image
of a parameter vector; the Gaussian log-likelihood of each mock is the χ² that
socca's ``Normal`` noise computes (checked against ``fit.loglike`` below). Each
mock is fitted by L-BFGS-B within the prior bounds, its σ from the Laplace
approximation (the Hessian by central differences of the exact gradient).

Tolerance: over 20 mocks x 5 parameters = 100 intervals the fraction of truths
inside ±1σ must lie in the 3σ binomial band of p = 0.683, 0.683 ± 3·sqrt(p(1-p)/100)
= [0.54, 0.82], and within ±1.96σ in [0.89, 1.00]. A posterior whose σ is too small
by 2 (expected coverage 0.38) fails, and so does a half-pixel offset of the
positions (7σ or more here: the two position intervals of every mock miss, pooled
coverage <= 0.6 x 0.68 = 0.41). The mean pull of each parameter must lie within
3/sqrt(20) = 0.67 of zero.
"""

import contextlib
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy.optimize import minimize
from scipy.signal import fftconvolve
from scipy.special import gammaincinv

import socca
from socca import priors
from socca.data import Image
from socca.models import Model, Point, Sersic
from socca.noise import Normal

ARCSEC = 1.0 / 3600.0
RA0, DEC0 = 20.0, -10.0
SIZE, NMOCKS, SIGMA, FWHM = 24, 20, 0.05, 2.5
THETA, ELL = 0.7, 0.3  # fixed orientation and ellipticity of the galaxy
# uniform priors; positions in pixels from the image centre, re in pixels
BOUNDS = {
    "xc": (-2.0, 2.0),
    "yc": (-2.0, 2.0),
    "Ic": (2.0, 10.0),
    "re": (2.0, 4.0),
    "Ie": (0.1, 0.5),
}
P68 = 0.6827
BAND68 = (P68 - 3 * np.sqrt(P68 * (1 - P68) / 100), P68 + 3 * np.sqrt(P68 * (1 - P68) / 100))
BAND95 = (0.89, 1.0)


def gaussian_kernel(size=9):
    y, x = np.indices((size, size)) - (size - 1) / 2
    s = FWHM / (2 * np.sqrt(2 * np.log(2)))
    k = np.exp(-0.5 * (x**2 + y**2) / s**2)
    return k / k.sum()


def render_mock(truth, psf, sub=9):
    """Point source + exponential galaxy at ``truth`` (pixel units), 0-based pixels."""
    c = (SIZE - 1) / 2
    x0, y0 = c + truth["xc"], c + truth["yc"]
    m = psf.shape[0] // 2
    n = SIZE + 2 * m
    off = (np.arange(sub) + 0.5) / sub - 0.5
    grid = (np.arange(n)[:, None] + off).ravel() - m
    dx, dy = grid[None, :] - x0, grid[:, None] - y0
    major = -dx * np.sin(THETA) + dy * np.cos(THETA)  # PA from north (+y) towards east (-x)
    minor = (-dx * np.cos(THETA) - dy * np.sin(THETA)) / (1 - ELL)
    bn = gammaincinv(2.0, 0.5)  # n = 1
    galaxy = truth["Ie"] * np.exp(-bn * (np.hypot(major, minor) / truth["re"] - 1))
    galaxy = galaxy.reshape(n, sub, n, sub).mean(axis=(1, 3))
    galaxy = fftconvolve(galaxy, psf, mode="same")[m:-m, m:-m]
    y, x = np.indices((SIZE, SIZE))
    s = FWHM / (2 * np.sqrt(2 * np.log(2)))
    point = np.exp(-0.5 * ((x - x0) ** 2 + (y - y0) ** 2) / s**2) / (2 * np.pi * s**2)
    return galaxy + truth["Ic"] * point


def to_socca(name, value):
    """Pixel-unit value as socca's: RA grows to the left, 1"/px, TAN at the centre."""
    if name == "xc":
        return RA0 - value * ARCSEC / np.cos(np.radians(DEC0))
    if name == "yc":
        return DEC0 + value * ARCSEC
    return value * ARCSEC if name == "re" else value


def socca_fitter(data, psf):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [RA0, DEC0]
    w.wcs.cdelt = [-ARCSEC, ARCSEC]
    w.wcs.crpix = [(SIZE + 1) / 2, (SIZE + 1) / 2]
    hdu = fits.PrimaryHDU(data=data, header=w.to_header())
    with contextlib.redirect_stdout(io.StringIO()):
        img = Image(hdu, noise=Normal(sigma=SIGMA), addpsf=dict(img=psf))
    p = {
        k: priors.uniform(*sorted((to_socca(k, lo), to_socca(k, hi))))
        for k, (lo, hi) in BOUNDS.items()
    }
    point = Point(xc=p["xc"], yc=p["yc"], Ic=p["Ic"])
    galaxy = Sersic(
        xc=priors.boundto(point, "xc"), yc=priors.boundto(point, "yc"),
        theta=THETA, e=ELL, re=p["re"], Ie=p["Ie"], ns=1.0,
    )  # fmt: skip
    return socca.fitter(Model([point, galaxy]), img)


@pytest.fixture(scope="module")
def calibration():
    rng = np.random.default_rng(2024)
    psf = gaussian_kernel()
    truths = [{k: rng.uniform(lo, hi) for k, (lo, hi) in BOUNDS.items()} for _ in range(NMOCKS)]
    mocks = [render_mock(t, psf) + rng.normal(0.0, SIGMA, (SIZE, SIZE)) for t in truths]
    fit = socca_fitter(mocks[0], psf)
    names = [label.split("_", 2)[-1] for label in fit.labels]
    lo = np.array([min(to_socca(n, b) for b in BOUNDS[n]) for n in names])
    width = np.array([abs(to_socca(n, BOUNDS[n][1]) - to_socca(n, BOUNDS[n][0])) for n in names])
    render = fit.problem.render

    def chi2(u, data):  # in the unit cube of the priors, which is well scaled
        model = render(lo + u * width).smoothed
        return jnp.sum(((data - model) / SIGMA) ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(chi2))

    def grad(u, data):
        return np.asarray(value_and_grad(u, data)[1])

    pulls = []
    for truth, data in zip(truths, mocks, strict=True):
        data = jnp.asarray(data)
        res = minimize(
            lambda u, d=data: tuple(np.asarray(v, dtype=float) for v in value_and_grad(u, d)),
            np.full(len(names), 0.5), jac=True, method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * len(names), options=dict(ftol=1e-12, gtol=1e-8),
        )  # fmt: skip
        h = 1e-4
        hess = np.array([(grad(res.x + h * e, data) - grad(res.x - h * e, data)) / (2 * h)
                         for e in np.eye(len(names))])  # fmt: skip
        sigma_u = np.sqrt(np.diag(np.linalg.inv(0.5 * (hess + hess.T) / 2)))  # χ²/2 = -lnL
        true_u = (np.array([to_socca(n, truth[n]) for n in names]) - lo) / width
        pulls.append((res.x - true_u) / sigma_u)
    u = np.linspace(0.3, 0.7, len(names))  # a generic point (the middle is a pixel corner)
    check = float(fit.loglike(lo + u * width))
    norm = -0.5 * SIZE**2 * np.log(2 * np.pi * SIGMA**2)
    ours = norm - 0.5 * float(value_and_grad(u, jnp.asarray(mocks[0]))[0])
    return dict(pulls=np.array(pulls), names=names, check=check, ours=ours)


def test_chi2_is_soccas_likelihood(calibration):
    assert calibration["check"] == pytest.approx(calibration["ours"], rel=1e-10)


def test_pooled_coverage_within_binomial_bounds(calibration):
    pulls = np.abs(calibration["pulls"])
    c68, c95 = np.mean(pulls <= 1.0), np.mean(pulls <= 1.96)
    assert BAND68[0] <= c68 <= BAND68[1], (c68, BAND68)
    assert BAND95[0] <= c95 <= BAND95[1], (c95, BAND95)
    # the same test on σ too small by 2 fails: the bounds have teeth
    assert np.mean(pulls <= 0.5) < BAND68[0]


def test_no_parameter_is_biased(calibration):
    mean = calibration["pulls"].mean(axis=0)
    assert np.all(np.abs(mean) < 3 / np.sqrt(NMOCKS)), dict(
        zip(calibration["names"], mean, strict=True)
    )
