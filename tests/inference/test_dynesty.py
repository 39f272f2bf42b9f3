"""The dynesty backend on the analytic Gaussian problem."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from socca.inference.backends import dynesty as backend
from tests.inference.analytic import GaussianProblem

REPO = Path(__file__).resolve().parents[2]
FAST = {"nlive": 150}
pytestmark = pytest.mark.filterwarnings("ignore:The sampling was stopped short")


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
    # dynesty's effective sample size is about 4 * nlive; the harness' KS test on 2000
    # resampled draws needs it not much below 2000.
    result = backend.run(problem, seed=1, progress=False, nlive=500)
    return problem, result


def test_posterior_matches(gaussian, full_run):
    gaussian.check_posterior(full_run[1])


def test_evidence_within_error(gaussian, full_run):
    result = full_run[1]
    assert 0 < result.logz_err < 0.5
    assert abs(result.logz - gaussian.logz_true) < min(3 * result.logz_err, 0.5)


def test_result_bookkeeping(full_run):
    problem, result = full_run
    assert np.isclose(result.weights.sum(), 1.0)
    assert result.samples.shape == (len(result.weights), 3)
    assert result.extras["ncall"] == result.sampler.ncall > result.extras["niter"] > 0
    assert isinstance(result.sampler, backend.dynesty.sampler.Sampler)


def test_likelihood_is_batched(full_run):
    problem, result = full_run
    queue = result.sampler.queue_size
    assert queue == 50  # nlive // 10
    assert max(problem.sizes) == queue
    # Most points are evaluated in batches larger than one.
    sizes = np.array(problem.sizes)
    assert sizes[sizes > 1].sum() > 0.9 * result.extras["ncall"]
    # Padded to the queue size or a power of two below: few JAX compilations.
    assert set(problem.sizes) <= {queue} | {2**k for k in range(6)}


def test_same_seed_same_samples(gaussian):
    runs = [backend.run(gaussian, seed=7, progress=False, maxiter=600, **FAST) for _ in range(2)]
    assert runs[0].extras["niter"] >= 600
    np.testing.assert_array_equal(runs[0].samples, runs[1].samples)
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)


@pytest.mark.parametrize("name", ["nlive", "n_live"])
def test_nlive_aliases(gaussian, name):
    result = backend.run(gaussian, seed=0, progress=False, maxiter=1, **{name: 123})
    assert result.sampler.nlive == 123


def test_nlive_twice_is_an_error(gaussian):
    with pytest.raises(ValueError, match="nlive"):
        backend.run(gaussian, progress=False, nlive=100, n_live=100)


def test_unknown_option_fails_before_sampling(gaussian):
    problem = Counting(gaussian)
    with pytest.raises(TypeError, match="not_an_option"):
        backend.run(problem, progress=False, nlive=100, not_an_option=3)
    with pytest.raises(TypeError, match="rstate"):
        backend.run(problem, progress=False, rstate=np.random.default_rng())
    assert problem.sizes == []


def test_options_reach_constructor_and_run(gaussian):
    problem = Counting(gaussian)
    result = backend.run(problem, progress=False, queue_size=8, maxiter=50, bound="single")
    assert result.sampler.queue_size == 8 and result.sampler.bounding == "single"
    assert result.extras["niter"] >= 50
    assert max(problem.sizes) == 8


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
    np.testing.assert_array_equal(again.samples, first.samples)

    fresh = backend.run(problem, checkpoint=name, resume=False, seed=5, progress=False, **FAST)
    assert sum(problem.sizes) >= fresh.extras["ncall"] > 0
    assert fresh.logz != first.logz


def test_checkpoint_of_another_problem_is_refused(gaussian, tmp_path):
    name = str(tmp_path / "fit")
    backend.run(gaussian, checkpoint=name, progress=False, maxiter=1, **FAST)
    other = GaussianProblem(mean=(0.0, 1.0), sigma=(1.0, 1.0))
    with pytest.raises(ValueError, match="another problem"):
        backend.run(other, checkpoint=name, progress=False, **FAST)
    backend.run(other, checkpoint=name, resume=False, progress=False, maxiter=1, **FAST)


def test_batch_map_runs_tasks_in_lockstep(gaussian):
    problem = Counting(gaussian)
    batch = backend.BatchMap(problem, size=6)

    def task(n):  # n likelihood calls
        return [batch.loglike(gaussian.mean + 0.1 * i) for i in range(n)]

    out = _within(10, batch.map, task, [1, 2, 3, 4, 5, 6, 3])
    assert [len(x) for x in out] == [1, 2, 3, 4, 5, 6, 3]
    expected = [float(gaussian.loglike(gaussian.mean + 0.1 * i)) for i in range(6)]
    assert out[5] == pytest.approx(expected)
    # Waves of at most 6 tasks; each round holds the next call of every unfinished task,
    # padded to the largest batch or a power of two below it.
    assert problem.sizes == [6, 6, 4, 4, 2, 1, 1, 1, 1]
    batch.loglike(gaussian.mean)  # outside a map: evaluated alone
    assert len(problem.sizes) == 9


def test_batch_map_propagates_errors(gaussian):
    class Failing(Counting):
        def loglike_batch(self, thetas):
            if len(self.sizes) == 2:
                self.sizes.append(0)
                raise FloatingPointError("boom")
            return super().loglike_batch(thetas)

    batch = backend.BatchMap(Failing(gaussian), size=4)

    def task(n):
        return [batch.loglike(gaussian.mean) for _ in range(n)]

    with pytest.raises(FloatingPointError, match="boom"):
        _within(10, batch.map, task, [5, 5, 5, 5])
    assert _within(10, batch.map, task, [1, 1]) is not None  # usable afterwards


def _within(timeout, func, *args):
    """``func(*args)`` in a thread, failing the test if it takes over ``timeout`` s."""
    out = {}

    def target():
        try:
            out["value"] = func(*args)
        except BaseException as err:
            out["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "BatchMap.map hung"
    if "error" in out:
        raise out["error"]
    return out["value"]


KILLED_RUN = """
import os, signal, sys, time
sys.path.insert(0, {repo!r})
from socca.inference.backends import dynesty as backend
from tests.inference.analytic import GaussianProblem

