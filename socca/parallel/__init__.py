"""Parallel and distributed runs: process pools and MPI.

``fit.run(ncores=N)`` (or ``pool=N``) shares the likelihood batches of
nautilus, dynesty, pocomc and emcee among N processes (this one and N - 1
workers, each of which builds and compiles the problem once); ``pool=`` also
takes a :class:`Pool`
kept open across runs, or any pool object with a ``map`` method. Under an
MPI launcher (``mpirun``/``mpiexec``/``srun``) the same script runs on every
rank: rank 0 drives the sampler and all ranks evaluate its batches (see
:mod:`socca.parallel.mpi`). For numpyro ``ncores`` is the number of chains;
the optimizer runs in one process.

Attributes
----------
Pool : class
    socca's process pool (loky), see :class:`socca.parallel.pool.Pool`.
"""

from __future__ import annotations

from socca.parallel.batching import accelerated
from socca.parallel.mpi import configure_threads, env_rank, launcher, world
from socca.parallel.pool import Pool
from socca.parallel.session import Distributed, Session


def rank():
    """This process' MPI rank (0 when not started by an MPI launcher)."""
    return env_rank()


def is_root():
    """Whether this process is rank 0, the one that prints and writes files."""
    return env_rank() == 0


class Silent:
    """Stands in for an object on the ranks that must not act: every method does nothing.

    Parameters
    ----------
    name : str
        What it stands for, shown by ``repr``.
    """

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"<{self._name} (inactive on MPI rank {rank()})>"

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _nothing


def _nothing(*args, **kwargs):
    return None


__all__ = [
    "Distributed",
    "Pool",
    "Session",
    "Silent",
    "accelerated",
    "configure_threads",
    "is_root",
    "launcher",
    "rank",
    "world",
]
