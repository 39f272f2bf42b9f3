"""Process pools whose workers each hold their own compiled copy of the problem.

A jit-compiled likelihood cannot be pickled, and compiling it costs seconds,
so workers never receive it: they receive a :class:`Recipe` (the model and
image, pickled with dill, and the function that builds the problem from
them), build and compile the problem once, and from then on receive plain
numpy batches of parameter vectors and answer arrays of log-likelihoods.

:class:`Pool` is socca's own pool (loky worker processes, which need no
``if __name__ == "__main__":`` guard in the user's script). The recipe goes to
each worker once, through the pool's initializer. ``fit.run(ncores=N)``
makes one of ``N - 1`` workers for the run, the calling process evaluating a
share of each batch too, and shuts it down afterwards; a ``Pool`` passed as
``fit.run(pool=...)`` stays open for further runs and is the user's to close
(its workers alone evaluate).

Any other object with a ``map`` method (``multiprocessing.Pool``,
``concurrent.futures`` executors, ``schwimmbad`` pools, ``mpi4py.futures``,
a ``dask.distributed`` client) is used through :class:`ForeignPool`: the
recipe then travels with every batch, but each worker process still builds
the problem only once and keeps it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import numbers
import os

import dill
import numpy as np

from socca.inference.accounting import flagged_functions
from socca.parallel import devices
from socca.parallel.batching import Bucketed, split

# XLA flags giving a CPU worker a single compute thread
SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
SIZE_ATTRIBUTES = ("_processes", "_max_workers", "num_workers", "size", "nt")
KEEP = 2  # problems a worker keeps (a fit and its prior-evidence counterpart)


def cpu_count():
    """The number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_count(name, value):
    """``value`` as a positive int, else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Recipe:
    """How a worker builds the problem: a pickled zero-argument callable.

    Parameters
    ----------
    build : callable
        Returns the problem, e.g. ``functools.partial(Problem, mod, img)``.
        It is pickled with dill (which handles the lambdas of functional
        priors) when the recipe is made.

    Attributes
    ----------
    data : bytes
        The pickled callable.
    key : str
        A digest of ``data``: workers cache problems under it.
    """

    def __init__(self, build):
        self.data = dill.dumps(build, recurse=True)
        self.key = hashlib.sha1(self.data).hexdigest()

    def build(self):
        """Unpickle the callable and build the problem, quietly."""
        with contextlib.redirect_stdout(io.StringIO()):
            return dill.loads(self.data)()


# ----------------------------------------------------------------------------- worker side

_PROBLEMS = {}  # recipe key -> Bucketed batch likelihood, in this worker process
_FAILURES = {}  # recipe key -> the exception raised while building it
_BUILDS = []  # keys of the problems this worker built, in order


def _install(recipe):
    """Build ``recipe``'s problem in this process and keep its batch likelihood."""
    if recipe.key in _PROBLEMS:
        return
    try:
        problem = recipe.build()
    except Exception as err:  # reported by the first evaluation, with the driver's stack
        _FAILURES[recipe.key] = err
        return
    while len(_PROBLEMS) >= KEEP:
        _PROBLEMS.pop(next(iter(_PROBLEMS)))
    # the flagged likelihood: NaN marks numerical faults, counted by the driver
    _PROBLEMS[recipe.key] = Bucketed(flagged_functions(problem)[1])
    _BUILDS.append(recipe.key)


def worker_state(_=None):
    """``(pid, keys of the problems built, batches evaluated)`` of the calling worker.

    For tests and diagnostics: ``pool.map(worker_state, range(n))``.
    """
    return os.getpid(), list(_BUILDS), sum(f.nbatch for f in _PROBLEMS.values())


def _init_worker(recipe):
    """Initializer of :class:`Pool` workers: build the problem once."""
    _install(recipe)


def _evaluate(key, chunk):
    """Log-likelihoods of the rows of ``chunk`` under the problem ``key``."""
    evaluate = _PROBLEMS.get(key)
    if evaluate is None:
        err = _FAILURES.get(key)
        raise RuntimeError(
            f"socca worker (pid {os.getpid()}) could not build the problem: {err!r}"
        ) from err
    return evaluate(chunk)


def _evaluate_with(task):
    """``_evaluate`` for a foreign pool: the task carries the recipe."""
    recipe, chunk = task
    _install(recipe)
    return _evaluate(recipe.key, chunk)


def worker_env(threads):
    """Environment variables for worker processes running ``threads`` threads each.

    Thread counts of OpenMP/BLAS and, for one thread, XLA's CPU flags are set
    unless the user already set them; each worker presents the CPU to JAX as
    one device (the workers are the parallelism, see
    :mod:`socca.parallel.devices`); GPU memory is not preallocated, so that
    workers sharing an accelerator do not each claim most of it.
    """
    env = {name: str(threads) for name in THREAD_VARIABLES if name not in os.environ}
    env[devices.ENV] = "1"
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        env["XLA_FLAGS"] = f"{flags} {SINGLE_THREAD_XLA}".strip()
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return env


# ----------------------------------------------------------------------------- driver side


