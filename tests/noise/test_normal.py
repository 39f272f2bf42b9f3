"""Tests of the independent Gaussian noise model ``socca.noise.Normal``."""

import pickle
from pathlib import Path
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from scipy import stats

import socca  # noqa: F401  (turns on jax x64 before anything else)
from socca.noise import Noise, Normal

MOCK = Path(__file__).parents[2].parent / "shared" / "data" / "tutorial_mock.fits"

SIGMA_KEYS = ("sigma", "sig", "std", "rms", "stddev")
VARIANCE_KEYS = ("variance", "var")
WEIGHT_KEYS = ("weight", "wht", "wgt", "weights", "invvar")


def make_img(data, mask=None):
    """Minimal stand-in for ``socca.data.Image``."""
    data = np.asarray(data, dtype=np.float64)
    if mask is None:
        mask = np.ones(data.shape, dtype=bool)
    return SimpleNamespace(data=data, mask=np.array(mask, dtype=bool), shape=data.shape)


def amplitude_for(key, sigma):
    """Value to pass under ``key`` for standard deviation ``sigma``."""
    if key in SIGMA_KEYS:
        return sigma
    if key in VARIANCE_KEYS:
        return sigma**2
    return 1.0 / sigma**2


def reference(data, model, sigma, mask):
    """Normalised Gaussian log-likelihood from scipy over the unmasked pixels."""
    sigma = np.broadcast_to(sigma, data.shape)
    return stats.norm.logpdf(data[mask], loc=model[mask], scale=sigma[mask]).sum()


@pytest.fixture
def setup():
    rng = np.random.default_rng(42)
    shape = (24, 31)
    sigma_map = rng.uniform(0.5, 2.0, shape)
    model = rng.normal(0.0, 3.0, shape)
    data = model + sigma_map * rng.normal(size=shape)
    mask = rng.uniform(size=shape) > 0.2
    return SimpleNamespace(rng=rng, shape=shape, sigma=sigma_map, model=model, data=data,
                           mask=mask)


# --------------------------------------------------------------------------- MAD


def test_mad_recovers_sigma_and_prints(capsys):
    rng = np.random.default_rng(7)
    img = make_img(rng.normal(0.0, 0.3, (512, 512)))
    noise = Normal()
    noise.bind(img)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["Using MAD for estimating noise level",
                     f"- noise level: {noise.noise_level:.2E}"]
    assert abs(noise.noise_level / 0.3 - 1) < 0.02
    assert np.all(noise.sigma == noise.noise_level)


def test_mad_on_tutorial_mock(capsys):
    img = make_img(fits.getdata(MOCK))
    Normal().bind(img)
    assert capsys.readouterr().out == (
        "Using MAD for estimating noise level\n- noise level: 4.47E-02\n"
    )


def test_mad_recomputed_on_rebind(capsys):
    rng = np.random.default_rng(3)
    data = rng.normal(0.0, 1.0, (64, 64))
    data[:, 32:] *= 10.0
    img = make_img(data)
    noise = Normal()
    noise.bind(img)
    wide = noise.noise_level
    img.mask[:, 32:] = False
    noise.bind(img)
    assert noise.noise_level < wide / 2
    assert abs(noise.noise_level - 1.0) < 0.1
    assert capsys.readouterr().out.count("Using MAD") == 2


def test_mad_only_uses_unmasked_pixels(setup, capsys):
    data = setup.data.copy()
    data[~setup.mask] = 1e6
    noise = Normal()
    noise.bind(make_img(data, setup.mask))
    capsys.readouterr()
    clean = data[setup.mask]
    expected = 1.4826 * np.median(np.abs(clean - np.median(clean)))
    assert noise.noise_level == pytest.approx(expected, rel=1e-12)


# -------------------------------------------------------------- log-likelihood


@pytest.mark.parametrize("key", SIGMA_KEYS + VARIANCE_KEYS + WEIGHT_KEYS)
def test_loglike_scalar_matches_scipy(setup, key):
    noise = Normal(**{key: amplitude_for(key, 0.7)})
    noise.bind(make_img(setup.data, setup.mask))
    got = float(noise.loglike_fn()(jnp.asarray(setup.model)))
    want = reference(setup.data, setup.model, 0.7, setup.mask)
    assert got == pytest.approx(want, rel=1e-10)
    assert noise.noise_level == pytest.approx(0.7, rel=1e-14)


