"""``MultiPool``: socca's process pool with the interface of a multiprocessing pool."""

from __future__ import annotations

from socca.parallel.pool import Pool


class MultiPool(Pool):
    """A pool of ``processes`` worker processes for ``fit.run(pool=...)``.

    It is a :class:`socca.parallel.Pool`: each worker builds and compiles the
    problem once, then evaluates shares of every likelihood batch; it stays
    open for further runs until closed (or the ``with`` block ends). The
    workers are started by loky, so a script needs no
    ``if __name__ == "__main__":`` guard.

    Parameters
    ----------
    processes : int, optional
        Number of worker processes (default: the CPUs this process may use).
    threads : int, optional
        Compute threads per worker (default: the CPUs divided among them).

    Attributes
    ----------
    size : int
        Number of workers (also ``processes``).

    Examples
    --------
    >>> from socca.pool.mp import MultiPool
    >>> with MultiPool(processes=4) as pool:  # doctest: +SKIP
    ...     fit.run(method="nautilus", pool=pool)
    """

    def __init__(self, processes=None, threads=None):
        super().__init__(ncores=processes, threads=threads)

    @property
    def processes(self):
        """Number of worker processes."""
        return self.size

    def __repr__(self):
        state = "open" if self.open else "idle"
        return f"socca.pool.mp.MultiPool(processes={self.size}, threads={self.threads}) [{state}]"

    @staticmethod
    def is_master():
        """Always True: the calling process drives the pool (as in schwimmbad's pools)."""
        return True

    @staticmethod
    def is_worker():
        """Always False: workers never see the pool object."""
        return False

    def terminate(self):
        """Stop the workers at once (as :meth:`close`)."""
        self.close()

    def join(self):
        """Nothing to wait for after :meth:`close`, which waits for the workers itself."""
