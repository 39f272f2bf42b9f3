"""The ``dynesty`` backend: static nested sampling with batched likelihood calls.

Options
    A :class:`dynesty.NestedSampler` (static) with dynesty's defaults
    (``nlive=500``, ``bound='multi'``, ``sample='auto'``, ...); ``n_live`` is
    an alias of ``nlive``. Options are sent to ``NestedSampler`` or to
    ``run_nested`` (``dlogz``, ``maxiter``, ``maxcall``, ``checkpoint_every``,
    ...) by their signatures; any other name is a TypeError, raised before
    sampling, as are the arguments socca sets itself (``loglikelihood``,
    ``prior_transform``, ``rstate``, ``print_progress``, ``checkpoint_file``,
    ...).

Batching
    dynesty evaluates its likelihood one point at a time. With a pool it fills
    a queue of ``queue_size`` new live points through ``pool.map``: every task
    of that map is a whole proposal (``InternalSampler.sample`` in dynesty 3.1:
    draw, transform, evaluate, repeat until the likelihood constraint is met,
    or a random walk or slice chain of many evaluations), and only the initial
    live points are mapped through the likelihood itself. :class:`BatchMap`,
    the pool socca gives dynesty, runs the tasks of one map in threads, one at
    a time, and holds every thread's likelihood call until all running tasks
    wait on one; then the waiting points go to ``problem.loglike_batch``
    together. Each round thus holds the next call of every unfinished task, so
    the batches do not depend on thread timing and seeded runs are
    reproducible. The batching relies on no dynesty internals beyond its use
    of ``pool.map``; a run in which dynesty does not map its initial live
    points is refused before sampling. Handing over between threads costs
    about 0.1 ms per likelihood call on a 2-core machine, some 10 % of a 128²
    image likelihood on a CPU, where batches are no cheaper per point; on a
    GPU a batch costs about one call. ``queue_size=1`` runs without threads.

    ``queue_size`` defaults to ``nlive // 10`` (at most 64): queued proposals
    were drawn under an older likelihood threshold, and the fraction dynesty
    then discards grows as ``queue_size / nlive``.

Parallel runs
    ``fit.run(ncores=N)``, ``pool=`` or MPI ranks hand the backend a
    :class:`socca.parallel.Distributed` problem: the batch map stays
    dynesty's pool, and each batch of waiting points is split among the
    workers (unpadded: they pad their own shares). dynesty's ``pool`` option
    is therefore socca's (``fit.run(pool=...)``), not passed to dynesty. The
    gain is limited: a batch holds at most ``queue_size`` points and the
    proposals themselves run one after another in the driving process.

Checkpoints
    ``checkpoint="name"`` writes ``name.hdf5`` when sampling starts, every
    ``checkpoint_every`` seconds (a ``run_nested`` option, 60 by default) and
    at the end. The file holds the pickled sampler (dynesty's own checkpoint
    content, random state included) as a byte dataset; socca's functions are
    stored as references and re-attached on resume, so the file does not
    depend on pickling JAX functions. Each write goes to ``name.tmp.hdf5``, is
    flushed with ``fsync`` and renamed over ``name.hdf5`` with
    :func:`os.replace`, so a kill never leaves a partial checkpoint; a run
    interrupted and resumed gives the samples of an uninterrupted one. The
    file records the problem's ``ndim``, ``labels`` and fingerprint (see
    :mod:`socca.inference.fingerprint`) and is refused (``ValueError``) by a
    problem with other ones. On resume the sampler comes from the file:
    constructor options are ignored, ``run_nested`` options apply.

Numerical faults
    NaN or infinite log-likelihoods are counted and replaced by -inf before
    dynesty sees them (:mod:`socca.inference.accounting`); their number is
    ``extras['nonfinite']``, and a :class:`NumericalWarning` reports them.
"""

from __future__ import annotations

import collections
import io
import pickle
import threading
from pathlib import Path

import dynesty
import h5py
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

EVIDENCE = True
CHECKPOINT = ".hdf5"

ALIASES = {"n_live": "nlive"}
DEFAULT_NLIVE = 500  # dynesty's default
QUEUE_FRACTION = 10  # default queue_size: nlive // QUEUE_FRACTION ...
MAX_QUEUE = 64  # ... at most this
# Pool uses that gain nothing from batching (no likelihood calls inside).
USE_POOL = {"prior_transform": False, "update_bound": False}
RESERVED = {
    "loglikelihood": "the problem's likelihood",
    "prior_transform": "the problem's priors",
    "ndim": "the problem's dimension",
    "logl_args": "the problem's likelihood",
    "logl_kwargs": "the problem's likelihood",
    "ptform_args": "the problem's priors",
    "ptform_kwargs": "the problem's priors",
    "blob": "the problem's likelihood",
    "rstate": "seed=",
    "print_progress": "progress=",
    "checkpoint_file": "checkpoint=",
    "resume": "resume=",
    "pool": "fit.run(ncores=...) or fit.run(pool=...)",
}


