"""Batches of parameter vectors: padding to few shapes, splitting among workers.

Pool workers and MPI ranks evaluate their whole share in one call: the
compiled batched likelihood goes through a batch one pair of points at a
time on a CPU (:mod:`socca.inference.batched`), so a large share needs no
more memory than a small one, and on a GPU a batch of hundreds costs about
what one point does.
"""

from __future__ import annotations

import numpy as np


def accelerated():
    """Whether JAX computes on an accelerator (GPU or TPU) rather than the CPU."""
    import jax

    return jax.default_backend() != "cpu"


def bucket(n, largest):
    """The padded size of a batch of ``n`` rows.

    ``n`` itself when it is no smaller than ``largest`` (the largest batch seen
    so far), else the next power of two, capped at ``largest``: a jit-compiled
    function then meets only a handful of shapes.
    """
    if n >= largest:
        return n
    return min(1 << (n - 1).bit_length(), largest)


class Bucketed:
    """A jit-compiled ``(n, ndim) -> (n,)`` function called on numpy batches.

    Each batch is padded (repeating its last row) to :func:`bucket` size, so
    that JAX traces the function for few shapes whatever sizes arrive.

    Parameters
    ----------
    batch_fn : callable
        ``(n, ndim) -> (n,)``, e.g. ``Problem.loglike_batch``.

    Attributes
    ----------
    ncall, nbatch, largest : int
        Rows evaluated (padding excluded), calls made and largest batch seen.
    """

    def __init__(self, batch_fn):
        self.batch_fn = batch_fn
        self.ncall = self.nbatch = self.largest = 0

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        n = x.shape[0]
        if n == 0:
            return np.empty(0)
        size = bucket(n, self.largest)
        self.largest = max(self.largest, n)
        self.ncall += n
        self.nbatch += 1
        if size > n:
            x = np.concatenate([x, np.repeat(x[-1:], size - n, axis=0)])
        return np.asarray(self.batch_fn(x), dtype=float)[:n]


def split(x, parts):
    """Split the rows of ``x`` into at most ``parts`` consecutive chunks of equal size.

    All chunks but the last hold ``ceil(n / parts)`` rows, so that every
    worker sees the same few shapes; empty chunks are left out.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    if n == 0:
        return []
    size = -(-n // max(1, int(parts)))
    return [x[i : i + size] for i in range(0, n, size)]
