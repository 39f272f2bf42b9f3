"""Cost of one likelihood evaluation against the bare FFT pair it needs.

For the tutorial image (128², PSF 34²) and synthetic 256², 512², 1024²
images with the same PSF, a Sérsic + point-source model (the guide's
quickstart) is compiled and timed: one call at a time, and as a vmapped
batch of 64. Beside it, the rfft2 + irfft2 pair of the padded size, also
single and batched. Prints a table and writes it to
``benchmarks/results/<date>.md``.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/render.py``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from astropy.io import fits
from astropy.wcs import WCS
from common import median_time, write_results  # benchmarks/common.py

import socca
from socca.cli import quickstart_fit_model
from socca.data import Image
from socca.inference import Problem
from socca.models.convolve import FourierConvolver
from socca.noise import Normal

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("SOCCA_DATA", HERE.parent.parent / "shared" / "data"))
ARCSEC = 1 / 3600


def synthetic_image(n, psf):
    """An n×n TAN image at (20, -10), 1"/pixel, with a galaxy + point source and noise."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [20.0, -10.0]
    w.wcs.cdelt = [-ARCSEC, ARCSEC]
    w.wcs.crpix = [n / 2 + 1, n / 2 + 1]
    data = np.random.default_rng(0).normal(0, 0.05, (n, n))
    return Image(
        fits.PrimaryHDU(data, w.to_header()), noise=Normal(sigma=0.05), addpsf=dict(img=psf)
    )


def measure(img, repeats, batch_size):
    model = quickstart_fit_model()
    problem = Problem(model, img)
    rng = np.random.default_rng(1)
    thetas = problem.prior_transform(rng.uniform(0.2, 0.8, (batch_size, problem.ndim)))
    t0 = time.perf_counter()
    jax.block_until_ready(problem.loglike(thetas[0]))
    compile_s = time.perf_counter() - t0
    single = median_time(problem.loglike, thetas[0], repeats)
    batch = median_time(problem.loglike_batch, thetas, max(3, repeats // 8))

    conv = FourierConvolver(img.psf)
    pad = conv.padded
    pair = jax.jit(lambda x: jnp.fft.irfft2(jnp.fft.rfft2(x, s=pad), s=pad))
    x = jnp.asarray(np.random.default_rng(2).normal(size=img.shape))
    xb = jnp.broadcast_to(x, (batch_size, *img.shape))
    fft_single = median_time(pair, x, repeats)
    fft_batch = median_time(pair, xb, max(3, repeats // 8))
    return dict(
        size=img.shape[0],
        padded=pad[0],
        compile_s=compile_s,
        single_ms=single * 1e3,
        batch_ms=batch * 1e3 / batch_size,
        fft_ms=fft_single * 1e3,
        fft_batch_ms=fft_batch * 1e3 / batch_size,
    )


REPEATS = {256: 100, 512: 40, 1024: 12, 2048: 6}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[256, 512, 1024], help="synthetic image sizes"
    )
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    return parser.parse_args()


def main():
    args = parse_args()
    batch_size = args.batch
    psf_path, mock_path = DATA / "tutorial_psf.fits", DATA / "tutorial_mock.fits"
    psf = fits.getdata(psf_path).astype(float)
    rows = []
    if mock_path.exists():
        tutorial = Image(str(mock_path), noise=Normal(sigma=0.0447), addpsf=dict(img=str(psf_path)))
        rows.append(("tutorial 128²", measure(tutorial, 200, batch_size)))
    for n in args.sizes:
        image = synthetic_image(n, psf)
        rows.append((f"synthetic {n}²", measure(image, REPEATS.get(n, 20), batch_size)))

    header = (
        f"# socca likelihood benchmark — {datetime.date.today().isoformat()}\n\n"
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {jax.devices()[0].device_kind}; "
        f"python {platform.python_version()}, jax {jax.__version__}, "
        f"numpyro {numpyro.__version__}, socca {socca.__version__}\n\n"
        "Model: Point + Sérsic (quickstart), PSF 34², float64. Times are medians, "
        f"batched = vmapped batch of {batch_size} per evaluation.\n\n"
    )
    table = [
        "| image | padded | compile (s) | loglike single (ms) | loglike batched (ms/eval) "
        "| FFT pair single (ms) | FFT pair batched (ms/eval) | batched / FFT pair |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        table.append(
            f"| {name} | {r['padded']}² | {r['compile_s']:.2f} | {r['single_ms']:.3f} | "
            f"{r['batch_ms']:.3f} | {r['fft_ms']:.3f} | {r['fft_batch_ms']:.3f} | "
            f"{r['batch_ms'] / r['fft_batch_ms']:.2f} |"
        )
    write_results(header + "\n".join(table) + "\n", args.tag)


if __name__ == "__main__":
    main()