@pytest.mark.parametrize("key", SIGMA_KEYS + VARIANCE_KEYS + WEIGHT_KEYS)
def test_loglike_map_matches_scipy(setup, key):
    noise = Normal(**{key: amplitude_for(key, setup.sigma)})
    noise.bind(make_img(setup.data, setup.mask))
    got = float(noise.loglike_fn()(jnp.asarray(setup.model)))
    want = reference(setup.data, setup.model, setup.sigma, setup.mask)
    assert got == pytest.approx(want, rel=1e-10)
    assert noise.noise_level is None
    np.testing.assert_allclose(noise.sigma[setup.mask], setup.sigma[setup.mask], rtol=1e-14)
    assert np.all(np.isinf(noise.sigma[~setup.mask]))


@pytest.mark.parametrize("amplitude", ["scalar", "map"])
def test_one_weight_for_every_pixel_matches_scipy(setup, amplitude):
    """No masked pixel and one sigma everywhere: the weight is kept as a number."""
    sigma = 0.7 if amplitude == "scalar" else np.full(setup.shape, 0.7)
    noise = Normal(sigma=sigma)
    noise.bind(make_img(setup.data))
    got = float(noise.loglike_fn()(jnp.asarray(setup.model)))
    want = reference(setup.data, setup.model, 0.7, np.ones(setup.shape, dtype=bool))
    assert got == pytest.approx(want, rel=1e-12)


def test_masked_pixels_do_not_contribute(setup):
    img = make_img(setup.data, setup.mask)
    noise = Normal(sigma=setup.sigma)
    noise.bind(img)
    loglike = noise.loglike_fn()
    wild = setup.model.copy()
    wild[~setup.mask] = 1e8
    assert float(loglike(wild)) == float(loglike(setup.model))
    img.data[~setup.mask] = 0.0
    noise.bind(img)
    assert float(noise.loglike_fn()(wild)) == pytest.approx(float(loglike(setup.model)),
                                                            rel=1e-14)


@pytest.mark.parametrize(
    ("key", "bad"), [("weight", 0.0), ("sigma", np.inf), ("variance", np.inf)]
)
def test_unusable_pixels_become_masked(setup, key, bad):
    value = np.array(amplitude_for(key, setup.sigma))
    value[3, 4] = value[10, 0] = bad
    img = make_img(setup.data)
    noise = Normal(**{key: value})
    noise.bind(img)
    assert not img.mask[3, 4] and not img.mask[10, 0]
    assert img.mask.sum() == img.mask.size - 2
    assert np.isinf(noise.sigma[3, 4])
    got = float(noise.loglike_fn()(setup.model))
    assert got == pytest.approx(reference(setup.data, setup.model, setup.sigma, img.mask),
                                rel=1e-10)


def test_rebind_is_idempotent(setup):
    weight = 1.0 / setup.sigma**2
    weight[0, :] = 0.0
    img = make_img(setup.data, setup.mask)
    noise = Normal(wht=weight)
    noise.bind(img)
    first_mask = img.mask.copy()
    first = float(noise.loglike_fn()(setup.model))
    noise.bind(img)
    np.testing.assert_array_equal(img.mask, first_mask)
    assert float(noise.loglike_fn()(setup.model)) == first


def test_sigma_map_from_fits_path_and_hdu(setup, tmp_path):
    path = tmp_path / "rms.fits"
    fits.writeto(path, setup.sigma.astype(">f8"))
    want = reference(setup.data, setup.model, setup.sigma, setup.mask)
    for source in (str(path), path, fits.PrimaryHDU(setup.sigma)):
        noise = Normal(rms=source)
        noise.bind(make_img(setup.data, setup.mask))
        assert float(noise.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-10)


def test_pickle_roundtrip(setup):
    noise = Normal(sigma=setup.sigma)
    noise.bind(make_img(setup.data, setup.mask))
    clone = pickle.loads(pickle.dumps(noise))
    assert float(clone.loglike_fn()(setup.model)) == float(noise.loglike_fn()(setup.model))


# ----------------------------------------------------------------- JAX transforms


def test_jit_vmap_grad(setup):
    noise = Normal(sigma=setup.sigma)
    noise.bind(make_img(setup.data, setup.mask))
    loglike = noise.loglike_fn()
    model = jnp.asarray(setup.model)
    assert float(jax.jit(loglike)(model)) == pytest.approx(float(loglike(model)), rel=1e-13)

    models = model + 0.1 * jnp.asarray(setup.rng.normal(size=(8, *setup.shape)))
    batched = jax.jit(jax.vmap(loglike))(models)
    looped = np.array([float(loglike(m)) for m in models])
    assert batched.shape == (8,)
    np.testing.assert_allclose(np.asarray(batched), looped, rtol=1e-12)

    grad = np.asarray(jax.jit(jax.grad(loglike))(model))
    analytic = np.where(setup.mask, (setup.data - setup.model) / setup.sigma**2, 0.0)
    np.testing.assert_allclose(grad, analytic, rtol=1e-12, atol=1e-12)


