"""The guide's quickstart fit with nautilus at default settings, timed.

Fits the tutorial mock (128², PSF 34²) with a point source + Sérsic bound to
it, with nautilus' defaults, once with the batched (vmapped) likelihood and
once with nautilus calling the likelihood point by point. Prints wall time,
likelihood calls, seconds per 1000 calls and the parameter table.

Run: ``.venv/bin/python benchmarks/quickstart.py [--unbatched]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import jax

import socca
from socca.cli import quickstart_fit_model
from socca.data import Image

DATA = Path(os.environ.get("SOCCA_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def run(vectorized, progress=False):
    img = Image(str(DATA / "tutorial_mock.fits"), addpsf=dict(img=str(DATA / "tutorial_psf.fits")))
    fit = socca.fitter(mod=quickstart_fit_model(), img=img)
    start = time.perf_counter()
    fit.run(method="nautilus", seed=1, progress=progress, vectorized=vectorized)
    wall = time.perf_counter() - start
    ncall = fit._result.extras["ncall"]
    fit.parameters()
    print(f"log Z = {fit.logz:+.1f}")
    return wall, ncall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unbatched", action="store_true", help="also run without batching")
    parser.add_argument("--progress", action="store_true", help="show nautilus' progress")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, jax {jax.__version__}, {jax.devices()[0].device_kind}")
    modes = [True, False] if args.unbatched else [True]
    for vectorized in modes:
        wall, ncall = run(vectorized, args.progress)
        label = "batched" if vectorized else "one call at a time"
        print(f"nautilus defaults, {label}: {wall:.1f} s wall, {ncall} likelihood calls, "
              f"{1000 * wall / ncall:.2f} s per 1000 calls\n")


if __name__ == "__main__":
    main()
