"""The emcee backend on the analytic Gaussian problem."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import emcee
import h5py
import numpy as np
import pytest

import socca
from socca.inference.backends import emcee as backend
from tests.inference.analytic import GaussianProblem

ROOT = Path(__file__).resolve().parents[2]
QUIET = {"progress": False}


@pytest.fixture(scope="module")
def problem():
    return GaussianProblem()


@pytest.fixture(scope="module")
def long_run(problem):
    return backend.run(problem, seed=0, nwalkers=32, nsteps=3000, discard=500, **QUIET)


class CountingProblem(GaussianProblem):
    """The Gaussian problem, recording the size of every likelihood batch."""

    def __init__(self):
        super().__init__()
        self.sizes = []
        batch = self.loglike_batch

        def counting(thetas):
            self.sizes.append(len(thetas))
            return batch(thetas)

        self.loglike_batch = counting


def test_module_is_the_library():
    assert backend.emcee is emcee
    assert backend.EVIDENCE is False and backend.CHECKPOINT == ".hdf5"


def test_posterior(problem, long_run):
    problem.check_posterior(long_run)
    assert long_run.samples.shape == (2500 * 32, 3)
    assert np.allclose(long_run.weights, 1 / len(long_run.weights))
    assert long_run.logz is None and long_run.logz_err is None
    assert isinstance(long_run.sampler, emcee.EnsembleSampler)


def test_extras(long_run):
    extras = long_run.extras
    assert extras["discard"] == 500 and extras["thin"] == 1 and extras["nsteps"] == 3000
    assert extras["tau"].shape == (3,) and np.all((extras["tau"] > 5) & (extras["tau"] < 100))
    assert extras["tau_history"].shape == (30, 3)
    assert np.array_equal(extras["tau_steps"], np.arange(100, 3001, 100))
    assert np.allclose(extras["tau_history"][-1], extras["tau"])
    # 32 starting walkers and 32 proposals a step, less the few outside the prior box
    assert 0.99 * 32 * 3001 < extras["ncall"] <= 32 * 3001
    assert np.all((extras["acceptance_fraction"] > 0.2) & (extras["acceptance_fraction"] < 0.9))


def test_batched_likelihood():
    counting = CountingProblem()
    backend.run(counting, seed=1, nwalkers=40, nsteps=20, **QUIET)
    # the starting ensemble, then one call per half-ensemble and step
    assert counting.sizes == [40] + [20] * 40


def test_one_walker_at_a_time(problem):
    result = backend.run(problem, seed=1, nsteps=20, vectorize=False, **QUIET)
    batched = backend.run(problem, seed=1, nsteps=20, **QUIET)
    assert np.allclose(result.samples, batched.samples)


def test_seed_reproducible(problem):
    first, second, other = (
        backend.run(problem, seed=seed, nsteps=200, **QUIET) for seed in (7, 7, 8)
    )
    assert np.array_equal(first.samples, second.samples)
    assert not np.allclose(first.samples, other.samples)


def test_default_walkers(problem):
    result = backend.run(problem, seed=1, nsteps=10, **QUIET)
    assert result.sampler.nwalkers == 32 and result.samples.shape == (320, 3)


def test_converge_stops_early(problem):
    result = backend.run(problem, seed=2, nsteps=20000, converge=True, **QUIET)
    extras = result.extras
    n, tau = extras["nsteps"], extras["tau"]
    assert extras["converged"] and n < 20000 and n % backend.CHECK_EVERY == 0
    assert n > backend.TAU_FACTOR * tau.max()
    assert extras["tau_history"].shape == (n // backend.CHECK_EVERY, 3)
    previous = extras["tau_history"][-2]
    assert np.all(np.abs(previous - tau) < backend.TAU_RTOL * tau)
    assert extras["discard"] == int(2 * tau.max()) and extras["thin"] == int(0.5 * tau.min())
    nkept = len(range(extras["discard"] + extras["thin"] - 1, n, extras["thin"]))
    assert result.samples.shape == (nkept * 32, 3)
    # a chain of 50 autocorrelation times: about 1600 independent samples
    mean, std = result.samples.mean(axis=0), result.samples.std(axis=0)
    sd = np.sqrt(np.diag(problem.cov))
    assert np.all(np.abs(mean - problem.mean) < 0.15 * sd), (mean, problem.mean)
    assert np.all(np.abs(std / sd - 1) < 0.1), std / sd


def test_keywords_of_the_other_implementation(problem):
    # n_steps and n_burn spell nsteps and discard
    result = backend.run(problem, seed=1, nwalkers=8, n_steps=60, n_burn=20, **QUIET)
    assert result.extras["nsteps"] == 60 and result.extras["discard"] == 20
    assert result.samples.shape == (40 * 8, 3)
    with pytest.raises(ValueError, match="'n_steps' or 'nsteps', not both"):
        backend.run(problem, nsteps=60, n_steps=60, **QUIET)
    # check_every: steps between autocorrelation estimates
    result = backend.run(problem, seed=1, nwalkers=8, nsteps=60, check_every=15, **QUIET)
    assert list(result.extras["tau_steps"]) == [15, 30, 45, 60]
    for bad in ({"check_every": 0}, {"check_every": 2.5}, {"tau_factor": -1}):
        with pytest.raises(socca.SoccaError, match=next(iter(bad))):
            backend.run(problem, nsteps=10, **bad, **QUIET)


def test_tau_factor_sets_the_convergence_length(problem):
    # a chain of 5 (not 50) autocorrelation times is enough here: it stops much earlier
    result = backend.run(
        problem, seed=2, nsteps=20000, converge=True, tau_factor=5, check_every=20, **QUIET
    )
    n, tau = result.extras["nsteps"], result.extras["tau"]
    assert result.extras["converged"] and n % 20 == 0
    assert 5 * tau.max() < n < backend.TAU_FACTOR * tau.max()


def test_too_few_walkers_are_raised_to_twice_ndim(problem):
    with pytest.warns(UserWarning, match=r"nwalkers=4 is below 2 \* ndim = 6.*using nwalkers=6"):
        result = backend.run(problem, seed=1, nwalkers=4, nsteps=10, **QUIET)
    assert result.sampler.nwalkers == 6 and result.samples.shape == (60, 3)


def test_converge_keeps_given_discard_and_thin(problem):
    result = backend.run(problem, seed=2, nsteps=5000, converge=True, discard=50, thin=3, **QUIET)
    assert result.extras["converged"]
    assert result.extras["discard"] == 50 and result.extras["thin"] == 3


def test_converge_warns_when_too_short(problem):
    with pytest.warns(RuntimeWarning, match="did not converge"):
        result = backend.run(problem, seed=2, nsteps=300, converge=True, **QUIET)
    assert not result.extras["converged"] and result.extras["nsteps"] == 300
    assert 0 < result.extras["discard"] < 300


def test_unknown_option(problem):
    with pytest.raises(TypeError, match="'nlive'.*'walkers'"):
        backend.run(problem, walkers=10, nlive=5, **QUIET)
    with pytest.raises(TypeError, match="'thin_by'"):
        backend.run(problem, thin_by=2, **QUIET)


def test_options_reach_emcee(problem):
    move = emcee.moves.DEMove()
    result = backend.run(problem, seed=3, nsteps=10, moves=move, tune=True, **QUIET)
    assert result.sampler._moves == [move]


def test_discard_too_large(problem):
    with pytest.raises(ValueError, match="discard"):
        backend.run(problem, nsteps=100, discard=100, **QUIET)


def test_checkpoint_resume_continues_the_chain(problem, tmp_path):
    name = str(tmp_path / "fit")
    whole = backend.run(problem, seed=4, nsteps=600, **QUIET)
    first = backend.run(problem, seed=4, nsteps=250, checkpoint=name, **QUIET)
    path = Path(name + ".hdf5")
    assert path.exists()
    saved = emcee.backends.HDFBackend(str(path), read_only=True)
    assert saved.iteration == 250 and saved.shape == (32, 3)
    assert np.array_equal(saved.get_chain(), first.sampler.get_chain())
    resumed = backend.run(problem, seed=99, nsteps=600, checkpoint=name, **QUIET)
    # the random state travels with the chain: same as never stopping
    assert np.array_equal(resumed.sampler.get_chain(), whole.sampler.get_chain())
    assert resumed.extras["ncall"] == whole.extras["ncall"]
    assert np.allclose(resumed.extras["tau_history"], whole.extras["tau_history"])
    assert emcee.backends.HDFBackend(str(path), read_only=True).iteration == 600


def test_checkpoint_finished_and_fresh(problem, tmp_path):
    name = str(tmp_path / "fit")
    first = backend.run(problem, seed=5, nsteps=200, checkpoint=name, **QUIET)
    again = backend.run(problem, seed=6, nsteps=150, checkpoint=name, **QUIET)
    assert np.array_equal(again.samples, first.samples)
    fresh = backend.run(problem, seed=6, nsteps=150, checkpoint=name, resume=False, **QUIET)
    assert fresh.extras["nsteps"] == 150
    assert np.array_equal(fresh.samples, backend.run(problem, seed=6, nsteps=150, **QUIET).samples)


def test_checkpoint_refuses_another_problem(problem, tmp_path):
    name = str(tmp_path / "fit")
    backend.run(problem, seed=5, nsteps=20, checkpoint=name, **QUIET)
    other = GaussianProblem(mean=(0.0, 1.0), sigma=(1.0, 1.0))
    with pytest.raises(ValueError, match="another problem: parameters"):
        backend.run(other, nsteps=40, checkpoint=name, **QUIET)
    with pytest.raises(ValueError, match="32 walkers"):
        backend.run(problem, nwalkers=40, nsteps=40, checkpoint=name, **QUIET)
    backend.run(other, nsteps=40, checkpoint=name, resume=False, **QUIET)


def test_checkpoint_refuses_foreign_file(problem, tmp_path):
    name = str(tmp_path / "fit")
    with h5py.File(name + ".hdf5", "w") as f:
        f["sampler"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a socca emcee checkpoint"):
        backend.run(problem, nsteps=40, checkpoint=name, **QUIET)
    Path(name + ".hdf5").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot read"):
        backend.run(problem, nsteps=40, checkpoint=name, **QUIET)


KILLED = """
import sys, time
sys.path.insert(0, {root!r})
import socca
from socca.inference.backends import emcee as backend
from tests.inference.analytic import GaussianProblem

