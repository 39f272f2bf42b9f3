"""Tests of the interferometric dirty-image noise model ``socca.noise.NormalRI``.

The simulations grid visibilities onto the image's discrete Fourier grid:
``weights[k]`` is the natural weight summed in each uv cell (Hermitian
symmetric), the dirty beam is its inverse transform scaled to unit peak, and a
dirty image is ``ifft(weights * V) / sum(weights)`` for visibilities ``V``.
"""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import socca
from socca import priors
from socca.data import Image
from socca.inference.noise_run import noise_problem
from socca.models import Gaussian, Model
from socca.noise import Noise, Normal, NormalRI
from tests.conftest import ARCSEC, make_hdu

N = 64


def uv_weights(n=N, nant=10, radius=8.0, nhour=8, seed=0):
    """Natural weights of a rotating array gridded on an ``n x n`` DFT grid (no zero spacing)."""
    rng = np.random.default_rng(seed)
    r = radius * np.sqrt(rng.uniform(size=nant))
    phi = rng.uniform(0, 2 * np.pi, nant)
    ant = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    i, j = np.triu_indices(nant, k=1)
    base = ant[i] - ant[j]
    weights = np.zeros((n, n))
    for angle in np.linspace(0.0, np.pi / 2, nhour):
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        u, v = np.rint(base @ rot.T).astype(int).T
        np.add.at(weights, (v % n, u % n), 1.0)
        np.add.at(weights, (-v % n, -u % n), 1.0)  # the conjugate visibilities
    weights[0, 0] = 0.0
    return weights


