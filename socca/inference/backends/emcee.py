"""emcee backend: the affine-invariant ensemble sampler on the batched likelihood.

Options (besides ``checkpoint``, ``resume``, ``seed`` and ``progress``)
-----------------------------------------------------------------------
nwalkers : int, default ``max(2 * ndim + 2, 32)``
    Number of walkers; on resume, defaults to the checkpoint's. emcee needs
    at least ``2 * ndim``: fewer are raised to ``2 * ndim``, with a warning.
nsteps (alias ``n_steps``) : int, default 5000
    Total length of the chain in steps, counting steps restored from a
    checkpoint.
discard (alias ``n_burn``), thin : int, optional
    Burn-in steps dropped and thinning of the returned samples. Default 0 and
    1, or, with ``converge=True``, ``int(2 * max(tau))`` and
    ``max(1, int(min(tau) / 2))``.
converge : bool, default False
    Stop before ``nsteps`` once the chain is longer than ``tau_factor``
    autocorrelation times for every parameter and no time changed by more
    than 1 % since the previous check.
check_every : int, default 100
    Steps between two estimates of the autocorrelation time.
tau_factor : float, default 50
    Chain length, in autocorrelation times, that ``converge=True`` requires.
checkpoint_every : float, default 10
    Seconds between checkpoint snapshots.

Anything else goes to :class:`emcee.EnsembleSampler` (``moves``, ``pool``,
``vectorize``) or to its ``sample`` method (``tune``,
``skip_initial_state_check``, ``progress_kwargs``). Unless a ``pool`` is
given, the log-probability is vectorised: emcee hands a whole half-ensemble
to one call of the jit-compiled batch likelihood; with a ``pool`` (or
``vectorize=False``) walkers are evaluated one by one, through the pool.

The autocorrelation time is estimated every ``check_every`` steps whether
or not ``converge`` is set; ``extras`` holds ``tau`` (final estimate per parameter),
``tau_history`` (``(nchecks, ndim)``), ``tau_steps`` (chain length at each
check), ``discard``, ``thin``, ``converged``, ``acceptance_fraction``,
``nsteps`` and ``ncall`` (likelihood evaluations inside the prior support).

Checkpoints
-----------
emcee's own :class:`~emcee.backends.HDFBackend` reopens the file at every
step to resize the datasets and rewrite chain rows and attributes in place,
and never syncs it to disk. HDF5 keeps no journal and does not promise a
usable file when the writer dies with it open, nor after a system crash. (In
practice emcee's file survived each of 250 SIGKILLs at random moments in our
trials, so the window is narrow; but it is not closed.)

Here the chain lives in emcee's in-memory :class:`~emcee.backends.Backend`
and complete snapshots are published: written to ``<name>.hdf5.tmp``,
flushed to disk with ``fsync``, then renamed onto ``<name>.hdf5`` with
:func:`os.replace`, which is atomic. The file on disk is therefore always a
whole snapshot, whenever the process dies. Snapshots are published after the
last step, when sampling stops on an exception (``KeyboardInterrupt``
included), and after any step that ends at least ``checkpoint_every``
seconds after the previous snapshot: with a slow likelihood, where
checkpoints matter, that is every step; with a fast one a kill costs at most
``checkpoint_every`` seconds, and rewriting the whole chain stays cheap. The
file keeps emcee's layout (group ``mcmc``, readable with
``emcee.backends.HDFBackend(path, read_only=True)``); a group ``socca``
records the parameter labels, the problem's fingerprint (see
:mod:`socca.inference.fingerprint`), the number of likelihood calls and the
autocorrelation history. Resuming a checkpoint made for other parameters,
another image or another model raises :class:`ValueError`.

Numerical faults
----------------
NaN or infinite log-likelihoods are counted and replaced by -inf before emcee
sees them (:mod:`socca.inference.accounting`); their number is
``extras['nonfinite']``, and a :class:`NumericalWarning` reports them.
"""

from __future__ import annotations

import inspect
import json
import numbers
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import emcee
import h5py
import numpy as np

