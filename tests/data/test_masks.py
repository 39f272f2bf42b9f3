"""Masks: DS9 regions (pixels to ignore), arrays and FITS maps (1 = used)."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from regions import CirclePixelRegion, PixCoord

import socca  # noqa: F401  (turns on jax x64)
from socca.data import Image

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MOCK = DATA / "tutorial_mock.fits"
SHAPE = (128, 128)


class StubNoise:
    """Stand-in noise model counting how often it is bound."""

    def __init__(self):
        self.binds = 0

    def bind(self, img):
        self.binds += 1


@pytest.fixture
def image():
    return Image(str(MOCK), noise=StubNoise())


def separation(img, ra, dec, frame="icrs"):
    """Angular distance (arcsec) of every pixel centre from (ra, dec)."""
    pixels = SkyCoord(img.grid.ra * u.deg, img.grid.dec * u.deg, frame="icrs")
    return pixels.separation(SkyCoord(ra * u.deg, dec * u.deg, frame=frame)).arcsec


def assert_same_away_from_edge(mask, expected, distance, radius, band=1e-4):
    """Masks agree wherever the pixel centre is not within ``band`` of the boundary."""
    clear = np.abs(distance - radius) > band
    assert clear.sum() > 0.99 * mask.size
    np.testing.assert_array_equal(mask[clear], expected[clear])


@pytest.mark.parametrize("frame", ["icrs", "fk5"])
def test_sky_circle_masks_pixels_inside(image, frame):
    ra, dec, radius = 20.0004, -9.9997, 1.234
    image.addmask(f'{frame}; circle({ra}, {dec}, {radius}")')
    dist = separation(image, ra, dec, frame)
    assert_same_away_from_edge(image.mask, dist > radius, dist, radius)
    assert 400 < (~image.mask).sum() < 560  # pi * 12.34**2 ~ 478 pixels
    assert image.mask.dtype == bool
    assert image.noise.binds == 2


def test_region_file_with_exclude_flag(image, tmp_path):
    path = tmp_path / "sources.reg"
    path.write_text(
        "# Region file format: DS9 version 4.1\n"
        'global color=green font="helvetica 10 normal roman"\n'
        "fk5\n"
        'circle(20.0,-10.0,2")\n'
        '-circle(20.0,-10.0,0.55")\n'
        "image\n"
        "box(11,21,5,3,0)\n"
    )
    image.addmask(str(path))
    dist = separation(image, 20.0, -10.0, "fk5")
    ignored = (dist < 2.0) & ~(dist < 0.55)
    ignored[19:22, 8:13] = True
    for radius in (2.0, 0.55):
        assert_same_away_from_edge(image.mask, ~ignored, dist, radius)
    image.addmask(path, combine=False)  # os.PathLike works too
    assert_same_away_from_edge(image.mask, ~ignored, dist, 2.0)


def test_image_coordinate_box(image):
    # DS9 image coordinates are 1-based: centre (11, 21) is pixel (x=10, y=20).
    image.addmask("image; box(11, 21, 5, 3, 0)")
    expected = np.ones(SHAPE, bool)
    expected[19:22, 8:13] = False
    np.testing.assert_array_equal(image.mask, expected)


def test_region_objects(image):
    image.addmask(CirclePixelRegion(PixCoord(30, 40), 2.5))
    y, x = np.indices(SHAPE)
    np.testing.assert_array_equal(image.mask, np.hypot(x - 30, y - 40) >= 2.5)


def test_array_masks(image):
    half = np.zeros(SHAPE, bool)
    half[:, :64] = True
    image.addmask(half)
    np.testing.assert_array_equal(image.mask, half)
    top = np.zeros(SHAPE, int)
    top[64:] = 1
    image.addmask(top)  # combine=True: AND
    np.testing.assert_array_equal(image.mask, half & (top == 1))
    image.addmask(top.astype(float), combine=False)
    np.testing.assert_array_equal(image.mask, top == 1)
    image.addmask([half, "image; box(11, 101, 5, 3, 0)"], combine=False)
    expected = half.copy()
    expected[99:102, 8:13] = False
    np.testing.assert_array_equal(image.mask, expected)
    assert image.noise.binds == 5


def test_combine_false_keeps_non_finite_pixels_masked():
    with fits.open(MOCK) as hdul:
        hdu = fits.PrimaryHDU(hdul[0].data.copy(), hdul[0].header)
    hdu.data[5, 7] = np.nan
    hdu.data[9, 2] = np.inf
    img = Image(hdu, noise=StubNoise())
    img.addmask(np.zeros(SHAPE, bool))
    assert not img.mask.any()
    img.addmask(np.ones(SHAPE, bool), combine=False)
    assert (~img.mask).sum() == 2 and not img.mask[5, 7] and not img.mask[9, 2]


def test_bad_arrays(image):
    with pytest.raises(ValueError, match=r"\(10, 12\).*\(128, 128\)"):
        image.addmask(np.ones((10, 12), bool))
    bad = np.ones(SHAPE)
    bad[0, :3] = [2.0, 0.5, -1.0]
    with pytest.raises(ValueError, match="0/1.*3 other pixels"):
        image.addmask(bad)
    with pytest.raises(ValueError, match="dtype"):
        image.addmask(np.full(SHAPE, "a"))
    assert image.mask.all() and image.noise.binds == 1


def mask_map(shape=(55, 48)):
    """A 0/1 map at 0.2"/pixel, shifted and off-centre with respect to the image."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [20.0003, -9.9998]
    w.wcs.crpix = [25.3, 30.15]
    w.wcs.cdelt = [-0.2 / 3600, 0.2 / 3600]
    values = np.random.default_rng(3).integers(0, 2, shape).astype(np.int16)
    return fits.ImageHDU(values, w.to_header()), w, values


