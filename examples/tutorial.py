"""The fit of examples/tutorial.toml, written in Python.

``socca fit examples/tutorial.toml`` and ``python examples/tutorial.py`` build
the same image, model and priors and print the same parameter table::

    python examples/tutorial.py                      # nautilus, 500 live points
    python examples/tutorial.py --method optimizer   # a quick MAP estimate
    python examples/tutorial.py --data DIR           # the data in DIR (made there if missing)

The data, ``tutorial_mock.fits`` and ``tutorial_psf.fits``, are read from the
folder of this script unless ``--data`` names another; where they are
missing, :func:`socca.datasets.tutorial` writes them first.
"""

import argparse
from pathlib import Path

import numpy as np

import socca
from socca import datasets, priors
from socca.data import Image
from socca.models import Model, Point, Sersic

HERE = Path(__file__).resolve().parent
DATA = HERE  # the folder holding tutorial_mock.fits and tutorial_psf.fits
ARCSEC = 1.0 / 3600.0  # degrees
RA, DEC = 20.0, -10.0  # centre of the tutorial image


def tutorial_data(data=DATA):
    """Paths of the tutorial image and PSF in ``data``, written there if missing.

    Parameters
    ----------
    data : str or pathlib.Path
        Folder for tutorial_mock.fits and tutorial_psf.fits.

    Returns
    -------
    tuple of pathlib.Path
        The image and the PSF.
    """
    paths = tuple(Path(data) / name for name in datasets.TUTORIAL_FILES)
    if not all(path.is_file() for path in paths):
        paths = datasets.tutorial(data)
        print(f"Wrote the tutorial data to {paths[0]} and {paths[1]}")
    return paths


def build(data=DATA):
    """The tutorial image (with its PSF and MAD noise level) and model with priors.

    Parameters
    ----------
    data : str or pathlib.Path
        Folder holding tutorial_mock.fits and tutorial_psf.fits (written
        there by :func:`socca.datasets.tutorial` if missing).

    Returns
    -------
    img : socca.data.Image
    model : socca.models.Model
    """
    mock, psf = tutorial_data(data)
    img = Image(str(mock), img_idx=0, addpsf=dict(img=str(psf), idx=0, normalize=True))
    point = Point(
        xc=priors.uniform(RA - 2 * ARCSEC, RA + 2 * ARCSEC),
        yc=priors.uniform(DEC - 2 * ARCSEC, DEC + 2 * ARCSEC),
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
    return img, Model([point, galaxy])


def main(argv=None):
    """Fit the tutorial image and print the parameter table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="nautilus", help="inference method")
    parser.add_argument("--outdir", help="also save the model and the fit in this folder")
    parser.add_argument("--data", default=DATA, help="folder of the tutorial data")
    args = parser.parse_args(argv)
    img, model = build(args.data)
    fit = socca.fitter(mod=model, img=img)
    options = {"nlive": 500} if args.method == "nautilus" else {}
    fit.run(method=args.method, seed=1, **options)
    fit.parameters()
    if args.outdir:
        out = Path(args.outdir)
        out.mkdir(parents=True, exist_ok=True)
        fit.savemodel(str(out / "model.fits"), overwrite=True)
        fit.dump(str(out / "fit.pickle"), overwrite=True)
    return fit


if __name__ == "__main__":
    main()
