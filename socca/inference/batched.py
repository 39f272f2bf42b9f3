"""Batched log-likelihoods: pairs of evaluations, chunks that fit the caches, one share per core.

A batch ``thetas (n, nfree) -> (n,)`` is evaluated

* two rows at a time: the two model images share one complex FFT pair
  (:meth:`socca.models.render.Renderer.render_pair`), about 0.7 of the cost
  of the two real pairs they replace on a CPU;
* on a CPU, split evenly among the CPU devices (one per core, see
  :mod:`socca.parallel.devices`), which evaluate their shares at once
  (``shard_map``): XLA runs each FFT on one thread, so a batch on one device
  keeps one core busy for most of its time;
* on each device, in chunks of a few rows, one after the other inside the
  compiled function (``lax.map``): batches cost least per point when their
  spectra fit the caches (:func:`cpu_chunk`).

On an accelerator the batch goes whole to the default device. Rows added
to fill the pairs, chunks and devices repeat the last row and are dropped
from the answer; a batch split among devices is padded in numpy before the
call, because any array operation around a ``shard_map`` in the same
compiled function costs more than a tenth of a millisecond on a CPU.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, PartitionSpec

from socca.errors import InputError
from socca.models.convolve import padded_shape, psf_halfwidth
from socca.parallel.batching import CPU_CACHE_BYTES, CPU_CHUNK
from socca.parallel.devices import Compiled, compiler_options


def cpu_chunk(img):
    """Rows per chunk of a batched likelihood on a CPU: as many images as fit the caches.

    A power of two, at most ``CPU_CHUNK``: the number of the image's padded
    spectra (complex128) that fit in ``CPU_CACHE_BYTES``, at least 1.
    """
    shape = img.shape
    if img.psf is not None:
        shape = padded_shape(img.shape, psf_halfwidth(img.psf))
    spectrum = 16 * shape[0] * (shape[1] // 2 + 1)
    fit = max(1, CPU_CACHE_BYTES // spectrum)
    return min(CPU_CHUNK, 1 << (fit.bit_length() - 1))


def layout(n, pairs_per_chunk, ndevices):
    """``(devices used, chunks per device, pairs per chunk)`` for a batch of ``n >= 1`` rows.

    As many devices as there are pairs, at most ``ndevices``; each device's
    pairs in equal chunks of at most ``pairs_per_chunk``. Without devices
    (an accelerator) the pairs form one chunk.
    """
    pairs = -(-n // 2)
    used = max(1, min(ndevices, pairs))
    per_device = -(-pairs // used)
    chunks = -(-per_device // pairs_per_chunk) if ndevices else 1
    return used, chunks, -(-per_device // chunks)


class BatchedLoglike:
    """``thetas (n, nfree) -> (n,)`` from a pair function ``(2, nfree) -> (2,)``.

    Parameters
    ----------
    loglike_pair : callable
        Pure, jit-able log-likelihood of two parameter vectors.
    chunk : int
        Rows per chunk on a CPU (:func:`cpu_chunk`).
    devices : sequence of jax.Device
        CPU devices to split batches among; empty on an accelerator.

    Notes
    -----
    A batch traced by ``jit``, ``vmap`` or ``grad`` is computed on one
    device inside the caller's program (see
    :class:`socca.parallel.devices.Compiled`).
    """

    def __init__(self, loglike_pair, chunk, devices):
        self.pairs_per_chunk = max(1, chunk // 2)
        self.devices = tuple(devices)
        self._pairs = jax.vmap(loglike_pair)
        self._whole = Compiled(self._one_device)
        self._split = {}

    def __call__(self, thetas):
        if isinstance(thetas, jax.core.Tracer) or len(self.devices) < 2:
            return self._whole(thetas)
        thetas = np.asarray(thetas, dtype=float)
        if thetas.ndim != 2:
            raise InputError(f"thetas: expected an (n, nfree) array, got shape {thetas.shape}")
        n = thetas.shape[0]
        if n == 0:
            return jnp.zeros(0)
        used, chunks, size = layout(n, self.pairs_per_chunk, len(self.devices))
        if used < 2:
            return self._whole(thetas)
        rows = 2 * used * chunks * size
        if rows > n:
            thetas = np.concatenate([thetas, np.repeat(thetas[-1:], rows - n, axis=0)])
        # sliced in numpy: slicing the devices' shares in JAX is a cross-device operation
        return jnp.asarray(np.asarray(self._split_among(used)(thetas))[:n])

    def _share(self, thetas):
        """Rows on one device, in chunks: ``(chunks * size * 2, nfree) -> (chunks * size * 2,)``."""
        n, nfree = thetas.shape
        chunks = -(-n // (2 * self.pairs_per_chunk)) if self.devices else 1
        pairs = thetas.reshape(chunks, n // (2 * chunks), 2, nfree)
        if chunks == 1:
            return self._pairs(pairs[0]).reshape(-1)
        return lax.map(self._pairs, pairs).reshape(-1)

    def _one_device(self, thetas):
        thetas = jnp.asarray(thetas, dtype=float)
        n, nfree = thetas.shape
        if n == 0:
            return jnp.zeros((0,))
        _, chunks, size = layout(n, self.pairs_per_chunk, min(1, len(self.devices)))
        rows = 2 * chunks * size
        if rows > n:
            thetas = jnp.concatenate([thetas, jnp.broadcast_to(thetas[-1:], (rows - n, nfree))])
        return self._share(thetas)[:n]

    def _split_among(self, used):
        """The compiled ``shard_map`` of :meth:`_share` over the first ``used`` devices."""
        if used not in self._split:
            mesh = Mesh(np.asarray(self.devices[:used]), ("batch",))
            spec = PartitionSpec("batch")
            split = jax.shard_map(self._share, mesh=mesh, in_specs=spec, out_specs=spec)
            self._split[used] = jax.jit(split, compiler_options=compiler_options())
        return self._split[used]
