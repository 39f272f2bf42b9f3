"""A small fit shared by the parallel tests and their MPI script.

A 24×24 image of a circular Gaussian blob (centre fixed, size and brightness
free) with Gaussian noise: two free parameters, cheap likelihood, and a
posterior narrow enough that run-to-run differences are small.
"""

from __future__ import annotations

import numpy as np

import socca
from socca import priors, simulate
from socca.models import Gaussian, Model

ARCSEC = 1.0 / 3600.0
# small but stable settings (a three-layer MAF trains fast for pocomc)
OPTIONS = {
    "nautilus": {"n_live": 100, "n_eff": 500, "n_networks": 2},
    "dynesty": {"nlive": 100},
    "pocomc": {"nlive": 100, "n_total": 500, "n_evidence": 500, "flow": "maf3"},
}


def image():
    """The mock: a Gaussian of 3" and unit brightness on a 24×24, 1"/pixel grid."""
    truth = Model([Gaussian(xc=20.0, yc=-10.0, rs=3 * ARCSEC, Is=1.0)])
    img, _ = simulate.mock_observation(truth, shape=(24, 24), pixscale=ARCSEC, sigma=0.1, seed=1)
    return img


def model():
    """The fitted model: centre fixed, size and brightness with uniform priors."""
    blob = Gaussian(
        xc=20.0,
        yc=-10.0,
        rs=priors.uniform(1 * ARCSEC, 6 * ARCSEC),
        Is=priors.uniform(0.2, 2.0),
    )
    return Model([blob])


def fitter():
    """A fitter of :func:`model` on :func:`image`."""
    return socca.fitter(model(), image())


def summary(fit):
    """Weighted mean and standard deviation of each parameter, and log Z."""
    w = fit.weights
    mean = w @ fit.samples
    std = np.sqrt(w @ (fit.samples - mean) ** 2)
    return {
        "mean": mean.tolist(),
        "std": std.tolist(),
        "logz": fit.logz,
        "logz_err": fit._result.logz_err,
    }


def run(fit, method, **kwargs):
    """Run ``method`` on ``fit`` quietly with the small settings; return :func:`summary`."""
    fit.run(method=method, seed=1, progress=False, **OPTIONS[method], **kwargs)
    return summary(fit)


def assert_consistent(a, b):
    """Two posterior summaries agree within the sampling noise of these small runs."""
    mean_a, mean_b = np.array(a["mean"]), np.array(b["mean"])
    std_a, std_b = np.array(a["std"]), np.array(b["std"])
    assert np.all(np.abs(mean_a - mean_b) < 0.35 * std_a), (a, b)
    assert np.all(np.abs(std_b / std_a - 1) < 0.2), (a, b)
    err = np.hypot(a["logz_err"] or 0.0, b["logz_err"] or 0.0)
    assert abs(a["logz"] - b["logz"]) < 4 * err + 0.1, (a, b)
