"""socca.datasets: the tutorial data written on demand, checked against the guide's files.

References that socca did not make: the user guide's own tutorial_mock.fits and
tutorial_psf.fits (tests.conftest.SHARED_DATA), astropy's WCS, and formulas
written here.
"""

import contextlib
import io
import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import socca
from socca import datasets
from socca.cli import quickstart_fit_model
from socca.data import Image
from socca.errors import InputError, InputTypeError, MissingFileError, SoccaError
from socca.inference.modelmaps import compiled_maps
from tests.conftest import SHARED_DATA

ARCSEC = 1.0 / 3600.0
SIGMA = 0.04
PIXEL = 0.1 * ARCSEC
# Posterior widths of the guide's published fit of its tutorial image (the
# generated image is statistically the same, so its posterior is as wide).
PUBLISHED_SIGMA = {"Ic": 0.36, "theta": 0.0043, "e": 0.0037, "re": 3.3e-6, "Ie": 0.0029}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The tutorial files, written once into a fresh folder."""
    return datasets.tutorial(tmp_path_factory.mktemp("tutorial"))


@pytest.fixture(scope="module")
def noiseless():
    return datasets.tutorial_image()


def quiet_image(*args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return Image(*args, **kwargs)


# --------------------------------------------------------------------------- the PSF


def test_psf_is_the_guides_psf():
    psf = datasets.tutorial_psf()
    guide = fits.getdata(SHARED_DATA / "tutorial_psf.fits").astype(float)
    assert psf.shape == (34, 34) and psf.dtype == np.float64
    np.testing.assert_allclose(psf, guide, rtol=1e-9, atol=1e-17)


def test_psf_is_the_stated_gaussian():
    """Unit sum, centred between the middle pixels, FWHM 5 and 4 pixels on the diagonals."""
    psf = datasets.tutorial_psf()
    assert psf.sum() == pytest.approx(1.0, abs=1e-14)
    rows, cols = np.indices(psf.shape)
    assert (psf * rows).sum() == pytest.approx(16.5, abs=1e-12)
    assert (psf * cols).sum() == pytest.approx(16.5, abs=1e-12)
    along = (rows - 16.5 + cols - 16.5) / np.sqrt(2)  # the (+row, +column) diagonal
    across = (rows - 16.5 - (cols - 16.5)) / np.sqrt(2)
    fwhm = 2 * np.sqrt(2 * np.log(2))
    assert np.sqrt((psf * along**2).sum()) * fwhm == pytest.approx(5.0, rel=1e-6)
    assert np.sqrt((psf * across**2).sum()) * fwhm == pytest.approx(4.0, rel=1e-6)
    assert (psf * along * across).sum() == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- the files


def test_files_load_with_their_wcs_and_psf(written):
    mock, psf = written
    assert (mock.name, psf.name) == datasets.TUTORIAL_FILES
    img = quiet_image(mock, addpsf=dict(img=psf))
    assert img.shape == (128, 128)
    assert img.psf.sum() == pytest.approx(1.0, abs=1e-12)
    wcs = WCS(fits.getheader(mock))
    guide = WCS(fits.getheader(SHARED_DATA / "tutorial_mock.fits"))
    assert list(wcs.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    np.testing.assert_array_equal(wcs.wcs.crval, guide.wcs.crval)
    np.testing.assert_array_equal(wcs.wcs.crpix, guide.wcs.crpix)
    np.testing.assert_allclose(wcs.wcs.cdelt, [-PIXEL, PIXEL], rtol=1e-12)
    np.testing.assert_allclose(wcs.wcs.cdelt, guide.wcs.cdelt, rtol=1e-12)
    ra, dec = wcs.pixel_to_world_values(64, 64)  # 0-based pixel of the sources
    assert (ra, dec) == pytest.approx((20.0, -10.0), abs=1e-12)
    header = fits.getheader(mock)
    assert header["BMAJ"] == pytest.approx(0.5 * ARCSEC) and header["NOISE"] == SIGMA


def test_noise_is_white_gaussian_of_the_stated_level(written, noiseless):
    data = fits.getdata(written.mock).astype(float)
    residual = data - noiseless
    assert residual.std() == pytest.approx(SIGMA, rel=0.03)  # 16384 pixels: 0.6% scatter
    assert abs(residual.mean()) < 4 * SIGMA / 128
    lag = np.corrcoef(residual[:, 1:].ravel(), residual[:, :-1].ravel())[0, 1]
    assert abs(lag) < 0.04
    again, _ = datasets.tutorial_hdus(seed=0)
    other, _ = datasets.tutorial_hdus(seed=1)
    np.testing.assert_array_equal(again.data, data)
    assert not np.allclose(other.data, data)


def test_noiseless_image_explains_the_guides_mock(noiseless):
    """The guide's image minus ours is pure noise of level 0.04, also on the sources.

    A source misplaced by half a pixel (or a PSF centred on the wrong pixel)
    leaves a residual of rms 0.11 in the central box.
    """
    guide = fits.getdata(SHARED_DATA / "tutorial_mock.fits").astype(float)
    residual = guide - noiseless
    assert residual.std() == pytest.approx(SIGMA, rel=0.03)
    centre = residual[48:80, 48:80]  # 1024 pixels holding most of the light
    assert np.sqrt((centre**2).mean()) == pytest.approx(SIGMA, rel=0.1)
    assert noiseless.sum() == pytest.approx(guide.sum(), abs=5 * SIGMA * 128)


@pytest.fixture(scope="module")
def tutorial_fit(written):
    """The README's first fit on the written files (compiled once)."""
    img = quiet_image(written.mock, addpsf=dict(img=written.psf))
    return socca.fitter(mod=quickstart_fit_model(), img=img)


