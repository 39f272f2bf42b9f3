"""The parallelism of one ``fit.run``: in this process, on a process pool, or on MPI ranks."""

from __future__ import annotations

import dataclasses
import functools
import numbers
import pickle
import warnings

import numpy as np

from socca.inference.accounting import flagged_functions
from socca.parallel import mpi
from socca.parallel.batching import Bucketed
from socca.parallel.pool import ForeignPool, Pool, Recipe, check_count, cpu_count

# methods whose likelihood batches can go to other processes
POOLED = ("nautilus", "dynesty", "pocomc", "emcee")
VECTORIZE = ("vectorize", "vectorized")  # pocomc and emcee; nautilus

OPTIMIZER_SINGLE = (
    "the optimizer runs in a single process (one L-BFGS-B descent, with gradients, "
    "evaluated one point at a time): ncores and pool are not available for it; "
    "use nrestarts for several starts, or a sampler for parallel runs"
)
OPTIMIZER_MPI = (
    "the optimizer runs in a single process: under MPI rank 0 runs it and the other "
    "ranks wait for its result"
)
NUMPYRO_POOL = (
    "numpyro runs its chains inside one process: pool is not available; use ncores=N for N chains"
)
NUMPYRO_MPI = (
    "numpyro runs its chains inside one process and cannot use MPI ranks: run the script "
    "without mpirun/srun (ncores=N for N chains), or set SOCCA_MPI=0 to run every rank on "
    "its own"
)
DYNESTY_MPI = (
    "dynesty may not benefit from MPI: its proposals run one after another on rank 0 and "
    "each likelihood batch holds at most queue_size points, so the other ranks wait most "
    "of the time; nautilus or pocomc make better use of many ranks"
)


class Distributed:
    """A problem whose batch likelihood runs on other processes.

    Everything but ``loglike_batch`` is the local problem's, so a backend
    drives it as it drives a :class:`socca.inference.Problem`.

    Parameters
    ----------
    problem : socca.inference.Problem
        The local problem.
    evaluate : callable
        ``(n, ndim) numpy -> (n,) numpy``, splitting the batch among the workers
        (which pad their shares to few shapes: backends need not pad) and
        answering flagged log-likelihoods (NaN for numerical faults).
    nworkers : int
        Processes sharing each batch.

    Attributes
    ----------
    distributed : bool
        True: backends skip their own batch padding.
    """

    distributed = True

    def __init__(self, problem, evaluate, nworkers):
        self.problem = problem
        self.nworkers = int(nworkers)
        self._evaluate = evaluate

    def loglike_batch_flagged(self, thetas):
        """Log-likelihoods of the rows of ``thetas``, computed by the workers.

        NaN marks a numerical fault (see :mod:`socca.inference.accounting`):
        the workers evaluate the flagged likelihood, so that the driving
        process counts the faults of every share.
        """
        return np.asarray(self._evaluate(np.asarray(thetas, dtype=float)), dtype=float)

    def loglike_batch(self, thetas):
        """:meth:`loglike_batch_flagged` with faults as -inf, like ``Problem.loglike_batch``."""
        values = self.loglike_batch_flagged(thetas)
        return np.where(np.isnan(values), -np.inf, values)

    def __getattr__(self, name):
        if name == "problem":  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.problem, name)


