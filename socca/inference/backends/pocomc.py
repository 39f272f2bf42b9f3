"""pocomc backend: preconditioned Monte Carlo on the batched likelihood.

Options (besides ``checkpoint``, ``resume``, ``seed`` and ``progress``)
-----------------------------------------------------------------------
nlive : int, optional
    Alias of pocomc's ``n_effective`` (the population size the other
    backends call ``nlive``); giving both is an error.
n_effective, n_active, ...
    Everything :class:`pocomc.Sampler` takes, except what socca sets itself
    (``prior``, ``likelihood``, ``n_dim``, ``output_dir``, ``output_label``,
    ``random_state``). When ``n_effective`` (or ``nlive``) is given without
    ``n_active``, ``n_active = n_effective // 2``, pocomc's own rule for
    ``n_active=None``; otherwise pocomc's defaults (512 and 256) apply.
n_total, n_evidence, save_every
    Arguments of :meth:`pocomc.Sampler.run` (defaults 4096, 4096 and, with a
    checkpoint, 10 iterations).
vectorize : bool, default True
    The likelihood receives whole particle batches, evaluated by the
    jit-compiled batch likelihood in chunks of ``n_active`` rows (the last
    chunk padded), so that one compiled shape serves every call; False
    evaluates particles one by one.

Parallel runs
-------------
``fit.run(ncores=N)``, ``fit.run(pool=...)`` or MPI ranks hand this backend
a :class:`socca.parallel.Distributed` problem: every particle batch goes,
whole and unpadded, to the batch likelihood, which splits it among the
workers (they pad their own shares). pocomc's own ``pool`` option is socca's
(``fit.run(pool=...)``) and is not passed to pocomc; ``vectorize=True`` with a
pool is refused by the fitter (it means one process), ``vectorize=False`` is
moot.

``seed`` becomes pocomc's ``random_state`` (which seeds NumPy's and PyTorch's
global generators, as pocomc draws from those) and seeds the prior draws.
The prior handed to pocomc is built from the problem: draws are
``prior_transform`` of uniform numbers, densities ``log_prior``, and bounds
``prior_transform`` at 0 and 1 where finite. ``logz`` is pocomc's estimate:
importance sampling of the trained flow when ``n_evidence > 0`` (with a
bootstrap error), else the sequential Monte Carlo estimate (without error).
``extras`` holds ``ncall``, ``logl``, ``logp`` (per returned sample) and
``state`` (the state file a run resumed from, or None).

Checkpoints
-----------
States are written to the folder ``<name>_pocomc_dump`` every ``save_every``
iterations and at the end (``pmc_<t>.state``, ``pmc_final.state``), next to
``socca.json``, which records the parameter labels and the problem's
fingerprint (see :mod:`socca.inference.fingerprint`): resuming a folder made
for other parameters, another image or another model raises
:class:`ValueError`. Each state is written to a
temporary file, flushed with ``fsync`` and renamed onto its name, so a kill
never leaves a partial state under a state name; on resume the newest state
that loads is used, and older ones are the fallback (states from pocomc's
warm-up on prior draws are not resumed: pocomc would restart that loop). States hold the sampler
and NumPy's and PyTorch's random states, but not the prior and likelihood
(which hold the compiled model and the data): those are re-attached on
resume, so a resumed run continues exactly as the uninterrupted one would.
A resumed run keeps the sampler settings saved in the state.

Numerical faults
----------------
NaN or infinite log-likelihoods are counted and replaced by -inf before
pocomc sees them (:mod:`socca.inference.accounting`); their number is
``extras['nonfinite']``, and a :class:`NumericalWarning` reports them.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import dill
import numpy as np
import pocomc
import torch

from socca.inference.accounting import Faults, flagged_functions
from socca.inference.backends._common import check_identity, identity
from socca.inference.results import Result

EVIDENCE = True
CHECKPOINT = "_pocomc_dump"

SAVE_EVERY = 10  # iterations between state files
LABEL = "pmc"  # state files are <LABEL>_<iteration>.state and <LABEL>_final.state
IDENTITY = "socca.json"
_STATE = re.compile(rf"^{LABEL}_(\d+|final)\.state$")

# constructor and run arguments socca sets itself
_MANAGED = {
    "prior", "likelihood", "n_dim", "likelihood_args", "likelihood_kwargs", "blobs_dtype",
    "output_dir", "output_label", "random_state", "n_ess", "progress", "resume_state_path",
    "pool",
}  # fmt: skip
# attributes bound to this process, never taken from a state file
_LIVE = (
    "prior", "log_prior", "sample_prior", "log_likelihood", "pool", "distribute", "pbar",
    "progress", "output_dir", "output_label", "vectorize",
)  # fmt: skip


def run(
    problem, *, checkpoint=None, resume=True, seed=None, progress=True, nlive=None, **options
) -> Result:
    """Sample the posterior of ``problem`` and estimate its evidence with pocomc.

    Parameters
    ----------
    problem : socca.inference.Problem
        The compiled problem (or any object with the same attributes).
    checkpoint : str, optional
        Checkpoint name; states go to the folder ``checkpoint + "_pocomc_dump"``.
    resume : bool
        Resume from the newest state in that folder; False empties it first.
    seed : int, optional
        Seed of the run (pocomc's ``random_state``) and of the prior draws; a
        resumed run continues with the random states saved in its state file.
    progress : bool
        Show pocomc's progress bar.
    nlive : int, optional
        Alias of ``n_effective``.
    **options
        Forwarded to :class:`pocomc.Sampler` or its ``run`` method.

    Returns
    -------
    Result
        Weighted posterior samples, ``logz`` and ``logz_err``.

    Raises
    ------
    TypeError
        For options pocomc does not take.
    ValueError
        For a checkpoint made for another problem.
    """
    ctor_opts, run_opts = _split_options(_alias(options, nlive))
    folder = Path(checkpoint + CHECKPOINT) if checkpoint else None
    if folder is None and "save_every" in run_opts:
        raise ValueError("save_every needs a checkpoint name to save states under")
    state = _prepare(folder, problem, resume) if folder else None
    distributed = getattr(problem, "distributed", False)
    vectorize = True if distributed else ctor_opts.pop("vectorize", True)
    ctor_opts.pop("vectorize", None)
    loglike = _LogLike(problem)
    sampler = _Sampler(
        prior=_Prior(problem, np.random.default_rng(seed)),
        likelihood=loglike if vectorize else loglike.one,
        n_dim=problem.ndim,
        vectorize=vectorize,
        output_dir=folder,
        output_label=LABEL,
        random_state=seed,
        **ctor_opts,
    )
    sampler.prior.chunk = sampler.n_active
    loglike.chunk = None if distributed else sampler.n_active
    if folder:
        run_opts.setdefault("save_every", SAVE_EVERY)
    sampler.progress = progress
    sampler.run(progress=progress, resume_state_path=state, **run_opts)
    return loglike.faults.report(_result(sampler, state), "pocomc")


# --------------------------------------------------------------------------- options


def _alias(options, nlive):
    if nlive is None:
        return options
    if "n_effective" in options:
        raise TypeError("give nlive or n_effective (its pocomc name), not both")
    return {"n_effective": nlive, **options}


def _names(function):
    return set(inspect.signature(function).parameters) - {"self"}


def _split_options(options):
    """Options for the constructor and for ``run``; TypeError for the rest."""
    ctor, run_ = _names(pocomc.Sampler.__init__), _names(pocomc.Sampler.run)
    known = (ctor | run_) - _MANAGED
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(
            f"pocomc backend got unexpected option(s) {', '.join(map(repr, unknown))}; "
            f"pocomc options: nlive, {', '.join(sorted(known))}"
        )
    if "n_effective" in options and "n_active" not in options:
        options = {**options, "n_active": None}
    return (
        {k: v for k, v in options.items() if k in ctor},
        {k: v for k, v in options.items() if k in run_},
    )


# --------------------------------------------------------------------------- problem adapters


def _padded(function, x, chunk):
    """``function`` of ``x`` evaluated in chunks of ``chunk`` rows, the last one padded.

    Every call of the jit-compiled ``function`` then has the same shape and
    no batch size pocomc produces triggers a new compilation.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return np.empty(0)
    chunk = chunk or n
    padded = np.concatenate([x, np.repeat(x[:1], -n % chunk, axis=0)])
    parts = [np.asarray(function(padded[i : i + chunk])) for i in range(0, len(padded), chunk)]
    return np.concatenate(parts)[:n].astype(float)


class _LogLike:
    """The problem's likelihood on a batch of particles, or on one.

    Numerical faults are counted by ``faults`` and become -inf.
    """

    def __init__(self, problem):
        self.problem = problem
        self.chunk = None
        self.faults = Faults(problem.labels)
        self._single, self._batch = flagged_functions(problem)

    def __call__(self, x):
        return self.faults.screen(x, _padded(self._batch, x, self.chunk))

    def one(self, theta):
        """The log-likelihood of a single point ``theta``."""
        theta = np.asarray(theta, dtype=float)
        return self.faults.screen_one(theta, self._single(theta))


class _Prior:
    """The problem's prior in the form pocomc expects (``pocomc.Prior``'s interface)."""

    def __init__(self, problem, rng):
        self.problem = problem
        self.rng = rng
        self.dim = int(problem.ndim)
        self.chunk = None
        ends = np.asarray(problem.prior_transform(np.array([[0.0] * self.dim, [1.0] * self.dim])))
        ends = np.sort(np.where(np.isfinite(ends), ends, [[-np.inf], [np.inf]]), axis=0)
        self.bounds = ends.T

    def logpdf(self, x):
        """Log prior density of each row of ``x``."""
        return _padded(self.problem.log_prior, np.atleast_2d(x), self.chunk)

    def rvs(self, size=1):
        """``size`` draws from the prior, shape ``(size, dim)``."""
        u = self.rng.uniform(size=(int(size), self.dim))
        return np.array(self.problem.prior_transform(u), dtype=float)  # writable: pocomc edits it


# --------------------------------------------------------------------------- sampler and states


class _Sampler(pocomc.Sampler):
    """pocomc's sampler, with state files safe against kills and free of the model."""

    def save_state(self, path):
        """Atomically save the state (less the prior, likelihood and pool) to ``path``."""
        path = Path(path)
        state = {k: v for k, v in self.__dict__.items() if k not in _LIVE}
        state["_socca_rng"] = (np.random.get_state(), torch.get_rng_state())
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            dill.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _compute_evidence(self, n=5_000):
        """pocomc's importance-sampling evidence, not redrawn for a finished state.

        Resuming from the final state would otherwise draw a new estimate.
        """
        key = (self.t, int(n))
        if self.logz_err is not None and getattr(self, "_socca_evidence_at", None) == key:
            return self.logz, self.logz_err
        estimate = super()._compute_evidence(n)
        self._socca_evidence_at = key
        return estimate

    def load_state(self, path):
        """Load a state saved by :meth:`save_state`, keeping this process' callables."""
        state = _read_state(path)
        numpy_rng, torch_rng = state.pop("_socca_rng")
        self.__dict__.update({k: v for k, v in state.items() if k not in _LIVE})
        np.random.set_state(numpy_rng)
        torch.set_rng_state(torch_rng)


def _read_state(path):
    with open(path, "rb") as f:
        return dill.load(f)


def _prepare(folder, problem, resume):
    """Make the checkpoint folder; return the state to resume from, or None."""
    if not resume:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.tmp"):  # half-written by a killed run
        stale.unlink()
    path = folder / IDENTITY
    if path.exists():
        check_identity(folder, json.loads(path.read_text()), problem)
    elif _states(folder):
        raise ValueError(f"{folder} holds pocomc states that socca did not write")
    else:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(identity(problem), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return _latest_state(folder)


def _states(folder):
    """State files in ``folder``, newest first (the final state before all)."""
    found = [(m.group(1), p) for p in folder.iterdir() if (m := _STATE.match(p.name))]
    order = {p: np.inf if t == "final" else int(t) for t, p in found}
    return sorted(order, key=order.get, reverse=True)


def _latest_state(folder):
    """The newest state that loads and is past the warm-up, or None.

    pocomc restarts its warm-up loop from the first batch when resumed inside
    it, so warm-up states (prior draws only, cheap to redo) are not used.
    """
    for path in _states(folder):
        try:
            state = _read_state(path)
        except Exception as err:  # any unreadable file: fall back to the previous state
            warnings.warn(f"skipping unreadable pocomc state {path}: {err}", stacklevel=3)
            continue
        if not state.get("warmup", True):
            return path
    return None


def _result(sampler, state):
    samples, weights, logl, logp = sampler.posterior()
    logz, logz_err = sampler.evidence()
    extras = {"ncall": int(sampler.calls), "logl": logl, "logp": logp, "state": state}
    return Result(samples, weights, logz, logz_err, sampler, extras)
