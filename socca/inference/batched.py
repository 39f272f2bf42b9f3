"""Batched log-likelihoods: pairs of evaluations, one share of the batch per CPU core.

A batch ``thetas (n, nfree) -> (n,)`` is evaluated

* two rows at a time: the two model images share one complex FFT pair
  (:meth:`socca.models.render.Renderer.render_pair`), about 0.7 of the cost
  of the two real pairs they replace on a CPU;
* on a CPU, split evenly among the CPU devices (one per core, see
  :mod:`socca.parallel.devices`), which evaluate their shares at once
  (``shard_map``): XLA runs each FFT on one thread, so a batch on one device
  keeps one core busy for most of its time;
* on each device, one pair after the other inside the compiled function
  (``lax.map``): the images of one pair stay in the caches. Steps of one
  pair cost least per point at every size measured on a two-core CPU
  (steps of 1, 2, 4, 8 pairs: 0.089, 0.089, 0.090, 0.096 ms at 128²;
  1, 2, 4 pairs: 0.28, 0.30, 0.36 ms at 256²; 1, 2 pairs: 1.4, 2.8 ms at
  512²): the intermediate images of vmapped steps outgrow the caches.

On an accelerator the pairs of a batch go through at once (``vmap``). Rows
added to fill the pairs and devices repeat the last row and are dropped
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
from socca.parallel.devices import Compiled, compiler_options


def layout(n, ndevices):
    """``(devices used, pairs per device)`` for a batch of ``n >= 1`` rows.

    As many devices as there are pairs, at most ``ndevices`` (at least one).
    """
    pairs = -(-n // 2)
    used = max(1, min(ndevices, pairs))
    return used, -(-pairs // used)


class BatchedLoglike:
    """``thetas (n, nfree) -> (n,)`` from a pair function ``(2, nfree) -> (2,)``.

    Parameters
    ----------
    loglike_pair : callable
        Pure, jit-able log-likelihood of two parameter vectors.
    devices : sequence of jax.Device
        CPU devices to split batches among; empty on an accelerator.

    Notes
    -----
    A batch traced by ``jit``, ``vmap`` or ``grad`` is computed on one
    device inside the caller's program (see
    :class:`socca.parallel.devices.Compiled`).
    """

    def __init__(self, loglike_pair, devices):
        self.loglike_pair = loglike_pair
        self.devices = tuple(devices)
        self._whole = Compiled(self._one_device)
        self._split = {}

    def __call__(self, thetas):
        if isinstance(thetas, jax.core.Tracer):
            return self._whole(thetas)
        thetas = np.asarray(thetas, dtype=float)
        if thetas.ndim != 2:
            raise InputError(f"thetas: expected an (n, nfree) array, got shape {thetas.shape}")
        n = thetas.shape[0]
        used, pairs = layout(n, len(self.devices)) if n else (1, 0)
        if used < 2:
            return self._whole(thetas)
        rows = 2 * used * pairs
        if rows > n:
            thetas = np.concatenate([thetas, np.repeat(thetas[-1:], rows - n, axis=0)])
        values = jax.block_until_ready(self._split_among(used)(thetas))
        # sliced in numpy: slicing the devices' shares in JAX is a cross-device
        # operation; converting before the shares are ready costs 0.15 ms more
        return jnp.asarray(np.asarray(values)[:n])

    def _share(self, thetas):
        """Rows on one device, ``(2 m, nfree) -> (2 m,)``: a pair at a time on a CPU."""
        pairs = thetas.reshape(-1, 2, thetas.shape[1])
        if self.devices:
            return lax.map(self.loglike_pair, pairs).reshape(-1)
        return jax.vmap(self.loglike_pair)(pairs).reshape(-1)

    def _one_device(self, thetas):
        thetas = jnp.asarray(thetas, dtype=float)
        n, nfree = thetas.shape
        if n % 2:
            thetas = jnp.concatenate([thetas, thetas[-1:]])
        return self._share(thetas)[:n]

    def _split_among(self, used):
        """The compiled ``shard_map`` of :meth:`_share` over the first ``used`` devices."""
        if used not in self._split:
            mesh = Mesh(np.asarray(self.devices[:used]), ("batch",))
            spec = PartitionSpec("batch")
            split = jax.shard_map(self._share, mesh=mesh, in_specs=spec, out_specs=spec)
            self._split[used] = jax.jit(split, compiler_options=compiler_options())
        return self._split[used]
