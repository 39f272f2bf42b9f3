"""Tests of the Fourier-diagonal Gaussian noise model ``socca.noise.NormalFourier``."""

import pickle
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage, stats

import socca
from socca import priors
from socca.data import Image
from socca.inference.noise_run import noise_problem
from socca.models import Gaussian, Model
from socca.noise import Noise, Normal, NormalFourier
from tests.conftest import make_hdu


def make_img(data, mask=None):
    """Minimal stand-in for ``socca.data.Image``."""
    data = np.asarray(data, dtype=np.float64)
    if mask is None:
        mask = np.ones(data.shape, dtype=bool)
    return SimpleNamespace(data=data, mask=np.array(mask, dtype=bool), shape=data.shape)


def red_power(shape, white=0.2, amp=1.0, scale=20.0):
    """A symmetric coloured power spectrum in ``fft2`` layout.

    numpy's unnormalised convention, ``P = E|np.fft.fft2(n)|^2``: the white part
    alone is noise of pixel variance ``white``.
    """
    npix = shape[0] * shape[1]
    k2 = np.fft.fftfreq(shape[0])[:, None] ** 2 + np.fft.fftfreq(shape[1])[None, :] ** 2
    return npix * (white + amp * np.exp(-scale * k2) * npix / 64.0)


def rfft_layout(power):
    return power[:, : power.shape[1] // 2 + 1]


def periodic_noise(power, nr, rng):
    """``nr`` realisations of periodic stationary noise with ``power`` (full layout)."""
    shape = power.shape
    white = rng.standard_normal((nr, *shape))  # E|fft2(white)|^2 = npix
    spec = np.fft.rfft2(white) * np.sqrt(rfft_layout(power) / power.size)
    return np.fft.irfft2(spec, s=shape)


def circulant_cov(power):
    """Pixel covariance of periodic noise with ``power``, flattened in C order."""
    lag = np.fft.ifft2(power).real / power.size  # E[n(x) n(x + lag)]
    rows, cols = (a.ravel() for a in np.indices(power.shape))
    return lag[(rows[None, :] - rows[:, None]) % power.shape[0],
               (cols[None, :] - cols[:, None]) % power.shape[1]]


@pytest.fixture
def setup():
    rng = np.random.default_rng(21)
    shape = (16, 18)
    power = red_power(shape)
    model = rng.normal(0.0, 2.0, shape)
    data = model + periodic_noise(power, 1, rng)[0]
    return SimpleNamespace(rng=rng, shape=shape, power=power, model=model, data=data)


# -------------------------------------------------------------- log-likelihood


@pytest.mark.parametrize("ftype", ["real", "full"])
@pytest.mark.parametrize("shape", [(16, 18), (15, 17), (16, 15)])
def test_white_power_equals_normal(ftype, shape):
    rng = np.random.default_rng(1)
    data, model = rng.normal(size=shape), rng.normal(size=shape)
    npix = shape[0] * shape[1]
    normal, fourier = Normal(sigma=0.7), NormalFourier(cov=0.49 * npix, ftype=ftype)
    normal.bind(make_img(data))
    fourier.bind(make_img(data))
    want = float(normal.loglike_fn()(model))
    assert float(fourier.loglike_fn()(model)) == pytest.approx(want, rel=1e-12)
    assert fourier.nmodes == data.size


@pytest.mark.parametrize("shape", [(16, 18), (15, 17), (16, 15)])
def test_coloured_power_matches_circulant_gaussian(shape):
    rng = np.random.default_rng(2)
    power = red_power(shape)
    data, model = periodic_noise(power, 1, rng)[0], rng.normal(size=shape)
    want = stats.multivariate_normal(model.ravel(), circulant_cov(power)).logpdf(data.ravel())
    real, full = NormalFourier(cov=rfft_layout(power)), NormalFourier(cov=power, ftype="full")
    inverse = NormalFourier(icov=1.0 / rfft_layout(power))
    for noise in (real, full, inverse):
        noise.bind(make_img(data))
        assert float(noise.loglike_fn()(model)) == pytest.approx(want, rel=1e-10)


@pytest.fixture(scope="module")
def filtered_noise():
    """Noise maps of a known stationary covariance: white noise periodically convolved with g.

    The analytic spectrum of ``n = w (*) g`` for unit white noise ``w`` is
    ``E|np.fft.fft2(n)|^2 = npix |G|^2``, ``G = np.fft.fft2`` of the kernel
    with its centre at pixel ``[0, 0]``; ``measured`` is the documented
    estimate, the mean of ``|np.fft.fft2(map)|^2`` over many maps.
    """
    rng = np.random.default_rng(17)
    shape, npix = (33, 33), 33 * 33
    y, x = np.indices((7, 7)) - 3
    kernel = np.exp(-0.5 * (x**2 + y**2) / 1.3**2) + 0.3 * (x == 0) * (y == 0)

    def maps(n):
        white = rng.standard_normal((n, *shape))
        return np.stack([ndimage.convolve(w, kernel, mode="wrap") for w in white])

    placed = np.zeros(shape)
    placed[np.ix_(np.arange(-3, 4) % 33, np.arange(-3, 4) % 33)] = kernel
    analytic = npix * np.abs(np.fft.fft2(placed)) ** 2
    measured = np.mean(np.abs(np.fft.fft2(maps(3000))) ** 2, axis=0)
    return SimpleNamespace(shape=shape, npix=npix, analytic=analytic, measured=measured,
                           test_maps=maps(300))


def test_measured_spectrum_is_the_analytic_one(filtered_noise):
    ratio = filtered_noise.measured / filtered_noise.analytic
    # means of 3000 squared moduli: 1.8% scatter per mode (2.6% on the real modes)
    assert abs(ratio.mean() - 1.0) < 0.005 and np.abs(ratio - 1.0).max() < 0.15


@pytest.mark.parametrize("which", ["analytic", "measured"])
@pytest.mark.parametrize("ftype", ["rfft", "fft"])
def test_chi_square_of_noise_maps_is_the_pixel_count(filtered_noise, which, ftype):
    """``cov`` in numpy's unnormalised convention: chi^2 of a noise map ~ npix +- sqrt(2 npix)."""
    power = getattr(filtered_noise, which)
    cov = rfft_layout(power) if ftype == "rfft" else power
    noise = NormalFourier(cov=cov, ftype=ftype)
    noise.bind(make_img(np.zeros(filtered_noise.shape)))
    loglike = jax.jit(jax.vmap(noise.loglike_fn()))
    zero = np.zeros((1, *filtered_noise.shape))
    # data 0 and model -map: the residual is the map; ln L(data) = the normalisation
    chi2 = -2.0 * (np.asarray(loglike(-filtered_noise.test_maps)) - float(loglike(zero)[0]))
    npix, nmaps = filtered_noise.npix, len(chi2)
    spread = np.sqrt(2.0 * npix)
    print(f"{which} {ftype}: mean chi2 {chi2.mean():.1f}, sd {chi2.std():.1f} for npix {npix}")
    assert abs(chi2.mean() - npix) < 4.0 * spread / np.sqrt(nmaps), chi2.mean()
    assert abs(chi2.std() / spread - 1.0) < 0.25
    assert np.all(np.abs(chi2 - npix) < 5.0 * spread)
    # the normalisation is that of the pixel covariance: ln det C = sum ln(P / npix)
    want = -0.5 * np.sum(np.log(2.0 * np.pi * power / npix))
    assert float(loglike(zero)[0]) == pytest.approx(want, rel=1e-10)


def test_modes_with_zero_inverse_power_are_ignored(setup):
    icov = 1.0 / rfft_layout(setup.power)
    # the mean, and the stored mode (3, 2), which stands for the pair +-(3, 2)
    icov[0, 0] = icov[3, 2] = 0.0
    noise = NormalFourier(icov=icov)
    noise.bind(make_img(setup.data))
    loglike = noise.loglike_fn()
    assert noise.nmodes == setup.data.size - 1 - 2
    ny, nx = setup.shape
    y, x = np.indices(setup.shape)
    offset = 5.0 + 3.0 * np.cos(2 * np.pi * (3 * y / ny + 2 * x / nx) + 0.4)
    assert float(loglike(setup.model + offset)) == pytest.approx(
        float(loglike(setup.model)), rel=1e-12)
    # the normalisation counts only the modes that are used
    kept = np.isfinite(noise.power)
    # rfft2 columns 0 and nx / 2 (nx = 18 is even) hold both members of their pairs
    mult = np.full(icov.shape, 2.0)
    mult[:, 0] = mult[:, -1] = 1.0
    const = -0.5 * np.sum(mult[kept] * np.log(2 * np.pi * noise.power[kept] / setup.data.size))
    assert float(loglike(setup.data)) == pytest.approx(const, rel=1e-12)
    # inf power given as cov is the same as zero inverse power
    cov = np.where(icov > 0, 1.0 / np.where(icov > 0, icov, 1.0), np.inf)
    same = NormalFourier(cov=cov)
    same.bind(make_img(setup.data))
    assert float(same.loglike_fn()(setup.model)) == pytest.approx(
        float(loglike(setup.model)), rel=1e-12)


def test_jit_vmap_grad(setup):
    noise = NormalFourier(cov=rfft_layout(setup.power))
    noise.bind(make_img(setup.data))
    loglike = noise.loglike_fn()
    model = jnp.asarray(setup.model)
    assert float(jax.jit(loglike)(model)) == pytest.approx(float(loglike(model)), rel=1e-12)
    models = model + 0.1 * jnp.asarray(setup.rng.normal(size=(5, *setup.shape)))
    batched = np.asarray(jax.jit(jax.vmap(loglike))(models))
    np.testing.assert_allclose(batched, [float(loglike(m)) for m in models], rtol=1e-12)
    grad = np.asarray(jax.grad(loglike)(model)).ravel()
    resid = (setup.data - setup.model).ravel()
    analytic = np.linalg.solve(circulant_cov(setup.power), resid)
    np.testing.assert_allclose(grad, analytic, rtol=1e-8, atol=1e-10)


def test_pickle_roundtrip(setup):
    noise = NormalFourier(cov=rfft_layout(setup.power))
    noise.bind(make_img(setup.data))
    clone = pickle.loads(pickle.dumps(noise))
    assert float(clone.loglike_fn()(setup.model)) == float(noise.loglike_fn()(setup.model))


# ----------------------------------------------------------- estimate from a cube


def test_cube_power_matches_input_spectrum():
    rng = np.random.default_rng(3)
    shape = (32, 32)
    power = red_power(shape)
    cube = periodic_noise(power, 2000, rng)
    raw = NormalFourier(cube=cube, smooth=0, ftype="full")
    raw.bind(make_img(np.zeros(shape)))
    ratio = raw.power / power
    # each mode is a mean of 2000 squared moduli: 2.2% scatter (the mean mode, whose
    # realisations lose the cube mean, is as good for 2000 of them)
    assert abs(np.mean(ratio) - 1.0) < 0.005
    assert np.max(np.abs(ratio - 1.0)) < 0.12
    smoothed = NormalFourier(cube=cube)
    smoothed.bind(make_img(np.zeros(shape)))
    # smoothing biases the spectrum where it curves (here by ~3% at its peak)
    assert np.median(np.abs(smoothed.power / rfft_layout(power) - 1.0)) < 0.05
    apodised = NormalFourier(cube=cube, apod="hann", smooth=0)
    apodised.bind(make_img(np.zeros(shape)))
    assert np.median(np.abs(apodised.power / rfft_layout(power) - 1.0)) < 0.04


def test_apodisation_keeps_white_variance():
    rng = np.random.default_rng(4)
    cube = rng.normal(0.0, 0.5, (50, 24, 24))
    for apod in ("hann", "tukey", np.outer(np.hanning(24), np.ones(24))):
        noise = NormalFourier(cube=cube, apod=apod)
        noise.bind(make_img(np.zeros((24, 24))))
        assert abs(np.median(noise.power) / (0.25 * 24 * 24) - 1.0) < 0.03


def test_simulate_has_the_power(setup):
    for ftype, cov in (("real", rfft_layout(setup.power)), ("full", setup.power)):
        noise = NormalFourier(cov=cov, ftype=ftype)
        noise.bind(make_img(setup.data))
        rng = np.random.default_rng(0)
        sims = np.array([noise.simulate(rng) for _ in range(3000)])
        assert np.isrealobj(sims) and sims.shape == (3000, *setup.shape)
        measured = np.mean(np.abs(np.fft.fft2(sims)) ** 2, axis=0)
        assert np.max(np.abs(measured / setup.power - 1.0)) < 0.15


# ------------------------------------------------------------- with an Image


def test_works_inside_image_and_fit(setup):
    hdu = make_hdu(setup.shape, data=setup.data - setup.model)
    noise = NormalFourier(cov=rfft_layout(setup.power))
    img = Image(hdu, noise=noise, exposure=2.0, response=np.full(setup.shape, 0.5))
    mod = Model([Gaussian(xc=20.0, yc=-10.0, rs=2 / 3600, Is=priors.uniform(-1.0, 1.0))])
    fit = socca.fitter(mod, img)
    want = stats.multivariate_normal(np.zeros(setup.data.size),
                                     circulant_cov(setup.power)).logpdf(hdu.data.ravel())
    assert float(fit.loglike(np.array([0.0]))) == pytest.approx(want, rel=1e-10)


def test_mask_is_refused(setup):
    data = setup.data.copy()
    data[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"NormalFourier cannot use a mask: 1 of 288 pixels"):
        Image(make_hdu(setup.shape, data=data), noise=NormalFourier(cov=1.0))
    img = Image(make_hdu(setup.shape, data=setup.data), noise=NormalFourier(cov=1.0))
    with pytest.raises(ValueError, match="NormalCorrelated"):
        img.addmask(np.pad(np.ones((10, 12)), 3))
    with pytest.raises(RuntimeError, match="bind"):
        img.noise.loglike_fn()


# ---------------------------------------------------------------------- errors


def test_is_a_noise():
    assert isinstance(NormalFourier(cov=1.0), Noise)


@pytest.mark.parametrize("given", [{}, {"cov": 1.0, "icov": 1.0}])
def test_exactly_one_source(given):
    with pytest.raises(ValueError, match="exactly one of cov, icov or cube"):
        NormalFourier(**given)


def test_bad_ftype():
    with pytest.raises(ValueError, match=r"'real' \(or 'rfft'\) or 'full' \(or 'fft'\).*'half'"):
        NormalFourier(cov=1.0, ftype="half")


@pytest.mark.parametrize(("alias", "ftype"), [("rfft", "real"), ("fft", "full")])
def test_ftype_aliases(setup, alias, ftype):
    cov = rfft_layout(setup.power) if ftype == "real" else setup.power
    alias_noise, plain = NormalFourier(cov=cov, ftype=alias), NormalFourier(cov=cov, ftype=ftype)
    assert alias_noise.ftype == ftype
    for noise in (alias_noise, plain):
        noise.bind(make_img(setup.data))
    assert float(alias_noise.loglike_fn()(setup.model)) == float(plain.loglike_fn()(setup.model))


def test_layout_mismatch_names_both_layouts(setup):
    noise = NormalFourier(cov=setup.power)  # full layout given with ftype='real'
    with pytest.raises(ValueError, match=r"\(16, 18\).*needs \(16, 10\).*'full'.*\(16, 18\)"):
        noise.bind(make_img(setup.data))


def test_asymmetric_spectrum(setup):
    power = setup.power.copy()
    power[1, 0] *= 2.0
    with pytest.raises(ValueError, match=r"not symmetric, P\(k\) != P\(-k\)"):
        NormalFourier(cov=power, ftype="full").bind(make_img(setup.data))
    with pytest.raises(ValueError, match="not symmetric"):
        NormalFourier(cov=rfft_layout(power)).bind(make_img(setup.data))


@pytest.mark.parametrize(("key", "bad"), [("cov", 0.0), ("cov", -1.0), ("cov", np.nan),
                                          ("icov", -1.0), ("icov", np.inf)])
def test_bad_values(key, bad):
    with pytest.raises(ValueError, match=key):
        NormalFourier(**{key: np.full((4, 3), bad)})


def test_all_modes_ignored():
    with pytest.raises(ValueError, match="every Fourier mode"):
        NormalFourier(icov=0.0).bind(make_img(np.zeros((4, 4))))


def test_cube_only_options():
    with pytest.raises(ValueError, match="apod and kernel only apply"):
        NormalFourier(cov=1.0, apod="hann")
    with pytest.raises(ValueError, match="'hann', 'tukey'"):
        NormalFourier(cube=np.random.default_rng(0).normal(size=(2, 4, 4)), apod="gauss")
    noise = NormalFourier(cube=np.random.default_rng(0).normal(size=(2, 4, 4)),
                          apod=np.ones((5, 5)))
    with pytest.raises(ValueError, match=r"apod: window of shape \(5, 5\)"):
        noise.bind(make_img(np.zeros((4, 4))))
    with pytest.raises(ValueError, match=r"realisations have shape \(4, 4\)"):
        NormalFourier(cube=np.random.default_rng(0).normal(size=(2, 4, 4))).bind(
            make_img(np.zeros((5, 4))))


def test_pure_noise_problem_for_getzprior(setup):
    img = Image(make_hdu(setup.shape, data=setup.data - setup.model),
                noise=NormalFourier(cube=periodic_noise(setup.power, 200, setup.rng)))
    mod = Model([Gaussian(xc=20.0, yc=-10.0, rs=2 / 3600, Is=priors.uniform(-1.0, 1.0))])
    problem = noise_problem(mod, img, seed=0)
    assert np.isfinite(problem.null_loglike)
    assert np.isfinite(float(problem.loglike(np.array([0.1]))))
