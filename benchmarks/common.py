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


class TreeMemory:
    """Peak resident memory of this process and its children, sampled from /proc (Linux).

    ``ru_maxrss`` only sees one process; worker processes (nautilus' network
    training, loky pools) count too. Use as a context manager; ``peak_mb``
    holds the largest sum seen (sampled every ``interval`` seconds).
    """

    def __init__(self, interval=0.2):
        import threading

        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self.sample())

    def _watch(self):
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self.sample())

    @staticmethod
    def sample():
        """Current resident memory (MB) of this process and all its descendants."""
        import os

        total, todo = 0, [os.getpid()]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/status") as f:
                    rss = next(line for line in f if line.startswith("VmRSS:"))
                total += int(rss.split()[1])
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except (OSError, StopIteration, ValueError):
                continue
        return total / 1024


def peak_rss_mb():
    """Peak resident memory (MB) of this process, from ``VmHWM`` (Linux).

    Not ``ru_maxrss``: Linux carries that across ``fork`` and ``exec``, so a
    benchmark started from a big parent would report the parent's peak.
    """
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