def expected_from_world(img, mwcs, values):
    """Nearest map pixel of every image pixel centre, 0 outside the map; and how
    close each lookup is to a rounding boundary."""
    mx, my = mwcs.world_to_pixel_values(img.grid.ra, img.grid.dec)
    ix, iy = np.round(mx).astype(int), np.round(my).astype(int)
    inside = (ix >= 0) & (ix < values.shape[1]) & (iy >= 0) & (iy < values.shape[0])
    expected = np.zeros(img.shape, bool)
    expected[inside] = values[iy[inside], ix[inside]] == 1
    margin = np.minimum(np.abs(mx - np.floor(mx) - 0.5), np.abs(my - np.floor(my) - 0.5))
    return expected, margin


def test_fits_map_with_different_wcs_is_reprojected(image, tmp_path):
    hdu, mwcs, values = mask_map()
    expected, margin = expected_from_world(image, mwcs, values)
    assert margin.min() > 1e-3  # no pixel centre sits on a rounding boundary
    assert 1000 < expected.sum() < 6000 and (~expected).sum() > 5000
    image.addmask(hdu)
    np.testing.assert_array_equal(image.mask, expected)
    path = tmp_path / "mask.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    with fits.open(path) as hdul:
        image.addmask(hdul[1], combine=False)
    np.testing.assert_array_equal(image.mask, expected)
    fits.PrimaryHDU(hdu.data, hdu.header).writeto(tmp_path / "mask0.fits")
    image.addmask(str(tmp_path / "mask0.fits"), combine=False)
    np.testing.assert_array_equal(image.mask, expected)


def test_fits_map_without_wcs_is_an_array(image):
    top = np.zeros(SHAPE, np.uint8)
    top[64:] = 1
    image.addmask(fits.ImageHDU(top))
    np.testing.assert_array_equal(image.mask, top == 1)
    with pytest.raises(ValueError, match="shape"):
        image.addmask(fits.ImageHDU(np.ones((5, 5))))


def test_invalid_regions(image):
    with pytest.warns(UserWarning, match="frame"), pytest.raises(ValueError, match="no region"):
        image.addmask('circle(20.0, -10.0, 1")')  # no coordinate system
    with pytest.raises(ValueError, match="could not parse"):
        image.addmask("image; circle(20.0, -10.0")
    with pytest.raises(ValueError, match="no area"):
        image.addmask("image; point(3, 4)")
    with pytest.raises(FileNotFoundError, match="nothere.reg"):
        image.addmask("nothere.reg")
    with pytest.raises(TypeError, match="regions"):
        image.addmask(42)
    with pytest.raises(ValueError, match="empty list"):
        image.addmask([])
    with pytest.raises(TypeError, match="combine"):
        image.addmask(np.ones(SHAPE, bool), combine="yes")
    assert image.mask.all() and image.noise.binds == 1


def test_jax_array_masks(image):
    jnp = pytest.importorskip("jax.numpy")
    half = np.zeros(SHAPE, bool)
    half[:, :64] = True
    image.addmask(jnp.asarray(half))
    np.testing.assert_array_equal(image.mask, half)
    top = np.zeros(SHAPE)
    top[64:] = 1.0
    image.addmask([jnp.asarray(top), "image; box(11, 101, 5, 3, 0)"], combine=False)
    expected = top == 1
    expected[99:102, 8:13] = False
    np.testing.assert_array_equal(image.mask, expected)
    with pytest.raises(ValueError, match=r"mask: shape \(4, 4\)"):
        image.addmask(jnp.ones((4, 4), bool))
    with pytest.raises(TypeError, match="regions"):
        image.addmask(np.float64(1.0))  # a lone number is no mask
