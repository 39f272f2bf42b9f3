"""Cost of one likelihood evaluation against the bare FFT pair it needs.

For the tutorial image (128², PSF 34²) and synthetic 256², 512², 1024²
images with the same PSF, the guide's quickstart model (point source +
Sérsic) is compiled and its batched log-likelihood timed beside the
``rfft2`` + ``irfft2`` pair of the padded size the model's convolution uses
(same JAX, same dtype), in interleaved rounds so that the load of a shared
machine falls on both alike;
the ratio quoted is that of the medians over the rounds (the machine's speed
for batches moves by up to ~1.7x from minute to minute on a shared virtual
machine, so medians of many short rounds), against the fastest of the FFT
pair on the whole batch, two images at a time (the likelihood's steps on a
CPU), and two at a time on every CPU device at once (as the likelihood
splits its batches, see ``socca.inference.batched``). For the tutorial,
one-at-a-time calls are timed the same way against batches of 64 and 256.

Run alone: ``.venv/bin/python benchmarks/likelihood.py [--sizes 256 512]``;
``make bench`` runs it as part of ``benchmarks/suite.py``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from socca.cli import quickstart_fit_model
from socca.data import Image
from socca.inference import Problem
from socca.models.render import Renderer
from socca.noise import Normal
from socca.parallel.devices import batch_devices

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("SOCCA_DATA", HERE.parent.parent / "shared" / "data"))
ARCSEC = 1 / 3600
ROUNDS = 15
STEP = 2  # images per step of the likelihood's loop on a CPU (one complex FFT pair)
WARMUP_S = 2.0


def tutorial_image():
    """The guide's tutorial mock with its PSF."""
    return Image(
        str(DATA / "tutorial_mock.fits"),
        noise=Normal(sigma=0.0447),
        addpsf=dict(img=str(DATA / "tutorial_psf.fits")),
    )


