"""Calibration of posterior widths: injection and recovery over many simulated images.

For each noise model, a source of known amplitude is injected into many noise
realisations and its amplitude (the only free parameter, flat prior) is
inferred from socca's likelihood on a fine grid over the prior, which gives the
exact posterior. The central 68% interval must contain the truth 68% +- 10% of
the time; treating correlated noise as independent pixels (``Normal``) must be
clearly over-confident.

The model is linear in the amplitude, so the likelihood of amplitude ``a`` is
the noise model's ``loglike_fn()`` at ``a * template + background``, with the
template rendered once by socca; for each model this is checked to equal
``fit.loglike_batch`` of a ``socca.fitter`` on the same image, and then used for
every image without compiling a fitter per image.
"""

import jax
import numpy as np
import pytest
from scipy.signal import fftconvolve

import socca
from socca import priors
from socca.data import Image
from socca.models import Background, Gaussian, Model
from socca.noise import Normal, NormalCorrelated, NormalFourier, NormalRI, Poisson
from tests.conftest import ARCSEC, make_hdu
from tests.noise.test_ri import dirty_beam, dirty_image, uv_weights, visibility_noise

NIMAGES = 300
LEVEL = (0.16, 0.84)
GRID = 1201  # posterior grid points over the prior range
COVERAGE_OK = (0.58, 0.78)

SHAPE = (32, 32)
KERNEL_SIGMA = 1.5  # pixels: correlation length of the coloured noise
KERNEL_HALF = 6
CORRELATED_FRACTION = 0.8  # of the pixel variance; the rest is white
SOURCE_RS = 2.0  # pixels
SOURCE_AMP = 3.0  # in units of the pixel noise
NREAL = 1000  # noise realisations in the cube the covariance is estimated from


def coloured_noise(rng, nr):
    """Stationary, non-periodic noise of unit pixel variance: smoothed plus white noise."""
    y, x = np.indices((2 * KERNEL_HALF + 1,) * 2) - KERNEL_HALF
    kernel = np.exp(-0.5 * (x**2 + y**2) / KERNEL_SIGMA**2)
    kernel *= np.sqrt(CORRELATED_FRACTION / np.sum(kernel**2))
    white = rng.standard_normal((nr, SHAPE[0] + 2 * KERNEL_HALF, SHAPE[1] + 2 * KERNEL_HALF))
    smooth = fftconvolve(white, kernel[None], mode="valid", axes=(1, 2))
    return smooth + np.sqrt(1.0 - CORRELATED_FRACTION) * rng.standard_normal(smooth.shape)


def amplitude_fit(data, noise, low, high, rs=SOURCE_RS, background=None, **image_kw):
    """A fitter for a centred Gaussian of free amplitude ``Is ~ U(low, high)``."""
    img = Image(make_hdu(data.shape, data=data), noise=noise, **image_kw)
    ny, nx = data.shape
    ra, dec = (float(v) for v in img.wcs.pixel_to_world_values((nx - 1) / 2, (ny - 1) / 2))
    comps = [Gaussian(xc=ra, yc=dec, rs=rs * ARCSEC, Is=priors.uniform(low, high))]
    if background is not None:
        comps.append(Background(a0=background))
    return socca.fitter(Model(comps), img)


class Calibration:
    """Posterior intervals of the amplitude for one noise model, image after image.

    Parameters
    ----------
    make_noise : callable
        Returns an unbound noise model: one for the reference fitter, one rebound to
        every image (so NormalCorrelated factorises its covariance once).
    first : numpy.ndarray
        The first simulated image, used to build the reference fitter.
    prior : tuple of float
        Flat prior range of the amplitude.
    **fit_kw
        Passed to :func:`amplitude_fit` (``rs``, ``background``, image options).
    """

    def __init__(self, make_noise, first, prior, **fit_kw):
        self.noise, self.prior, self.image_kw = make_noise(), prior, dict(fit_kw)
        self.image_kw.pop("rs", None)
        self.image_kw.pop("background", None)
        self.grid = np.linspace(*prior, GRID)
        fit = amplitude_fit(first, make_noise(), *prior, **fit_kw)
        maps = fit.problem.render(np.array([1.0]))
        self.template = np.asarray(maps.smoothed)
        self.background = np.asarray(maps.background)
        self.reference = np.asarray(fit.loglike_batch(self.grid[:, None]))
        self.intervals = []

    def loglike(self, data):
        """Log-likelihood on the amplitude grid, from the noise model bound to ``data``."""
        Image(make_hdu(data.shape, data=data), noise=self.noise, **self.image_kw)
        models = self.grid[:, None, None] * self.template + self.background
        return np.asarray(jax.vmap(self.noise.loglike_fn())(models))

    def add(self, data):
        loglike = self.loglike(data)
        post = np.exp(loglike - loglike.max())
        cdf = np.cumsum(post)
        self.intervals.append(np.interp(LEVEL, cdf / cdf[-1], self.grid))

    def coverage(self, truth):
        iv = np.asarray(self.intervals)
        return float(np.mean((iv[:, 0] <= truth) & (truth <= iv[:, 1])))

    def width(self):
        return float(np.mean(np.diff(np.asarray(self.intervals), axis=1)))


