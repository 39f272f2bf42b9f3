"""Batches of parameter vectors: padding to few shapes, sizing, splitting among workers.

Pool workers and MPI ranks evaluate their shares in calls of at most
``CPU_ROWS`` rows on a CPU (a whole share on a GPU or TPU, where a batch of
hundreds costs about what one point does). The compiled batched likelihood
already goes through a batch one pair of points at a time
(:mod:`socca.inference.batched`), so that bound no longer protects the
caches, as it did when it was set; it only caps the rows of one call.
"""

from __future__ import annotations

import numpy as np

CPU_ROWS = 32  # rows per likelihood call on a CPU


def accelerated():
    """Whether JAX computes on an accelerator (GPU or TPU) rather than the CPU."""
    import jax

    return jax.default_backend() != "cpu"


def device_rows():
    """Rows per likelihood call: ``CPU_ROWS`` on a CPU, None (no limit) on an accelerator."""
    return None if accelerated() else CPU_ROWS


def in_chunks(fn, x, rows):
    """``fn(x)`` computed in equal chunks of at most ``rows`` rows (None: in one call).

    The last chunk is padded by repeating the last row, so that all chunks
    have one shape; the padding is dropped from the answer.
    """
    n = x.shape[0]
    if not rows or n <= rows:
        return np.asarray(fn(x), dtype=float)
    parts = -(-n // rows)
    size = -(-n // parts)
    if parts * size > n:
        x = np.concatenate([x, np.repeat(x[-1:], parts * size - n, axis=0)])
    out = [np.asarray(fn(x[i : i + size]), dtype=float) for i in range(0, parts * size, size)]
    return np.concatenate(out)[:n]


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
    that JAX traces the function for few shapes whatever sizes arrive, and
    evaluated in chunks of at most ``rows`` rows (see :func:`in_chunks`).

    Parameters
    ----------
    batch_fn : callable
        ``(n, ndim) -> (n,)``, e.g. ``Problem.loglike_batch``.
    rows : int or None, optional
        Largest chunk per call; default :func:`device_rows`.

    Attributes
    ----------
    ncall, nbatch, largest : int
        Rows evaluated (padding excluded), calls made and largest batch seen.
    """

    def __init__(self, batch_fn, rows="device"):
        self.batch_fn = batch_fn
        self.rows = device_rows() if rows == "device" else rows
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
        return in_chunks(self.batch_fn, x, self.rows)[:n]


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