class Session:
    """How one ``fit.run`` evaluates its likelihood, chosen from its options and the launcher.

    Validates the parallelism options before anything runs and takes them
    out of the options left for the backend (``ncores`` stays for numpyro,
    where it is the number of chains).

    Parameters
    ----------
    method : str
        The inference method.
    options : dict
        The user's options to ``fit.run``.

    Attributes
    ----------
    mode : {'serial', 'pool', 'mpi'}
        In this process, on a process pool, or on MPI ranks.
    options : dict
        The options for the backend.
    rank : int
        This process' MPI rank (0 outside MPI).
    pool : Pool or ForeignPool or None
        The pool of mode ``'pool'``.

    Raises
    ------
    ValueError
        For ``ncores`` with ``pool``, ``vectorize=True`` with a pool or MPI,
        a pool or ``ncores`` for the optimizer, a pool for numpyro, numpyro
        under MPI, or a non-positive ``ncores``.
    ImportError
        Under an MPI launcher without mpi4py.
    """

    def __init__(self, method, options):
        self.method = method.lower()
        options = dict(options)
        ncores, pool = options.get("ncores"), options.get("pool")
        if pool is not None and ncores is not None:
            raise ValueError("give either ncores or pool, not both")
        if self.method != "numpyro":
            options.pop("ncores", None)
        options.pop("pool", None)
        self.options = options
        self.pool, self._owned, self.comm, self.rank = None, False, None, 0
        workers = 1 if self.method == "numpyro" else _workers(ncores, pool)
        self._check_methods(pool, workers)
        comm = None if _is_pool_object(pool) else mpi.world()
        if comm is not None:
            self.mode, self.comm, self.rank = "mpi", comm, comm.Get_rank()
            self._check_mpi(ncores, pool)
        elif _is_pool_object(pool) or (self.method in POOLED and workers > 1):
            self.mode = "pool"
            self._check_vectorize("a pool")
            if isinstance(pool, Pool) or not _is_pool_object(pool):
                self._new_pool = pool if _is_pool_object(pool) else workers
            else:
                self._new_pool = ForeignPool(pool)  # checks it has a map method
        else:
            self.mode = "serial"

    # -- validation ----------------------------------------------------------------
    def _check_methods(self, pool, workers):
        if self.method == "optimizer" and (_is_pool_object(pool) or workers > 1):
            raise ValueError(OPTIMIZER_SINGLE)
        if self.method == "numpyro":
            if pool is not None:
                raise ValueError(NUMPYRO_POOL)
            if mpi.world() is not None:
                raise ValueError(NUMPYRO_MPI)

    def _check_vectorize(self, where):
        for name in VECTORIZE:
            if name not in self.options:
                continue
            if self.options[name]:
                raise ValueError(
                    f"{name}=True evaluates whole batches in one process and cannot use "
                    f"{where}: drop one of the two"
                )
            # False: batches go to the workers anyway
            self.options.pop(name)

    def _check_mpi(self, ncores, pool):
        self._check_vectorize("MPI ranks")
        root = self.rank == 0
        if root and ((ncores or 1) != 1 or (pool or 1) != 1):
            what = f"ncores={ncores}" if ncores is not None else f"pool={pool}"
            warnings.warn(
                f"{what} ignored: under MPI the {self.comm.Get_size()} ranks evaluate the "
                "likelihood",
                UserWarning,
                stacklevel=4,
            )
        if root and self.method == "dynesty":
            warnings.warn(DYNESTY_MPI, UserWarning, stacklevel=4)
        if root and self.method == "optimizer":
            warnings.warn(OPTIMIZER_MPI, UserWarning, stacklevel=4)

    # -- running -------------------------------------------------------------------
    @property
    def is_root(self):
        """Whether this process drives the sampler and reports (rank 0)."""
        return self.rank == 0

    def __enter__(self):
        if self.mode == "pool":
            new = self._new_pool
            if isinstance(new, int):  # ncores=N: this process and N - 1 workers
                threads = max(1, cpu_count() // new)
                self.pool, self._owned = Pool(new - 1, threads=threads), True
            else:  # the user's: a socca Pool, or a foreign one wrapped
                self.pool = new
        return self

    def __exit__(self, *exc):
        if self._owned and self.pool is not None:
            self.pool.close()
        self.pool, self._owned = None, False

    def shared_seed(self, seed):
        """``seed``, or (outside serial mode) one drawn here and shared by every process."""
        if seed is not None or self.mode == "serial":
            return seed
        if self.mode == "mpi":
            drawn = _draw_seed() if self.is_root else None
            return self.comm.bcast(drawn, root=0)
        return _draw_seed()

    def run(self, backend, problem, build, **kwargs):
        """``backend.run`` on ``problem``; every process returns the result.

        Parameters
        ----------
        backend : module
            The sampler backend.
        problem : socca.inference.Problem
            This process' compiled problem.
        build : callable
            Builds the same problem in a worker (pickled with dill).
        **kwargs
            ``checkpoint``, ``resume``, ``seed``, ``progress`` for the backend.
        """
        if self.mode == "serial":
            return backend.run(problem, **kwargs, **self.options)
        if self.mode == "pool":
            self.pool.bind(Recipe(build))
            evaluate, size = self.pool.evaluate, self.pool.size
            if self._owned:  # this process takes a share too
                local = Bucketed(flagged_functions(problem)[1])
                evaluate, size = functools.partial(evaluate, local=local), size + 1
            distributed = Distributed(problem, evaluate, size)
            return backend.run(distributed, **kwargs, **self.options)
        if not self.is_root:
            outcome = mpi.serve(self.comm, problem)
            if isinstance(outcome, mpi.Failure):
                outcome.reraise()
            return outcome
        driver = mpi.Driver(self.comm, problem)
        distributed = Distributed(problem, driver.evaluate, driver.size)
        try:
            result = backend.run(distributed, **kwargs, **self.options)
        except Exception as err:
            driver.finish(mpi.Failure(err, self.rank))
            raise
        except BaseException:  # KeyboardInterrupt mid-exchange: the ranks cannot resync
            self.comm.Abort(1)
            raise
        driver.finish(shareable(result))
        return result


def _is_pool_object(pool):
    return pool is not None and not isinstance(pool, numbers.Integral)


def _workers(ncores, pool):
    """The number of processes asked for by ``ncores`` or an integer ``pool``."""
    if ncores is not None:
        return check_count("ncores", ncores)
    if pool is None or _is_pool_object(pool):
        return 1
    return check_count("pool", pool)


def _draw_seed():
    return int(np.random.SeedSequence().generate_state(1)[0])


def shareable(result):
    """``result`` without what cannot be sent to other processes.

    The sampler object holds compiled functions and open pools, so the other
    ranks get ``sampler=None``; extras that do not pickle are left out too.
    """
    extras = {}
    for key, value in result.extras.items():
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - any pickling failure: leave it out
            continue
        extras[key] = value
    return dataclasses.replace(result, sampler=None, extras=extras)