class Pool:
    """socca's process pool: loky workers that each build the compiled problem once.

    Each worker is a one-process loky executor of its own, so that the shares
    of a batch go one to each worker: a shared task queue lets the first
    worker to wake take several shares in turn while another sleeps.

    Parameters
    ----------
    ncores : int, optional
        Number of worker processes (default: the CPUs this process may use).
    threads : int, optional
        Compute threads per worker for XLA and BLAS (default: the CPUs divided
        among the workers, at least one).

    Examples
    --------
    ``fit.run(ncores=4)`` makes and closes a pool by itself. A pool of your
    own is reused by further runs (workers restart when the problem changes)::

        with socca.parallel.Pool(4) as pool:
            fit.run(method="dynesty", pool=pool)
            fit2.run(pool=pool)

    Attributes
    ----------
    size : int
        Number of workers.
    """

    def __init__(self, ncores=None, threads=None):
        self.size = check_count("ncores", cpu_count() if ncores is None else ncores)
        default = max(1, cpu_count() // self.size)
        self.threads = check_count("threads", default if threads is None else threads)
        self._executors = []
        self._key = None

    def __repr__(self):
        state = "open" if self._executors else "idle"
        return f"socca.parallel.Pool(ncores={self.size}, threads={self.threads}) [{state}]"

    @property
    def open(self):
        """Whether worker processes are running (or ready to start)."""
        return bool(self._executors)

    def bind(self, recipe):
        """Make the workers hold ``recipe``'s problem (restarting them if they hold another)."""
        if self._executors and self._key == recipe.key:
            return
        self._start(initializer=_init_worker, initargs=(recipe,))
        self._key = recipe.key

    def _start(self, **kwargs):
        from loky import ProcessPoolExecutor

        self.close()
        env = worker_env(self.threads)
        self._executors = [
            ProcessPoolExecutor(max_workers=1, env=env, **kwargs) for _ in range(self.size)
        ]

    def evaluate(self, thetas, local=None):
        """Log-likelihoods of the rows of ``thetas``, one share per worker.

        Parameters
        ----------
        thetas : array-like
            ``(n, ndim)`` parameter vectors.
        local : callable, optional
            This process' own batch likelihood: given, this process evaluates
            one share while the workers evaluate the others.
        """
        if self._key is None:
            raise RuntimeError("the pool holds no problem: bind() a recipe first")
        chunks = split(thetas, self.size + (local is not None))
        if not chunks:
            return np.empty(0)
        mine = chunks.pop(0) if local is not None else None
        futures = [
            executor.submit(_evaluate, self._key, chunk)
            for executor, chunk in zip(self._executors, chunks, strict=False)
        ]
        own = [] if mine is None else [local(mine)]
        return np.concatenate(own + [f.result() for f in futures])

    def map(self, func, iterable):
        """``[func(x) for x in iterable]`` computed by the workers, dealt out in turn."""
        if not self._executors:
            self._start()
        n = len(self._executors)
        futures = [self._executors[i % n].submit(func, x) for i, x in enumerate(iterable)]
        return [f.result() for f in futures]

    def close(self, kill=True):
        """Shut the workers down and wait until they are gone.

        Workers hold nothing to save, so by default they are terminated
        rather than asked to finish (which takes seconds on a busy machine);
        ``kill=False`` lets running tasks finish first.
        """
        executors, self._executors, self._key = self._executors, [], None
        for executor in executors:
            executor.shutdown(wait=False, kill_workers=kill)
        for executor in executors:
            executor.shutdown(wait=True, kill_workers=kill)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        raise TypeError("a socca.parallel.Pool cannot be pickled")


def pool_size(pool):
    """The number of workers of a pool object, as nautilus finds it (else the CPU count)."""
    if "distributed.client.Client" in str(type(pool)):
        return len(pool.nthreads())
    for name in SIZE_ATTRIBUTES:
        value = getattr(pool, name, None)
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
            return int(value)
    return cpu_count()


class ForeignPool:
    """A pool of the user's own (anything with ``map``) fed socca's batches.

    Tasks carry the :class:`Recipe`; each worker builds the problem the first
    time it meets it and keeps it. The pool is the user's: ``close`` leaves it
    open.

    Parameters
    ----------
    pool : object
        The user's pool.
    """

    def __init__(self, pool):
        if not callable(getattr(pool, "map", None)):
            raise TypeError(
                f"pool must be an int or an object with a map method, got {type(pool).__name__}"
            )
        self.pool = pool
        self.size = pool_size(pool)
        self._recipe = None

    def bind(self, recipe):
        """Use ``recipe``'s problem from now on."""
        self._recipe = recipe

    def evaluate(self, thetas):
        """Log-likelihoods of the rows of ``thetas``, split among the pool's workers."""
        chunks = split(thetas, self.size)
        if not chunks:
            return np.empty(0)
        return np.concatenate(self.map(_evaluate_with, [(self._recipe, c) for c in chunks]))

    def map(self, func, iterable):
        """``[func(x) for x in iterable]`` through the user's pool."""
        if "distributed.client.Client" in str(type(self.pool)):
            return list(self.pool.gather(self.pool.map(func, list(iterable))))
        return list(self.pool.map(func, iterable))

    def close(self, kill=False):
        """Nothing: the user's pool stays open."""