def run(calibration, images):
    """Feed the images; the first one also checks the shortcut against the fitter."""
    for i, data in enumerate(images):
        if i == 0:
            np.testing.assert_allclose(calibration.loglike(data), calibration.reference,
                                       rtol=1e-9)
        calibration.add(data)
    return calibration


@pytest.fixture(scope="module")
def correlated_runs():
    """Three noise models on the same correlated-noise images."""
    rng = np.random.default_rng(2024)
    cube = coloured_noise(rng, NREAL)
    shape_only = Image(make_hdu(SHAPE), noise=NormalCorrelated(cube=cube))
    cov = shape_only.noise.covariance
    shape_only.noise = NormalFourier(cube=cube)
    power = shape_only.noise.power
    template = np.asarray(
        amplitude_fit(np.zeros(SHAPE), Normal(sigma=1.0), 0.0, 1.0).problem.render(
            np.array([1.0])).smoothed)
    images = [SOURCE_AMP * template + coloured_noise(rng, 1)[0] for _ in range(NIMAGES)]
    makers = {
        "NormalCorrelated": lambda: NormalCorrelated(cov=cov),
        "NormalFourier": lambda: NormalFourier(cov=power),
        "Normal": lambda: Normal(sigma=1.0),
    }
    return {name: run(Calibration(make, images[0], (-6.0, 12.0)), images)
            for name, make in makers.items()}


@pytest.mark.parametrize("name", ["NormalCorrelated", "NormalFourier"])
def test_correlated_noise_models_are_calibrated(correlated_runs, name):
    frac = correlated_runs[name].coverage(SOURCE_AMP)
    print(f"{name}: 68% intervals contain the truth in {frac:.1%} of {NIMAGES} images")
    assert COVERAGE_OK[0] <= frac <= COVERAGE_OK[1]


def test_normal_is_over_confident_on_correlated_noise(correlated_runs):
    naive, right = correlated_runs["Normal"], correlated_runs["NormalCorrelated"]
    frac = naive.coverage(SOURCE_AMP)
    print(f"Normal: {frac:.1%} coverage, mean 68% width {naive.width():.2f} against "
          f"{right.width():.2f} for NormalCorrelated")
    assert frac < 0.4 and frac < right.coverage(SOURCE_AMP) - 0.25
    assert naive.width() < 0.5 * right.width()


def test_poisson_is_calibrated():
    """A faint Gaussian on a flat background, through a varying exposure map, few counts."""
    rng = np.random.default_rng(7)
    y, x = np.indices(SHAPE) - (np.array(SHAPE)[:, None, None] - 1) / 2
    exposure = 800.0 * (1.0 - 0.5 * (x**2 + y**2) / SHAPE[0] ** 2)
    truth, prior = 0.02, (0.0, 0.06)
    setup = dict(background=0.003, exposure=exposure)
    blank = amplitude_fit(np.zeros(SHAPE), Poisson(), *prior, **setup)
    maps = blank.problem.render(np.array([truth]))
    mu = np.asarray(maps.smoothed + maps.background)
    images = [rng.poisson(mu).astype(float) for _ in range(NIMAGES)]
    frac = run(Calibration(Poisson, images[0], prior, **setup), images).coverage(truth)
    print(f"Poisson: 68% intervals contain the truth in {frac:.1%} of {NIMAGES} images "
          f"(peak {mu.max():.1f} counts on {mu.min():.1f})")
    assert COVERAGE_OK[0] <= frac <= COVERAGE_OK[1]


def test_normal_ri_is_calibrated():
    """Dirty images from gridded visibilities; independent pixels would be over-confident."""
    n, sigma, truth, prior = 32, 0.05, 0.1, (-0.3, 0.5)
    weights = uv_weights(n=n, nant=10, radius=7.0, seed=1)
    rng = np.random.default_rng(11)
    y, x = np.indices((n, n)) - (n - 1) / 2
    sky = truth * np.exp(-0.5 * (x**2 + y**2) / 1.5**2)
    images = [dirty_image(weights, sky, visibility_noise(weights, sigma, rng))
              for _ in range(NIMAGES)]
    setup = dict(rs=1.5, addpsf=dict(img=dirty_beam(weights), normalize=False))
    ri = run(Calibration(lambda: NormalRI(sigma=sigma), images[0], prior, **setup), images)
    naive = run(Calibration(lambda: Normal(sigma=sigma), images[0], prior, **setup), images)
    frac, naive_frac = ri.coverage(truth), naive.coverage(truth)
    print(f"NormalRI: {frac:.1%} coverage; Normal on the same dirty images: {naive_frac:.1%}")
    assert COVERAGE_OK[0] <= frac <= COVERAGE_OK[1]
    assert naive_frac < frac - 0.2
