"""The padding follows how far the point sources' priors reach past the image."""

import numpy as np
import pytest
from astropy.wcs import WCS
from scipy import signal
from scipy.fft import next_fast_len

from socca import priors
from socca.data import Image
from socca.models import Gaussian, Model, Point
from socca.models.convolve import FourierConvolver
from socca.models.parameters import ParameterMap
from socca.models.reach import parameter_bounds, point_reach
from socca.models.render import Renderer
from socca.noise import Normal
from tests.conftest import ARCSEC, gaussian_psf, make_hdu

SHAPE = (40, 48)
PSF = gaussian_psf(31, 3.0)  # half-width 15


def image():
    return Image(make_hdu(SHAPE), noise=Normal(sigma=1.0), addpsf=dict(img=PSF))


def world(img, x, y):
    """RA, Dec (deg) of 0-based pixel ``(x, y)``, possibly off the image."""
    ra, dec = WCS(img.hdu.header).pixel_to_world_values(x, y)
    return float(ra), float(dec)


def point_in_box(img, x_range, y_range):
    """A point whose uniform priors span the pixel box ``x_range`` × ``y_range``."""
    corners = [world(img, x, y) for x in x_range for y in y_range]
    ras, decs = zip(*corners, strict=True)
    return Point(
        xc=priors.uniform(min(ras), max(ras)),
        yc=priors.uniform(min(decs), max(decs)),
        Ic=priors.uniform(0.0, 10.0),
    )


def test_bounds_of_fixed_free_and_tied_parameters():
    point = Point(xc=20.0, yc=priors.uniform(-10.1, -9.9), Ic=priors.normal(1.0, 0.1))
    blob = Gaussian(
        xc=priors.boundto(point, "xc"), yc=priors.boundto(point, "yc"), rs=ARCSEC, Is=1.0
    )
    blob.rs = tied_to(point, "Ic")
    pmap = ParameterMap(Model([point, blob]).components)
    p, b = point.id, blob.id
    assert parameter_bounds(pmap, f"{p}_xc") == (20.0, 20.0)
    assert parameter_bounds(pmap, f"{p}_yc") == pytest.approx((-10.1, -9.9))
    assert parameter_bounds(pmap, f"{b}_yc") == pytest.approx((-10.1, -9.9))
    assert parameter_bounds(pmap, f"{p}_Ic") is None  # unbounded prior
    assert parameter_bounds(pmap, f"{b}_rs") is None  # a function of another label


def tied_to(comp, name):
    """A functional prior of ``comp.name`` (its argument named after the label)."""
    scope = {"ARCSEC": ARCSEC}
    exec(f"def tie({comp.id}_{name}):\n    return 1.0 + 0.0 * {comp.id}_{name}", scope)
    return scope["tie"]


def test_points_on_the_image_need_half_the_padding():
    img = image()
    centre = point_in_box(img, (22.0, 26.0), (18.0, 22.0))
    renderer = Renderer(Model([centre]).components, img)
    # one half-width (15) of padding instead of two: 40 + 15 -> 60, 48 + 15 -> 64
    assert renderer.convolver.padded == (60, 64)
    assert FourierConvolver(img.psf).padded == (72, 80)


@pytest.mark.parametrize(
    "x_range, y_range, expected",
    [
        ((-2.5, 10.0), (5.0, 30.0), (0, 4)),  # 2.5 pixels off, one of margin, rounded up
        ((40.0, 46.5), (5.0, 30.0), (0, 1)),  # half a pixel inside: the margin alone
        ((20.0, 30.0), (-0.5, 10.0), (2, 0)),
        ((20.0, 30.0), (10.0, 20.0), (0, 0)),  # well inside
        ((-40.0, 10.0), (5.0, 30.0), (0, 15)),  # farther than the PSF reaches: a half-width
    ],
)
def test_reach_follows_a_prior_past_the_edge(x_range, y_range, expected):
    img = image()
    point = point_in_box(img, x_range, y_range)
    renderer = Renderer(Model([point]).components, img)
    assert point_reach(renderer.pmap, [point], renderer.grid, SHAPE, (15, 15)) == expected
    reach = np.asarray(renderer.convolver.reach)
    assert np.all(reach >= expected)
    assert renderer.convolver.padded == tuple(
        next_fast_len(n + 15 + r, real=True) for n, r in zip(SHAPE, expected, strict=True)
    )


def functional_position():
    point = Point(xc=20.0, yc=-10.0, Ic=priors.uniform(0.0, 1.0))
    point.yc = tied_to(point, "Ic")
    return point


@pytest.mark.parametrize(
    "make_point",
    [
        lambda: Point(xc=priors.normal(20.0, 1 * ARCSEC), yc=-10.0, Ic=1.0),  # unbounded
        lambda: Point(xc=priors.uniform(5.0, 35.0), yc=-10.0, Ic=1.0),  # 30 degrees wide
        functional_position,
    ],
)
def test_unknown_reach_pads_fully(make_point):
    point = make_point()
    conv = Renderer(Model([point]).components, image()).convolver
    assert conv.reach == (15, 15)
    assert conv.padded == FourierConvolver(image().psf).padded


@pytest.mark.parametrize("x, y", [(-6.0, 20.0), (-6.0, -6.0), (53.0, 45.0), (10.0, 5.0)])
def test_point_at_the_prior_edge_is_convolved_without_wrapping(x, y):
    """A point off the image shines on it as a delta convolved directly (scipy)."""
    img = image()
    point = point_in_box(img, (-6.5, 53.5), (-6.5, 45.5))  # reach 8: 64 x 72, not 72 x 80
    blob = Gaussian(xc=world(img, 20, 20)[0], yc=world(img, 20, 20)[1], rs=2 * ARCSEC, Is=3.0)
    renderer = Renderer(Model([point, blob]).components, img)
    assert renderer.convolver.padded != FourierConvolver(img.psf).padded
    flux = 7.0
    maps = renderer.render(np.array([*world(img, x, y), flux]))
    margin = 20
    canvas = np.zeros((SHAPE[0] + 2 * margin, SHAPE[1] + 2 * margin))
    canvas[int(y) + margin, int(x) + margin] = flux
    canvas[margin:-margin, margin:-margin] += np.asarray(Model([blob]).components[0].getmap(img))
    expected = signal.fftconvolve(canvas, PSF, mode="same")[margin:-margin, margin:-margin]
    np.testing.assert_allclose(np.asarray(maps.smoothed), expected, rtol=0, atol=1e-9 * flux)
