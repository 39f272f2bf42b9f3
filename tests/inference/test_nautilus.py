"""The nautilus backend on the analytic Gaussian problem."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from socca.inference.backends import nautilus as backend
from tests.inference.analytic import GaussianProblem

REPO = Path(__file__).resolve().parents[2]
FAST = {"n_live": 200, "n_networks": 1, "n_eff": 2000}  # a quick, complete run


class Counting:
    """A problem whose ``loglike_batch`` records the size of every batch."""

    def __init__(self, problem):
        self.problem = problem
        self.sizes = []

    def __getattr__(self, name):
        return getattr(self.problem, name)

    def loglike_batch(self, thetas):
        self.sizes.append(len(thetas))
        return self.problem.loglike_batch(thetas)


@pytest.fixture(scope="module")
def gaussian():
    return GaussianProblem()


@pytest.fixture(scope="module")
def reference(gaussian):
    """An uninterrupted quick run without checkpoint."""
    return backend.run(gaussian, seed=2, progress=False, **FAST)


@pytest.fixture(scope="module")
def full_run(gaussian):
    problem = Counting(gaussian)
    result = backend.run(problem, seed=1, progress=False, n_live=300, n_eff=5000)
    return problem, result


def test_posterior_matches(gaussian, full_run):
    gaussian.check_posterior(full_run[1])


def test_evidence_within_error(gaussian, full_run):
    result = full_run[1]
    assert 0 < result.logz_err < 0.05
    assert abs(result.logz - gaussian.logz_true) < min(3 * result.logz_err, 0.5)


def test_result_bookkeeping(full_run):
    problem, result = full_run
    assert np.isclose(result.weights.sum(), 1.0)
    assert result.samples.shape == (len(result.weights), 3)
    assert result.extras["ncall"] == result.sampler.n_like > 0
    assert result.extras["n_eff"] >= 5000
    assert isinstance(result.sampler, backend.nautilus.Sampler)


def test_likelihood_is_batched(full_run):
    problem, result = full_run
    assert max(problem.sizes) >= 100  # nautilus' default n_batch
    assert len(problem.sizes) <= result.extras["ncall"] / 50
    # Padding keeps the number of distinct shapes (JAX compilations) small.
    assert len(set(problem.sizes)) <= 8


def test_same_seed_same_samples(gaussian):
    runs = [
        backend.run(gaussian, seed=7, progress=False, n_like_max=1500, **FAST) for _ in range(2)
    ]
    assert len(runs[0].sampler.bounds) > 1  # past the neural-network bounds
    np.testing.assert_array_equal(runs[0].samples, runs[1].samples)
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)


@pytest.mark.parametrize("name", ["nlive", "n_live"])
def test_nlive_aliases(gaussian, name):
    result = backend.run(gaussian, seed=0, progress=False, n_like_max=1, **{name: 123})
    assert result.sampler.n_live == 123


def test_nlive_twice_is_an_error(gaussian):
    with pytest.raises(ValueError, match="nlive"):
        backend.run(gaussian, progress=False, nlive=100, n_live=100)


def test_unknown_option_fails_before_sampling(gaussian):
    problem = Counting(gaussian)
    with pytest.raises(TypeError, match="not_an_option"):
        backend.run(problem, progress=False, n_live=100, not_an_option=3)
    with pytest.raises(TypeError, match="filepath"):
        backend.run(problem, progress=False, filepath="x.hdf5")
    assert problem.sizes == []


def test_options_reach_constructor_and_run(gaussian):
    result = backend.run(gaussian, progress=False, n_batch=64, n_like_max=64, n_live=100)
    assert result.sampler.n_batch == 64
    assert result.extras["ncall"] == 64 and not result.extras["success"]


def test_checkpoint_resume_and_restart(gaussian, reference, tmp_path):
    name = str(tmp_path / "fit")
    first = backend.run(gaussian, checkpoint=name, seed=2, progress=False, **FAST)
    np.testing.assert_array_equal(first.samples, reference.samples)
    path = tmp_path / "fit.hdf5"
    assert path.exists() and not (tmp_path / "fit.tmp.hdf5").exists()
    with h5py.File(path, "r") as f:
        assert list(f.attrs["socca_labels"]) == list(gaussian.labels)

    problem = Counting(gaussian)
    again = backend.run(problem, checkpoint=name, seed=2, progress=False, **FAST)
    assert problem.sizes == []  # finished run: nothing left to evaluate
    assert again.logz == first.logz and again.extras["ncall"] == first.extras["ncall"]

    fresh = backend.run(problem, checkpoint=name, resume=False, seed=5, progress=False, **FAST)
    assert sum(problem.sizes) >= fresh.extras["ncall"] > 0
    assert fresh.logz != first.logz


def test_checkpoint_of_another_problem_is_refused(gaussian, tmp_path):
    name = str(tmp_path / "fit")
    backend.run(gaussian, checkpoint=name, progress=False, n_like_max=1, **FAST)
    other = GaussianProblem(mean=(0.0, 1.0), sigma=(1.0, 1.0))
    with pytest.raises(ValueError, match="another problem"):
        backend.run(other, checkpoint=name, progress=False, **FAST)
    backend.run(other, checkpoint=name, resume=False, progress=False, n_like_max=1, **FAST)


KILLED_RUN = """
import os, signal, sys, time
sys.path.insert(0, {repo!r})
import nautilus
from socca.inference.backends import nautilus as backend
from tests.inference.analytic import GaussianProblem


