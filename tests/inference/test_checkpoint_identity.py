"""Checkpoints record the problem's fingerprint and refuse another image or model.

Each checkpointing method writes a checkpoint for the small two-parameter fit
(tests/parallel/small.py); resuming it with the same model on another image,
or on the same image with other priors, is refused before any sampling, with
a message naming what differs. An old checkpoint without a fingerprint is
resumed with a :class:`CheckpointWarning`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from socca import priors, simulate
from socca.errors import CheckpointWarning
from socca.inference import Problem
from socca.inference.backends import get_backend
from socca.inference.backends import pocomc as pocomc_backend
from socca.inference.backends._common import identity
from socca.inference.fingerprint import fingerprint
from socca.models import Gaussian, Model
from tests.parallel import small

ARCSEC = 1.0 / 3600.0
REPO = Path(__file__).resolve().parents[2]
# a few iterations: enough to leave a checkpoint behind
SHORT = {
    "nautilus": {"n_live": 50, "n_like_max": 100, "n_networks": 1},
    "dynesty": {"nlive": 30, "maxiter": 5},
    "emcee": {"nwalkers": 8, "nsteps": 3},
}


def other_image(seed=2):
    truth = Model([Gaussian(xc=20.0, yc=-10.0, rs=3 * ARCSEC, Is=1.0)])
    img, _ = simulate.mock_observation(truth, shape=(24, 24), pixscale=ARCSEC, sigma=0.1, seed=seed)
    return img


@pytest.fixture(scope="module")
def problems():
    """The reference problem, and the same labels on another image or with other priors."""
    img = small.image()
    model = small.model()
    base = Problem(model, img)
    on_other_image = Problem(model, other_image())
    model.components[0].rs = priors.uniform(1 * ARCSEC, 5 * ARCSEC)  # 6" in small.model()
    return {"base": base, "image": on_other_image, "model": Problem(model, img)}


def test_fingerprint_sees_data_mask_noise_priors_and_fixed_values():
    img, model = small.image(), small.model()
    ref = fingerprint(model, img)
    assert ref == fingerprint(model, small.image())  # the same data built again
    elsewhere = fingerprint(model, other_image())
    assert elsewhere["data"] != ref["data"] and elsewhere["model"] == ref["model"]
    masked = small.image()
    corner = np.ones(masked.shape, dtype=bool)
    corner[:3, :3] = False
    masked.addmask(corner)
    assert fingerprint(model, masked)["data"] != ref["data"]
    noisier = small.image()
    noisier.noise = type(noisier.noise)(sigma=0.2)
    assert fingerprint(model, noisier)["data"] != ref["data"]
    blob = model.components[0]
    blob.rs = priors.uniform(1 * ARCSEC, 5 * ARCSEC)  # another prior
    changed = fingerprint(model, img)
    assert changed["data"] == ref["data"] and changed["model"] != ref["model"]
    blob.rs = priors.uniform(1 * ARCSEC, 6 * ARCSEC)  # back to the reference
    assert fingerprint(model, img) == ref
    blob.xc = 20.0 + ARCSEC  # another fixed value
    assert fingerprint(model, img)["model"] != ref["model"]


def test_fingerprint_is_the_same_in_another_process():
    script = (
        "from tests.parallel import small\n"
        "from socca.inference import Problem\n"
        "print(Problem(small.model(), small.image()).fingerprint['model'])\n"
    )
    run = [sys.executable, "-c", script]
    outputs = [
        subprocess.run(run, cwd=REPO, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1] and len(outputs[0].strip()) == 64


@pytest.mark.parametrize("method", list(SHORT))
@pytest.mark.parametrize("change", ["image", "model"])
def test_checkpoint_of_another_image_or_model_is_refused(problems, tmp_path, method, change):
    backend = get_backend(method)
    name = str(tmp_path / "fit")
    backend.run(problems["base"], checkpoint=name, seed=1, progress=False, **SHORT[method])
    words = {"image": "the image", "model": "the model"}[change]
    with pytest.raises(ValueError, match=f"same parameters, but {words}.*resume=False"):
        backend.run(problems[change], checkpoint=name, seed=1, progress=False, **SHORT[method])
    # the refused checkpoint is untouched: the right problem still resumes it
    again = backend.run(problems["base"], checkpoint=name, seed=1, progress=False, **SHORT[method])
    assert np.isfinite(again.samples).all()
    backend.run(
        problems[change], checkpoint=name, resume=False, seed=1, progress=False, **SHORT[method]
    )


@pytest.mark.parametrize("change", ["image", "model"])
def test_pocomc_folder_of_another_image_or_model_is_refused(problems, tmp_path, change):
    folder = tmp_path / "fit_pocomc_dump"
    pocomc_backend._prepare(folder, problems["base"], resume=True)
    saved = json.loads((folder / "socca.json").read_text())
    assert saved == identity(problems["base"]) and len(saved["data"]) == 64
    with pytest.raises(ValueError, match=f"but the {change}"):
        pocomc_backend.run(problems[change], checkpoint=str(tmp_path / "fit"), progress=False)
    pocomc_backend._prepare(folder, problems["base"], resume=True)  # its own problem: accepted


def test_fitter_refuses_a_checkpoint_of_another_image(tmp_path):
    import socca

    name = str(tmp_path / "fit")
    model = small.model()
    socca.fitter(model, small.image()).run(
        method="emcee", checkpoint=name, nsteps=3, nwalkers=8, progress=False
    )
    fit = socca.fitter(model, other_image())
    with pytest.raises(ValueError, match="the image .* differ"):
        fit.run(method="emcee", checkpoint=name, nsteps=6, nwalkers=8, progress=False)


def _strip_fingerprint(path):
    with h5py.File(path, "r+") as f:
        for group in (f, f.get("socca")):
            if group is None:
                continue
            for key in ("socca_data", "socca_model", "data", "model"):
                if key in group.attrs:
                    del group.attrs[key]


@pytest.mark.parametrize("method", list(SHORT))
def test_checkpoint_without_fingerprint_resumes_with_a_warning(problems, tmp_path, method):
    backend = get_backend(method)
    name = str(tmp_path / "fit")
    backend.run(problems["base"], checkpoint=name, seed=1, progress=False, **SHORT[method])
    _strip_fingerprint(name + ".hdf5")
    with pytest.warns(CheckpointWarning, match="no fingerprint"):
        backend.run(problems["image"], checkpoint=name, seed=1, progress=False, **SHORT[method])


def test_pocomc_folder_without_fingerprint_resumes_with_a_warning(problems, tmp_path):
    folder = tmp_path / "fit_pocomc_dump"
    folder.mkdir()
    old = {"labels": list(problems["base"].labels), "ndim": 2}
    (folder / "socca.json").write_text(json.dumps(old))
    with pytest.warns(CheckpointWarning, match="no fingerprint"):
        pocomc_backend._prepare(folder, problems["image"], resume=True)


def test_problems_without_fingerprint_are_checked_by_labels_only(tmp_path):
    from tests.inference.analytic import GaussianProblem

    gauss = GaussianProblem()
    name = str(tmp_path / "fit")
    backend = get_backend("emcee")
    backend.run(gauss, checkpoint=name, nsteps=3, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)
        backend.run(GaussianProblem(), checkpoint=name, nsteps=5, progress=False)
