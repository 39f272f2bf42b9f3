"""Fault injection: 20 checkpointing runs SIGKILLed at random moments, each resumed.

Five runs per checkpointing sampler (nautilus, dynesty, emcee, pocomc) are
started as separate processes (tests/inference/killed_run.py), which
checkpoint as often as the backend allows. Once the first checkpoint exists
(imports and compilation are over) each process is killed with SIGKILL after
a random delay drawn from a seeded generator, so kills land anywhere: in a
likelihood call, in the sampler's own work, or while a checkpoint is being
written; in every second run the kill waits, after the delay, for a
temporary checkpoint file to appear, so that it lands mid-write. Then

* every checkpoint file left behind opens and reads whole (no corruption);
* the run resumed from it in this process completes, and its samples are
  exactly those of an uninterrupted run (and so a valid posterior, checked
  against the analytic one);
* no temporary file is left over nor used as state.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import dill
import emcee
import h5py
import numpy as np
import pytest

from tests.inference import killed_run
from tests.inference.analytic import GaussianProblem

pytestmark = pytest.mark.filterwarnings("ignore:The sampling was stopped short")

METHODS = ("nautilus", "dynesty", "emcee", "pocomc")
KILLS = 5  # per method: 20 in all
WINDOW = {"nautilus": 1.5, "dynesty": 1.0, "emcee": 1.0, "pocomc": 1.5}  # seconds
START_TIMEOUT = 120.0
WRITE_TIMEOUT = 5.0  # longest wait for a checkpoint write to kill
SCRIPT = Path(killed_run.__file__)


def delays():
    """The kill delay of each run, after its first checkpoint: seeded, so reproducible."""
    rng = np.random.default_rng(20)
    return {(m, k): float(rng.uniform(0.0, WINDOW[m])) for m in METHODS for k in range(KILLS)}


DELAYS = delays()


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """One uninterrupted, checkpointed run per method, and the posterior check."""
    out = {}
    for method in METHODS:
        folder = tmp_path_factory.mktemp(f"reference_{method}")
        result = killed_run.run(method, str(folder / "fit"))
        # mean and spread (the KS test assumes independent draws, which a chain is not)
        GaussianProblem().check_posterior(result, tol_sigma=0.2, tol_ks=0.0)
        out[method] = result
    return out


def checkpoint_files(method, name):
    """The files whose appearance shows that the run has checkpointed."""
    if method == "pocomc":
        return sorted(Path(name + "_pocomc_dump").glob("pmc_*.state"))
    path = Path(name + ".hdf5")
    return [path] if path.exists() else []


def _temporary_files(name):
    return list(Path(name).parent.rglob("*.tmp*"))


def kill_at_random(method, name, delay, during_write, log):
    """Start a run, wait for its first checkpoint, SIGKILL it ``delay`` seconds later.

    With ``during_write``, the kill waits further for a temporary checkpoint
    file to appear, so that it lands while a checkpoint is being written.

    Returns
    -------
    bool
        Whether a temporary checkpoint file existed at the kill (a kill mid-write).
    """
    proc = subprocess.Popen([sys.executable, str(SCRIPT), method, name], stderr=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not checkpoint_files(method, name):
            assert proc.poll() is None, f"{method} stopped before its first checkpoint"
            assert time.monotonic() < deadline, f"{method} wrote no checkpoint in time"
            time.sleep(0.02)
        time.sleep(delay)
        if during_write:  # then at the next temporary file seen: a kill mid-write
            deadline = time.monotonic() + WRITE_TIMEOUT
            while not _temporary_files(name) and time.monotonic() < deadline:
                time.sleep(0.0005)
        assert proc.poll() is None, f"{method} finished before it was killed: lengthen it"
        proc.send_signal(signal.SIGKILL)
        mid_write = bool(_temporary_files(name))
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.wait()
    return mid_write


def assert_readable(method, name):
    """Every checkpoint file reads whole; returns the progress it records."""
    if method == "pocomc":
        folder = Path(name + "_pocomc_dump")
        states = sorted(folder.glob("pmc_*.state"))
        for state in states:
            with open(state, "rb") as f:
                dill.load(f)
        return len(states)
    path = Path(name + ".hdf5")
    if method == "emcee":
        return emcee.backends.HDFBackend(str(path), read_only=True).get_chain().shape[0]
    sizes = []

    def read(_, obj):
        if isinstance(obj, h5py.Dataset):
            sizes.append(np.asarray(obj[()]).size)

    with h5py.File(path, "r") as f:
        f.visititems(read)
        assert list(f.attrs["socca_labels"]) == list(GaussianProblem().labels)
    return sum(sizes)


@pytest.mark.parametrize(("method", "k"), list(DELAYS))
def test_killed_run_resumes_exactly(references, tmp_path, method, k):
    name = str(tmp_path / "fit")
    with open(tmp_path / "stderr.txt", "w") as log:
        mid_write = kill_at_random(method, name, DELAYS[method, k], k % 2 == 1, log)
    print(
        f"{method} #{k}: killed {DELAYS[method, k]:.2f} s after its first checkpoint; "
        f"mid-write: {mid_write}"
    )
    assert assert_readable(method, name) > 0
    result = killed_run.run(method, name)
    reference = references[method]
    np.testing.assert_array_equal(result.samples, reference.samples)
    np.testing.assert_array_equal(result.weights, reference.weights)
    assert result.logz == reference.logz
    assert not list(tmp_path.rglob("*.tmp*")), "a temporary file was left over"
    if method == "pocomc":
        assert result.extras["state"] is None or result.extras["state"].suffix == ".state"
