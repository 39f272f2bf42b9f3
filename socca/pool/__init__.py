"""Process pools for ``fit.run(pool=...)``.

``socca.pool.Pool`` is socca's process pool (see :mod:`socca.parallel.pool`);
``socca.pool.mp.MultiPool`` is the same pool under the name and arguments of
the other implementation's parallel tutorial::

    from socca.pool.mp import MultiPool

    with MultiPool(processes=4) as pool:
        fit.run(pool=pool)
"""

from socca.parallel.pool import ForeignPool, Pool, Recipe, cpu_count, pool_size, worker_state
from socca.pool import mp
from socca.pool.mp import MultiPool

__all__ = [
    "ForeignPool",
    "MultiPool",
    "Pool",
    "Recipe",
    "cpu_count",
    "mp",
    "pool_size",
    "worker_state",
]
