"""The fitter facade: results, printouts, model maps, FITS output, persistence, errors."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import socca
from socca import priors, simulate
from socca.cli import quickstart_fit_model
from socca.inference.results import Result
from socca.models import Background, Gaussian, Model, Point

ARCSEC = 1 / 3600
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mock():
    img, truth = simulate.mock_observation(
        simulate.quickstart_truth(), shape=(64, 64), sigma=0.02, seed=3
    )
    return img, truth


@pytest.fixture(scope="module")
def optimized(mock):
    img, _ = mock
    fit = socca.fitter(mod=quickstart_fit_model(), img=img)
    fit.run(method="optimizer")
    return fit


def fake_posterior(fit, n=400, seed=0):
    """Attach a Gaussian cloud around the optimum as if a sampler had produced it."""
    rng = np.random.default_rng(seed)
    best = fit.samples[0]
    positions = np.array([lab.endswith(("_xc", "_yc")) for lab in fit.labels])
    scale = np.where(positions, 0.01 * ARCSEC, np.abs(best) * 1e-3)
    fit._result = Result(best + rng.normal(size=(n, best.size)) * scale, np.ones(n))
    fit.method = "emcee"
    return best, scale


def test_method_specific_results_are_attributes(optimized):
    fit = optimized
    fit.run(method="optimizer")
    np.testing.assert_array_equal(fit.results.x, fit.samples[0])
    assert -fit.results.fun == pytest.approx(float(fit.loglike(fit.samples[0])), rel=1e-9)
    assert fit.method == "optimizer" and fit.logz is None
    with pytest.raises(AttributeError, match="tau"):
        _ = fit.tau


def test_public_compiled_functions(optimized):
    fit = optimized
    u = np.full((5, len(fit.labels)), 0.5)
    thetas = np.asarray(fit.prior_transform(u))
    assert thetas.shape == (5, 7)
    batch = np.asarray(fit.loglike_batch(thetas))
    assert batch.shape == (5,)
    assert batch[0] == pytest.approx(float(fit.loglike(thetas[0])), rel=1e-12)
    assert np.isfinite(float(fit.log_prior(thetas[0])))
    assert fit.labels[0].endswith("_xc") and fit.units[0] == "deg"


def test_parameter_table_format(optimized, capsys):
    fit = optimized
    fit.parameters()
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["", "Best-fit parameters", "=" * 40]
    point_id, gal_id = (c.id for c in fit.mod.components)
    assert lines[4:6] == [point_id, "-" * len(point_id)]
    assert re.fullmatch(r"xc : 2\.0000E\+01", lines[6])
    fake_posterior(fit)
    fit.parameters()
    out = capsys.readouterr().out
    assert re.search(r"^theta : 8\.\d{4}E-01 \[\+\d\.\d{4}E-04/-\d\.\d{4}E-04\]$", out, re.M)
    assert f"\n{gal_id}\n{'-' * len(gal_id)}\n" in out


def test_weighted_median_and_percentiles(optimized, capsys):
    fit = optimized
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(20000, 7))
    weights = rng.uniform(size=20000)
    fit._result = Result(samples, weights)
    fit.method = "nautilus"
    from socca.inference.summary import best_fit

    low, mid, high = best_fit(fit.samples, fit.weights)
    order = np.argsort(samples[:, 0])
    cdf = np.cumsum(weights[order]) / weights.sum()
    assert mid[0] == pytest.approx(samples[order, 0][np.searchsorted(cdf, 0.5)], abs=5e-3)
    assert high[0] - mid[0] == pytest.approx(1.0, abs=0.05)
    assert fit.weights.sum() == pytest.approx(1.0)


def test_getmodel_products_and_components(optimized, mock):
    fit = optimized
    fit.run(method="optimizer")
    raw, smoothed, bkg = fit.getmodel()
    np.testing.assert_array_equal(fit.getmodel(what="conv"), smoothed)
    np.testing.assert_array_equal(fit.getmodel(what="convolved"), smoothed)
    np.testing.assert_array_equal(fit.getmodel(what="bkg"), bkg)
    r2, b2 = fit.getmodel(what=["raw", "background"])
    np.testing.assert_array_equal(r2, raw)
    point, galaxy = fit.mod.components
    parts = [fit.getmodel(what="raw", component=c) for c in (0, galaxy.id)]
    np.testing.assert_allclose(parts[0] + parts[1], raw, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fit.getmodel(what="raw", component=[point, 1]), raw, rtol=1e-12)
    # the fit matches the noiseless truth far below the noise
    _, truth = mock
    assert np.abs(smoothed + bkg - truth).max() < 0.02
    with pytest.raises(ValueError, match="model product"):
        fit.getmodel(what="residual")


def test_usebest_false_is_the_median_of_realisations(optimized):
    fit = optimized
    fit.run(method="optimizer")
    best, _ = fake_posterior(fit, n=300)
    med = fit.getmodel(what="smoothed", usebest=False, progress=False)
    best_map = fit.getmodel(what="smoothed")
    assert np.abs(med - best_map).max() < 0.01 * np.abs(best_map).max()
    assert not np.array_equal(med, best_map)


def test_savemodel_writes_wcs_and_keywords(optimized, tmp_path, capsys):
    fit = optimized
    fit.run(method="optimizer")
    one, many = tmp_path / "raw_model.fits", tmp_path / "all.fits"
    fit.savemodel(str(one), what="raw")
    assert capsys.readouterr().out.splitlines()[-2:] == ["Generating raw model", f"Saved to {one}"]
    hdr = fits.getheader(one)
    assert hdr["MODEL"] == "raw"
    np.testing.assert_allclose(fits.getdata(one), fit.getmodel(what="raw"))
    w = WCS(hdr)
    np.testing.assert_allclose(w.wcs.crval, fit.img.wcs.wcs.crval)
    np.testing.assert_allclose(
        w.pixel_to_world_values(3, 7), fit.img.wcs.pixel_to_world_values(3, 7)
    )
    fit.savemodel(str(many))
    hdr = fits.getheader(many)
    assert hdr["NSLICES"] == 3 and [hdr[f"SLICE{i}"] for i in (1, 2, 3)] == [
        "raw",
        "smoothed",
        "background",
    ]
    assert fits.getdata(many).shape == (3, 64, 64)
    # one component alone: its convolved model, one 2-D image
    part = tmp_path / "component_0.fits"
    fit.savemodel(str(part), component=0)
    hdr = fits.getheader(part)
    assert fits.getdata(part).shape == (64, 64)
    assert hdr["MODEL"] == "smoothed" and hdr["COMPS"] == fit.mod.components[0].id
    assert "NSLICES" not in hdr
    np.testing.assert_allclose(fits.getdata(part), fit.getmodel(what="smoothed", component=0))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fit.savemodel(str(one), what="raw")
    fit.savemodel(str(one), what="smoothed", overwrite=True)
    assert fits.getheader(one)["MODEL"] == "smoothed"


def test_dump_and_load_in_a_fresh_process(optimized, tmp_path):
    fit = optimized
    fit.run(method="optimizer")
    path = tmp_path / "fit.pickle"
    fit.dump(str(path))
    with pytest.raises(FileExistsError):
        fit.dump(str(path))
    code = (
        "import socca, numpy as np;"
        f"fit = socca.load({str(path)!r});"
        "fit.parameters();"
        "print('SUM', float(fit.getmodel(what='smoothed').sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=True,
    ).stdout
    assert "Best-fit parameters" in out
    total = float(out.split("SUM")[1])
    assert total == pytest.approx(float(fit.getmodel(what="smoothed").sum()), rel=1e-10)


def test_interrupted_dump_and_savemodel_keep_the_previous_file(optimized, tmp_path, monkeypatch):
    """Both write a temporary file and rename it: a failure mid-write changes nothing."""
    import socca.fitting
    import socca.inference.modelmaps

    fit = optimized
    fit.run(method="optimizer")
    pickle, image = tmp_path / "fit.pickle", tmp_path / "model.fits"
    fit.dump(pickle)
    fit.savemodel(str(image), what="raw")
    saved = {p: p.read_bytes() for p in (pickle, image)}

    def dies_mid_write(obj, fh, **kwargs):
        fh.write(b"half of it")
        raise KeyboardInterrupt

    monkeypatch.setattr(socca.fitting.dill, "dump", dies_mid_write)
    with pytest.raises(KeyboardInterrupt):
        fit.dump(pickle, overwrite=True)
    monkeypatch.setattr(socca.inference.modelmaps.fits.PrimaryHDU, "writeto", dies_mid_write)
    with pytest.raises(KeyboardInterrupt):
        fit.savemodel(str(image), what="smoothed", overwrite=True)
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in saved} == saved
    assert sorted(tmp_path.iterdir()) == sorted(saved)  # no temporary file left
    # without overwrite=True nothing is written at all
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fit.dump(pickle)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fit.savemodel(str(image))
    assert {p: p.read_bytes() for p in saved} == saved
    fit.dump(pickle, overwrite=True)
    assert isinstance(socca.load(pickle), socca.fitter)


def test_bmc_needs_evidence_and_prior_run(optimized):
    fit = optimized
    fit.run(method="optimizer")
    with pytest.raises(ValueError, match="no evidence"):
        fit.bmc()
    with pytest.raises(ValueError, match="getzprior"):
        fit.run(method="optimizer", getzprior=True)


def test_errors_before_running(mock):
    img, _ = mock
    fit = socca.fitter(mod=quickstart_fit_model(), img=img)
    with pytest.raises(RuntimeError, match="run"):
        fit.getmodel()
    with pytest.raises(RuntimeError, match="run"):
        fit.parameters()
    with pytest.raises(ValueError, match="unknown method 'multinest'"):
        fit.run(method="multinest")
    assert priors.is_free(fit.mod.components[0].xc)


def test_conflicting_parallel_options_are_refused(optimized):
    with pytest.raises(ValueError, match="ncores or pool"):
        optimized.run(method="nautilus", ncores=2, pool=2)
    with pytest.raises(ValueError, match="vectorize=True"):
        optimized.run(method="emcee", pool=2, vectorize=True)


def normal_null_loglike(img, sigma):
    """ln L of the empty model under independent Gaussian noise, written out."""
    use = np.asarray(img.mask, dtype=bool)
    data = np.asarray(img.data)[use]
    norm = use.sum() * np.log(sigma * np.sqrt(2 * np.pi))
    return float(-0.5 * np.sum((data / sigma) ** 2) - norm)


def quickstart_log_prior_evidence(ra=20.0, dec=-10.0):
    """ln of the integral of the squared prior density of ``quickstart_fit_model``, by hand.

    Uniform on a width w: 1/w. Log-uniform on [a, b]: (1/a - 1/b) / ln(b/a)^2.
    """

    def loguniform(a, b):
        return np.log((1 / a - 1 / b) / np.log(b / a) ** 2)

    widths = [4 * ARCSEC, 4 * ARCSEC, 50.0, np.pi, 0.9]  # xc, yc, Ic, theta, e
    return -np.sum(np.log(widths)) + loguniform(0.1 * ARCSEC, 10 * ARCSEC) + loguniform(0.01, 10)


def test_bmc_against_the_null_model(capsys, tmp_path):
    img, _ = simulate.mock_observation(
        simulate.quickstart_truth(), shape=(32, 32), sigma=0.05, seed=4
    )
    fit = socca.fitter(mod=quickstart_fit_model(), img=img)
    fit.run(
        method="nautilus",
        nlive=100,
        n_networks=1,
        n_eff=2000,
        getzprior=True,
        seed=3,
        progress=False,
    )
    capsys.readouterr()
    ln_raw, sig_raw, ln_deb, sig_deb = fit.bmc()
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["null-model comparison", "=" * 21]
    assert lines[2] == f"ln(Bayes factor) : {ln_raw:.3E}"
    assert lines[3] == f"effective sigma : {sig_raw:.3E}"
    assert lines[5:7] == ["prior deboosted", "=" * 21]
    assert lines[7] == f"ln(Bayes factor) : {ln_deb:.3E}"
    null = normal_null_loglike(img, 0.05)
    assert ln_raw == pytest.approx(fit.logz - null, rel=1e-12)
    assert sig_raw == pytest.approx(np.sqrt(2 * ln_raw))
    # the prior evidence: the prior sampled with its own density as likelihood,
    # Z = integral of pi^2, known in closed form for these priors (about e^16.8)
    ln_zprior = quickstart_log_prior_evidence()
    assert fit._prior_result.logz == pytest.approx(ln_zprior, abs=0.3)
    assert ln_deb == pytest.approx(ln_raw - fit._prior_result.logz, rel=1e-12)
    assert ln_deb < ln_raw  # as in the guide's example
    assert sig_deb == pytest.approx(np.sqrt(2 * ln_deb))
    # the prior-evidence run survives a dump (its sampler is dropped) and bmc agrees after load
    fit.dump(tmp_path / "zprior.pickle")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zprior.pickle"]
    reloaded = socca.load(tmp_path / "zprior.pickle")
    assert reloaded.bmc() == pytest.approx((ln_raw, sig_raw, ln_deb, sig_deb), rel=1e-12)


def test_bmc_without_prior_evidence_warns_and_returns_none(optimized, capsys):
    fit = optimized
    fit.run(method="optimizer")
    fit._result = Result(fit.samples, np.ones(1), logz=float(fit.loglike(fit.samples[0])) - 20)
    fit.method = "nautilus"  # as if a nested sampler had given this evidence
    capsys.readouterr()
    with pytest.warns(UserWarning, match="getzprior=True"):
        ln_raw, sig_raw, ln_deb, sig_deb = fit.bmc()
    assert ln_raw == pytest.approx(fit.logz - normal_null_loglike(fit.img, 0.02), rel=1e-10)
    assert sig_raw == pytest.approx(np.sqrt(2 * ln_raw))
    assert ln_deb is None and sig_deb is None
    out = capsys.readouterr().out
    assert "null-model comparison" in out and "prior deboosted" not in out


def test_prior_evidence_of_known_priors():
    """The prior-evidence problem on uniform and normal priors: ln of the integral of pi^2."""
    from socca.inference.backends import dynesty
    from socca.inference.noise_run import PriorProblem

    img, _ = simulate.mock_observation(
        simulate.quickstart_truth(), shape=(16, 16), sigma=0.05, seed=4
    )
    src = Gaussian(
        xc=priors.uniform(20 - 3 * ARCSEC, 20 + 3 * ARCSEC),
        yc=priors.normal(-10.0, ARCSEC),
        rs=2 * ARCSEC,
        Is=priors.uniform(0.5, 2.5),
    )
    fit = socca.fitter(Model([src]), img)
    result = dynesty.run(PriorProblem(fit.problem), nlive=100, dlogz=0.1, seed=1, progress=False)
    # uniform: 1 / width; normal: 1 / (2 sigma sqrt(pi))
    expected = -np.log(6 * ARCSEC) - np.log(2 * ARCSEC * np.sqrt(np.pi)) - np.log(2.0)
    assert result.logz == pytest.approx(expected, abs=0.2)


def test_fitter_takes_model_and_image_in_either_order(mock):
    img, _ = mock
    mod = quickstart_fit_model()
    fit = socca.fitter(img, mod)
    assert fit.mod is mod and fit.img is img
    assert socca.fitter(mod, img).labels == fit.labels
    assert socca.fitter(img=img, mod=mod).mod is mod


@pytest.mark.parametrize(
    ("second", "got"),
    [("model", "got Model and Model"), ("path", "got Model and str"), (3, "got Model and int")],
)
def test_fitter_wrong_types_state_the_expected_order(second, got):
    mod = quickstart_fit_model()
    second = {"model": mod, "path": "a/long/" * 20 + "img.fits"}.get(second, second)
    with pytest.raises(socca.SoccaError, match="fitter") as err:
        socca.fitter(mod, second)
    message = str(err.value)
    assert "expected a socca.models.Model and a socca.data.Image, in either order" in message
    assert got in message
    assert message.count("(") == message.count(")")  # nothing cut in the middle
    assert "<socca" not in message  # no repr cut off mid-way


def test_method_names_ignore_case_and_typos_get_a_suggestion(optimized):
    fit = optimized
    fit.run(method="Optimizer")
    assert fit.method == "optimizer"
    with pytest.raises(socca.SoccaError, match=r"'nautlius' \(did you mean 'nautilus'\?\)"):
        fit.run(method="nautlius")
    with pytest.raises(ValueError, match="available: nautilus, dynesty"):
        fit.run(method="multinest")


def test_model_without_free_parameters(mock, tmp_path):
    img, _ = mock
    fixed = Model([Gaussian(xc=20.0, yc=-10.0, rs=2 * ARCSEC, Is=1.0, e=0.2, theta=0.3)])
    fit = socca.fitter(fixed, img)
    assert fit.labels == ()
    raw, smoothed, background = fit.getmodel()
    # the likelihood of the fixed model, written out for independent Gaussian pixels
    sigma = 0.02
    resid = (np.asarray(img.data) - smoothed - background) / sigma
    expected = -0.5 * np.sum(resid**2) - resid.size * np.log(sigma * np.sqrt(2 * np.pi))
    assert float(fit.loglike([])) == pytest.approx(expected, rel=1e-12)
    assert float(fit.loglike_batch(np.zeros((3, 0)))[2]) == pytest.approx(expected, rel=1e-12)
    assert raw.sum() > 0 and np.array_equal(fit.getmodel(what="smoothed", usebest=False), smoothed)
    fit.savemodel(str(tmp_path / "fixed.fits"), what="smoothed")
    np.testing.assert_allclose(fits.getdata(tmp_path / "fixed.fits"), smoothed)
    fig = fit.plot.comparison(name=str(tmp_path / "fixed"), fmt="png")
    assert fig is not None and (tmp_path / "fixed.png").exists()
    with pytest.raises(ValueError, match="no free parameters"):
        fit.plot.corner()
    with pytest.raises(socca.SoccaError, match="the model has no free parameters"):
        fit.run(method="optimizer")
    reloaded = _roundtrip(fit, tmp_path)
    assert float(reloaded.loglike([])) == pytest.approx(expected, rel=1e-12)


def _roundtrip(fit, tmp_path):
    fit.dump(tmp_path / "fit.pickle", overwrite=True)
    return socca.load(tmp_path / "fit.pickle")


def test_position_prior_off_the_image_warns(mock):
    img, _ = mock  # 64 x 64 pixels of 0.1 arcsec around (20, -10): 3.2" on each side
    ra_per_arcsec = ARCSEC / np.cos(np.radians(10.0))

    def point(ra_lo, ra_hi):
        return Point(
            xc=priors.uniform(20 + ra_lo * ra_per_arcsec, 20 + ra_hi * ra_per_arcsec),
            yc=priors.uniform(-10 - 2 * ARCSEC, -10 + 2 * ARCSEC),
            Ic=priors.uniform(0.0, 10.0),
        )

    off, edge, around = point(4, 5), point(3, 4), point(-20, 20)
    fixed = Point(xc=20 + 5 * ra_per_arcsec, yc=-10.0, Ic=1.0)
    sky = Background(a0=priors.uniform(-1, 1))
    with pytest.warns(UserWarning, match="lies entirely outside the image") as record:
        socca.fitter(Model([off, edge, around, fixed, sky]), img)
    messages = [str(w.message) for w in record if "outside the image" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith(f"{off.id}:")


def test_compiled_functions_take_plain_lists(optimized):
    fit = optimized
    theta = [float(v) for v in fit.samples[0]]
    assert float(fit.loglike(theta)) == pytest.approx(float(fit.loglike(np.asarray(theta))))
    batch = np.asarray(fit.loglike_batch([theta, theta]))
    assert batch.shape == (2,) and batch[0] == pytest.approx(float(fit.loglike(theta)))


def test_bmc_refuses_a_null_model_of_zero_likelihood():
    from tests.conftest import make_hdu

    counts = np.random.default_rng(0).poisson(3.0, (8, 8)).astype(float)
    img = socca.data.Image(make_hdu((8, 8), data=counts), noise=socca.noise.Poisson())
    fit = socca.fitter(Model([Background(a0=priors.uniform(0.0, 10.0))]), img)
    fit._result, fit.method = Result(np.full((1, 1), 3.0), np.ones(1), logz=-150.0), "dynesty"
    # no source predicts zero counts where there are some: the null model is impossible
    with pytest.raises(ValueError, match="null model .* log-likelihood -inf"):
        fit.bmc()
