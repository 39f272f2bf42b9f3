"""A small fitted image shared by the plotting tests: Gaussian source + flat sky, 32x32.

Figures are drawn headless (Agg). One optimizer fit and one quick emcee fit
are made per session.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import socca  # noqa: E402
from socca import priors  # noqa: E402
from socca.data import Image  # noqa: E402
from socca.models import Background, Gaussian, Model  # noqa: E402
from socca.noise import Normal  # noqa: E402
from tests.conftest import ARCSEC, gaussian_psf, make_hdu  # noqa: E402

SHAPE = (32, 32)
RA, DEC = 20.0, -10.0
SIGMA = 0.05
MASKED = (slice(2, 6), slice(24, 30))  # a block of ignored pixels, off the source


def build_model():
    """Gaussian source (position, size, amplitude free) on a free flat sky."""
    source = Gaussian(
        xc=priors.uniform(RA - 2 * ARCSEC, RA + 2 * ARCSEC),
        yc=priors.uniform(DEC - 2 * ARCSEC, DEC + 2 * ARCSEC),
        rs=priors.loguniform(0.5 * ARCSEC, 10 * ARCSEC),
        Is=priors.uniform(0.0, 5.0),
    )
    sky = Background(a0=priors.uniform(-0.5, 0.5))
    return Model([source, sky])


def build_image():
    """A noisy Gaussian (rs = 2.5", Is = 1) on a sky of 0.1, with a masked block."""
    truth = Model(
        [Gaussian(xc=RA, yc=DEC, rs=2.5 * ARCSEC, Is=1.0, e=0.3, theta=0.5), Background(a0=0.1)]
    )
    psf = gaussian_psf(9, 1.2)
    blank = Image(
        make_hdu(SHAPE, data=np.zeros(SHAPE), ra=RA, dec=DEC),
        addpsf=dict(img=psf),
        noise=Normal(sigma=SIGMA),
    )
    clean = truth.getmap(blank, convolve=True, addbackground=True)
    noisy = clean + np.random.default_rng(4).normal(0.0, SIGMA, SHAPE)
    use = np.ones(SHAPE, dtype=bool)
    use[MASKED] = False
    return Image(
        make_hdu(SHAPE, data=noisy, ra=RA, dec=DEC),
        noise=Normal(sigma=SIGMA),
        addpsf=dict(img=psf),
        addmask=dict(regions=[use]),
    )


@pytest.fixture(scope="session")
def image():
    return build_image()


@pytest.fixture(scope="session")
def optimizer_fit(image):
    fit = socca.fitter(mod=build_model(), img=image)
    fit.run(method="optimizer")
    return fit


@pytest.fixture(scope="session")
def sampled_fit(image):
    """A posterior in two seconds: emcee on the 5 free parameters."""
    fit = socca.fitter(mod=build_model(), img=image)
    fit.run(method="emcee", nwalkers=20, nsteps=600, discard=300, seed=3, progress=False)
    return fit


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")
