"""MPI: ``mpiexec -n 2`` on an unchanged script gives every rank the serial posterior."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.parallel import small

HERE = Path(__file__).resolve().parent
TIMEOUT = 240  # seconds: the run takes well under a minute on an idle 2-core machine


def mpiexec():
    """The mpiexec beside this Python (the mpich wheel's), else one on the PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpiexec not found: `pip install mpich mpi4py` (make test installs them)")
    return found


def test_two_ranks_match_serial_and_only_rank_0_prints(tmp_path, serial):
    env = {k: v for k, v in os.environ.items() if k != "SOCCA_MPI"}
    command = [mpiexec(), "-n", "2", sys.executable, str(HERE / "mpi_fit.py"), str(tmp_path)]
    # a session of its own, so that a timeout ends mpiexec and both ranks
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"mpiexec -n 2 did not finish in {TIMEOUT} s")
    assert proc.returncode == 0, stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # the result was broadcast: both ranks hold the same posterior
    for key in ("mean", "std"):
        assert ranks[0][key] == pytest.approx(ranks[1][key], rel=1e-12)
    assert ranks[0]["logz"] == ranks[1]["logz"]
    assert ranks[0]["has_sampler"] and not ranks[1]["has_sampler"]
    small.assert_consistent(serial("nautilus"), ranks[0])
    assert stdout.count("Best-fit parameters") == 1, stdout
