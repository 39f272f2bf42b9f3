"""Where the time of one likelihood evaluation goes, operation by operation.

Traces the tutorial log-likelihood with JAX's profiler, one call at a time
and in batches, and prints the time of each compiled XLA operation per
evaluation (FFTs, the fused loops that render the profile, pad, multiply the
spectra, reduce the residuals, ...) with the FFTs' share of the total.

Run: ``.venv/bin/python benchmarks/profile_ops.py [--batch 64] [--top 12] [--size 512]``.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import tempfile
from pathlib import Path

import jax
from likelihood import _thetas, synthetic_image, tutorial_image  # benchmarks/likelihood.py

from socca.cli import quickstart_fit_model
from socca.inference import Problem

CALLS = 20
# trace events of the runtime and of Python, and loops whose bodies are traced
# operation by operation (lax.map over chunks): not counted
NOT_OPS = ("ThunkExecutor", "$", "PjitFunction", "CommonPjRt", "SlinkyThreadPool", "PjRt",
           "Allocate", "while", "conditional", "call")  # fmt: skip


def op_times(fn, arg, evaluations):
    """Microseconds per evaluation spent in each XLA operation of ``fn(arg)``."""
    jax.block_until_ready(fn(arg))
    with tempfile.TemporaryDirectory() as folder:
        with jax.profiler.trace(folder):
            for _ in range(CALLS):
                jax.block_until_ready(fn(arg))
        trace = next(Path(folder).rglob("*.trace.json.gz"))
        events = json.loads(gzip.decompress(trace.read_bytes()))["traceEvents"]
    totals = collections.Counter()
    for event in events:
        if event.get("ph") == "X" and not event["name"].startswith(NOT_OPS):
            totals[event["name"]] += event["dur"]
    return {name: t / (CALLS * evaluations) for name, t in totals.items()}


def report(title, times, top):
    fft = sum(t for name, t in times.items() if name.startswith("fft"))
    total = sum(times.values())
    print(f"\n{title}: {total:.1f} us per evaluation in XLA operations, FFTs {fft:.1f} us "
          f"({100 * fft / total:.0f}%)")  # fmt: skip
    for name, t in sorted(times.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {t:8.2f} us  {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--size", type=int, default=None, help="a synthetic n x n image")
    args = parser.parse_args()
    img = tutorial_image() if args.size is None else synthetic_image(args.size)
    problem = Problem(quickstart_fit_model(), img)
    thetas = _thetas(problem, args.batch)
    report("one at a time", op_times(problem.loglike_flagged, thetas[0], 1), args.top)
    batch = op_times(problem.loglike_batch_flagged, thetas, args.batch)
    report(f"batches of {args.batch}", batch, args.top)


if __name__ == "__main__":
    main()
