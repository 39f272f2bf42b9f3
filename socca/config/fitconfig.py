"""The fit a configuration file describes: :class:`FitConfig`, built by :func:`load`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from socca.config.components import build_model
from socca.config.data import build_image
from socca.config.errors import ConfigError
from socca.config.reader import Reader
from socca.config.settings import fit_settings, output_settings

SECTIONS = ("image", "psf", "noise", "component", "fit", "output")
# output products: key -> file name pattern (``{fmt}`` is the plot format)
OUTPUT_FILES = {
    "parameters": "parameters.txt",
    "table": "parameters.csv",
    "model": "model.fits",
    "residual": "residual.fits",
    "fit": "fit.pickle",
    "comparison": "comparison.{fmt}",
    "corner": "corner.{fmt}",
    "bmc": "bmc.txt",
}


@dataclass
class FitConfig:
    """Everything a configuration file describes, built and validated.

    Attributes
    ----------
    path : pathlib.Path
        The configuration file.
    image : socca.data.Image
        The image, with PSF, mask, cutout and bound noise model.
    model : socca.models.Model
        The model, components in file order.
    fitter : socca.fitter
        The fitter of ``model`` on ``image`` (built, not run).
    names : list of str or None
        The ``name`` of each component, in order.
    method : str
        The inference method.
    run : dict
        ``seed``, ``checkpoint``, ``resume``, ``getzprior``, ``progress`` as given
        (the checkpoint made absolute, inside the output folder).
    options : dict
        ``[fit.options]``, forwarded to ``fit.run``.
    folder : pathlib.Path
        The output folder.
    overwrite : bool
        Whether files of an earlier run may be replaced.
    plots : bool
        Whether to draw the comparison and corner plots.
    format : str
        Their file format.
    image_path, psf_path : pathlib.Path or None
        The files read.
    reader : object
        The parsed file and its key lines, for :meth:`error`.
    """

    path: Path
    image: object
    model: object
    fitter: object
    names: list
    method: str
    run: dict
    options: dict
    folder: Path
    overwrite: bool
    plots: bool
    format: str
    image_path: Path
    psf_path: Path | None = None
    reader: object = None

    def error(self, path, message) -> ConfigError:
        """A :class:`ConfigError` located at key ``path``, e.g. ``("output", "folder")``."""
        return self.reader.error(path, message)

    def outputs(self) -> dict:
        """The files a run writes: ``{key: path}`` (see ``OUTPUT_FILES``)."""
        out = {k: self.folder / v.format(fmt=self.format) for k, v in OUTPUT_FILES.items()}
        if not self.plots:
            del out["comparison"], out["corner"]
        if not self.run.get("getzprior"):
            del out["bmc"]
        return out

    def summary(self) -> str:
        """A few lines describing the fit, printed by ``socca fit``."""
        img = self.image
        level = getattr(img.noise, "noise_level", None)
        lines = [
            f"image      : {self.image_path} ({img.shape[0]} x {img.shape[1]} pixels, "
            f"{int(img.mask.sum())} used)",
            f"psf        : {'none' if self.psf_path is None else self.psf_path}",
            f"noise      : {img.noise!r}" + (f" (sigma {level:.2E})" if level else ""),
            f"components : {self._components()}",
            f"free ({len(self.fitter.labels)})   : {', '.join(self.fitter.labels)}",
            f"method     : {self.method}" + self._settings(),
            f"output     : {self.folder}",
        ]
        return "\n".join("  " + line for line in lines)

    def _components(self) -> str:
        """``comp_00 'point' (Point), comp_01 'disk' (Disk: radial=Exponential, ...)``."""
        from socca.models.component import kind_label

        return ", ".join(
            f"{c.id}" + (f" {n!r}" if n else "") + f" ({kind_label(c, truncation=True)})"
            for c, n in zip(self.model.components, self.names, strict=True)
        )

    def _settings(self) -> str:
        """`` (seed=1, nlive=500)``: the run settings and options, if any."""
        settings = [f"{k}={v!r}" for k, v in (*self.run.items(), *self.options.items())]
        return f" ({', '.join(settings)})" if settings else ""


def load(path) -> FitConfig:
    """Read, validate and build the fit described by a configuration file.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file.

    Returns
    -------
    FitConfig
        The image, model, fitter (not run) and run settings.

    Raises
    ------
    ConfigError
        For any error in the file, with its line and key.
    """
    import socca

    reader = Reader(path)
    reader.table((), reader.data, SECTIONS, "the file (top level)")
    method, run, options = fit_settings(reader)
    folder, overwrite, plots, fmt = output_settings(reader)
    if "checkpoint" in run:
        run["checkpoint"] = str(folder / run["checkpoint"])
    img, image_path, psf_path = build_image(reader)
    model, names = build_model(reader)
    try:
        fit = socca.fitter(mod=model, img=img)
    except (TypeError, ValueError) as err:
        raise reader.error((), f"invalid model: {err}") from None
    return FitConfig(
        path=reader.path, image=img, model=model, fitter=fit, names=names, method=method,
        run=run, options=options, folder=folder, overwrite=overwrite, plots=plots, format=fmt,
        image_path=image_path, psf_path=psf_path, reader=reader,
    )