def run(problem, *, checkpoint=None, resume=True, seed=None, progress=True, **options):
    """Sample ``problem`` with :class:`dynesty.NestedSampler`.

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
        Print dynesty's progress (its ``print_progress``).
    **options
        Keyword arguments of ``dynesty.NestedSampler`` or ``run_nested``
        (``n_live`` is an alias of ``nlive``).

    Returns
    -------
    socca.inference.results.Result
        Weighted dead and live points, ``logz[-1]`` and ``logzerr[-1]``.

    Raises
    ------
    TypeError
        For an option neither dynesty call takes, or one socca sets.
    ValueError
        For ``nlive`` with ``n_live``, or a checkpoint of another problem.
    """
    init_kw, run_kw = _split_options(options)
    path = checkpoint_path(checkpoint, CHECKPOINT)
    if path is not None:
        _prepare_checkpoint(path, problem, resume)
    batch = BatchMap(problem, _queue_size(init_kw), pad=not getattr(problem, "distributed", False))
    writer = None if path is None else Checkpointer(path, problem, batch)
    resumed = path is not None and path.exists()
    if resumed:
        sampler = writer.load()
        _attach(sampler, batch)
    else:
        sampler = _new_sampler(problem, batch, seed, init_kw)
    if not sampler.added_live:
        _run_nested(sampler, writer, resumed, progress, run_kw)
    result = _result(sampler, batch)
    result.extras["resumed"] = resumed
    return batch.faults.report(result, "dynesty")


def _split_options(options):
    """Split ``options`` into ``NestedSampler`` and ``run_nested`` keywords."""
    return split_options(
        "dynesty",
        options,
        ALIASES,
        RESERVED,
        dynesty.NestedSampler,
        dynesty.sampler.Sampler.run_nested,
        "dynesty.NestedSampler or run_nested",
    )