def test_nan_model_gives_nan(setup):
    noise = Normal(sigma=1.0)
    noise.bind(make_img(setup.data, setup.mask))
    model = setup.model.copy()
    model[0, 0] = np.nan
    assert np.isnan(float(noise.loglike_fn()(model)))


# ---------------------------------------------------------------------- errors


def test_is_a_noise():
    assert isinstance(Normal(), Noise)


def test_unknown_keyword():
    with pytest.raises(TypeError, match="'sigmaa'") as err:
        Normal(sigmaa=1.0)
    for key in SIGMA_KEYS + VARIANCE_KEYS + WEIGHT_KEYS:
        assert key in str(err.value)


def test_two_amplitudes():
    with pytest.raises(ValueError, match="'sigma' and 'wht'"):
        Normal(sigma=1.0, wht=1.0)
    with pytest.raises(ValueError, match="'std' and 'rms'"):
        Normal(std=1.0, rms=1.0)


@pytest.mark.parametrize("key", ["sigma", "var", "weight"])
def test_negative_scalar(key):
    with pytest.raises(ValueError, match=rf"{key}.*-0\.25"):
        Normal(**{key: -0.25})


def test_nan_scalar():
    with pytest.raises(ValueError, match="std.*nan"):
        Normal(std=float("nan"))


def test_negative_scalar_message_is_consistent():
    with pytest.raises(ValueError) as err:
        Normal(sigma=-1)
    text = str(err.value)
    assert "sigma=-1" in text and "expected a finite number > 0" in text
    assert "non-negative" not in text  # it once asked for > 0 and for >= 0 at once


def test_negative_map_values():
    value = np.ones((6, 7))
    value[2, 5] = value[4, 1] = -3.5
    with pytest.raises(ValueError, match=r"variance.*2 negative value\(s\).*\(2, 5\).*-3\.5"):
        Normal(variance=value)


def test_nan_map_pixels_are_masked_with_a_note(setup, tmp_path, capsys):
    """A sigma map with NaN (e.g. outside a survey footprint) masks those pixels."""
    sigma = setup.sigma.copy()
    holes = np.zeros(setup.shape, dtype=bool)
    holes[3, 4:9] = holes[17, 20] = True
    sigma[holes] = np.nan
    path = tmp_path / "rms.fits"
    fits.writeto(path, sigma)
    want = reference(setup.data, setup.model, setup.sigma, setup.mask & ~holes)
    for source in (path, sigma):
        noise = Normal(sigma=source)
        assert capsys.readouterr().out.strip() == (
            f"Normal sigma: 6 of {sigma.size} map pixels are NaN; they are masked")
        img = make_img(setup.data, setup.mask)
        noise.bind(img)
        assert not img.mask[holes].any()
        assert np.array_equal(img.mask, setup.mask & ~holes)
        assert float(noise.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-10)


def test_jax_amplitude_map(setup):
    want = reference(setup.data, setup.model, setup.sigma, setup.mask)
    for key in ("sigma", "var"):
        noise = Normal(**{key: jnp.asarray(amplitude_for(key, setup.sigma))})
        noise.bind(make_img(setup.data, setup.mask))
        assert float(noise.loglike_fn()(setup.model)) == pytest.approx(want, rel=1e-10)


def test_map_shape_mismatch():
    noise = Normal(sigma=np.ones((5, 6)))
    with pytest.raises(ValueError, match=r"\(5, 6\).*\(6, 5\)"):
        noise.bind(make_img(np.zeros((6, 5))))


def test_map_not_2d():
    with pytest.raises(ValueError, match="shape"):
        Normal(sigma=np.ones(5))


def test_all_pixels_masked():
    with pytest.raises(ValueError, match="every pixel"):
        Normal(weight=np.zeros((4, 4))).bind(make_img(np.ones((4, 4))))
    with pytest.raises(ValueError, match="every pixel"):
        Normal(sigma=np.inf).bind(make_img(np.ones((4, 4))))


def test_mad_of_constant_image(capsys):
    with pytest.raises(ValueError, match="MAD"):
        Normal().bind(make_img(np.ones((4, 4))))


def test_loglike_before_bind():
    with pytest.raises(RuntimeError, match="bind"):
        Normal(sigma=1.0).loglike_fn()
