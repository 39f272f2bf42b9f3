"""The fit of examples/tutorial.toml, written in Python.

``socca fit examples/tutorial.toml`` and ``python examples/tutorial.py`` build
the same image, model and priors and print the same parameter table::

    python examples/tutorial.py                      # nautilus, 500 live points
    python examples/tutorial.py --method optimizer   # a quick MAP estimate
"""

import argparse
from pathlib import Path

import numpy as np

import socca
from socca import priors
from socca.data import Image
from socca.models import Model, Point, Sersic

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
ARCSEC = 1.0 / 3600.0  # degrees
RA, DEC = 20.0, -10.0  # centre of the tutorial image


def build(data=DATA):
    """The tutorial image (with its PSF and MAD noise level) and model with priors.

    Parameters
    ----------
    data : str or pathlib.Path
        Folder holding tutorial_mock.fits and tutorial_psf.fits.

    Returns
    -------
    img : socca.data.Image
    model : socca.models.Model
    """
    data = Path(data)
    img = Image(str(data / "tutorial_mock.fits"), img_idx=0,
                addpsf=dict(img=str(data / "tutorial_psf.fits"), idx=0, normalize=True))
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
    args = parser.parse_args(argv)
    img, model = build()
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
