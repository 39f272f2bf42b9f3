"""Parameter bounds read from priors; points beyond the edge shine on the image."""

import numpy as np
import pytest
from astropy.wcs import WCS
from scipy import signal

from socca import priors
from socca.data import Image
from socca.models import Gaussian, Model, Point
from socca.models.parameters import ParameterMap
from socca.models.reach import parameter_bounds
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


@pytest.mark.parametrize("x, y", [(-6.0, 20.0), (-6.0, -6.0), (53.0, 45.0), (10.0, 5.0)])
def test_point_at_the_prior_edge_is_convolved_without_wrapping(x, y):
    """A point off the image shines on it as a delta convolved directly (scipy)."""
    img = image()
    point = point_in_box(img, (-6.5, 53.5), (-6.5, 45.5))
    blob = Gaussian(xc=world(img, 20, 20)[0], yc=world(img, 20, 20)[1], rs=2 * ARCSEC, Is=3.0)
    renderer = Renderer(Model([point, blob]).components, img)
    flux = 7.0
    maps = renderer.render(np.array([*world(img, x, y), flux]))
    margin = 20
    canvas = np.zeros((SHAPE[0] + 2 * margin, SHAPE[1] + 2 * margin))
    canvas[int(y) + margin, int(x) + margin] = flux
    canvas[margin:-margin, margin:-margin] += np.asarray(Model([blob]).components[0].getmap(img))
    expected = signal.fftconvolve(canvas, PSF, mode="same")[margin:-margin, margin:-margin]
    np.testing.assert_allclose(np.asarray(maps.smoothed), expected, rtol=0, atol=1e-9 * flux)