if sys.argv[2] == "publish":
    # The 3rd checkpoint leaves a half-written temporary file and the process dies.
    original, count = backend._publish, [0]

    def dying(tmp, path):
        count[0] += 1
        if count[0] == 3:
            with open(tmp, "r+b") as f:
                f.truncate(os.path.getsize(tmp) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
        original(tmp, path)

    backend._publish = dying
problem = GaussianProblem()
fast = problem.loglike_batch

def slow(thetas):
    time.sleep(0.01)
    return fast(thetas)

problem.loglike_batch = slow
backend.run(problem, checkpoint=sys.argv[1], seed=2, progress=False, checkpoint_every=0.2,
            **{options!r})
"""


@pytest.mark.parametrize("mode", ["external", "publish"])
def test_resume_after_kill(gaussian, reference, tmp_path, mode):
    """SIGKILL from outside, or while a checkpoint is written: resuming still works."""
    script = tmp_path / "killed_run.py"
    script.write_text(textwrap.dedent(KILLED_RUN.format(repo=str(REPO), options=FAST)))
    name, path = str(tmp_path / "fit"), tmp_path / "fit.hdf5"
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, str(script), name, mode], stderr=err)
        try:
            if mode == "external":
                _wait_for(path, proc, timeout=120)
                time.sleep(2.0)  # a few more checkpoints
                assert proc.poll() is None, "the run finished before it could be killed"
                proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=120) == -signal.SIGKILL
        finally:
            proc.kill()
            proc.wait()
    assert mode == "external" or (tmp_path / "fit.tmp.hdf5").exists()  # died mid-write
    batch = backend.BatchMap(gaussian, 1)
    n_before = backend.Checkpointer(path, gaussian, batch).load().ncall
    assert n_before > FAST["nlive"]  # past the initial live points

    result = backend.run(gaussian, checkpoint=name, seed=2, progress=False, **FAST)
    assert result.extras["resumed"] and result.extras["ncall"] > n_before
    np.testing.assert_array_equal(result.samples, reference.samples)
    assert result.logz == reference.logz


def _wait_for(path, proc, timeout):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "the run stopped before writing a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint written in time"
        time.sleep(0.05)
