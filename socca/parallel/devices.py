"""The CPU as one JAX device per core, so that a batch of likelihoods uses every core.

XLA:CPU runs each FFT on one thread, and the FFTs are most of the cost of a
likelihood evaluation: a batch computed on one device keeps one core busy
for most of its time however many the machine has. JAX can present the CPU
as several devices (``jax_num_cpu_devices``), each running its own share of
a batch (``shard_map``), so that every core transforms images at once.

The device count must be set before JAX's backend starts, so socca sets it
when it is imported (:func:`configure`): one device per core this process
may use, shared among the MPI ranks on the node under an MPI launcher. It
leaves JAX alone when the user has chosen already (``JAX_NUM_CPU_DEVICES``,
``jax.config.update("jax_num_cpu_devices", n)`` or XLA's
``--xla_force_host_platform_device_count``), or when JAX has started its
backend before socca was imported (one CPU device then). ``SOCCA_CPU_DEVICES``
(environment) sets the count; 1 turns the splitting off. The worker
processes of socca's pools are given one device each: the workers themselves
are the parallelism there.
"""

from __future__ import annotations

import os

import jax

from socca.errors import InputError

ENV = "SOCCA_CPU_DEVICES"
FORCE_FLAG = "xla_force_host_platform_device_count"
VECTOR_FLAG = "xla_cpu_prefer_vector_width"


def requested_count():
    """CPU devices socca asks for: ``SOCCA_CPU_DEVICES``, else one per core.

    Under an MPI launcher the cores of the node are shared among its ranks.
    """
    if ENV in os.environ:
        try:
            count = int(os.environ[ENV])
        except ValueError:
            count = 0
        if count < 1:
            raise InputError(
                f"{ENV}={os.environ[ENV]!r}: expected a positive whole number of CPU devices "
                "(1 evaluates batches on one device)"
            )
        return count
    from socca.parallel.mpi import cores_per_rank

    return cores_per_rank()


def configure():
    """Present the CPU to JAX as :func:`requested_count` devices, if nobody chose already.

    Returns
    -------
    bool
        Whether the count was set here.
    """
    if jax.config.jax_num_cpu_devices != -1 or FORCE_FLAG in os.environ.get("XLA_FLAGS", ""):
        return False
    count = requested_count()
    if count == 1:
        return False
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError:  # JAX computed something before socca was imported
        return False
    return True


def compiler_options():
    """XLA options for socca's compiled likelihoods: 512-bit vectors on a CPU.

    XLA:CPU prefers 256-bit vectors by default, even on CPUs with AVX-512;
    with 512-bit ones the exponentials, square roots and divisions of the
    profiles run at twice the width, and a likelihood evaluation of the
    quickstart costs about 0.85 of what it did (``benchmarks/likelihood.py``).
    On CPUs without AVX-512 the hint changes nothing. Empty on an
    accelerator, and when the user's ``XLA_FLAGS`` choose a vector width.
    """
    if jax.default_backend() != "cpu" or VECTOR_FLAG in os.environ.get("XLA_FLAGS", ""):
        return {}
    return {VECTOR_FLAG: 512}


class Compiled:
    """``fn`` compiled with :func:`compiler_options` when called, plainly inside other programs.

    JAX takes compiler options only for a program called directly: a call
    traced inside another ``jit``, ``grad`` or ``vmap`` (a tracer among the
    arguments) goes to the plain compilation, which the caller's program
    inlines.

    Parameters
    ----------
    fn : callable
        A pure function of arrays.
    """

    def __init__(self, fn):
        self.plain = jax.jit(fn)
        options = compiler_options()
        self.tuned = jax.jit(fn, compiler_options=options) if options else self.plain

    def __call__(self, *args):
        if any(isinstance(a, jax.core.Tracer) for a in jax.tree_util.tree_leaves(args)):
            return self.plain(*args)
        return self.tuned(*args)


def batch_devices():
    """Devices a batch is split across: the CPU devices when JAX computes on the CPU.

    Empty on an accelerator, where a batch goes whole to the default device.
    """
    if jax.default_backend() != "cpu":
        return ()
    return tuple(jax.devices("cpu"))
