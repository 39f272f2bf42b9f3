"""Coordinate grid: world coordinates, tangent plane, sub-pixels, pixel map."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.wcs import WCS

import socca  # noqa: F401  (turns on jax x64)
from socca.data import Grid

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def tan_wcs(ra0, dec0, scale_arcsec, crpix, cd=None):
    """A TAN WCS; ``cd`` (2x2, deg/pixel) overrides the plain scale."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra0, dec0]
    w.wcs.crpix = crpix
    if cd is None:
        w.wcs.cdelt = [-scale_arcsec / 3600, scale_arcsec / 3600]
    else:
        w.wcs.cd = cd
    return w


@pytest.fixture(scope="module")
def mock_wcs():
    return WCS(str(DATA / "tutorial_mock.fits"))


def intermediate(wcs, x, y):
    """Intermediate world coordinates (deg) from wcslib: for TAN with the default
    LONPOLE these are the gnomonic standard coordinates (xi, eta)."""
    pix = np.column_stack([np.ravel(x), np.ravel(y)]) + 1.0  # wcslib counts from 1
    imgcrd = wcs.wcs.p2s(pix, 1)["imgcrd"]
    return imgcrd[:, 0].reshape(np.shape(x)), imgcrd[:, 1].reshape(np.shape(x))


def test_world_coordinates_match_astropy(mock_wcs):
    grid = Grid(mock_wcs, (128, 128))
    y, x = np.indices((128, 128))
    sky = mock_wcs.pixel_to_world(x, y)
    assert grid.ra.shape == grid.dec.shape == (128, 128)
    assert grid.ra.dtype == grid.dec.dtype == np.float64
    np.testing.assert_allclose(grid.ra, sky.ra.deg, rtol=0, atol=1e-10)
    np.testing.assert_allclose(grid.dec, sky.dec.deg, rtol=0, atol=1e-10)
    assert (grid.ra0, grid.dec0) == (20.0, -10.0)
    assert grid.pixscale == pytest.approx(0.1 / 3600, rel=1e-9)


@pytest.mark.parametrize("subgrid", [1, 2, 3])
def test_tangent_plane_against_wcslib(mock_wcs, subgrid):
    grid = Grid(mock_wcs, (128, 128), subgrid=subgrid)
    assert grid.xi.shape == grid.eta.shape == (subgrid**2, 128, 128)
    y, x = np.indices((128, 128), dtype=float)
    off = (np.arange(subgrid) + 0.5) / subgrid - 0.5
    for s in range(subgrid**2):
        iy, ix = divmod(s, subgrid)
        xi, eta = intermediate(mock_wcs, x + off[ix], y + off[iy])
        np.testing.assert_allclose(grid.xi[s], xi, rtol=0, atol=1e-13)
        np.testing.assert_allclose(grid.eta[s], eta, rtol=0, atol=1e-13)
    # Sub-pixels average to the pixel centre.
    centre = Grid(mock_wcs, (128, 128))
    np.testing.assert_allclose(grid.xi.mean(0), centre.xi[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(grid.eta.mean(0), centre.eta[0], rtol=0, atol=1e-13)


def test_orientation_east_and_north(mock_wcs):
    grid = Grid(mock_wcs, (128, 128))
    # RA grows to the left (decreasing x) on a standard image: xi must follow RA.
    assert np.all(np.diff(grid.xi[0], axis=1) < 0)
    assert np.all(np.diff(grid.eta[0], axis=0) > 0)
    xi, eta = grid.project(20.001, -10.0)
    assert float(xi) > 0 and abs(float(eta)) < 1e-7


def test_ra_wraparound_is_continuous():
    wcs = tan_wcs(0.001, 5.0, 1.0, [40.5, 30.5])
    grid = Grid(wcs, (60, 80), subgrid=2)
    assert grid.ra.min() >= 0 and grid.ra.max() < 360
    assert grid.ra.min() < 0.01 and grid.ra.max() > 359.99  # the image straddles RA = 0
    step = np.diff(grid.xi, axis=2)
    np.testing.assert_allclose(step, -1 / 3600, rtol=1e-6)
    y, x = np.indices((60, 80), dtype=float)
    xi, eta = intermediate(wcs, x, y)
    np.testing.assert_allclose(grid.xi.mean(0), xi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grid.eta.mean(0), eta, rtol=0, atol=1e-12)


def test_project_is_traceable(mock_wcs):
    grid = Grid(mock_wcs, (128, 128))
    ra = jnp.array([19.99, 20.0, 20.01])
    dec = jnp.array([-10.01, -10.0, -9.99])
    eager = grid.project(ra, dec)
    jitted = jax.jit(grid.project)(ra, dec)
    mapped = jax.vmap(grid.project)(ra, dec)
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    for a, b in zip(eager, mapped, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    assert eager[0].dtype == jnp.float64
    # d(xi)/d(ra) = cos(dec0), d(eta)/d(dec) = 1 at the tangent point.
    dxi = jax.grad(lambda a: grid.project(a, -10.0)[0])(20.0)
    deta = jax.grad(lambda d: grid.project(20.0, d)[1])(-10.0)
    assert float(dxi) == pytest.approx(np.cos(np.deg2rad(10.0)), rel=1e-12)
    assert float(deta) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    "wcs",
    [
        WCS(str(DATA / "tutorial_mock.fits")),
        # rotated, sheared, non-square pixels near RA = 0
        tan_wcs(0.002, -45.0, None, [10.3, 20.7],
                cd=np.array([[-2.0e-4, 3.0e-5], [2.5e-5, 1.5e-4]])),
    ],
    ids=["tutorial", "rotated"],
)
def test_pixel_of_inverts_project(wcs):
    grid = Grid(wcs, (40, 50))
    rng = np.random.default_rng(1)
    x = rng.uniform(-5, 55, 200)
    y = rng.uniform(-5, 45, 200)
    ra, dec = wcs.pixel_to_world_values(x, y)
    px, py = jax.jit(lambda a, d: grid.pixel_of(*grid.project(a, d)))(ra, dec)
    np.testing.assert_allclose(px, x, rtol=0, atol=1e-9)
    np.testing.assert_allclose(py, y, rtol=0, atol=1e-9)
    ref = np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix)))
    assert grid.pixscale == pytest.approx(ref, rel=1e-6)


def test_bad_arguments(mock_wcs):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="subgrid"):
            Grid(mock_wcs, (10, 10), subgrid=bad)
    with pytest.raises(ValueError, match="shape"):
        Grid(mock_wcs, (10, 0))
    linear = WCS(naxis=2)
    with pytest.raises(ValueError, match="celestial"):
        Grid(linear, (10, 10))
    with pytest.raises(TypeError, match="wcs"):
        Grid("not a wcs", (10, 10))
