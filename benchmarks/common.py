"""Helpers shared by the benchmark scripts: timing and writing the results table."""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

import jax
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def median_time(fn, arg, repeats):
    """Median wall time (s) of ``fn(arg)`` over ``repeats`` calls, after one warm-up call."""
    jax.block_until_ready(fn(arg))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(arg))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def write_results(text, name=""):
    """Print ``text`` and write it atomically to ``results/<date>[-name].md``."""
    print(text)
    suffix = f"-{name}" if name else ""
    out = RESULTS / f"{datetime.date.today().isoformat()}{suffix}.md"
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(out)
    print(f"written to {out}", file=sys.stderr)
    return out