from socca.errors import InputError
from socca.inference.accounting import Faults, flagged_functions
from socca.inference.backends._common import (
    FINGERPRINT,
    check_identity,
    identity,
    resolve_aliases,
)
from socca.inference.results import Result

EVIDENCE = False
CHECKPOINT = ".hdf5"

DEFAULT_NSTEPS = 5000
MIN_WALKERS = 32
CHECK_EVERY = 100  # steps between autocorrelation-time estimates
TAU_FACTOR = 50  # converged chains are longer than this many autocorrelation times ...
TAU_RTOL = 0.01  # ... whose estimates changed by less than this since the last check
CHECKPOINT_EVERY = 10.0  # seconds between checkpoint snapshots
ALIASES = {"n_steps": "nsteps", "n_burn": "discard"}  # spellings of other codes
INIT_ROUNDS = 100  # prior draws of a whole ensemble tried for the starting walkers
GROUP = "mcmc"  # emcee's HDFBackend group name
META = "socca"

# arguments socca sets itself, or that would break its bookkeeping
_MANAGED = {
    "nwalkers", "ndim", "log_prob_fn", "backend", "args", "kwargs", "parameter_names",
    "blobs_dtype", "initial_state", "iterations", "store", "thin_by", "log_prob0", "rstate0",
    "blobs0", "a", "postargs", "threads", "live_dangerously", "runtime_sortingfn",
}  # fmt: skip


def run(
    problem,
    *,
    checkpoint=None,
    resume=True,
    seed=None,
    progress=True,
    nwalkers=None,
    nsteps=None,
    discard=None,
    thin=None,
    converge=False,
    checkpoint_every=CHECKPOINT_EVERY,
    check_every=CHECK_EVERY,
    tau_factor=TAU_FACTOR,
    **options,
) -> Result:
    """Sample the posterior of ``problem`` with :class:`emcee.EnsembleSampler`.

    Parameters
    ----------
    problem : socca.inference.Problem
        The compiled problem (or any object with the same attributes).
    checkpoint : str, optional
        Checkpoint name; the chain is saved to ``checkpoint + ".hdf5"``.
    resume : bool
        Continue the chain saved in the checkpoint, if there is one, up to
        ``nsteps`` in total; False deletes it and starts afresh.
    seed : int, optional
        Seed of the starting walkers and of emcee's random state; a resumed
        chain continues with the random state saved in the checkpoint.
    progress : bool
        Show emcee's progress bar.
    nwalkers, nsteps, discard, thin, converge, checkpoint_every, check_every, tau_factor
        See the module documentation.
    **options
        Forwarded to :class:`emcee.EnsembleSampler` or its ``sample`` method;
        ``n_steps`` and ``n_burn`` are aliases of ``nsteps`` and ``discard``.

    Returns
    -------
    Result
        Flattened chain after burn-in and thinning, uniform weights, no evidence.

    Raises
    ------
    TypeError
        For options neither emcee nor this backend knows.
    ValueError
        For a checkpoint made for another problem, ``discard >= nsteps``, an
        option given under two names, or a non-positive ``check_every`` or
        ``tau_factor``.
    """
    named = resolve_aliases(
        {k: v for k, v in (("nsteps", nsteps), ("discard", discard)) if v is not None}
        | {k: options.pop(k) for k in ALIASES if k in options},
        ALIASES,
    )
    nsteps = int(named.get("nsteps", DEFAULT_NSTEPS))
    discard = named.get("discard")
    check = _Checks(_positive_int("check_every", check_every), _positive("tau_factor", tau_factor))
    ctor_opts, sample_opts = _split_options(options)
    if discard is not None and discard >= nsteps:
        raise ValueError(f"discard={discard} leaves no samples out of nsteps={nsteps}")
    vectorize = ctor_opts.pop("vectorize", ctor_opts.get("pool") is None)
    store = _Snapshots(checkpoint + CHECKPOINT, problem, checkpoint_every) if checkpoint else None
    saved = _restore(store, resume)
    nwalkers = _nwalkers(nwalkers, problem.ndim, saved)
    logpost = _LogPosterior(problem, ncall=saved.ncall if saved else 0)
    sampler = emcee.EnsembleSampler(
        nwalkers,
        problem.ndim,
        logpost if vectorize else logpost.one,
        backend=saved.backend if saved else None,
        vectorize=vectorize,
        **ctor_opts,
    )
    rng = np.random.default_rng(seed)
    history = saved.history if saved else []
    if saved:
        state = sampler.backend.get_last_sample()
    else:
        sampler.random_state = np.random.RandomState(rng.integers(2**32)).get_state()
        state = _initial_state(problem, logpost, nwalkers, rng)
    loop = _Loop(nsteps, converge, store, progress, sample_opts, check)
    loop.advance(sampler, state, history, logpost)
    result = _result(sampler, history, discard, thin, converge, logpost.ncall, check)
    return logpost.faults.report(result, "emcee")


