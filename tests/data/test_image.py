"""Image: loading, validation, exposure/response, noise binding, cutouts."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

import socca  # noqa: F401  (turns on jax x64)
from socca.data import Grid, Image
from socca.data.psf import place_kernel

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MOCK = DATA / "tutorial_mock.fits"
SHAPE = (90, 120)
BLOB = (83, 31)  # (x, y) pixel of the injected source


class StubNoise:
    """Stand-in noise model counting how often it is bound."""

    def __init__(self):
        self.binds = 0

    def bind(self, img):
        self.binds += 1
        self.seen = (img.data.shape, img.mask.shape)


def sky_wcs(naxis=2):
    w = WCS(naxis=naxis)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN", "FREQ", "STOKES"][:naxis]
    w.wcs.crval = [150.0, 2.2, 1.4e9, 1.0][:naxis]
    w.wcs.crpix = [60.5, 45.5, 1.0, 1.0][:naxis]
    w.wcs.cdelt = [-0.5 / 3600, 0.5 / 3600, 1e6, 1.0][:naxis]
    return w


def synthetic():
    """A Gaussian blob (sigma 2 pixels) at pixel BLOB on a 0.5"/pixel TAN image."""
    y, x = np.indices(SHAPE)
    data = np.exp(-((x - BLOB[0]) ** 2 + (y - BLOB[1]) ** 2) / 8.0) + 1e-3 * x
    return fits.PrimaryHDU(data, sky_wcs().to_header())


def ramp(shape=SHAPE, start=1.0):
    return start + np.arange(np.prod(shape), dtype=float).reshape(shape) / 100


def peak_world(img):
    y, x = np.unravel_index(np.argmax(img.data), img.shape)
    return img.wcs.pixel_to_world_values(x, y)


def test_sources_path_hdu_hdulist():
    ref = Image(str(MOCK), noise=StubNoise())
    with fits.open(MOCK) as hdul:
        hdu = fits.ImageHDU(hdul[0].data, hdul[0].header)
    for img in (
        Image.load(MOCK, noise=StubNoise()),
        Image(hdu, noise=StubNoise()),
        Image(fits.HDUList([fits.PrimaryHDU(), hdu]), noise=StubNoise(), img_idx=1),
    ):
        assert img.shape == (128, 128)
        np.testing.assert_array_equal(img.data, ref.data)
        np.testing.assert_array_equal(img.exposure, np.ones((128, 128)))
        np.testing.assert_array_equal(img.response, np.ones((128, 128)))
        assert img.psf is None and img.mask.all() and img.noise.binds == 1
        assert img.grid.shape == (128, 128) and img.grid.xi.shape == (1, 128, 128)
    with pytest.raises(ValueError, match="holds no data"):
        Image(fits.HDUList([fits.PrimaryHDU(), hdu]), noise=StubNoise())


@pytest.mark.parametrize(
    "header", [fits.Header(), WCS(naxis=2).to_header()], ids=["none", "linear"]
)
def test_no_celestial_wcs(header):
    with pytest.raises(ValueError, match="no celestial WCS.*CTYPE"):
        Image(fits.PrimaryHDU(np.ones((5, 5)), header), noise=StubNoise())


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i2", "uint8"])
def test_data_become_native_float64(dtype):
    hdu = synthetic()
    raw = (hdu.data * 100).astype(dtype)
    img = Image(fits.PrimaryHDU(raw, hdu.header), noise=StubNoise())
    assert img.data.dtype == np.float64 and img.data.dtype.isnative
    np.testing.assert_array_equal(img.data, raw.astype(np.float64))


def test_non_finite_pixels_are_masked():
    hdu = synthetic()
    hdu.data[3, 4] = np.nan
    hdu.data[7, 1] = -np.inf
    img = Image(hdu, noise=StubNoise())
    assert img.data[3, 4] == 0.0 and img.data[7, 1] == 0.0
    assert (~img.mask).sum() == 2 and not img.mask[3, 4] and not img.mask[7, 1]
    hdu.data[:] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        Image(hdu, noise=StubNoise())


def test_radio_cube_is_squeezed():
    data = synthetic().data[None, None]
    cube = fits.PrimaryHDU(data, sky_wcs(4).to_header())
    img = Image(cube, noise=StubNoise())
    assert img.shape == SHAPE and img.wcs.naxis == 2 and img.hdu.data.shape == SHAPE
    assert WCS(img.hdu.header).naxis == 2
    np.testing.assert_allclose(img.grid.ra, Grid(sky_wcs(), SHAPE).ra, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="2-D"):
        Image(fits.PrimaryHDU(np.ones((2, 1) + SHAPE), cube.header), noise=StubNoise())