def die_while_writing(name, call):
    # The call-th call of nautilus.Sampler.<name> leaves a half-written file and dies.
    original = getattr(nautilus.Sampler, name)
    count = [0]

    def dying(self, filepath, *args, **kwargs):
        original(self, filepath, *args, **kwargs)
        count[0] += 1
        if count[0] == call:
            with open(filepath, "r+b") as f:
                f.truncate(os.path.getsize(filepath) // 2)
            os.kill(os.getpid(), signal.SIGKILL)

    setattr(nautilus.Sampler, name, dying)


mode = sys.argv[2]
if mode == "write":
    die_while_writing("write", 3)
elif mode == "write_shell_update":
    die_while_writing("write_shell_update", 10)
problem = GaussianProblem()
fast = problem.loglike_batch

def slow(thetas):  # slow enough to be killed from outside before the end
    time.sleep(0.2 if mode == "external" else 0.0)
    return fast(thetas)

problem.loglike_batch = slow
backend.run(problem, checkpoint=sys.argv[1], seed=2, progress=False, **{options!r})
"""


@pytest.mark.parametrize("mode", ["external", "write", "write_shell_update"])
def test_resume_after_kill(gaussian, reference, tmp_path, mode):
    """SIGKILL from outside, or while nautilus writes its file: resuming still works."""
    script = tmp_path / "killed_run.py"
    script.write_text(textwrap.dedent(KILLED_RUN.format(repo=str(REPO), options=FAST)))
    name, path = str(tmp_path / "fit"), tmp_path / "fit.hdf5"
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, str(script), name, mode], stderr=err)
        try:
            if mode == "external":
                _wait_for(path, proc, timeout=120)
                time.sleep(1.5)  # a few more batches and writes
                assert proc.poll() is None, "the run finished before it could be killed"
                proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=120) == -signal.SIGKILL
        finally:
            proc.kill()
            proc.wait()
    assert mode == "external" or (tmp_path / "fit.tmp.hdf5").exists()  # died mid-write
    with h5py.File(path, "r") as f:
        n_before = int(f["sampler"].attrs["n_like"])
    assert n_before > 0

    problem = Counting(gaussian)
    result = backend.run(problem, checkpoint=name, seed=2, progress=False, **FAST)
    assert result.extras["resumed"]
    assert n_before < result.extras["ncall"] <= n_before + sum(problem.sizes)
    np.testing.assert_array_equal(result.samples, reference.samples)
    assert result.logz == reference.logz


def _wait_for(path, proc, timeout):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "the run stopped before writing a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint written in time"
        time.sleep(0.05)
