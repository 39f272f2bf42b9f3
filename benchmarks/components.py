"""Render time of each model component on a 256² image.

Every component is compiled alone into the pure ``render(theta)`` function
(no PSF, so the time is the component's own cost) with a few free
parameters, and timed: one jitted call at a time, and per evaluation inside
a vmapped batch of 16. The gNFW is timed with fixed slopes (cached lookup
table) and with free slopes (table rebuilt inside every call). Prints a
table and writes it to ``benchmarks/results/<date>-components.md``.

Run: ``.venv/bin/python benchmarks/components.py`` (``--quick`` for fewer repeats).
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from common import median_time, write_results  # benchmarks/common.py

import socca
from socca import priors, simulate
from socca.data import Image
from socca.models.background import Background
from socca.models.custom import CustomProfile
from socca.models.point import Point
from socca.models.radial import (
    Beta,
    Exponential,
    Gaussian,
    ModExponential,
    PolyExponential,
    PolyExpoRefact,
    Power,
    Sersic,
    TopHat,
    gNFW,
)
from socca.models.render import build_render
from socca.models.truncation import Exponential as ExpCut
from socca.models.truncation import HyperTangent
from socca.noise import Normal

HERE = Path(__file__).resolve().parent
ARCSEC = 1 / 3600
SIZE = 256
BATCH = 16
RA, DEC = 20.0, -10.0
CENTRE = dict(xc=RA, yc=DEC, theta=0.4, e=0.3)


def amplitude(low=0.5, high=2.0):
    return priors.uniform(low, high)


def scale(low=2.0, high=20.0):
    return priors.loguniform(low * ARCSEC, high * ARCSEC)


def custom_gaussian():
    return CustomProfile(
        parameters=[{"name": "sigma", "unit": "deg"}, {"name": "amp", "unit": "image"}],
        profile=lambda r, sigma, amp: amp * jnp.exp(-0.5 * (r / sigma) ** 2),
        sigma=scale(),
        amp=amplitude(),
        **CENTRE,
    )


def cases():
    """(name, free parameters, factory) for every component."""
    yield (
        "Sersic",
        "re, Ie, ns",
        lambda: Sersic(re=scale(), Ie=amplitude(), ns=priors.uniform(0.5, 6), **CENTRE),
    )
    yield "Exponential", "rs, Is", lambda: Exponential(rs=scale(), Is=amplitude(), **CENTRE)
    yield "Gaussian", "rs, Is", lambda: Gaussian(rs=scale(), Is=amplitude(), **CENTRE)
    yield (
        "Beta",
        "rc, Ic, beta",
        lambda: Beta(rc=scale(), Ic=amplitude(), beta=priors.uniform(0.4, 1.5), **CENTRE),
    )
    yield (
        "Power",
        "rc, Ic, alpha",
        lambda: Power(rc=scale(), Ic=amplitude(), alpha=priors.uniform(1, 3), **CENTRE),
    )
    yield "TopHat", "rc", lambda: TopHat(rc=scale(), **CENTRE)
    yield "gNFW (fixed slopes)", "rc, Ic", lambda: gNFW(rc=scale(), Ic=amplitude(), **CENTRE)
    yield (
        "gNFW (free slopes)",
        "rc, Ic, alpha, beta, gamma",
        lambda: gNFW(
            rc=scale(),
            Ic=amplitude(),
            alpha=priors.uniform(0.8, 2.0),
            beta=priors.uniform(3.0, 7.0),
            gamma=priors.uniform(0.0, 0.8),
            **CENTRE,
        ),
    )
    yield (
        "PolyExponential",
        "rs, Is, c1..c4",
        lambda: PolyExponential(
            rs=scale(),
            Is=amplitude(),
            **{f"c{k}": priors.uniform(-0.1, 0.1) for k in range(1, 5)},
            **CENTRE,
        ),
    )
    yield (
        "PolyExpoRefact",
        "rs, Is, I1..I4",
        lambda: PolyExpoRefact(
            rs=scale(),
            Is=amplitude(),
            **{f"I{k}": priors.uniform(-0.1, 0.1) for k in range(1, 5)},
            **CENTRE,
        ),
    )
    yield (
        "ModExponential",
        "rs, Is, rm, alpha",
        lambda: ModExponential(
            rs=scale(), Is=amplitude(), rm=scale(), alpha=priors.uniform(0.0, 2.0), **CENTRE
        ),
    )
    yield "CustomProfile (Gaussian)", "sigma, amp", custom_gaussian
    yield (
        "Sersic + HyperTangent",
        "re, Ie, rt, wt",
        lambda: Sersic(
            re=scale(),
            Ie=amplitude(),
            ns=1.0,
            truncation=HyperTangent(scale(20, 60), scale(1, 5)),
            **CENTRE,
        ),
    )
    yield (
        "Sersic + Exponential cut",
        "re, Ie, rt, wt",
        lambda: Sersic(
            re=scale(),
            Ie=amplitude(),
            ns=1.0,
            truncation=ExpCut(scale(20, 60), scale(1, 5)),
            **CENTRE,
        ),
    )
    yield "Point", "Ic", lambda: Point(xc=RA, yc=DEC, Ic=amplitude())
    yield (
        "Background",
        "a0, a1x, a1y",
        lambda: Background(
            a0=amplitude(), a1x=priors.uniform(-0.1, 0.1), a1y=priors.uniform(-0.1, 0.1)
        ),
    )
    yield from _composites()


def _composites():
    """Disk and bridges, when this checkout has them."""
    try:
        from socca.models.bridge import MesaBridge, SimpleBridge
        from socca.models.disk import Disk
    except ImportError:
        return

    def disk():
        comp = Disk(xc=RA, yc=DEC, theta=0.4, inc=priors.uniform(0.2, 1.4))
        comp.radial.re, comp.radial.Ie = scale(), amplitude()
        comp.vertical.zs = scale(0.5, 3)
        return comp

    def bridge(cls):
        return cls(xc=RA, yc=DEC, theta=0.4, rs=scale(10, 60), Is=amplitude(), e=0.5)

    yield "Disk (Sersic, sech², 200 bins)", "inc, re, Ie, zs", disk
    yield "SimpleBridge", "rs, Is", lambda: bridge(SimpleBridge)
    yield "MesaBridge", "rs, Is", lambda: bridge(MesaBridge)


def measure(factory, img, repeats):
    comp = factory()
    render, pmap = build_render([comp], img, doresp=False, doexp=False)
    rng = np.random.default_rng(0)
    u = rng.uniform(0.2, 0.8, (BATCH, len(pmap.labels)))
    thetas = jnp.stack([p.icdf(u[:, i]) for i, p in enumerate(pmap.free.values())], axis=-1)

    def image(theta):
        maps = render(theta)
        return maps.raw + maps.background

    single = jax.jit(image)
    batched = jax.jit(jax.vmap(image))
    t0 = time.perf_counter()
    jax.block_until_ready(single(thetas[0]))
    compile_s = time.perf_counter() - t0
    return dict(
        compile_s=compile_s,
        single_ms=median_time(single, thetas[0], repeats) * 1e3,
        batch_ms=median_time(batched, thetas, max(3, repeats // 4)) * 1e3 / BATCH,
    )


def main():
    repeats = 10 if "--quick" in sys.argv else 50
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    hdu = simulate.blank_hdu((SIZE, SIZE), RA, DEC, pixscale=ARCSEC)
    img = Image(hdu, noise=Normal(sigma=1.0))
    rows = []
    for name, free, factory in cases():
        try:
            r = measure(factory, img, repeats)
        except Exception as err:  # a component still in development elsewhere
            print(f"skipped {name}: {type(err).__name__}: {err}", file=sys.stderr)
            continue
        rows.append((name, free, r))
        print(f"{name:<32} {r['single_ms']:8.3f} ms  {r['batch_ms']:8.3f} ms/eval", file=sys.stderr)

    header = (
        f"# socca component render benchmark — {datetime.date.today().isoformat()}\n\n"
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {jax.devices()[0].platform}; "
        f"python {platform.python_version()}, jax {jax.__version__}, socca {socca.__version__}; "
        f"load average at start {load:.1f}\n\n"
        f"One component on a {SIZE}² image, no PSF, subgrid 1, float64: jitted "
        f"`render(theta)` (raw + background). Times are medians; batched = vmapped batch "
        f"of {BATCH}, per evaluation.\n\n"
    )
    table = [
        "| component | free parameters | compile (s) | single (ms) | batched (ms/eval) |",
        "|---|---|---|---|---|",
    ]
    for name, free, r in rows:
        table.append(
            f"| {name} | {free} | {r['compile_s']:.2f} | {r['single_ms']:.3f} | "
            f"{r['batch_ms']:.3f} |"
        )
    write_results(header + "\n".join(table) + "\n", "components")


if __name__ == "__main__":
    main()
