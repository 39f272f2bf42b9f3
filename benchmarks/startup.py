"""Compilation, recompilation and the optimizer on the guide's quickstart, in a fresh process.

Prints one JSON object: the first-call times of ``fit.loglike`` and
``fit.loglike_batch`` (tracing and XLA compilation included), the number of
XLA compilations seen during 200 further single calls and 20 batches of the
same size at new parameter values (0 means no recompilation), the optimizer's
wall time on the quickstart (first run, compilation included, then the median
of three more runs), and the peak resident memory of the process.

Run: ``.venv/bin/python benchmarks/startup.py`` (``make bench`` runs it).
"""

from __future__ import annotations

import json
import time

import jax
import numpy as np
from common import peak_rss_mb  # benchmarks/common.py
from likelihood import tutorial_image  # benchmarks/likelihood.py

import socca
from socca.cli import quickstart_fit_model

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class CompileCounter:
    """Counts XLA compilations through JAX's monitoring events.

    ``count`` is every compilation, the trivial ones of eager operations on
    scalars and of moving constants to the device included; ``slow`` counts
    those longer than ``SLOW_S``, the compilations of real functions.
    """

    SLOW_S = 0.1

    def __init__(self):
        self.count = 0
        self.slow = 0
        jax.monitoring.register_event_duration_secs_listener(self._seen)

    def _seen(self, event, duration, **kwargs):
        if event == COMPILE_EVENT:
            self.count += 1
            self.slow += duration > self.SLOW_S


def first_call(fn, arg):
    start = time.perf_counter()
    jax.block_until_ready(fn(arg))
    return time.perf_counter() - start


def timed_run(fit, **kwargs):
    start = time.perf_counter()
    fit.run(**kwargs)
    return time.perf_counter() - start


def main():
    counter = CompileCounter()
    fit = socca.fitter(mod=quickstart_fit_model(), img=tutorial_image())
    rng = np.random.default_rng(3)
    thetas = np.asarray(fit.prior_transform(rng.uniform(size=(1500, len(fit.labels)))))
    out = {
        "compile_loglike_s": first_call(fit.loglike, thetas[0]),
        "compile_batch_s": first_call(fit.loglike_batch, thetas[:64]),
    }
    before = counter.count
    for theta in thetas[1:201]:
        jax.block_until_ready(fit.loglike(theta))
    for k in range(20):
        jax.block_until_ready(fit.loglike_batch(thetas[200 + 64 * k : 264 + 64 * k]))
    out["recompilations"] = counter.count - before
    out["optimizer_first_s"] = timed_run(fit, method="optimizer", progress=False)
    before = counter.count
    repeats = [timed_run(fit, method="optimizer", progress=False) for _ in range(3)]
    out["optimizer_s"] = float(np.median(repeats))
    out["optimizer_recompilations"] = counter.count - before
    out["optimizer_ncall"] = int(fit._result.extras.get("ncall", -1))
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
