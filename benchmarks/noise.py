"""Cost of the noise models' log-likelihoods at 64², 128² and 256².

For each image size and noise model, the model is bound to a synthetic image
(the bind time is the one-off cost: factorising a covariance, transforming a
beam) and its log-likelihood of a model image is jit-compiled and timed: one
call at a time, and as a vmapped batch. Only the noise part is timed; the
render is the same for every model (see ``benchmarks/render.py``).
NormalCorrelated stores dense ``npix x npix`` matrices (8 npix² bytes each, a
few alive while binding) and is skipped where the memory is not there.
Prints a table and writes it to ``benchmarks/results/<date>-noise.md``.

Run: ``.venv/bin/python benchmarks/noise.py [--sizes 64 128 256] [--batch 16]``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
from common import median_time, write_results  # benchmarks/common.py

import socca
from socca.noise import Normal, NormalCorrelated, NormalFourier, NormalRI, Poisson
from socca.noise.spectrum import lag_matrix

HERE = Path(__file__).resolve().parent
MODELS = ("Normal", "NormalCorrelated", "NormalFourier", "NormalFourier-full", "NormalRI",
          "Poisson")
CORRELATION = 1.5  # pixels, Gaussian correlation length of the synthetic covariance
MATRICES_ALIVE = 5  # dense npix² matrices alive at once while NormalCorrelated binds


def available_bytes() -> int:
    """Physical memory available now (Linux), or a large number when unknown."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def gaussian_power(n):
    """Power spectrum (numpy's unnormalised FFT, full layout) of unit-variance noise.

    Smooth plus white noise: ``E|np.fft.fft2(noise)|^2``, which for white noise
    of unit variance is ``n * n`` at every frequency.
    """
    k2 = np.fft.fftfreq(n)[:, None] ** 2 + np.fft.fftfreq(n)[None, :] ** 2
    smooth = np.exp(-2 * (np.pi * CORRELATION) ** 2 * k2)
    return n * n * (0.2 + 0.8 * smooth / smooth.mean())


def stationary_cov(n):
    """Dense (circulant) covariance of the noise of :func:`gaussian_power`, n² x n²."""
    return lag_matrix(np.fft.ifft2(gaussian_power(n)).real / (n * n), (n, n))


def stand_in(data, psf=None):
    """The attributes of an Image that noise models read."""
    return SimpleNamespace(data=data, mask=np.ones(data.shape, dtype=bool), shape=data.shape,
                           psf=psf, exposure=np.ones(data.shape))


def build(name, n, rng):
    """A noise model and the data it is bound to, or the reason it is skipped."""
    data = rng.normal(size=(n, n))
    if name == "Normal":
        return Normal(sigma=1.0), stand_in(data)
    if name == "NormalCorrelated":
        need = MATRICES_ALIVE * 8 * n**4
        if need > available_bytes():
            return (f"skipped: {MATRICES_ALIVE} dense {n * n}² matrices need "
                    f"{need / 2**30:.0f} GiB, {available_bytes() / 2**30:.0f} GiB available")
        return NormalCorrelated(cov=stationary_cov(n)), stand_in(data)
    if name.startswith("NormalFourier"):
        power = gaussian_power(n)
        if name.endswith("full"):
            return NormalFourier(cov=power, ftype="full"), stand_in(data)
        return NormalFourier(cov=power[:, : n // 2 + 1]), stand_in(data)
    if name == "NormalRI":
        y, x = np.indices((n, n)) - (n - 1) // 2
        beam = np.exp(-0.5 * (x**2 + y**2) / 1.5**2)
        return NormalRI(sigma=1.0), stand_in(data, psf=beam)
    counts = rng.poisson(5.0, (n, n)).astype(float)
    return Poisson(), stand_in(counts)


def measure(name, n, batch_size, rng):
    built = build(name, n, rng)
    if isinstance(built, str):
        return built
    noise, img = built
    t0 = time.perf_counter()
    noise.bind(img)
    bind_s = time.perf_counter() - t0
    loglike = noise.loglike_fn()
    single, batched = jax.jit(loglike), jax.jit(jax.vmap(loglike))
    model = jnp.asarray(rng.uniform(4.0, 6.0, (n, n)))
    models = jnp.asarray(rng.uniform(4.0, 6.0, (batch_size, n, n)))
    t0 = time.perf_counter()
    jax.block_until_ready(single(model))
    compile_s = time.perf_counter() - t0
    repeats = max(5, int(2e6 / (n * n * (n * n if name == "NormalCorrelated" else 64))))
    one = median_time(single, model, repeats)
    many = median_time(batched, models, max(3, repeats // 4))
    del noise, single, batched
    return dict(bind_s=bind_s, compile_s=compile_s, single_ms=one * 1e3,
                batch_ms=many * 1e3 / batch_size)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 128, 256],
                        help="image sizes (default 64 128 256)")
    parser.add_argument("--batch", type=int, default=16, help="batch size (default 16)")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS,
                        help="noise models to time (default all)")
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    return parser.parse_args()


def main():
    args = parse_args()
    rng = np.random.default_rng(0)
    rows = []
    # the dense covariance last: the cheap models are measured even if it runs out of time
    plan = [(n, name) for dense in (False, True) for n in args.sizes for name in args.models
            if (name == "NormalCorrelated") == dense]
    for n, name in plan:
        result = measure(name, n, args.batch, rng)
        rows.append((n, name, result))
        print(f"{n}² {name}: {result}", file=sys.stderr)
    rows.sort(key=lambda row: (row[0], MODELS.index(row[1])))
    header = (
        f"# socca noise-model likelihood benchmark — {datetime.date.today().isoformat()}\n\n"
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {jax.devices()[0].device_kind}; "
        f"python {platform.python_version()}, jax {jax.__version__}, socca {socca.__version__}\n\n"
        "Noise log-likelihood of a model image only (no render), float64, jit-compiled. "
        f"Times are medians; batched = vmapped batch of {args.batch}, per evaluation. "
        "bind = one-off set-up when the noise is attached to the image.\n\n"
    )
    table = [
        "| image | model | bind (s) | compile (s) | single (ms) | batched (ms/eval) |",
        "|---|---|---|---|---|---|",
    ]
    for n, name, r in rows:
        if isinstance(r, str):
            table.append(f"| {n}² | {name} | {r} | | | |")
        else:
            table.append(
                f"| {n}² | {name} | {r['bind_s']:.3f} | {r['compile_s']:.2f} | "
                f"{r['single_ms']:.4f} | {r['batch_ms']:.4f} |"
            )
    write_results(header + "\n".join(table) + "\n", f"noise-{args.tag}" if args.tag else "noise")


if __name__ == "__main__":
    main()
