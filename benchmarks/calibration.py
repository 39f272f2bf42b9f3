"""Calibration of socca's posteriors on mocks rendered independently of socca.

A tutorial-like problem: a point source on an exponential (Sérsic n = 1)
galaxy sharing its centre, PSF-convolved, with Gaussian noise. For each mock the
true parameters are drawn from the priors of the fit, the image is rendered here
from the published formulas (Sérsic with b_n from ``scipy.special.gammaincinv``,
pixel-averaged on a sub-pixel lattice, a margin of one PSF half-width beyond the
frame, ``scipy.signal.fftconvolve``; the point source is the PSF's Gaussian
evaluated at the pixel centres), not with socca's renderer. Each mock is fitted

* with nautilus (posterior mean and equal-tailed 68% / 95% intervals), and
* with L-BFGS-B in the unit cube of the priors (what ``method='optimizer'``
  does), its uncertainties from a Laplace approximation (the Hessian by central
  differences of the exact gradient at the optimum).

Both use socca's compiled model and priors from one fitter and the Gaussian
log-likelihood of socca's ``Normal`` noise, with the mock's pixels as an
argument (see :class:`SharedProblem`): a fitter per mock would recompile the
likelihood for every mock.

Reported per parameter: the fraction of mocks whose truth lies inside the 68%
and 95% intervals (expected 0.68 and 0.95) and the mean and spread of the
pulls (estimate - truth) / σ (expected 0 and 1). A table goes to
``benchmarks/results/<date>-calibration.md``, a figure to
``docs/figures/calibration.png``.

Run: ``.venv/bin/python benchmarks/calibration.py [--mocks 50] [--size 32]
[--nlive 150] [--seed 1] [--out docs/figures/calibration.png]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from common import write_results  # benchmarks/common.py
from scipy.optimize import minimize
from scipy.signal import fftconvolve
from scipy.special import gammaincinv

import socca
from socca import priors
from socca.data import Image
from socca.models import Model, Point, Sersic
from socca.noise import Normal

ARCSEC = 1.0 / 3600.0
RA0, DEC0 = 20.0, -10.0
SIGMA = 0.05  # noise per pixel
PSF_FWHM = 3.0  # pixels
THETA, ELL = 0.7, 0.3  # fixed galaxy orientation and ellipticity
# free parameters: name, prior bounds (pixels from the image centre for positions,
# pixels for re); all priors are uniform
BOUNDS = {
    "xc": (-2.0, 2.0),
    "yc": (-2.0, 2.0),
    "Ic": (2.0, 10.0),
    "re": (2.0, 5.0),
    "Ie": (0.1, 0.5),
}
ROOT = Path(__file__).resolve().parents[1]


def gaussian_kernel(fwhm=PSF_FWHM, size=11):
    """Unit-sum circular Gaussian sampled at pixel centres, odd ``size``."""
    y, x = np.indices((size, size)) - (size - 1) / 2
    s = fwhm / (2 * np.sqrt(2 * np.log(2)))
    k = np.exp(-0.5 * (x**2 + y**2) / s**2)
    return k / k.sum()


def point_image(shape, x0, y0, flux, fwhm=PSF_FWHM):
    """A point source: the PSF's Gaussian at the pixel centres, times the flux."""
    y, x = np.indices(shape)
    s = fwhm / (2 * np.sqrt(2 * np.log(2)))
    return flux * np.exp(-0.5 * ((x - x0) ** 2 + (y - y0) ** 2) / s**2) / (2 * np.pi * s**2)


def sersic_image(shape, x0, y0, re, Ie, n=1.0, pa=THETA, ell=ELL, sub=9, margin=0):
    """Pixel-averaged Sérsic on ``shape`` plus ``margin`` pixels each side (0-based px).

    PA from +y (north) towards -x (east, for an east-left WCS).
    """
    ny, nx = shape[0] + 2 * margin, shape[1] + 2 * margin
    off = (np.arange(sub) + 0.5) / sub - 0.5
    y = (np.arange(ny)[:, None] + off).ravel() - margin
    x = (np.arange(nx)[:, None] + off).ravel() - margin
    dx, dy = x[None, :] - x0, y[:, None] - y0
    major = -dx * np.sin(pa) + dy * np.cos(pa)
    minor = (-dx * np.cos(pa) - dy * np.sin(pa)) / (1 - ell)
    bn = gammaincinv(2 * n, 0.5)
    values = Ie * np.exp(-bn * ((np.hypot(major, minor) / re) ** (1 / n) - 1))
    return values.reshape(ny, sub, nx, sub).mean(axis=(1, 3))


