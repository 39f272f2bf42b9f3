"""The guide's quickstart fit with nautilus at default settings, timed.

Fits the tutorial mock (128², PSF 34²) with a point source + Sérsic bound to
it, exactly as the guide does (``fit.run()``: nautilus' defaults), and
prints the wall time of ``fit.run``, the likelihood calls, the parameter
table, the number of XLA compilations during the run and the peak resident
memory of the process, alone and with its worker processes. ``--json``
prints one JSON object instead (read by ``benchmarks/suite.py``);
``--unbatched`` also runs nautilus calling the likelihood point by point.

Run: ``.venv/bin/python benchmarks/quickstart.py [--json] [--unbatched]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time

import jax
import numpy as np
from common import TreeMemory, peak_rss_mb  # benchmarks/common.py
from likelihood import DATA  # benchmarks/likelihood.py
from startup import CompileCounter  # benchmarks/startup.py

import socca
from socca.cli import quickstart_fit_model
from socca.data import Image


def posterior_summary(fit):
    """Weighted 16th, 50th and 84th percentiles of every parameter."""
    out = {}
    order = np.argsort(fit.samples, axis=0)
    for i, label in enumerate(fit.labels):
        values = fit.samples[order[:, i], i]
        cdf = np.cumsum(fit.weights[order[:, i]])
        cdf /= cdf[-1]
        out[label] = [float(np.interp(q, cdf, values)) for q in (0.16, 0.5, 0.84)]
    return out


def run(vectorized=True, progress=False, seed=1):
    """One quickstart fit; returns its figures."""
    counter = CompileCounter()
    img = Image(str(DATA / "tutorial_mock.fits"), addpsf=dict(img=str(DATA / "tutorial_psf.fits")))
    fit = socca.fitter(mod=quickstart_fit_model(), img=img)
    with TreeMemory() as memory:
        start = time.perf_counter()
        fit.run(seed=seed, progress=progress, vectorized=vectorized)
        wall = time.perf_counter() - start
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        fit.parameters()
    return {
        "wall_s": wall,
        "ncall": int(fit._result.extras["ncall"]),
        "logz": float(fit.logz),
        "compilations": counter.count,
        "slow_compilations": counter.slow,
        "peak_rss_mb": peak_rss_mb(),
        "peak_tree_mb": memory.peak_mb,
        "posterior": posterior_summary(fit),
        "table": table.getvalue(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unbatched", action="store_true", help="also run without batching")
    parser.add_argument("--progress", action="store_true", help="show nautilus' progress")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(run()))
        return
    print(f"{os.cpu_count()} cores, jax {jax.__version__}, {jax.devices()[0].device_kind}")
    for vectorized in [True, False] if args.unbatched else [True]:
        r = run(vectorized, args.progress)
        label = "batched" if vectorized else "one call at a time"
        print(r["table"])
        print(
            f"nautilus defaults, {label}: {r['wall_s']:.1f} s wall, {r['ncall']} likelihood "
            f"calls, {1000 * r['wall_s'] / r['ncall']:.2f} s per 1000 calls, "
            f"log Z = {r['logz']:+.1f}, {r['compilations']} compilations "
            f"({r['slow_compilations']} over {CompileCounter.SLOW_S} s), "
            f"peak memory {r['peak_rss_mb']:.0f} MB (with workers {r['peak_tree_mb']:.0f} MB)\n"
        )


if __name__ == "__main__":
    main()