def true_values(labels):
    return np.array([datasets.TUTORIAL_TRUTH[label.split("_", 2)[-1]] for label in labels])


def test_socca_model_of_the_truth_matches_the_image(tutorial_fit, noiseless):
    """socca renders the true model as the generator does, to a tenth of the noise.

    (socca samples each pixel at its centre, the generator averages over it:
    they differ most, by 0.04 sigma, next to the galaxy's cusp.)
    """
    fit = tutorial_fit
    single, _, _ = compiled_maps(fit.mod.components, fit.img, False, False, None)
    _, smoothed, _ = (np.asarray(m) for m in single(true_values(fit.labels)))
    assert np.abs(smoothed - noiseless).max() < 0.1 * SIGMA
    assert smoothed.sum() == pytest.approx(noiseless.sum(), rel=1e-3)


def test_optimizer_recovers_the_true_values(tutorial_fit):
    """Within 3 published posterior widths; the centre within 0.1 pixel."""
    fit = tutorial_fit
    fit.run(method="optimizer")
    names = [label.split("_", 2)[-1] for label in fit.labels]
    best = dict(zip(names, fit.samples[0], strict=True))
    truth = datasets.TUTORIAL_TRUTH
    assert abs(best["xc"] - truth["xc"]) * np.cos(np.radians(truth["yc"])) < 0.1 * PIXEL
    assert abs(best["yc"] - truth["yc"]) < 0.1 * PIXEL
    for name, width in PUBLISHED_SIGMA.items():
        assert abs(best[name] - truth[name]) < 3 * width, (name, best[name], truth[name])


# --------------------------------------------------------------------------- writing safely


def test_refuses_to_replace_a_users_file(tmp_path):
    mine = tmp_path / "tutorial_psf.fits"
    mine.write_bytes(b"my PSF")
    with pytest.raises(datasets.ExistingFileError, match="overwrite=True") as info:
        datasets.tutorial(tmp_path)
    assert str(mine) in str(info.value)
    assert isinstance(info.value, SoccaError) and isinstance(info.value, FileExistsError)
    assert mine.read_bytes() == b"my PSF"
    assert not (tmp_path / "tutorial_mock.fits").exists()  # checked before writing anything
    paths = datasets.tutorial(tmp_path, overwrite=True)
    assert fits.getdata(paths.psf).shape == (34, 34)


def test_refuses_a_folder_in_the_way(tmp_path):
    (tmp_path / "tutorial_mock.fits").mkdir()
    with pytest.raises(datasets.ExistingFileError, match="tutorial_mock.fits"):
        datasets.tutorial(tmp_path)


def test_same_data_again_is_left_alone(written):
    before = [os.stat(path).st_mtime_ns for path in written]
    assert datasets.tutorial(written.mock.parent) == written
    assert [os.stat(path).st_mtime_ns for path in written] == before


def test_a_different_seed_is_other_data(written):
    with pytest.raises(datasets.ExistingFileError, match="tutorial_mock.fits"):
        datasets.tutorial(written.mock.parent, seed=5)


def test_creates_the_folder_and_returns_paths(tmp_path):
    folder = tmp_path / "a" / "b"
    mock, psf = datasets.tutorial(str(folder))
    assert mock == folder / "tutorial_mock.fits" and psf == folder / "tutorial_psf.fits"
    assert mock.is_file() and psf.is_file()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(outdir=3), InputTypeError, "outdir: expected a folder path"),
        (dict(seed=-1), InputError, "seed: expected a non-negative integer, got -1"),
        (dict(seed=1.5), InputTypeError, "seed: expected a non-negative integer, got 1.5"),
        (dict(seed=True), InputTypeError, "got True"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, message):
    kwargs.setdefault("outdir", tmp_path)
    with pytest.raises(error, match=message):
        datasets.tutorial(**kwargs)


def test_outdir_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="is not a folder"):
        datasets.tutorial(tmp_path / "f")


# --------------------------------------------------------------------------- the hint


def test_missing_hint_names_both_ways():
    hint = datasets.missing_hint("some/where/tutorial_mock.fits")
    assert "socca.datasets.tutorial(" in hint and "socca demo --data" in hint
    assert datasets.missing_hint("tutorial_psf.fits") == hint
    assert datasets.missing_hint("galaxy.fits") == ""


def test_readme_fit_without_the_files_hints_at_the_datasets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingFileError) as info:
        quiet_image("tutorial_mock.fits", addpsf=dict(img="tutorial_psf.fits"))
    assert "socca demo --data" in str(info.value)