def test_exposure_and_response(tmp_path):
    hdu = synthetic()
    exp_path = tmp_path / "exposure.fits"
    fits.PrimaryHDU(ramp()).writeto(exp_path)
    for source in (str(exp_path), fits.ImageHDU(ramp()), ramp()):
        img = Image(hdu, noise=StubNoise(), exposure=source, response=2.5)
        np.testing.assert_array_equal(img.exposure, ramp())
        np.testing.assert_array_equal(img.response, np.full(SHAPE, 2.5))
    bad = ramp()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="exposure: 1 pixels are NaN"):
        Image(hdu, noise=StubNoise(), exposure=bad)
    with pytest.raises(ValueError, match="response: 1 pixels are negative"):
        Image(hdu, noise=StubNoise(), response=ramp(start=-0.001))
    with pytest.raises(ValueError, match=r"response: map shape \(5, 5\).*\(90, 120\)"):
        Image(hdu, noise=StubNoise(), response=np.ones((5, 5)))


def test_argument_validation():
    hdu = synthetic()
    for bad in (0, 2.0, "2"):
        with pytest.raises(ValueError, match="subgrid"):
            Image(hdu, noise=StubNoise(), subgrid=bad)
    with pytest.raises(ValueError, match="center, csize"):
        Image(hdu, noise=StubNoise(), center=(10, 10))
    with pytest.raises(ValueError, match="addpsf.*'nrm'"):
        Image(hdu, noise=StubNoise(), addpsf=dict(img=np.ones((3, 3)), nrm=False))
    with pytest.raises(TypeError, match="bind"):
        Image(hdu, noise="normal")
    img = Image(hdu, noise=StubNoise(), subgrid=2)
    assert img.grid.xi.shape == (4,) + SHAPE and img.subgrid == 2


def test_default_noise_and_setter(capsys):
    normal = pytest.importorskip("socca.noise").Normal
    img = Image(synthetic())
    assert isinstance(img.noise, normal)
    assert "Using MAD for estimating noise level" in capsys.readouterr().out
    stub = StubNoise()
    img.noise = stub
    assert img.noise is stub and stub.binds == 1


def check_consistent(img, full, offset):
    """Cutout ``img`` of ``full`` at (y0, x0) = offset: every map is the same slice."""
    y0, x0 = offset
    sl = np.s_[y0:y0 + img.shape[0], x0:x0 + img.shape[1]]
    np.testing.assert_array_equal(img.data, full.data[sl])
    np.testing.assert_array_equal(img.mask, full.mask[sl])
    np.testing.assert_array_equal(img.exposure, full.exposure[sl])
    np.testing.assert_array_equal(img.response, full.response[sl])
    assert img.hdu.data.shape == img.shape
    fresh = Grid(img.wcs, img.shape, img.subgrid)
    for name in ("ra", "dec", "xi", "eta"):
        np.testing.assert_array_equal(getattr(img.grid, name), getattr(fresh, name))
        np.testing.assert_allclose(getattr(img.grid, name), getattr(full.grid, name)[..., *sl],
                                   rtol=0, atol=1e-12)
    y, x = np.indices(img.shape)
    from_header = WCS(img.hdu.header).pixel_to_world_values(x, y)
    np.testing.assert_allclose(from_header, img.wcs.pixel_to_world_values(x, y), atol=1e-12)


def build(**kw):
    return Image(synthetic(), noise=StubNoise(), exposure=ramp(), response=ramp(start=3.0),
                 subgrid=2, **kw)


KERNEL = np.arange(1.0, 50.0).reshape(7, 7)


def test_cutout_with_pixel_centre():
    full = build()
    full.addmask("image; circle(16, 33, 4)")
    full.addpsf(KERNEL)
    img = build()
    img.addmask("image; circle(16, 33, 4)")
    img.addpsf(KERNEL)
    binds = img.noise.binds
    img.cutout((20, 35), (21, 31))
    assert img.shape == (21, 31) and img.noise.binds == binds + 1
    check_consistent(img, full, (25, 5))
    assert (~img.mask).sum() == (~full.mask).sum() > 0
    np.testing.assert_allclose(img.psf, place_kernel(KERNEL, (21, 31)) / KERNEL.sum())
    assert img.psf_extent == (3, 3)

    blob = build()
    world = peak_world(blob)
    blob.cutout((80, 35), 15)
    assert blob.shape == (15, 15)
    np.testing.assert_allclose(peak_world(blob), world, rtol=0, atol=1e-10)


@pytest.mark.parametrize("csize", [10 * u.arcsec, (10 * u.arcsec, 10 * u.arcsec),
                                   [10, 10] * u.arcsec, (20, 20)])
def test_cutout_with_skycoord(csize):
    img = build()
    world = peak_world(img)
    full = build()
    img.cutout(SkyCoord(*world, unit="deg"), csize)
    assert img.shape == (20, 20)
    np.testing.assert_allclose(peak_world(img), world, rtol=0, atol=1e-10)
    y, x = np.unravel_index(np.argmax(img.data), img.shape)
    check_consistent(img, full, (BLOB[1] - y, BLOB[0] - x))


