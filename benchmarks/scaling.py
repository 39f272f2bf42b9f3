"""Where the batched/single throughput ratio comes from: batching itself, and the cores.

The tutorial likelihood is timed one call at a time and in batches of 256,
in fresh processes:

* on one core (``taskset -c 0`` where available, one CPU device): what
  batching alone saves (complex FFT pairs, no per-call dispatch);
* on every core, as socca runs by default: batches split among the CPU
  devices, and the single call free to use XLA's threads.

The ratio of all-core batches to one-core single calls is bounded by the
number of cores times the one-core batching gain.

Run: ``.venv/bin/python benchmarks/scaling.py``; writes
``benchmarks/results/<date>-scaling.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import write_results  # benchmarks/common.py

HERE = Path(__file__).resolve().parent
MEASURE = (
    "import json, sys\n"
    "sys.path.insert(0, {here!r})\n"
    "from likelihood import throughput, tutorial_image\n"
    "t = throughput(tutorial_image(), batches=(256,))\n"
    "print(json.dumps([t['single_ms'], t['batch 256']['ms']]))\n"
)


def measure(one_core):
    """``(single ms, batched ms per evaluation)`` in a fresh process."""
    env = dict(os.environ)
    command = [sys.executable, "-c", MEASURE.format(here=str(HERE))]
    if one_core:
        env["SOCCA_CPU_DEVICES"] = "1"
        if shutil.which("taskset"):
            command = ["taskset", "-c", "0", *command]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    one_single, one_batch = measure(one_core=True)
    all_single, all_batch = measure(one_core=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gain = one_single / one_batch
    write_results(
        "# Batched/single throughput of the tutorial likelihood, by cores\n\n"
        "| cores | single (ms) | batched 256 (ms/eval) | batched / single |\n|---|---|---|---|\n"
        f"| 1 | {one_single:.4f} | {one_batch:.4f} | {gain:.2f}× |\n"
        f"| {cores} | {all_single:.4f} | {all_batch:.4f} | {all_single / all_batch:.2f}× |\n\n"
        f"All-core batches against one-core single calls: {one_single / all_batch:.2f}× "
        f"(at most {cores} × {gain:.2f} = {cores * gain:.2f}× with perfect scaling).\n",
        "scaling",
    )


if __name__ == "__main__":
    main()
