"""The CPU as one JAX device per core, set when socca is imported unless the user chose."""

import json
import os
import subprocess
import sys

import pytest

from socca.errors import InputError
from socca.parallel import devices
from socca.parallel.pool import cpu_count

REPORT = (
    "import json, os, jax\n"
    "{before}\n"
    "import socca\n"
    "from socca.parallel.devices import compiler_options\n"
    "print(json.dumps([len(jax.devices('cpu')), compiler_options()]))\n"
)
CLEARED = ("SOCCA_CPU_DEVICES", "JAX_NUM_CPU_DEVICES", "XLA_FLAGS", "OMPI_COMM_WORLD_SIZE",
           "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "SOCCA_MPI")  # fmt: skip


def imported(env=None, before=""):
    """``[CPU devices, compiler options]`` seen after ``import socca`` in a fresh process."""
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    clean.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", REPORT.format(before=before)],
        env=clean, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_one_device_per_core_by_default():
    count, options = imported()
    assert count == cpu_count()
    assert options == {"xla_cpu_prefer_vector_width": 512}


@pytest.mark.parametrize(
    "env, count",
    [
        ({"SOCCA_CPU_DEVICES": "1"}, 1),
        ({"SOCCA_CPU_DEVICES": "3"}, 3),
        ({"JAX_NUM_CPU_DEVICES": "5"}, 5),  # the user's JAX setting wins
        ({"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}, 4),
        ({"OMPI_COMM_WORLD_SIZE": "64", "OMPI_COMM_WORLD_LOCAL_SIZE": "64"}, 1),  # MPI ranks
    ],
)
def test_the_users_choice_wins(env, count):
    assert imported(env)[0] == count


def test_jax_started_before_socca_keeps_one_device():
    assert imported(before="jax.numpy.zeros(1)")[0] == 1


def test_a_vector_width_in_xla_flags_is_left_alone():
    assert imported({"XLA_FLAGS": "--xla_cpu_prefer_vector_width=256"})[1] == {}


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_device_count_is_refused(monkeypatch, value):
    monkeypatch.setenv("SOCCA_CPU_DEVICES", value)
    with pytest.raises(InputError, match=f"SOCCA_CPU_DEVICES='{value}': expected a positive whole"):
        devices.requested_count()
