"""Worker processes for nautilus' own work: training its networks and drawing from its bounds.

For every new bound nautilus trains ``n_networks`` (default 4) small neural
networks with scikit-learn, one after the other, in the process that runs
the sampler. On the guide's quickstart that training is about two thirds of
the wall time, far more than the likelihood. Handed a pool for its "sampler
calculations", nautilus trains the networks side by side, and draws the
points of a new bound in ``pool.size`` chunks of at least 10 000 points in
all (kept for the next batches).

:class:`TrainingPool` is that pool: a loky executor whose workers import
numpy, scikit-learn and nautilus only (never JAX), started on first use and
kept for later runs in the same Python session. Its size is fixed by the
number of networks, not by the machine, because nautilus splits its random
stream by pool size: a seeded run gives the same samples on a laptop and on
a cluster node.
"""

from __future__ import annotations

import os

from socca.errors import InputError
from socca.parallel import devices

ENV = "SOCCA_TRAINING_WORKERS"  # 0 turns the pool off; a number caps its size
MAX_WORKERS = 4

_executors = {}


class TrainingPool:
    """The pool nautilus uses for its sampler calculations (``pool=(None, TrainingPool(n))``).

    Parameters
    ----------
    size : int
        Number of worker processes.
    """

    def __init__(self, size):
        self.size = int(size)

    def map(self, func, iterable):
        """``list(map(func, iterable))``, evaluated in the worker processes."""
        return list(_executor(self.size).map(func, iterable))


def training_workers(n_networks):
    """How many workers train ``n_networks`` networks: 0 (no pool) for a single network.

    ``SOCCA_TRAINING_WORKERS`` (environment) caps the number; 0 turns the
    pool off, so that nautilus trains in the driving process as it does by
    itself.
    """
    cap = MAX_WORKERS
    if ENV in os.environ:
        try:
            cap = int(os.environ[ENV])
        except ValueError:
            raise InputError(
                f"{ENV}={os.environ[ENV]!r}: expected a whole number of worker processes "
                "(0 turns the training pool off)"
            ) from None
    size = min(int(n_networks), cap)
    return size if size >= 2 else 0


def _executor(size):
    """The loky executor of ``size`` workers, started once per session."""
    from loky import ProcessPoolExecutor

    executor = _executors.get(size)
    if executor is None:
        # one BLAS thread per worker: the workers themselves are the parallelism
        env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        env[devices.ENV] = "1"  # in case a worker imports socca
        executor = ProcessPoolExecutor(max_workers=size, env=env)
        _executors[size] = executor
    return executor
