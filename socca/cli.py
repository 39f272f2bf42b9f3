"""The ``socca`` console command."""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ARCSEC = 1.0 / 3600.0


def quickstart_fit_model(ra=20.0, dec=-10.0):
    """The guide's quickstart model with priors: a point source and a Sérsic bound to it."""
    from socca import priors
    from socca.models import Model, Point, Sersic

    point = Point(
        xc=priors.uniform(ra - 2 * ARCSEC, ra + 2 * ARCSEC),
        yc=priors.uniform(dec - 2 * ARCSEC, dec + 2 * ARCSEC),
        Ic=priors.uniform(0.0, 50.0),
    )
    galaxy = Sersic(
        xc=priors.boundto(point, "xc"),
        yc=priors.boundto(point, "yc"),
        theta=priors.uniform(0.0, np.pi),
        e=priors.uniform(0.0, 0.9),
        re=priors.loguniform(0.1 * ARCSEC, 10 * ARCSEC),
        Ie=priors.loguniform(0.01, 10.0),
        ns=1.0,
    )
    return Model([point, galaxy])


def demo(outdir="demo_output", method="nautilus", nlive=500, seed=1):
    """Simulate a galaxy with a nucleus, fit it, print the table and write the outputs."""
    import socca
    from socca import simulate

    os.makedirs(outdir, exist_ok=True)
    model = quickstart_fit_model()  # built first, so its components are comp_00, comp_01
    img, _ = simulate.mock_observation(simulate.quickstart_truth(), sigma=0.05, seed=seed)
    mock_path = os.path.join(outdir, "mock.fits")
    img.hdu.writeto(mock_path, overwrite=True)
    print("Simulated a 128x128 image of a Sérsic galaxy + point source (sigma = 0.05)")

    fit = socca.fitter(mod=model, img=img)
    options = {"nlive": nlive} if method in ("nautilus", "dynesty") else {}
    start = time.perf_counter()
    fit.run(method=method, seed=seed, **options)
    print(f"\n{method} finished in {time.perf_counter() - start:.1f} s")
    fit.parameters()

    truth = {
        "Ic": 10.0,
        "theta": 0.87,
        "e": 0.6,
        "re": 1.5 * ARCSEC,
        "Ie": 0.3,
        "xc": 20.0,
        "yc": -10.0,
    }
    print("\nInput values: " + ", ".join(f"{k} = {v:.4E}" for k, v in truth.items()))

    model_path = os.path.join(outdir, "model.fits")
    fit.savemodel(model_path, overwrite=True)
    print("\nFiles written:")
    print(f"  mock image      : {mock_path}")
    print(f"  model (3 slices): {model_path}")
    return fit


def main(argv=None):
    """Entry point of the ``socca`` command."""
    parser = argparse.ArgumentParser(prog="socca", description="Bayesian source fitting")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="simulate a galaxy image and fit it")
    p_demo.add_argument("--outdir", default="demo_output", help="folder for the outputs")
    p_demo.add_argument("--method", default="nautilus", help="inference method")
    p_demo.add_argument("--nlive", type=int, default=500, help="live points (nested samplers)")
    p_demo.add_argument("--seed", type=int, default=1, help="seed of the noise and the sampler")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.outdir, args.method, args.nlive, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