# --------------------------------------------------------------------------- options


def _names(function):
    return set(inspect.signature(function).parameters) - {"self"}


def _split_options(options):
    """Options for the constructor and for ``sample``; TypeError for the rest."""
    ctor, sample = _names(emcee.EnsembleSampler.__init__), _names(emcee.EnsembleSampler.sample)
    known = (ctor | sample) - _MANAGED - {"thin", "progress"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(
            f"emcee backend got unexpected option(s) {', '.join(map(repr, unknown))}; "
            f"emcee options: {', '.join(sorted(known))}"
        )
    return (
        {k: v for k, v in options.items() if k in ctor},
        {k: v for k, v in options.items() if k in sample},
    )


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"emcee: {name} must be a positive integer (steps), got {value!r}")
    return int(value)


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise InputError(f"emcee: {name} must be a positive number, got {value!r}")
    return float(value)


def _nwalkers(nwalkers, ndim, saved):
    if nwalkers is not None and int(nwalkers) < 2 * ndim:
        warnings.warn(
            f"emcee: nwalkers={nwalkers} is below 2 * ndim = {2 * ndim}, the fewest walkers "
            f"emcee accepts for {ndim} free parameters; using nwalkers={2 * ndim}",
            UserWarning,
            stacklevel=4,
        )
        nwalkers = 2 * ndim
    if saved is None:
        return int(nwalkers) if nwalkers is not None else max(2 * ndim + 2, MIN_WALKERS)
    if nwalkers is not None and int(nwalkers) != saved.nwalkers:
        raise ValueError(
            f"the checkpoint has {saved.nwalkers} walkers, not {nwalkers}: "
            "pass resume=False to start a new chain"
        )
    return saved.nwalkers


# --------------------------------------------------------------------------- log posterior


class _LogPosterior:
    """``log_prior + loglike``, on a batch of walkers or on one.

    The likelihood is evaluated only where the prior is finite; those rows
    are replaced by an inside one before the batch call, so that the
    compiled batch likelihood always sees the same shape. Numerical faults
    of the likelihood are counted by ``faults`` and become -inf.
    """

    def __init__(self, problem, ncall=0):
        self.problem = problem
        self.ncall = int(ncall)
        self.faults = Faults(problem.labels)
        _, self._batch = flagged_functions(problem)

    def __call__(self, thetas):
        thetas = np.asarray(thetas, dtype=float)
        logp = np.asarray(self.problem.log_prior(thetas), dtype=float)
        inside = np.isfinite(logp)
        out = np.full(len(thetas), -np.inf)
        if inside.any():
            filled = np.where(inside[:, None], thetas, thetas[np.argmax(inside)])
            logl = np.asarray(self._batch(filled), dtype=float)
            out[inside] = logp[inside] + self.faults.screen(thetas[inside], logl[inside])
            self.ncall += int(inside.sum())
        return np.where(np.isnan(out), -np.inf, out)

    def one(self, theta):
        """The log posterior of a single point ``theta``."""
        return float(self(np.asarray(theta, dtype=float)[None, :])[0])


