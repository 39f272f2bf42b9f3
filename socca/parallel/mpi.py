"""MPI runs: launcher detection, rank 0 driving the sampler, the other ranks evaluating.

A script started by ``mpirun -np 8 python fit.py`` (Open MPI, MPICH, Intel
MPI, MVAPICH) or ``srun -n 8 python fit.py`` (Slurm) runs unchanged on every
rank. The launcher is recognised from the environment variables it sets,
before anything imports mpi4py, which is imported only then. Every rank
builds the fitter (and so compiles the problem); in ``fit.run`` rank 0 runs
the sampler, whose likelihood batches are scattered over all ranks, rank 0
included, and gathered back, while the other ranks wait in :func:`serve`
for batches until rank 0 sends them the result, which they keep too.

``SOCCA_MPI=0`` turns detection off (every process then runs on its own);
``SOCCA_MPI=1`` asks mpi4py even when no launcher variable is recognised.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass

import numpy as np

from socca.inference.accounting import flagged_functions
from socca.parallel.batching import Bucketed, split

# (variable holding the number of processes, launcher) in order of preference
SIZE_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "Open MPI"),
    ("PMI_SIZE", "MPICH/Intel MPI (Hydra)"),
    ("MV2_COMM_WORLD_SIZE", "MVAPICH"),
    # set by srun for the tasks of a job step, not in the batch script itself
    ("SLURM_STEP_NUM_TASKS", "Slurm srun"),
)
RANK_VARIABLES = (
    "OMPI_COMM_WORLD_RANK",
    "PMI_RANK",
    "PMIX_RANK",
    "MV2_COMM_WORLD_RANK",
    "SLURM_PROCID",
)
LOCAL_SIZE_VARIABLES = (
    "OMPI_COMM_WORLD_LOCAL_SIZE",
    "MPI_LOCALNRANKS",
    "MV2_COMM_WORLD_LOCAL_SIZE",
    "SLURM_STEP_TASKS_PER_NODE",
)
SWITCH = "SOCCA_MPI"
OFF = {"0", "no", "off", "false"}
ON = {"1", "yes", "on", "true"}

MISSING = (
    "socca was started by an MPI launcher ({name}: {variable}={value}) but mpi4py is not "
    "installed. Install it with `pip install socca[mpi]` (mpi4py and the MPICH wheel, for "
    "one machine) or, on a cluster, build mpi4py against the cluster's MPI: "
    "`module load <mpi>; pip install --no-binary=mpi4py mpi4py`. To run each process on its "
    "own instead, set SOCCA_MPI=0."
)

# messages from rank 0
EVALUATE, IDLE, STOP = "evaluate", "idle", "stop"


@dataclass(frozen=True)
class Launcher:
    """The MPI launcher found in the environment.

    Attributes
    ----------
    name : str
        Launcher family, for messages.
    variable : str
        The variable that revealed it.
    size : int or None
        Number of processes it started (None when only ``SOCCA_MPI=1`` says so).
    """

    name: str
    variable: str
    size: int | None


def _int(value):
    try:
        return int(str(value).strip().split("(")[0].split(",")[0])
    except ValueError:
        return None


def launcher():
    """The :class:`Launcher` that started this process with more than one rank, or None."""
    switch = os.environ.get(SWITCH, "").strip().lower()
    if switch in OFF:
        return None
    for variable, name in SIZE_VARIABLES:
        size = _int(os.environ.get(variable, ""))
        if size is not None and size > 1:
            return Launcher(name, variable, size)
    if switch in ON:
        return Launcher(SWITCH, SWITCH, None)
    return None


def env_rank():
    """This process' rank according to the launcher's variables (0 without a launcher)."""
    if launcher() is None:
        return 0
    for variable in RANK_VARIABLES:
        rank = _int(os.environ.get(variable, ""))
        if rank is not None:
            return rank
    comm = world()
    return 0 if comm is None else comm.Get_rank()


def local_size():
    """Ranks on this node according to the launcher (1 without a launcher)."""
    if launcher() is None:
        return 1
    for variable in LOCAL_SIZE_VARIABLES:
        size = _int(os.environ.get(variable, ""))
        if size is not None and size > 0:
            return size
    return 1


def world():
    """``MPI.COMM_WORLD`` under an MPI launcher with several ranks, else None.

    Raises
    ------
    ImportError
        Under a launcher, when mpi4py is not installed (saying how to install it).
    RuntimeError
        When mpi4py sees one process while the launcher started several: it
        was built for another MPI library than the launcher's.
    """
    found = launcher()
    if found is None:
        return None
    try:
        from mpi4py import MPI
    except ImportError as err:
        value = os.environ.get(found.variable, "")
        raise ImportError(
            MISSING.format(name=found.name, variable=found.variable, value=value)
        ) from err
    comm = MPI.COMM_WORLD
    size = comm.Get_size()
    if found.size is not None and size != found.size:
        raise RuntimeError(
            f"{found.name} started {found.size} processes ({found.variable}) but mpi4py sees "
            f"{size}: mpi4py was built for another MPI library than the launcher's "
            f"({MPI.Get_library_version().splitlines()[0].strip()}). Launch with that "
            "library's mpirun, or rebuild mpi4py for yours."
        )
    return comm if size > 1 else None


def configure_threads():
    """Give each rank one XLA compute thread when ranks share a node's CPUs.

    Called when socca is imported, before JAX starts its CPU backend: under a
    launcher that put several ranks on a node without binding them to
    separate cores, XLA's thread pools would oversubscribe the CPUs. Does
    nothing when the user set ``XLA_FLAGS`` threading options.
    """
    ranks = local_size()
    if ranks <= 1:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" in flags:
        return
    from socca.parallel.pool import SINGLE_THREAD_XLA

    if cores_per_rank() <= 1:
        os.environ["XLA_FLAGS"] = f"{flags} {SINGLE_THREAD_XLA}".strip()


def cores_per_rank():
    """CPUs this process may use: those it is bound to, else the node's shared among its ranks."""
    from socca.parallel.pool import cpu_count

    total = os.cpu_count() or 1
    cpus = cpu_count()
    return max(1, cpus if cpus < total else total // local_size())


class Failure:
    """An exception raised on one rank, carried to rank 0 (as text if it cannot be pickled)."""

    def __init__(self, err, rank):
        self.rank = rank
        try:
            pickle.dumps(err)
            self.error = err
        except Exception:  # noqa: BLE001 - any pickling failure: keep the text
            self.error = RuntimeError(f"{type(err).__name__}: {err}")

    def reraise(self):
        """Raise the carried exception on this rank."""
        raise self.error


class Driver:
    """Rank 0's side: scatters likelihood batches over the ranks.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
        The communicator (rank 0 drives).
    problem : socca.inference.Problem
        Rank 0's own copy, which evaluates rank 0's share.

    Attributes
    ----------
    size : int
        Number of ranks, rank 0 included.
    """

    def __init__(self, comm, problem):
        self.comm = comm
        self.size = comm.Get_size()
        self.rank = comm.Get_rank()
        self.local = Bucketed(flagged_functions(problem)[1])

    def evaluate(self, thetas):
        """Log-likelihoods of the rows of ``thetas``, split among all ranks."""
        chunks = split(thetas, self.size)
        if not chunks:
            return np.empty(0)
        messages = [(EVALUATE, c) for c in chunks] + [(IDLE, None)] * (self.size - len(chunks))
        return np.concatenate(self._round(messages, self.local)[: len(chunks)])

    def _round(self, messages, own):
        """Scatter ``messages``, do rank 0's with ``own``, gather every rank's answer."""
        _, payload = self.comm.scatter(messages, root=0)
        try:
            mine = own(payload)
        except Exception as err:  # still gather, so that the other ranks move on
            mine = Failure(err, self.rank)
        answers = self.comm.gather(mine, root=0)
        for answer in answers:
            if isinstance(answer, Failure):
                answer.reraise()
        return answers

    def finish(self, outcome):
        """Release the other ranks and send them ``outcome`` (a result or a Failure)."""
        self.comm.scatter([(STOP, None)] * self.size, root=0)
        self.comm.bcast(outcome, root=0)


def serve(comm, problem):
    """The other ranks' side: evaluate what rank 0 sends until it stops, then take its outcome.

    Returns
    -------
    object
        What rank 0 passed to :meth:`Driver.finish`.
    """
    rank = comm.Get_rank()
    evaluate = Bucketed(flagged_functions(problem)[1])
    while True:
        kind, payload = comm.scatter(None, root=0)
        if kind == STOP:
            break
        try:
            answer = evaluate(payload) if kind == EVALUATE else None
        except Exception as err:
            answer = Failure(err, rank)
        comm.gather(answer, root=0)
    return comm.bcast(None, root=0)
