"""The ``nautilus`` backend: neural-network-boosted importance nested sampling.

Options
    nautilus' own defaults throughout (``n_live=2000``, ``n_networks=4``,
    ``n_batch=100``, ``n_eff=10000``, ...). ``nlive`` is an alias of
    ``n_live``. Options are sent to ``nautilus.Sampler`` or to
    ``Sampler.run`` (``f_live``, ``n_eff``, ``n_like_max``, ``timeout``,
    ``discard_exploration``, ...) by their signatures; any other name is a
    TypeError, raised before sampling, as are the arguments socca sets itself
    (``prior``, ``likelihood``, ``seed``, ``filepath``, ``verbose``, ...).

Batching
    The sampler runs with ``vectorized=True`` (``vectorized=False`` is allowed):
    nautilus hands socca whole batches of unit-cube points and the prior
    transform and the likelihood each answer one ``(n, ndim)`` array with one
    call of ``problem.prior_transform`` / ``problem.loglike_batch``. Batches
    are padded to a few sizes so that JAX compiles each function only a
    handful of times, whatever batch sizes nautilus produces.

Parallel runs
    In one process, nautilus' own computations (training the networks of each
    new bound, drawing points from it) run in a :class:`TrainingPool` of
    worker processes, one per network (at most 4): on the guide's quickstart,
    training is about two thirds of nautilus' time when it runs in the
    driving process. The pool's size depends on ``n_networks`` only, so a
    seeded run gives the same samples on any machine;
    ``SOCCA_TRAINING_WORKERS=0`` in the environment turns it off.

    With ``fit.run(ncores=N)``, a pool or MPI ranks, the problem arrives as a
    :class:`socca.parallel.Distributed`: nautilus still sees one vectorized
    likelihood, which splits each batch among the workers (no padding here:
    the workers pad their shares), and ``n_batch`` defaults to nautilus' own
    rule for a pool of that size, the smallest multiple of the number of
    workers that is at least 100. nautilus' own computations then stay in the
    driving process.

Accelerators
    On a GPU or TPU a batch of a few hundred points costs about what one
    point does, so ``n_batch`` defaults to ``n_live // 4`` there, between
    100 and ``ACCELERATOR_BATCH``, to keep the device busy (on an H200, 20 000
    calls of the tutorial fit took 76 s with batches of 500 and 96 s with
    batches of 100); an explicit ``n_batch`` is always kept.

Checkpoints
    ``checkpoint="name"`` uses nautilus' own HDF5 format in ``name.hdf5``.
    nautilus writes its file in place: after each batch it reopens the file and
    overwrites the shell that changed, and after each new bound it deletes the
    file and writes it again. A kill during either leaves a truncated or
    half-updated file. Here every write goes to ``name.tmp.hdf5`` instead (a
    copy of the last checkpoint for the per-batch updates, a new file for the
    full writes), which is flushed to disk and then renamed over ``name.hdf5``
    with :func:`os.replace`. A rename is atomic, so at any moment
    ``name.hdf5`` is a whole checkpoint (the last one, or the one before); a
    killed run leaves at most a stale ``name.tmp.hdf5``, which the next run
    discards. The price is a file copy and an ``fsync`` per batch (about 15 %
    of the run time on an 8-parameter Gaussian whose likelihood costs nothing;
    little next to image likelihoods). The file also stores the random state,
    so a run interrupted and resumed gives the samples of an uninterrupted one.
    It records the problem's ``ndim``, ``labels`` and fingerprint (see
    :mod:`socca.inference.fingerprint`) and is refused (``ValueError``) by a
    problem with other ones.

Numerical faults
    NaN or infinite log-likelihoods are counted and replaced by -inf before
    nautilus sees them (:mod:`socca.inference.accounting`); their number is
    ``extras['nonfinite']``, and a :class:`NumericalWarning` reports them.

Evidence error
    nautilus gives no uncertainty for ``log_z``. ``Result.logz_err`` is
    ``1 / sqrt(n_eff)``, the relative error of an importance-sampling estimate
    with ``n_eff`` effective samples (``sampler.n_eff``) and the statistical
    error nautilus' authors quote. Over seeds, on the analytic test problem,
    the scatter of ``log_z`` is 0.5 to 0.9 times this. It leaves out the bias
    of keeping the exploration phase (``discard_exploration=False``, nautilus'
    default), seen there up to about one such error at small ``n_live``;
    ``discard_exploration=True`` removes it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import nautilus
import numpy as np

from socca.inference.accounting import Faults, flagged_functions
from socca.inference.backends._common import (
    checkpoint_path,
    prepare_checkpoint,
    split_options,
)
from socca.inference.backends._common import (
    problem_attrs as _problem_attrs,
)
from socca.inference.backends._common import (
    publish as _publish,
)
from socca.inference.backends._common import (
    temporary_path as _temporary_path,
)
from socca.inference.results import Result
from socca.parallel.batching import accelerated
from socca.parallel.training import TrainingPool, training_workers

EVIDENCE = True
CHECKPOINT = ".hdf5"

DEFAULT_N_LIVE = 2000  # nautilus' default
DEFAULT_N_BATCH = 100  # nautilus' default, for one process
DEFAULT_N_NETWORKS = 4  # nautilus' default
ACCELERATOR_BATCH = 512  # largest default batch on a GPU or TPU

ALIASES = {"nlive": "n_live"}
# Arguments socca sets itself, with what to use instead.
RESERVED = {
    "prior": "the problem's priors",
    "likelihood": "the problem's likelihood",
    "n_dim": "the problem's dimension",
    "pass_dict": "the problem's likelihood",
    "prior_args": "the problem's priors",
    "prior_kwargs": "the problem's priors",
    "likelihood_args": "the problem's likelihood",
    "likelihood_kwargs": "the problem's likelihood",
    "seed": "seed=",
    "filepath": "checkpoint=",
    "resume": "resume=",
    "verbose": "progress=",
    "pool": "fit.run(ncores=...) or fit.run(pool=...)",
}


def run(problem, *, checkpoint=None, resume=True, seed=None, progress=True, **options):
    """Sample ``problem`` with :class:`nautilus.Sampler`.

    Parameters
    ----------
    problem : socca.inference.Problem
        The compiled problem (or anything with the same attributes).
    checkpoint : str or None
        Checkpoint name: the sampler state goes to ``checkpoint + ".hdf5"``.
    resume : bool
        Resume from an existing checkpoint file; if False it is deleted first.
    seed : int or None
        Seed of the sampler's random generator (reproducible runs).
    progress : bool
        Print nautilus' progress (its ``verbose``).
    **options
        Keyword arguments of ``nautilus.Sampler`` or ``Sampler.run``
        (``nlive`` is an alias of ``n_live``).

    Returns
    -------
    socca.inference.results.Result
        Importance-weighted samples, ``log_z`` and ``1 / sqrt(n_eff)``.

    Raises
    ------
    TypeError
        For an option neither nautilus method takes, or one socca sets.
    ValueError
        For ``nlive`` with ``n_live``, a checkpoint of another problem, or
        fewer than two free parameters (nautilus' own limit).
    """
    if problem.ndim < 2:
        raise ValueError(
            f"nautilus needs at least 2 free parameters, the model has {problem.ndim}; "
            "use method='dynesty', 'pocomc', 'emcee' or 'optimizer'"
        )
    init_kw, run_kw = _split_options(options)
    path = checkpoint_path(checkpoint, CHECKPOINT)
    if path is not None:
        _prepare_checkpoint(path, problem, resume)
    distributed = getattr(problem, "distributed", False)
    faults = Faults(problem.labels)
    single, batch = flagged_functions(problem)
    loglike = _Batched(batch, single, pad=not distributed, faults=faults)
    prior = _Batched(problem.prior_transform, problem.prior_transform)
    init_kw.setdefault("n_batch", default_batch(init_kw, getattr(problem, "nworkers", 1)))
    if not distributed:
        workers = training_workers(init_kw.get("n_networks", DEFAULT_N_NETWORKS))
        if workers:
            init_kw["pool"] = (None, TrainingPool(workers))
    sampler = SafeSampler(
        prior,
        loglike,
        n_dim=problem.ndim,
        vectorized=init_kw.pop("vectorized", True),
        seed=seed,
        filepath=None if path is None else str(path),
        resume=resume,
        **init_kw,
    )
    sampler.problem_attrs = _problem_attrs(problem)
    resumed = sampler.n_like > 0
    success = sampler.run(verbose=progress, **run_kw)
    result = _make_result(sampler, loglike, success)
    result.extras["resumed"] = resumed
    return faults.report(result, "nautilus")


def default_batch(init_kw, nworkers=1):
    """``n_batch`` unless given: 100, more on an accelerator, a multiple of ``nworkers``."""
    size = DEFAULT_N_BATCH
    if accelerated():
        n_live = init_kw.get("n_live", DEFAULT_N_LIVE)
        size = max(DEFAULT_N_BATCH, min(ACCELERATOR_BATCH, n_live // 4))
    return -(-size // nworkers) * nworkers


def _split_options(options):
    """Split ``options`` into ``nautilus.Sampler`` and ``Sampler.run`` keywords."""
    return split_options(
        "nautilus",
        options,
        ALIASES,
        RESERVED,
        nautilus.Sampler.__init__,
        nautilus.Sampler.run,
        "nautilus.Sampler or Sampler.run",
    )


class _Batched:
    """A JAX function of ``(n, ndim)`` arrays, called on numpy and answering numpy.

    Batches are padded (repeating the last row) to a size in a short list:
    the largest batch seen so far, or a power of two below it, so that JAX
    traces the function for a handful of shapes only.

    Parameters
    ----------
    batch_fn : callable
        ``(n, ndim) -> (n, ...)``, jit-compiled.
    single_fn : callable
        ``(ndim,) -> ...``, for the single points of a non-vectorized run.
    pad : bool
        Pad batches (False when ``batch_fn`` sends them to workers that pad
        their own shares).
    faults : socca.inference.accounting.Faults, optional
        Screens the answers (log-likelihoods): numerical faults become -inf
        and are counted.

    Attributes
    ----------
    ncall : int
        Number of points evaluated (padding excluded).
    nbatch : int
        Number of batched calls.
    largest : int
        Largest batch seen.
    """

    def __init__(self, batch_fn, single_fn, pad=True, faults=None):
        self.batch_fn = batch_fn
        self.single_fn = single_fn
        self.pad = pad
        self.faults = faults
        self.ncall = 0
        self.nbatch = 0
        self.largest = 0

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            self.ncall += 1
            return self._screen(x, np.asarray(self.single_fn(x)))
        n = x.shape[0]
        if n == 0:
            return np.asarray(self.batch_fn(np.zeros((1, x.shape[1]))))[:0]
        size = _bucket(n, self.largest) if self.pad else n
        self.largest = max(self.largest, n)
        self.ncall += n
        self.nbatch += 1
        if size > n:
            x = np.concatenate([x, np.repeat(x[-1:], size - n, axis=0)])
        return self._screen(x[:n], np.asarray(self.batch_fn(x))[:n])

    def _screen(self, x, values):
        return values if self.faults is None else self.faults.screen(x, values)


def _bucket(n, largest):
    """The padded size of a batch of ``n``: ``n`` itself if no smaller than
    ``largest``, else the next power of two, capped at ``largest``."""
    if n >= largest:
        return n
    return min(1 << (n - 1).bit_length(), largest)


class SafeSampler(nautilus.Sampler):
    """A :class:`nautilus.Sampler` whose checkpoint file is only ever replaced whole.

    Attributes
    ----------
    problem_attrs : dict
        HDF5 attributes identifying the problem, stored in every full write.
    """

    problem_attrs = None

    def write(self, filepath, overwrite=False):
        """Write the whole sampler to a temporary file, then rename it to ``filepath``."""
        filepath = Path(filepath)
        if filepath.exists() and not overwrite:
            raise RuntimeError(f"File {filepath} already exists.")
        tmp = _temporary_path(filepath)
        super().write(tmp, overwrite=True)
        with h5py.File(tmp, "r+") as f:
            f.attrs.update(self.problem_attrs or {})
        _publish(tmp, filepath)

    def write_shell_update(self, filepath, shell):
        """Update a copy of ``filepath`` with one shell, then rename it over the original."""
        filepath = Path(filepath)
        tmp = _temporary_path(filepath)
        shutil.copyfile(filepath, tmp)
        super().write_shell_update(tmp, shell)
        _publish(tmp, filepath)


def _prepare_checkpoint(path, problem, resume):
    """Drop a stale temporary file; delete ``path`` unless resuming, else check it."""
    prepare_checkpoint(path, problem, resume)


def _make_result(sampler, loglike, success):
    """The common :class:`Result` of a finished nautilus run."""
    points, log_w, log_l = sampler.posterior()
    n_eff = float(sampler.n_eff)
    extras = {
        "ncall": int(sampler.n_like),
        "n_eff": n_eff,
        "eta": float(sampler.eta),
        "log_l": log_l,
        "success": bool(success),
        "nbatch": loglike.nbatch,
    }
    return Result(
        samples=points,
        weights=np.exp(log_w - np.max(log_w)),
        logz=sampler.log_z,
        logz_err=1.0 / np.sqrt(n_eff) if n_eff > 0 else np.inf,
        sampler=sampler,
        extras=extras,
    )