def _initial_state(problem, logpost, nwalkers, rng):
    """Walkers drawn from the prior, redrawing those with zero posterior."""
    coords, logps = np.empty((0, problem.ndim)), np.empty(0)
    for _ in range(INIT_ROUNDS):
        x = np.asarray(problem.prior_transform(rng.uniform(size=(nwalkers, problem.ndim))))
        lp = logpost(x)
        good = np.isfinite(lp)
        coords, logps = np.concatenate([coords, x[good]]), np.concatenate([logps, lp[good]])
        if len(coords) >= nwalkers:
            return emcee.State(coords[:nwalkers], log_prob=logps[:nwalkers])
    raise RuntimeError(
        f"only {len(coords)} of {INIT_ROUNDS * nwalkers} prior draws have a finite "
        f"posterior, fewer than nwalkers={nwalkers}: check the priors and the model"
    )


# --------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class _Checks:
    """When the autocorrelation time is estimated, and when the chain counts as converged."""

    every: int = CHECK_EVERY  # steps between estimates
    factor: float = TAU_FACTOR  # converged chains are longer than this many times

    def converged(self, history):
        """The emcee recipe: long enough, and the time estimates have settled."""
        if len(history) < 2:
            return False
        (n, tau), (_, previous) = history[-1], history[-2]
        long_enough = np.all(n > self.factor * tau)
        return bool(long_enough and np.all(np.abs(previous - tau) < TAU_RTOL * tau))


@dataclass
class _Loop:
    """How far to run the chain, and what to do along the way."""

    nsteps: int
    converge: bool
    store: _Snapshots | None
    progress: bool
    sample_opts: dict
    checks: _Checks = _Checks()

    def advance(self, sampler, state, history, logpost):
        """Run ``sampler`` on from ``state``, appending ``(step, tau)`` to ``history``."""
        remaining = self.nsteps - sampler.iteration
        if remaining <= 0 or (self.converge and self.checks.converged(history)):
            return
        try:
            for _ in sampler.sample(
                state, iterations=remaining, progress=self.progress, **self.sample_opts
            ):
                if sampler.iteration % self.checks.every == 0:
                    history.append((sampler.iteration, _tau(sampler)))
                    if self.converge and self.checks.converged(history):
                        break
                if self.store is not None:
                    self.store.publish(sampler, history, logpost.ncall, force=False)
        finally:
            if self.store is not None:
                self.store.publish(sampler, history, logpost.ncall)


