"""Progress output of long loops, and the switch that silences it."""

import pytest

import socca
from socca import priors
from socca.models import Gaussian, Model
from tests.conftest import ARCSEC, make_hdu


@pytest.fixture(scope="module")
def small_fit():
    hdu = make_hdu((24, 24), seed=4)
    hdu.data *= 0.05
    img = socca.data.Image(hdu, noise=socca.noise.Normal(sigma=0.05))
    src = Gaussian(
        xc=20.0,
        yc=-10.0,
        rs=priors.uniform(1 * ARCSEC, 4 * ARCSEC),
        Is=priors.uniform(0.0, 2.0),
        e=0.0,
    )
    return socca.fitter(mod=Model([src]), img=img)


def test_emcee_bar_shown_and_silenced(small_fit, capsys):
    small_fit.run(method="emcee", nwalkers=8, nsteps=40, discard=10, seed=1)
    assert "40/40" in capsys.readouterr().err
    small_fit.run(method="emcee", nwalkers=8, nsteps=40, discard=10, seed=1, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    small_fit.run(method="emcee", nwalkers=8, nsteps=40, discard=10, seed=1, verbose=False)
    assert capsys.readouterr().err == ""


def test_marginal_model_bar(small_fit, capsys):
    small_fit.run(method="emcee", nwalkers=8, nsteps=40, discard=10, seed=1, progress=False)
    small_fit.getmodel(what="smoothed", usebest=False)
    assert "model realisations" in capsys.readouterr().err
    small_fit.getmodel(what="smoothed", usebest=False, progress=False)
    assert capsys.readouterr().err == ""


def test_prior_evidence_run_announced(small_fit, capsys):
    small_fit.run(method="dynesty", nlive=20, seed=2, getzprior=True, dlogz=5.0)
    out = capsys.readouterr().out
    assert out.count("Prior evidence: sampling the prior with its density as likelihood") == 1
    small_fit.run(method="dynesty", nlive=20, seed=2, getzprior=True, dlogz=5.0, verbose=False)
    assert capsys.readouterr().out == ""


def test_nautilus_needs_two_parameters(capsys):
    hdu = make_hdu((16, 16), seed=5)
    img = socca.data.Image(hdu, noise=socca.noise.Normal(sigma=1.0))
    src = Gaussian(xc=20.0, yc=-10.0, rs=2 * ARCSEC, Is=priors.uniform(0.0, 2.0))
    fit = socca.fitter(mod=Model([src]), img=img)
    with pytest.raises(ValueError, match="at least 2 free parameters, the model has 1"):
        fit.run(method="nautilus")
