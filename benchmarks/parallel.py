"""The guide's quickstart fit with nautilus, serial, batched, on a process pool and on MPI ranks.

Fits the tutorial mock (128², PSF 34²; point source + Sérsic bound to it,
7 free parameters) with nautilus four ways, each in a fresh process:

* ``serial``: one process, nautilus calling the likelihood point by point
  (``vectorized=False``);
* ``batched``: one process, nautilus' batches in one vmapped call (the default);
* ``ncores=N``: the batches split among N loky worker processes;
* ``mpi N``: ``mpiexec -n N`` on the same script, rank 0 driving.

Prints, for each, the wall time of ``fit.run`` (pool start-up included; on
rank 0 for MPI), the wall time of the whole process (imports and compilation
included), likelihood calls, log Z, and the load average of the machine
before and after, then a markdown table.

``--subgrid k`` integrates each pixel on a k×k grid (k² times the likelihood
cost), for fits where the likelihood, not the sampler, dominates;
``--n-like-max`` stops nautilus early (the same number of calls in every mode).

Run: ``.venv/bin/python benchmarks/parallel.py [--n-live 500] [--ncores 2]
[--modes serial batched pool mpi] [--subgrid 3 --n-like-max 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(os.environ.get("SOCCA_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
MODES = ("serial", "batched", "pool", "mpi")


def fit_once(mode, n_live, ncores, subgrid=1, n_like_max=None):
    """Run the quickstart fit in this process; print one JSON line (rank 0)."""
    import socca
    from socca import parallel
    from socca.cli import quickstart_fit_model
    from socca.data import Image

    img = Image(
        str(DATA / "tutorial_mock.fits"),
        addpsf=dict(img=str(DATA / "tutorial_psf.fits")),
        subgrid=subgrid,
    )
    fit = socca.fitter(mod=quickstart_fit_model(), img=img)
    options = {"seed": 1, "progress": False}
    if n_live:
        options["n_live"] = n_live
    if n_like_max:
        options["n_like_max"] = n_like_max
    if mode == "serial":
        options["vectorized"] = False
    elif mode == "pool":
        options["ncores"] = ncores
    start = time.perf_counter()
    fit.run(method="nautilus", **options)
    wall = time.perf_counter() - start
    if parallel.is_root():
        record = {"run_s": wall, "ncall": fit.ncall, "logz": fit.logz, "n_eff": fit.n_eff}
        print("RESULT " + json.dumps(record), flush=True)


def measure(mode, n_live, ncores, subgrid=1, n_like_max=None):
    """Run ``mode`` in a fresh process; return its record with process time and loads."""
    command = [sys.executable, __file__, "--worker", mode, "--ncores", str(ncores)]
    command += ["--subgrid", str(subgrid)]
    if n_live:
        command += ["--n-live", str(n_live)]
    if n_like_max:
        command += ["--n-like-max", str(n_like_max)]
    if mode == "mpi":
        mpiexec = Path(sys.executable).parent / "mpiexec"
        command = [str(mpiexec), "-n", str(ncores), *command]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    record = json.loads(line[len("RESULT ") :])
    record.update(mode=mode, process_s=total, load=(load_before, os.getloadavg()[0]))
    return record


def label(mode, ncores):
    return {
        "serial": "serial (one call at a time)",
        "batched": "batched, one process",
        "pool": f"ncores={ncores} (loky pool)",
        "mpi": f"MPI, {ncores} ranks",
    }[mode]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-live", type=int, default=None, help="nautilus n_live (default 2000)")
    parser.add_argument("--ncores", type=int, default=2, help="workers / ranks (default 2)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument(
        "--subgrid", type=int, default=1, help="sub-pixel grid (k² times the likelihood cost)"
    )
    parser.add_argument("--n-like-max", type=int, default=None, help="stop after this many calls")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        fit_once(args.worker, args.n_live, args.ncores, args.subgrid, args.n_like_max)
        return
    import jax

    print(
        f"{os.cpu_count()} cores, jax {jax.__version__}, {jax.devices()[0].device_kind}; "
        f"nautilus n_live={args.n_live or 2000}, subgrid={args.subgrid}, "
        f"n_like_max={args.n_like_max}",
        flush=True,
    )
    rows = []
    for mode in args.modes:
        r = measure(mode, args.n_live, args.ncores, args.subgrid, args.n_like_max)
        rows.append(r)
        print(
            f"{label(mode, args.ncores)}: fit.run {r['run_s']:.1f} s, "
            f"process {r['process_s']:.1f} s, {r['ncall']} calls, "
            f"log Z = {r['logz']:+.2f}, load {r['load'][0]:.1f} -> {r['load'][1]:.1f}",
            flush=True,
        )
    print("\n| mode | fit.run wall | whole process | likelihood calls | log Z | load avg (1 min) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {label(r['mode'], args.ncores)} | {r['run_s']:.1f} s | {r['process_s']:.1f} s | "
            f"{r['ncall']} | {r['logz']:+.2f} | {r['load'][0]:.1f} → {r['load'][1]:.1f} |"
        )


if __name__ == "__main__":
    main()