def _tau(sampler):
    """Integrated autocorrelation times, NaN where a walker never moved."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return sampler.get_autocorr_time(tol=0)


def _history_arrays(history, ndim):
    """The chain lengths at each check, and the ``(nchecks, ndim)`` time estimates."""
    steps = np.array([n for n, _ in history], dtype=int)
    return steps, np.array([tau for _, tau in history], dtype=float).reshape(len(history), ndim)


def _burn_in(tau, discard, thin, converge, nsteps):
    """``discard`` and ``thin``, from ``tau`` where not given and ``converge`` is set."""
    known = converge and np.isfinite(tau).any()
    if discard is None:
        discard = int(2 * np.nanmax(tau)) if known else 0
    if thin is None:
        thin = max(1, int(0.5 * np.nanmin(tau))) if known else 1
    return min(int(discard), nsteps - 1), int(thin)


def _result(sampler, history, discard, thin, converge, ncall, checks=_Checks()):
    tau = _tau(sampler)
    done = checks.converged(history)
    if converge and not done:
        warnings.warn(
            f"emcee did not converge in {sampler.iteration} steps (tau = {tau}); "
            "run longer (nsteps) for reliable samples",
            RuntimeWarning,
            stacklevel=3,
        )
    discard, thin = _burn_in(tau, discard, thin, converge, sampler.iteration)
    samples = sampler.get_chain(discard=discard, thin=thin, flat=True)
    steps, taus = _history_arrays(history, sampler.ndim)
    extras = {
        "ncall": ncall,
        "tau": tau,
        "tau_history": taus,
        "tau_steps": steps,
        "discard": discard,
        "thin": thin,
        "converged": done,
        "acceptance_fraction": sampler.acceptance_fraction,
        "nsteps": sampler.iteration,
    }
    return Result(samples, np.ones(len(samples)), None, None, sampler, extras)


# --------------------------------------------------------------------------- checkpoints


@dataclass
class _Saved:
    backend: emcee.backends.Backend
    history: list
    ncall: int

    @property
    def nwalkers(self):
        return self.backend.nwalkers


def _restore(store, resume):
    if store is None:
        return None
    store.tmp.unlink(missing_ok=True)  # a snapshot half-written by a killed run
    if not resume:
        store.clear()
        return None
    return store.load()


class _Snapshots:
    """An HDF5 checkpoint replaced atomically by complete snapshots."""

    def __init__(self, path, problem, every):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.problem = problem
        self.identity = identity(problem)
        self.every = float(every)
        self.last = time.monotonic()

    def clear(self):
        """Delete the checkpoint and any half-written snapshot."""
        self.path.unlink(missing_ok=True)
        self.tmp.unlink(missing_ok=True)

    def publish(self, sampler, history, ncall, force=True):
        """Write a snapshot if ``force`` or ``every`` seconds have passed since the last."""
        if sampler.iteration == 0 or not (force or time.monotonic() - self.last >= self.every):
            return
        with h5py.File(self.tmp, "w") as f:
            _write_chain(f.create_group(GROUP), sampler.backend)
            meta = f.create_group(META)
            meta.attrs["labels"] = json.dumps(self.identity["labels"])
            for key in ("ndim", *FINGERPRINT):
                if key in self.identity:
                    meta.attrs[key] = self.identity[key]
            meta.attrs["ncall"] = int(ncall)
            meta["tau_steps"], meta["tau_history"] = _history_arrays(history, sampler.ndim)
        _fsync(self.tmp)
        os.replace(self.tmp, self.path)
        _fsync(self.path.resolve().parent)
        self.last = time.monotonic()

    def load(self):
        """The saved chain as a :class:`_Saved`, or None when there is no checkpoint."""
        if not self.path.exists():
            return None
        try:
            f = h5py.File(self.path, "r")
        except OSError as err:
            raise ValueError(
                f"cannot read the checkpoint {self.path} ({err}); pass resume=False to start afresh"
            ) from err
        with f:
            self._check_identity(f)
            meta = f[META]
            steps, taus = meta["tau_steps"][()].tolist(), meta["tau_history"][()]
            history = list(zip(steps, taus, strict=True))
            return _Saved(_read_chain(f[GROUP]), history, int(meta.attrs["ncall"]))

    def _check_identity(self, f):
        if META not in f or GROUP not in f:
            raise ValueError(
                f"{self.path} is not a socca emcee checkpoint; "
                "choose another checkpoint name or pass resume=False to overwrite it"
            )
        attrs = f[META].attrs
        saved = {k: attrs[k] for k in ("ndim", *FINGERPRINT) if k in attrs}
        saved["labels"] = json.loads(attrs["labels"])
        check_identity(self.path, saved, self.problem)


def _write_chain(g, backend):
    """Store an in-memory backend in emcee's HDFBackend layout."""
    n = backend.iteration
    g.attrs.update(
        version=emcee.__version__,
        nwalkers=backend.nwalkers,
        ndim=backend.ndim,
        has_blobs=False,
        iteration=n,
    )
    g["accepted"] = backend.accepted
    g.create_dataset("chain", data=backend.chain[:n], maxshape=(None,) + backend.chain.shape[1:])
    g.create_dataset("log_prob", data=backend.log_prob[:n], maxshape=(None, backend.nwalkers))
    for i, value in enumerate(backend.random_state):
        g.attrs[f"random_state_{i}"] = value


def _read_chain(g):
    """An in-memory backend holding the chain stored by :func:`_write_chain`."""
    n = int(g.attrs["iteration"])
    backend = emcee.backends.Backend()
    backend.reset(int(g.attrs["nwalkers"]), int(g.attrs["ndim"]))
    backend.grow(n, None)
    backend.chain[:] = g["chain"][:n]
    backend.log_prob[:] = g["log_prob"][:n]
    backend.accepted[:] = g["accepted"][()]
    backend.iteration = n
    keys = sorted((k for k in g.attrs if k.startswith("random_state_")), key=lambda k: int(k[13:]))
    backend.random_state = tuple(g.attrs[k] for k in keys)
    return backend


def _fsync(path):
    """Flush ``path`` (a file or a directory) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