def synthetic_image(n):
    """An n×n TAN image at (20, -10), 1"/pixel, pure noise, with the tutorial PSF."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [20.0, -10.0]
    w.wcs.cdelt = [-ARCSEC, ARCSEC]
    w.wcs.crpix = [n / 2 + 1, n / 2 + 1]
    data = np.random.default_rng(0).normal(0, 0.05, (n, n))
    psf = fits.getdata(DATA / "tutorial_psf.fits").astype(float)
    hdu = fits.PrimaryHDU(data, w.to_header())
    return Image(hdu, noise=Normal(sigma=0.05), addpsf=dict(img=psf))


def _seconds(fn, arg, calls):
    """Wall seconds of ``calls`` calls of ``fn(arg)``, each waited for."""
    start = time.perf_counter()
    for _ in range(calls):
        jax.block_until_ready(fn(arg))
    return time.perf_counter() - start


def interleaved(contestants, rounds=ROUNDS):
    """Per-evaluation seconds of each contestant, per round, timed in turn.

    Parameters
    ----------
    contestants : dict
        ``name -> (fn, arg, calls, evaluations per call)``.

    Returns
    -------
    dict
        ``name -> array of per-evaluation seconds, one per round``.
    """
    # untimed rounds for WARMUP_S: the first calls of a process run slower while
    # the memory allocator settles (page faults on fresh buffers)
    start = time.perf_counter()
    while time.perf_counter() - start < WARMUP_S:
        for fn, arg, calls, _ in contestants.values():
            _seconds(fn, arg, calls)
    times = {name: [] for name in contestants}
    for _ in range(rounds):
        for name, (fn, arg, calls, per_call) in contestants.items():
            times[name].append(_seconds(fn, arg, calls) / (calls * per_call))
    return {name: np.asarray(t) for name, t in times.items()}


def fft_pair(padded, chunk=None, devices=()):
    """The bare FFTs of the convolution: rfft2 and irfft2 at the ``padded`` shape.

    With ``chunk``, a batch is transformed ``chunk`` images at a time inside
    the compiled function, as socca's batched likelihood does on a CPU; with
    several ``devices``, each transforms its share of the batch at once
    (``shard_map``, as the likelihood), and the batch given should be
    :func:`on_devices`.
    """

    def pair(x):
        return jnp.fft.irfft2(jnp.fft.rfft2(x, s=padded), s=padded)

    def chunked(x):
        if chunk is None:
            return pair(x)
        n = x.shape[0]
        return jax.lax.map(pair, x.reshape(n // chunk, chunk, *x.shape[1:])).reshape(n, *padded)

    if len(devices) < 2:
        return jax.jit(chunked)
    spec = PartitionSpec("batch")
    return jax.jit(jax.shard_map(chunked, mesh=_mesh(devices), in_specs=spec, out_specs=spec))


def _mesh(devices):
    return Mesh(np.asarray(devices), ("batch",))


def on_devices(images, devices):
    """``images`` split along their first axis among ``devices``."""
    return jax.device_put(images, NamedSharding(_mesh(devices), PartitionSpec("batch")))


def _thetas(problem, n, seed=1):
    rng = np.random.default_rng(seed)
    return np.asarray(problem.prior_transform(rng.uniform(0.2, 0.8, (n, problem.ndim))))


def versus_fft(img, batch, budget_s=0.1):
    """Batched log-likelihood and FFT pair per evaluation on ``img``, interleaved."""
    problem = Problem(quickstart_fit_model(), img)
    thetas = _thetas(problem, batch)
    # the size the model's convolution uses: the image and a margin of one PSF
    # half-width on every side (socca.models.convolve)
    padded = Renderer(quickstart_fit_model().components, img).convolver.padded
    images = jnp.asarray(np.random.default_rng(2).normal(size=(batch, *img.shape)))
    chunk = STEP if batch % STEP == 0 else None
    devices = batch_devices()
    jax.block_until_ready(problem.loglike_batch(thetas))
    one = _seconds(problem.loglike_batch, thetas, 1)
    calls = max(1, int(budget_s / max(one, 1e-6)))
    contestants = {
        "loglike": (problem.loglike_batch, thetas, calls, batch),
        "fft": (fft_pair(padded), images, calls, batch),
        "fft_chunked": (fft_pair(padded, chunk), images, calls, batch),
    }
    if len(devices) > 1 and batch % (len(devices) * (chunk or 1)) == 0:
        split = on_devices(images, devices)
        contestants["fft_devices"] = (fft_pair(padded, chunk, devices), split, calls, batch)
    t = interleaved(contestants)
    # the reference is the bare FFT pair at its fastest: whole batch, in chunks, or
    # in chunks on every CPU device
    medians = {name: float(np.median(times)) for name, times in t.items()}
    fastest = min(v for name, v in medians.items() if name.startswith("fft"))
    return {
        "image": f"{img.shape[0]}²",
        "padded": f"{padded[0]}²",
        "loglike_ms": 1e3 * medians["loglike"],
        "fft_ms": 1e3 * medians["fft"],
        "fft_chunked_ms": 1e3 * medians["fft_chunked"],
        "fft_devices_ms": 1e3 * medians.get("fft_devices", np.nan),
        "ratio": medians["loglike"] / fastest,
    }


def throughput(img, batches=(64, 256)):
    """One-at-a-time calls against batches, per evaluation, interleaved."""
    problem = Problem(quickstart_fit_model(), img)
    thetas = _thetas(problem, max(batches))
    contestants = {"single": (problem.loglike, thetas[0], 400, 1)}
    for b in batches:
        contestants[f"batch {b}"] = (problem.loglike_batch, thetas[:b], max(2, 6400 // b // 8), b)
    t = interleaved(contestants)
    single = t.pop("single")
    rows = {"single_ms": 1e3 * float(np.median(single))}
    for name, per_eval in t.items():
        rows[name] = {
            "ms": 1e3 * float(np.median(per_eval)),
            "speedup": float(np.median(single / per_eval)),
        }
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[256, 512, 1024])
    args = parser.parse_args()
    images = [tutorial_image()] + [synthetic_image(n) for n in args.sizes]
    print("| image | padded | loglike (ms/eval) | FFT pair, batch / chunks / devices (ms/eval) "
          "| ratio |")  # fmt: skip
    print("|---|---|---|---|---|")
    for img in images:
        r = versus_fft(img, args.batch)
        print(
            f"| {r['image']} | {r['padded']} | {r['loglike_ms']:.4f} | {r['fft_ms']:.4f} / "
            f"{r['fft_chunked_ms']:.4f} / {r['fft_devices_ms']:.4f} | {r['ratio']:.2f} |",
            flush=True,
        )
    print(throughput(images[0]))


if __name__ == "__main__":
    main()