def _queue_size(init_kw):
    """The queue size: the user's, else ``nlive // QUEUE_FRACTION`` capped at ``MAX_QUEUE``."""
    if init_kw.get("queue_size") is not None:
        return int(init_kw["queue_size"])
    nlive = init_kw.get("nlive", DEFAULT_NLIVE)
    return max(1, min(MAX_QUEUE, nlive // QUEUE_FRACTION))


def _new_sampler(problem, batch, seed, init_kw):
    """A fresh NestedSampler on socca's functions, pooled through ``batch``.

    Raises
    ------
    RuntimeError
        If dynesty did not map the initial likelihood calls through ``batch``.
    """
    kw = dict(init_kw)
    kw["pool"] = batch
    kw["queue_size"] = batch.size
    kw["use_pool"] = {**USE_POOL, **(kw.get("use_pool") or {})}
    sampler = dynesty.NestedSampler(
        batch.loglike,
        batch.prior_transform,
        problem.ndim,
        rstate=np.random.default_rng(seed),
        **kw,
    )
    mapped = kw["use_pool"].get("loglikelihood", True)
    if mapped and kw.get("live_points") is None and batch.nmap == 0:
        raise RuntimeError(
            f"dynesty {dynesty.__version__} did not evaluate its live points through "
            "pool.map: socca's batched likelihood does not fit this dynesty version"
        )
    return sampler


def _attach(sampler, batch):
    """Give a restored sampler its batch map back (dynesty drops its pool when pickling)."""
    batch.size = sampler.queue_size
    sampler.pool = batch
    sampler.mapper = batch.map


def _run_nested(sampler, writer, resumed, progress, run_kw):
    """``sampler.run_nested``, checkpointing through ``writer`` if any."""
    kw = {"print_progress": progress, "resume": resumed, **run_kw}
    if writer is None:
        sampler.run_nested(**kw)
        return
    writer.sampler = sampler
    sampler.save = writer  # run_nested checkpoints through sampler.save(file)
    try:
        if not resumed:
            writer()
        sampler.run_nested(checkpoint_file=str(writer.path), **kw)
    finally:
        del sampler.save


def _result(sampler, batch):
    """The common :class:`Result` of a finished dynesty run."""
    res = sampler.results
    logwt = np.asarray(res.logwt)
    extras = {
        "ncall": int(sampler.ncall),
        "niter": int(res.niter),
        "eff": float(res.eff),
        "information": float(res.information[-1]),
        "nbatch": batch.evaluate.nbatch,
        "results": res,
    }
    return Result(
        samples=res.samples,
        weights=np.exp(logwt - np.max(logwt)),
        logz=res.logz[-1],
        logz_err=res.logzerr[-1],
        sampler=sampler,
        extras=extras,
    )


class BatchMap:
    """socca's functions for dynesty, and a pool that batches their likelihood calls.

    ``map(func, items)`` runs ``func`` on each item in its own thread, at most
    ``size`` at once (a wave). The threads take turns: one runs until it asks
    for a likelihood (or ends its task) and then hands over to the next, so
    only one of them ever holds the interpreter. When every running task waits
    for a likelihood, the last one evaluates all their points in one
    ``problem.loglike_batch`` call and the turns start again. Calls from any
    other thread are evaluated alone with ``problem.loglike``.

    Parameters
    ----------
    problem : socca.inference.Problem
        The compiled problem.
    size : int
        Number of tasks run at once; dynesty's default ``queue_size``.
    pad : bool
        Pad likelihood batches to few shapes (False when the problem's batch
        likelihood runs on workers that pad their own shares).

    Attributes
    ----------
    evaluate : Batched
        The padded batch likelihood, with its call counters.
    faults : socca.inference.accounting.Faults
        Counts the numerical faults among the log-likelihoods (made -inf).
    nmap : int
        Number of ``map`` calls.
    """

    def __init__(self, problem, size, pad=True):
        self.problem = problem
        self.size = int(size)
        self.faults = Faults(problem.labels)
        self._single, batch = flagged_functions(problem)
        self.evaluate = Batched(batch, pad=pad, faults=self.faults)
        self.nmap = 0
        self._wave = _Wave(0)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_wave"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._wave = _Wave(0)

    def prior_transform(self, u):
        """Unit cube -> parameters for one point."""
        return np.asarray(self.problem.prior_transform(np.asarray(u, dtype=float)))

    def loglike(self, theta):
        """Log-likelihood of one point, batched with the other running tasks'."""
        wave, slot = self._wave, getattr(_local, "slot", None)
        theta = np.asarray(theta, dtype=float)
        if slot is None or getattr(_local, "wave", None) is not wave:
            return self.faults.screen_one(theta, self._single(theta))
        self._yield(wave, slot, theta)
        wave.wait_turn(slot)
        return wave.results.pop(slot)

    def map(self, func, iterable):
        """``[func(x) for x in iterable]``, with the likelihood calls batched."""
        self.nmap += 1
        items = list(iterable)
        out = []
        for start in range(0, len(items), self.size):
            out.extend(self._run_wave(func, items[start : start + self.size]))
        return out

    def _run_wave(self, func, items):
        wave = self._wave = _Wave(len(items))
        if len(items) == 1:  # no thread needed
            wave.pass_turn()
            self._task(wave, 0, func, items[0])
        else:
            for i, x in enumerate(items):
                threading.Thread(target=self._worker, args=(wave, i, func, x), daemon=True).start()
            wave.pass_turn()
            try:
                wave.done.wait()
            except BaseException as err:  # e.g. KeyboardInterrupt
                wave.abort(err)
                raise
        if wave.error is not None:
            raise wave.error
        return wave.outputs

    def _worker(self, wave, slot, func, item):
        _local.worker = True
        self._task(wave, slot, func, item)

    def _task(self, wave, slot, func, item):
        _local.wave, _local.slot = wave, slot
        try:
            wave.wait_turn(slot)
            wave.outputs[slot] = func(item)
        except BaseException as err:
            wave.abort(err)
        finally:
            _local.wave = _local.slot = None
        self._yield(wave, slot, None)

    def _yield(self, wave, slot, theta):
        """Leave the turn: wait with ``theta``, or end the task if None."""
        with wave.lock:
            if theta is None:
                wave.active -= 1
            else:
                wave.pending[slot] = theta
            batch = wave.take_batch()
        if batch:
            self._evaluate(wave, batch)
        elif wave.active == 0:
            wave.done.set()
        else:
            wave.pass_turn()

    def _evaluate(self, wave, batch):
        """Evaluate the waiting points ``batch`` and give the first of them the turn."""
        slots = sorted(batch)
        try:
            values = self.evaluate(np.stack([batch[s] for s in slots]))
        except BaseException as err:
            wave.abort(err)
            return
        wave.results.update(zip(slots, map(float, values), strict=True))
        wave.turns.extend(slots)
        wave.pass_turn()


class _Wave:
    """The shared state of the tasks of one ``BatchMap`` wave."""

    def __init__(self, n):
        self.lock = threading.Lock()
        self.events = [threading.Event() for _ in range(n)]
        self.turns = collections.deque(range(n))
        self.outputs = [None] * n
        self.pending, self.results = {}, {}
        self.active, self.error = n, None
        self.done = threading.Event()

    def take_batch(self):
        """The waiting points, once every running task waits (call with the lock held)."""
        if self.error is not None or not self.pending or len(self.pending) < self.active:
            return None
        batch, self.pending = self.pending, {}
        return batch

    def pass_turn(self):
        """Wake the next task in line."""
        if self.turns:
            self.events[self.turns.popleft()].set()

    def wait_turn(self, slot):
        """Block until it is the turn of task ``slot``; stop if the wave failed."""
        self.events[slot].wait()
        self.events[slot].clear()
        if self.error is None:
            return
        if getattr(_local, "worker", False):
            # Block for good rather than raise: dynesty's function wrapper would print a
            # traceback for every task. The thread is a daemon and holds no lock.
            threading.Event().wait()
        raise self.error

    def abort(self, err):
        """Record the first error, stop every task and release ``map``."""
        with self.lock:
            if self.error is None:
                self.error = err
            self.pending = {}
        for event in self.events:
            event.set()
        self.done.set()


_local = threading.local()


class Batched:
    """A jitted ``(n, ndim) -> (n,)`` function called on numpy batches.

    Batches are padded (repeating the last row) to the largest size seen so
    far or a power of two below it, so that JAX compiles few shapes (unless
    ``pad`` is False). With ``faults`` (a
    :class:`socca.inference.accounting.Faults`), the answers are screened:
    numerical faults become -inf and are counted.

    Attributes
    ----------
    ncall, nbatch, largest : int
        Points evaluated (padding excluded), calls made, largest batch seen.
    """

    def __init__(self, batch_fn, pad=True, faults=None):
        self.batch_fn = batch_fn
        self.pad = pad
        self.faults = faults
        self.ncall = self.nbatch = self.largest = 0

    def __call__(self, x):
        n = x.shape[0]
        size = (
            n if n >= self.largest or not self.pad else min(1 << (n - 1).bit_length(), self.largest)
        )
        self.largest = max(self.largest, n)
        self.ncall += n
        self.nbatch += 1
        if size > n:
            x = np.concatenate([x, np.repeat(x[-1:], size - n, axis=0)])
        values = np.asarray(self.batch_fn(x))[:n]
        return values if self.faults is None else self.faults.screen(x[:n], values)


class Checkpointer:
    """Writes and reads a dynesty sampler in ``path`` (an HDF5 file).

    Installed as ``sampler.save`` during ``run_nested``, which calls it every
    ``checkpoint_every`` seconds and at the end.

    Parameters
    ----------
    path : pathlib.Path
        The checkpoint file.
    problem : socca.inference.Problem
        Its ``ndim`` and ``labels`` are recorded in the file.
    batch : BatchMap
        socca's functions, pickled as a reference (and the writer itself).

    Attributes
    ----------
    sampler : dynesty.sampler.Sampler or None
        The sampler written by a call.
    """

    def __init__(self, path, problem, batch):
        self.path = Path(path)
        self.attrs = _problem_attrs(problem)
        self.externals = {"socca:batch": batch, "socca:checkpointer": self}
        self.sampler = None

    def __call__(self, fname=None):
        """Write ``self.sampler`` atomically (``fname`` is dynesty's argument, ignored)."""
        buffer = io.BytesIO()
        _Pickler(buffer, self.externals).dump(self.sampler)
        tmp = _temporary_path(self.path)
        with h5py.File(tmp, "w") as f:
            f.attrs.update(self.attrs)
            f.attrs["dynesty_version"] = dynesty.__version__
            f.create_dataset("sampler", data=np.frombuffer(buffer.getvalue(), dtype=np.uint8))
        _publish(tmp, self.path)

    def load(self):
        """The sampler stored in ``path``, with socca's functions re-attached."""
        with h5py.File(self.path, "r") as f:
            data = f["sampler"][()].tobytes()
        sampler = _Unpickler(io.BytesIO(data), self.externals).load()
        sampler.__dict__.pop("save", None)  # the hook installed while it was written
        return sampler


class _Pickler(pickle.Pickler):
    def __init__(self, file, externals):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._ids = {id(obj): key for key, obj in externals.items()}

    def persistent_id(self, obj):
        return self._ids.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, externals):
        super().__init__(file)
        self._externals = externals

    def persistent_load(self, pid):
        return self._externals[pid]


def _prepare_checkpoint(path, problem, resume):
    """Drop a stale temporary file; delete ``path`` unless resuming, else check it."""
    prepare_checkpoint(path, problem, resume, dataset="sampler", kind="socca dynesty")