def dirty_beam(weights):
    """Unit-peak dirty beam of gridded ``weights``, centred at ``((n-1)//2, (n-1)//2)``."""
    beam = np.fft.ifft2(weights).real * weights.size / weights.sum()
    centre = tuple((s - 1) // 2 for s in weights.shape)
    return np.roll(beam, centre, axis=(0, 1))


def visibility_noise(weights, sigma, rng):
    """Hermitian visibility noise with ``E|eps_k|^2 = 1 / w_k``, scaled to dirty-image ``sigma``."""
    spec = np.fft.fft2(rng.standard_normal(weights.shape))  # E|spec|^2 = npix
    sampled = weights > 0
    eps = np.where(sampled, spec / np.sqrt(weights.size * np.where(sampled, weights, 1.0)), 0)
    return eps * sigma * np.sqrt(weights.sum())  # dirty-image pixel variance 1 / sum(w)


def dirty_image(weights, sky, noise_vis):
    """Dirty image of the visibilities ``fft2(sky) + noise_vis``, in units of the beam peak."""
    vis = np.fft.fft2(np.broadcast_to(np.asarray(sky, dtype=float), weights.shape)) + noise_vis
    return np.fft.ifft2(weights * vis).real * weights.size / weights.sum()


def sky_image(amp, rs, x0, y0, n=N):
    """A circular Gaussian (pixels) on the grid."""
    y, x = np.indices((n, n))
    return amp * np.exp(-0.5 * ((x - x0) ** 2 + (y - y0) ** 2) / rs**2)


def primary_beam(n=N, fwhm=48.0):
    y, x = np.indices((n, n)) - (n - 1) / 2
    return np.exp(-4 * np.log(2) * (x**2 + y**2) / fwhm**2)


def make_img(data, psf, mask=None):
    """Minimal stand-in for ``socca.data.Image`` with a PSF."""
    data = np.asarray(data, dtype=np.float64)
    if mask is None:
        mask = np.ones(data.shape, dtype=bool)
    return SimpleNamespace(data=data, mask=mask, shape=data.shape, psf=psf)


@pytest.fixture(scope="module")
def uv():
    weights = uv_weights()
    return SimpleNamespace(weights=weights, beam=dirty_beam(weights))


# -------------------------------------------------------------- log-likelihood


def test_point_beam_equals_normal():
    rng = np.random.default_rng(0)
    data, model = rng.normal(size=(24, 30)), rng.normal(size=(24, 30))
    img = Image(make_hdu((24, 30), data=data), noise=NormalRI(sigma=0.8), addpsf=np.ones((1, 1)))
    ref = Normal(sigma=0.8)
    ref.bind(make_img(data, None))
    want = float(ref.loglike_fn()(model))
    assert float(img.noise.loglike_fn()(model)) == pytest.approx(want, rel=1e-12)
    # white noise in numpy's unnormalised FFT convention: P = npix sigma^2
    np.testing.assert_allclose(img.noise.power, 24 * 30 * 0.8**2, rtol=1e-12)


def test_differences_equal_the_visibility_chi_square(uv):
    rng = np.random.default_rng(1)
    sigma = 0.05
    noise_vis = visibility_noise(uv.weights, sigma, rng)
    sky = sky_image(1.0, 2.0, 30.0, 33.0)
    data = dirty_image(uv.weights, sky, noise_vis)
    noise = NormalRI(sigma=sigma)
    noise.bind(make_img(data, uv.beam))
    loglike = noise.loglike_fn()
    # chi^2 of the visibilities, each sampled cell and its conjugate, with cell weights
    # scaled so that the dirty-image pixel noise is sigma
    scale = 1.0 / (sigma**2 * uv.weights.sum())
    vis = np.fft.fft2(sky) + noise_vis

    def chi2(model_sky):
        return np.sum(scale * uv.weights * np.abs(vis - np.fft.fft2(model_sky)) ** 2)

    for other in (sky_image(0.8, 2.0, 30.0, 33.0), sky_image(1.1, 2.5, 31.0, 32.0)):
        dirty_model = dirty_image(uv.weights, other, 0.0)
        dirty_true = dirty_image(uv.weights, sky, 0.0)
        got = float(loglike(dirty_model)) - float(loglike(dirty_true))
        assert got == pytest.approx(-0.5 * (chi2(other) - chi2(sky)), rel=1e-9)


def test_noise_is_correlated_like_the_beam(uv):
    noise = NormalRI(sigma=0.3)
    noise.bind(make_img(np.zeros((N, N)), uv.beam))
    rng = np.random.default_rng(2)
    sims = np.array([noise.simulate(rng) for _ in range(400)])
    assert abs(sims.std() / 0.3 - 1.0) < 0.02
    c = (N - 1) // 2
    for dy, dx in ((0, 1), (1, 0), (2, 3), (0, 6)):
        corr = np.mean(sims * np.roll(sims, (-dy, -dx), axis=(1, 2))) / 0.09
        assert corr == pytest.approx(uv.beam[c + dy, c + dx], abs=0.02)
    # and like visibility noise made independently
    direct = np.array([dirty_image(uv.weights, 0.0, visibility_noise(uv.weights, 0.3, rng))
                       for _ in range(400)])
    assert abs(direct.std() / 0.3 - 1.0) < 0.02


def test_mad_default_and_jit_vmap_grad(uv, capsys):
    rng = np.random.default_rng(3)
    data = dirty_image(uv.weights, 0.0, visibility_noise(uv.weights, 0.2, rng))
    noise = NormalRI()
    noise.bind(make_img(data, uv.beam))
    out = capsys.readouterr().out.splitlines()
    assert out == ["Using MAD for estimating noise level",
                   f"- noise level: {noise.noise_level:.2E}"]
    assert abs(noise.noise_level / 0.2 - 1.0) < 0.1
    loglike = noise.loglike_fn()
    model = jnp.asarray(rng.normal(0.0, 0.1, (N, N)))
    assert float(jax.jit(loglike)(model)) == pytest.approx(float(loglike(model)), rel=1e-12)
    batch = model + jnp.asarray(rng.normal(0.0, 0.1, (4, N, N)))
    np.testing.assert_allclose(np.asarray(jax.vmap(loglike)(batch)),
                               [float(loglike(m)) for m in batch], rtol=1e-12)
    assert np.all(np.isfinite(np.asarray(jax.grad(loglike)(model))))


def test_rebinds_when_the_beam_changes(uv):
    img = Image(make_hdu((N, N), data=np.random.default_rng(4).normal(size=(N, N))),
                noise=NormalRI(sigma=1.0), addpsf=np.ones((1, 1)))
    assert img.noise.nmodes == N * N
    img.addpsf(uv.beam, normalize=False)
    assert img.noise.nmodes == int(np.count_nonzero(uv.weights))


# ------------------------------------------------------------------ refusals


def free_gaussian():
    return Model([Gaussian(xc=20.0, yc=-10.0, rs=2 * ARCSEC, Is=priors.uniform(-1.0, 1.0))])


def test_needs_a_beam_when_the_likelihood_is_built():
    img = Image(make_hdu((16, 16)), noise=NormalRI(sigma=1.0))  # the beam may come later
    with pytest.raises(ValueError, match="needs the dirty beam"):
        socca.fitter(free_gaussian(), img)
    with pytest.raises(ValueError, match="needs the dirty beam"):
        img.noise.loglike_fn()


@pytest.mark.parametrize("order", ["noise, beam, response", "noise, response, beam",
                                   "beam, response, noise"])
def test_set_up_order_does_not_matter(uv, order):
    """NormalRI first and the beam later, as in the other implementation's tutorial."""
    data = np.random.default_rng(8).normal(size=(N, N))
    pbeam = primary_beam()
    reference = Image(make_hdu((N, N), data=data), noise=NormalRI(sigma=0.5), response=pbeam,
                      addpsf=dict(img=uv.beam, normalize=False))
    steps = order.split(", ")
    noise_first = steps[0] == "noise"
    img = Image(make_hdu((N, N), data=data),
                noise=NormalRI(sigma=0.5) if noise_first else Normal(sigma=0.5))
    for step in steps[1:] if noise_first else steps:
        if step == "noise":
            img.noise = NormalRI(sigma=0.5)
        elif step == "beam":
            img.addpsf(uv.beam, normalize=False)
        else:
            img.response = pbeam
    socca.fitter(free_gaussian(), img)
    model = np.random.default_rng(9).normal(0.0, 0.1, (N, N))
    assert float(img.noise.loglike_fn()(model)) == float(reference.noise.loglike_fn()(model))
    assert img.noise.nmodes == int(np.count_nonzero(uv.weights))


def test_noise_first_then_beam_without_amplitude(uv, capsys):
    data = dirty_image(uv.weights, 0.0, visibility_noise(uv.weights, 0.2, np.random.default_rng(7)))
    img = Image(make_hdu((N, N), data=data), noise=NormalRI())
    assert capsys.readouterr().out == ""  # nothing estimated before the beam is known
    img.response = primary_beam()
    img.addpsf(uv.beam, normalize=False)
    assert "Using MAD" in capsys.readouterr().out
    assert abs(img.noise.noise_level / 0.2 - 1.0) < 0.1
    socca.fitter(free_gaussian(), img)


def test_refuses_mask_and_exposure_when_the_likelihood_is_built(uv):
    data = np.random.default_rng(5).normal(size=(N, N))
    data[0, 0] = np.nan
    img = Image(make_hdu((N, N), data=data), noise=NormalRI(sigma=1.0),
                addpsf=dict(img=uv.beam, normalize=False))
    with pytest.raises(ValueError, match="NormalRI cannot use a mask"):
        socca.fitter(free_gaussian(), img)
    img = Image(make_hdu((N, N)), noise=NormalRI(sigma=1.0), exposure=primary_beam(),
                addpsf=dict(img=uv.beam, normalize=False))
    with pytest.raises(ValueError, match="primary-beam model as response="):
        socca.fitter(free_gaussian(), img)
    with pytest.raises(ValueError, match="primary-beam model as response="):
        img.noise.loglike_fn()
    # the primary beam moved to the response is fine, with no explicit rebinding
    img.response, img.exposure = img.exposure, np.ones((N, N))
    socca.fitter(free_gaussian(), img)
    assert img.noise.nmodes == int(np.count_nonzero(uv.weights))
    # and an exposure map set after binding is caught as well
    img.exposure = primary_beam()
    with pytest.raises(ValueError, match="primary-beam model as response="):
        socca.fitter(free_gaussian(), img)


@pytest.mark.parametrize(("kw", "err", "match"), [
    ({"sigma": np.ones((4, 4))}, ValueError, "scalar"),
    ({"sigma": -1.0}, ValueError, "> 0"),
    ({"sigma": 1.0, "wht": 1.0}, ValueError, "single noise amplitude"),
    ({"sigmaa": 1.0}, TypeError, "'sigmaa'"),
    ({"floor": 2.0}, ValueError, "floor"),
])
def test_bad_arguments(kw, err, match):
    with pytest.raises(err, match=match):
        NormalRI(**kw)


def test_amplitude_keywords_agree():
    sigmas = [NormalRI(**{k: v}).noise_level
              for k, v in (("rms", 0.5), ("var", 0.25), ("invvar", 4.0))]
    np.testing.assert_allclose(sigmas, 0.5, rtol=1e-14)
    assert isinstance(NormalRI(), Noise)


# ------------------------------------------------------- injection and recovery


def simulated_dirty_image(weights, truth, sigma, seed, pbeam=None):
    """A dirty image of a Gaussian source ``truth = (amp, rs, x0, y0)`` (pixels)."""
    sky = sky_image(*truth)
    if pbeam is not None:
        sky = sky * pbeam
    noise_vis = visibility_noise(weights, sigma, np.random.default_rng(seed))
    return dirty_image(weights, sky, noise_vis)


def test_recovers_gaussian_from_dirty_image():
    weights = uv_weights(radius=14.0)  # longest baselines ~28 cells: a ~2.3-pixel beam
    beam = dirty_beam(weights)
    truth = (0.1, 3.0, 35.0, 29.0)  # Jy/pixel, pixels
    pbeam = primary_beam()
    data = simulated_dirty_image(weights, truth, 0.02, seed=6, pbeam=pbeam)
    img = Image(make_hdu((N, N), data=data), noise=NormalRI(sigma=0.02), response=pbeam,
                addpsf=dict(img=beam, normalize=False))
    x0, y0 = img.wcs.pixel_to_world_values(truth[2], truth[3])
    source = Gaussian(xc=priors.uniform(x0 - 4 * ARCSEC, x0 + 4 * ARCSEC),
                      yc=priors.uniform(y0 - 4 * ARCSEC, y0 + 4 * ARCSEC),
                      rs=priors.loguniform(0.5 * ARCSEC, 8 * ARCSEC),
                      Is=priors.loguniform(0.005, 0.5))
    fit = socca.fitter(Model([source]), img)
    fit.run(method="emcee", nwalkers=24, nsteps=900, discard=400, seed=3, progress=False)
    want = np.array([x0, y0, truth[1] * ARCSEC, truth[0]])
    # median and 68% half-width: robust to a walker left in the point-source corner
    low, mid, high = np.percentile(fit.samples, [16, 50, 84], axis=0)
    width = 0.5 * (high - low)
    pulls = (mid - want) / width
    assert np.all(np.abs(pulls) < 3.0), dict(zip(fit.labels, pulls, strict=True))
    assert width[2] / want[2] < 0.1 and width[3] / want[3] < 0.1


def test_pure_noise_problem_for_getzprior(uv, capsys):
    data = dirty_image(uv.weights, 0.0, visibility_noise(uv.weights, 0.2, np.random.default_rng(7)))
    img = Image(make_hdu((N, N), data=data), noise=NormalRI(),
                addpsf=dict(img=uv.beam, normalize=False))
    capsys.readouterr()
    mod = Model([Gaussian(xc=20.0, yc=-10.0, rs=2 * ARCSEC, Is=priors.uniform(-1.0, 1.0))])
    problem = noise_problem(mod, img, seed=0)
    assert capsys.readouterr().out == ""
    assert np.isfinite(problem.null_loglike)
    assert np.isfinite(float(problem.loglike(np.array([0.1]))))