problem = GaussianProblem()
fast = problem.loglike_batch

def slow(thetas):
    time.sleep(0.002)
    return fast(thetas)

problem.loglike_batch = slow
backend.run(problem, checkpoint={name!r}, seed=0, nsteps=100000, checkpoint_every=0,
            progress=False)
"""


def _saved_steps(path):
    try:
        with h5py.File(path, "r") as f:
            return int(f["mcmc"].attrs["iteration"])
    except (OSError, KeyError):
        return 0


def test_killed_run_resumes(problem, tmp_path):
    name = str(tmp_path / "killed")
    path = Path(name + ".hdf5")
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED.format(root=str(ROOT), name=name)))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    deadline = time.monotonic() + 60
    try:
        while _saved_steps(path) < 100 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the sampling process ended by itself"
        # snapshots are published every step here, so the kill often lands mid-write
        time.sleep(0.137)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = emcee.backends.HDFBackend(str(path), read_only=True)
    nsaved = saved.iteration
    assert nsaved >= 100
    before = saved.get_chain()
    result = backend.run(problem, checkpoint=name, nsteps=3000, discard=500, **QUIET)
    assert result.extras["nsteps"] == 3000
    assert np.array_equal(result.sampler.get_chain()[:nsaved], before)
    assert len(result.extras["tau_history"]) == 30
    problem.check_posterior(result)
