"""The ``socca`` console command: ``socca demo``, ``socca demo --data DIR`` and ``socca fit``."""

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
    written = {"mock image": mock_path, "model (3 slices)": model_path}
    written["comparison plot"] = os.path.join(outdir, "comparison.png")
    fit.plot.comparison(name=written["comparison plot"], fmt="png")
    if fit.method != "optimizer":  # a single optimum has no posterior to draw
        written["corner plot"] = os.path.join(outdir, "corner.png")
        fit.plot.corner(name=written["corner plot"], fmt="png", truths=_truth_vector(fit, truth))
    print("\nFiles written:")
    for what, path in written.items():
        print(f"  {what:<16}: {path}")
    return fit


def demo_data(outdir=".", overwrite=False):
    """Write the tutorial image and PSF (:func:`socca.datasets.tutorial`) and say where.

    Parameters
    ----------
    outdir : str or os.PathLike
        Folder for ``tutorial_mock.fits`` and ``tutorial_psf.fits``.
    overwrite : bool
        Replace files of those names that hold something else.

    Returns
    -------
    int
        The exit status: 0 on success, 2 when a file is in the way or
        ``outdir`` is not a folder (printed to stderr as one line).
    """
    from socca import datasets
    from socca.errors import SoccaError

    try:
        mock, psf = datasets.tutorial(outdir, overwrite=overwrite)
    except SoccaError as err:
        print(f"socca: error: {err}", file=sys.stderr)
        return 2
    print("Tutorial data (128x128 image of a point source on an exponential disk, its PSF):")
    print(f"  image : {mock}")
    print(f"  psf   : {psf}")
    print(f'Load them with Image("{mock}", addpsf=dict(img="{psf}"))')
    return 0


def _truth_vector(fit, truth):
    """The input values in the fit's free-parameter order (None where unknown)."""
    return [truth.get(label.split("_", 2)[-1]) for label in fit.labels]


def fit_command(config, check=False, overwrite=False):
    """Run (or with ``check`` only validate) the fit a configuration file describes.

    Parameters
    ----------
    config : str or os.PathLike
        The TOML configuration file (format: :mod:`socca.config`).
    check : bool
        Validate the file, build the image, model and fitter, print a summary
        and stop before sampling.
    overwrite : bool
        Replace the files of an earlier run in the output folder (also set by
        ``[output] overwrite = true``).

    Returns
    -------
    int
        The exit status: 0 on success, 2 for an error in the configuration
        (printed to stderr as one line).
    """
    from socca.config import ConfigError, load
    from socca.config.run import note_existing, refuse_existing, run_config

    try:
        cfg = load(config)
        if not check:
            refuse_existing(cfg, overwrite)
    except ConfigError as err:
        print(f"socca: error: {err}", file=sys.stderr)
        return 2
    print(f"{config}: configuration OK")
    print(cfg.summary())
    if check:
        note_existing(cfg, overwrite)
        return 0
    run_config(cfg)
    return 0


def build_parser():
    """The argument parser of the ``socca`` command and its ``demo`` and ``fit`` commands."""
    parser = argparse.ArgumentParser(prog="socca", description="Bayesian source fitting")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser(
        "demo",
        help="simulate a galaxy image and fit it; with --data, write the tutorial data",
    )
    p_demo.add_argument("--outdir", default="demo_output", help="folder for the outputs")
    p_demo.add_argument("--method", default="nautilus", help="inference method")
    p_demo.add_argument("--nlive", type=int, default=500, help="live points (nested samplers)")
    p_demo.add_argument("--seed", type=int, default=1, help="seed of the noise and the sampler")
    p_demo.add_argument(
        "--data", nargs="?", const=".", metavar="DIR",
        help="only write tutorial_mock.fits and tutorial_psf.fits into DIR (default: here)",
    )
    p_demo.add_argument(
        "--overwrite", action="store_true", help="with --data, replace existing files"
    )
    p_fit = sub.add_parser(
        "fit",
        help="fit the image, model and method described by a TOML configuration file",
        description="Run the fit a TOML file describes (format: python -m pydoc socca.config) "
        "and write the parameter table, model, residual, plots and the fit to its output folder.",
    )
    p_fit.add_argument("config", help="the configuration file (TOML)")
    p_fit.add_argument(
        "--check", action="store_true", help="validate the file and stop before fitting"
    )
    p_fit.add_argument(
        "--overwrite", action="store_true", help="replace the outputs of an earlier run"
    )
    return parser


def main(argv=None):
    """Entry point of the ``socca`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo" and args.overwrite and args.data is None:
        parser.error("demo: --overwrite applies only with --data DIR")
    if args.command == "demo" and args.data is not None:
        return demo_data(args.data, overwrite=args.overwrite)
    if args.command == "demo":
        demo(args.outdir, args.method, args.nlive, args.seed)
    elif args.command == "fit":
        return fit_command(args.config, check=args.check, overwrite=args.overwrite)
    return 0


if __name__ == "__main__":
    sys.exit(main())