def test_cutout_is_trimmed_at_the_edge_and_leaves_input_alone():
    hdu = synthetic()
    before = hdu.data.copy()
    img = Image(hdu, noise=StubNoise(), addpsf=dict(img=KERNEL))
    img.cutout((2, 3), 11)
    assert img.shape == (9, 8) and img.psf.shape == (9, 8)
    np.testing.assert_array_equal(hdu.data, before)
    assert hdu.header["CRPIX1"] == 60.5
    for center in ((-1, 10), (10, 95), SkyCoord(10, 10, unit="deg")):
        with pytest.raises(ValueError, match="outside the image"):
            img.cutout(center, 5)
    for csize in (0, -3, 2.5, (3, 4, 5), 5 * u.kg):
        with pytest.raises(ValueError, match="csize"):
            img.cutout((4, 4), csize)
    with pytest.raises(ValueError, match="center"):
        img.cutout("middle", 5)


def test_constructor_shortcuts_equal_method_calls():
    mask = np.ones(SHAPE, int)
    mask[30:40, 70:90] = 0
    stub = StubNoise()
    short = Image(synthetic(), noise=stub, exposure=ramp(), subgrid=2,
                  addpsf=dict(img=KERNEL, normalize=False), addmask=dict(regions=mask),
                  center=(80, 35), csize=(21, 31))
    assert stub.binds == 1 and stub.seen == ((21, 31), (21, 31))
    long = Image(synthetic(), noise=StubNoise(), exposure=ramp(), subgrid=2)
    long.addpsf(KERNEL, normalize=False)
    long.addmask(mask)
    long.cutout((80, 35), (21, 31))
    for name in ("data", "mask", "psf", "exposure", "response"):
        np.testing.assert_array_equal(getattr(short, name), getattr(long, name))
    np.testing.assert_array_equal(short.grid.xi, long.grid.xi)
    assert short.psf_extent == long.psf_extent == (3, 3)
    assert short.psf.sum() == KERNEL.sum()
    assert not short.mask.all()


def test_jax_arrays_are_accepted_like_numpy_arrays():
    """PSF, exposure, response and masks as JAX arrays (as a JAX pipeline hands them)."""
    jnp = pytest.importorskip("jax.numpy")
    mask = np.ones(SHAPE, bool)
    mask[10:20, 5:50] = False
    numpy_img = Image(synthetic(), noise=StubNoise(), exposure=ramp(), response=ramp(start=2.0),
                      addpsf=dict(img=KERNEL, normalize=False), addmask=mask)
    jax_img = Image(synthetic(), noise=StubNoise(), exposure=jnp.asarray(ramp()),
                    response=jnp.asarray(ramp(start=2.0)),
                    addpsf=dict(img=jnp.asarray(KERNEL), normalize=False),
                    addmask=jnp.asarray(mask))
    later = Image(synthetic(), noise=StubNoise(), exposure=ramp(), response=ramp(start=2.0))
    later.addpsf(jnp.asarray(KERNEL), normalize=False)
    later.addmask([jnp.asarray(mask)])
    for img in (jax_img, later):
        for name in ("psf", "exposure", "response", "mask"):
            np.testing.assert_array_equal(getattr(img, name), getattr(numpy_img, name))
            assert isinstance(getattr(img, name), np.ndarray)
    assert jax_img.psf_extent == numpy_img.psf_extent
    with pytest.raises(ValueError, match=r"psf: expected a 2-D kernel.*\(7,\)"):
        later.addpsf(jnp.ones(7))


def test_missing_image_and_psf_are_both_reported(tmp_path):
    """A newcomer without the tutorial data hears about the image, not only the PSF."""
    mock, psf = tmp_path / "tutorial_mock.fits", tmp_path / "tutorial_psf.fits"
    with pytest.raises(FileNotFoundError) as err:
        Image(str(mock), addpsf=dict(img=str(psf)))
    assert isinstance(err.value, socca.SoccaError)
    text = str(err.value)
    assert "2 FITS files do not exist" in text
    assert text.index("img: ") < text.index(str(mock)) < text.index("psf: ") < text.index(str(psf))
    with pytest.raises(FileNotFoundError, match=r"^img: FITS file '.*tutorial_mock.fits' does not"):
        Image(mock, addpsf=str(MOCK), noise=StubNoise())
    with pytest.raises(FileNotFoundError, match=r"^psf: FITS file '.*tutorial_psf.fits' does not"):
        Image(MOCK, addpsf=psf, noise=StubNoise())
    with pytest.raises(FileNotFoundError, match=r"img: .*exposure: .*nothere.fits"):
        Image(mock, exposure="nothere.fits", noise=StubNoise())