def render_mock(size, truth, psf):
    """Noiseless image of ``truth`` (pixel units, offsets from the image centre)."""
    c = (size - 1) / 2
    x0, y0 = c + truth["xc"], c + truth["yc"]
    m = psf.shape[0] // 2
    galaxy = sersic_image((size, size), x0, y0, truth["re"], truth["Ie"], margin=m)
    galaxy = fftconvolve(galaxy, psf, mode="same")[m:-m, m:-m]
    return galaxy + point_image((size, size), x0, y0, truth["Ic"])


def tan_wcs(size):
    """TAN WCS, 1"/px, north up, east left, tangent point at the image centre."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [RA0, DEC0]
    w.wcs.cdelt = [-ARCSEC, ARCSEC]
    w.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]
    w.wcs.cunit = ["deg", "deg"]
    return w


def to_socca(name, value):
    """A parameter in this script's pixel units as socca's (deg) value."""
    if name == "xc":  # RA grows to the left; the WCS is linear to ~1e-8 px here
        return RA0 - value * ARCSEC / np.cos(np.radians(DEC0))
    if name == "yc":
        return DEC0 + value * ARCSEC
    return value * ARCSEC if name == "re" else value


def socca_problem(data, psf):
    """socca image and model for one mock, with the priors of :data:`BOUNDS`."""
    hdu = fits.PrimaryHDU(data=data, header=tan_wcs(data.shape[0]).to_header())
    with contextlib.redirect_stdout(io.StringIO()):
        img = Image(hdu, noise=Normal(sigma=SIGMA), addpsf=dict(img=psf))
    p = {}
    for name, (lo, hi) in BOUNDS.items():
        a, b = sorted((to_socca(name, lo), to_socca(name, hi)))
        p[name] = priors.uniform(a, b)
    point = Point(xc=p["xc"], yc=p["yc"], Ic=p["Ic"])
    galaxy = Sersic(
        xc=priors.boundto(point, "xc"), yc=priors.boundto(point, "yc"),
        theta=THETA, e=ELL, re=p["re"], Ie=p["Ie"], ns=1.0,
    )  # fmt: skip
    return img, Model([point, galaxy])


def draw_truth(rng):
    return {name: rng.uniform(lo, hi) for name, (lo, hi) in BOUNDS.items()}


class SharedProblem:
    """socca's compiled model and priors, built once, scored against any mock.

    Every mock has the same geometry, PSF, noise level and priors; only the
    pixels change. socca compiles its likelihood with the data inside, so a
    fitter per mock would recompile everything each time (minutes on two
    cores). Here the model image comes from socca's compiled ``render`` of a
    fitter built once, and the Gaussian log-likelihood of each mock is computed
    from it with the data as an argument, the same number as socca's
    ``Normal`` likelihood (checked against ``fit.loglike`` at start-up).
    """

    def __init__(self, data, psf):
        img, mod = socca_problem(data, psf)
        self.fit = fit = socca.fitter(mod, img)
        self.labels = fit.labels
        self.names = [label.split("_", 2)[-1] for label in fit.labels]
        self.ndim = len(self.names)
        self.lo = np.asarray(fit.prior_transform(np.zeros(self.ndim)))
        self.width = np.asarray(fit.prior_transform(np.ones(self.ndim))) - self.lo
        norm = -0.5 * data.size * np.log(2 * np.pi * SIGMA**2)
        render = fit.problem.render

        def loglike(theta, pixels):
            resid = (pixels - render(theta).smoothed) / SIGMA
            return norm - 0.5 * jnp.sum(resid * resid)

        def neg_unit(u, pixels):  # -lnL in the unit cube of the (uniform) priors
            return -loglike(self.lo + u * self.width, pixels)

        self.loglike_batch = jax.jit(jax.vmap(loglike, in_axes=(0, None)))
        self.value_and_grad = jax.jit(jax.value_and_grad(neg_unit))
        theta = self.lo + np.linspace(0.3, 0.7, self.ndim) * self.width
        ours = float(self.loglike_batch(theta[None], jnp.asarray(data))[0])
        if not np.isclose(ours, float(fit.loglike(theta)), rtol=1e-10, atol=0):
            raise RuntimeError(f"likelihood mismatch: {ours} against socca's {fit.loglike(theta)}")

    def nautilus(self, data, nlive, seed):
        """Posterior mean, σ and quantiles from nautilus."""
        import nautilus

        pixels = jnp.asarray(data)
        sampler = nautilus.Sampler(
            lambda u: self.lo + np.atleast_2d(u) * self.width,
            lambda thetas: np.asarray(self.loglike_batch(jnp.asarray(thetas), pixels)),
            n_dim=self.ndim, n_live=nlive, vectorized=True, seed=seed,
        )  # fmt: skip
        sampler.run(verbose=False)
        samples, log_w, _ = sampler.posterior()
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        mean = w @ samples
        std = np.sqrt(w @ (samples - mean) ** 2)
        quant = np.array(
            [weighted_quantiles(samples[:, i], w, QUANTILES) for i in range(self.ndim)]
        )
        return mean, std, quant

    def optimizer(self, data):
        """L-BFGS-B optimum in the unit cube and its Laplace σ (Hessian of the exact gradient)."""
        pixels = jnp.asarray(data)

        def fun(u):
            value, grad = self.value_and_grad(u, pixels)
            return float(value), np.asarray(grad, dtype=float)

        bounds = [(0.0, 1.0)] * self.ndim
        opts = dict(ftol=1e-13, gtol=1e-9)
        res = minimize(fun, np.full(self.ndim, 0.5), jac=True, bounds=bounds, options=opts)
        h = 1e-5
        hess = np.array([(fun(res.x + h * e)[1] - fun(res.x - h * e)[1]) / (2 * h)
                         for e in np.eye(self.ndim)])  # fmt: skip
        sigma_u = np.sqrt(np.diag(np.linalg.inv(0.5 * (hess + hess.T))))
        return self.lo + res.x * self.width, sigma_u * self.width


def fit_mock(problem, data, nlive, seed):
    """Nautilus summaries and the optimizer + Laplace estimate for one mock."""
    mean, std, quant = problem.nautilus(data, nlive, seed)
    best, laplace = problem.optimizer(data)
    return dict(mean=mean, std=std, quant=quant, best=best, laplace=laplace)


QUANTILES = (0.025, 0.16, 0.84, 0.975)


def weighted_quantiles(x, w, qs):
    order = np.argsort(x)
    cdf = np.cumsum(w[order]) - 0.5 * w[order]
    return np.interp(qs, cdf / w.sum(), x[order])


def summarise(truths, fits):
    """Coverage and pull statistics per parameter, both methods."""
    rows = []
    for i, name in enumerate(BOUNDS):
        t = np.array([to_socca(name, tr[name]) for tr in truths])
        q = np.array([f["quant"][i] for f in fits])
        mean = np.array([f["mean"][i] for f in fits])
        std = np.array([f["std"][i] for f in fits])
        best = np.array([f["best"][i] for f in fits])
        lap = np.array([f["laplace"][i] for f in fits])
        pull_n, pull_o = (mean - t) / std, (best - t) / lap
        # no Laplace σ where the Hessian is not negative definite (an optimum on a
        # prior bound): those mocks are left out of the optimizer's statistics
        pull_o = pull_o[np.isfinite(pull_o)]
        rows.append(
            dict(
                name=name,
                nlaplace=len(pull_o),
                n68=np.mean((q[:, 1] <= t) & (t <= q[:, 2])),
                n95=np.mean((q[:, 0] <= t) & (t <= q[:, 3])),
                o68=np.mean(np.abs(pull_o) <= 1.0),
                o95=np.mean(np.abs(pull_o) <= 1.96),
                nbias=pull_n.mean(),
                nspread=pull_n.std(ddof=1),
                obias=pull_o.mean(),
                ospread=pull_o.std(ddof=1),
                pulls_n=pull_n,
                pulls_o=pull_o,
            )  # fmt: skip
        )
    return rows


def binomial_band(n, p, z=2.0):
    """Approximate ``z``-sigma band of a coverage fraction over ``n`` trials."""
    half = z * np.sqrt(p * (1 - p) / n)
    return max(0.0, p - half), min(1.0, p + half)


def table(rows, args, elapsed):
    n = args.mocks
    b68, b95 = binomial_band(n, 0.68), binomial_band(n, 0.95)
    lines = [
        f"# Calibration: {n} mocks, {args.size}x{args.size} px, nautilus nlive={args.nlive}, "
        f"seed {args.seed}",
        "",
        "Tutorial-like problem: point source + exponential galaxy sharing its centre, "
        f"Gaussian PSF FWHM {PSF_FWHM} px, σ = {SIGMA}; mocks rendered independently of "
        "socca (benchmarks/calibration.py). Pull = (estimate − truth)/σ.",
        "",
        f"Expected coverage 0.68 (2σ binomial band {b68[0]:.2f}–{b68[1]:.2f}) and 0.95 "
        f"({b95[0]:.2f}–{b95[1]:.2f}); pulls: mean 0 ± {2 / np.sqrt(n):.2f}, spread 1.",
        "",
        "| parameter | nautilus 68% | nautilus 95% | nautilus pull mean | nautilus pull sd "
        "| optimizer+Laplace 68% | 95% | pull mean | pull sd |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['n68']:.2f} | {r['n95']:.2f} | {r['nbias']:+.2f} | "
            f"{r['nspread']:.2f} | {r['o68']:.2f} | {r['o95']:.2f} | {r['obias']:+.2f} | "
            f"{r['ospread']:.2f} |"
        )
    pooled = [np.mean([r[k] for r in rows]) for k in ("n68", "n95", "o68", "o95")]
    lines += [
        f"| pooled | {pooled[0]:.2f} | {pooled[1]:.2f} | | | {pooled[2]:.2f} | "
        f"{pooled[3]:.2f} | | |",
        "",
        "Mocks with a finite Laplace σ (the rest have their optimum on a prior bound): "
        + ", ".join(f"{r['name']} {r['nlaplace']}/{n}" for r in rows)
        + ".",
        "",
        f"Wall time {elapsed / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


def figure(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    names = [r["name"] for r in rows]
    x = np.arange(len(rows))
    ax = axes[0]
    for level, key_n, key_o in ((0.68, "n68", "o68"), (0.95, "n95", "o95")):
        ax.plot(x - 0.1, [r[key_n] for r in rows], "o", color="C0" if level < 0.9 else "C2",
                label=f"nautilus {level:.0%}")  # fmt: skip
        ax.plot(x + 0.1, [r[key_o] for r in rows], "s", color="C1" if level < 0.9 else "C3",
                label=f"optimizer+Laplace {level:.0%}")  # fmt: skip
        ax.axhline(level, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, names)
    ax.set_ylim(0.3, 1.05)
    ax.set_ylabel("coverage")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[1]
    grid = np.linspace(-4, 4, 200)
    allp_n = np.concatenate([r["pulls_n"] for r in rows])
    allp_o = np.concatenate([r["pulls_o"] for r in rows])
    ax.hist(allp_n, bins=24, range=(-4, 4), density=True, histtype="step", label="nautilus")
    ax.hist(
        allp_o, bins=24, range=(-4, 4), density=True, histtype="step", label="optimizer+Laplace"
    )
    ax.plot(grid, np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi), "k--", lw=0.8, label="N(0, 1)")
    ax.set_xlabel("pull (estimate − truth) / σ, all parameters")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mocks", type=int, default=50, help="number of mocks (default 50)")
    ap.add_argument("--size", type=int, default=32, help="image side in pixels (default 32)")
    ap.add_argument("--nlive", type=int, default=150, help="nautilus live points (default 150)")
    ap.add_argument("--seed", type=int, default=1, help="seed of truths and noise (default 1)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "calibration.png",
                    help="figure path (default docs/figures/calibration.png)")  # fmt: skip
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    psf = gaussian_kernel()
    truths, fits = [], []
    t0 = time.perf_counter()
    problem = None
    for k in range(args.mocks):
        truth = draw_truth(rng)
        data = render_mock(args.size, truth, psf) + rng.normal(0.0, SIGMA, (args.size,) * 2)
        problem = problem or SharedProblem(data, psf)
        fits.append(fit_mock(problem, data, args.nlive, seed=args.seed * 1000 + k))
        truths.append(truth)
        print(f"mock {k + 1}/{args.mocks} done, {time.perf_counter() - t0:.0f} s", flush=True)
    rows = summarise(truths, fits)
    write_results(table(rows, args, time.perf_counter() - t0), name="calibration")
    figure(rows, args.out)


if __name__ == "__main__":
    main()
