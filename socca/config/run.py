"""Running a loaded configuration and writing its outputs to the output folder."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import time

import numpy as np

CSV_COLUMNS = ("label", "component", "name", "parameter", "unit", "value", "err_minus",
               "err_plus")


def refuse_existing(cfg, overwrite=False):
    """Refuse to run over the outputs of an earlier run unless told to replace them.

    Parameters
    ----------
    cfg : socca.config.FitConfig
        From :func:`socca.config.load`.
    overwrite : bool
        Replace the outputs anyway (as ``[output] overwrite = true`` does).

    Raises
    ------
    ConfigError
        Located at ``output.folder``, naming the files found.
    """
    blocking = _blocking(cfg, overwrite)
    if blocking:
        raise cfg.error(
            ("output", "folder"),
            f"output.folder: {cfg.folder} already holds {blocking} "
            "from an earlier run; set [output] overwrite = true or pass --overwrite",
        )


def note_existing(cfg, overwrite=False):
    """Print a note if a run would be refused for the outputs of an earlier one.

    Parameters
    ----------
    cfg : socca.config.FitConfig
        From :func:`socca.config.load`.
    overwrite : bool
        Replace the outputs anyway (as ``[output] overwrite = true`` does).
    """
    blocking = _blocking(cfg, overwrite)
    if blocking:
        print(
            f"note: {cfg.folder} already holds {blocking}; "
            "the run needs [output] overwrite = true or --overwrite"
        )


def _blocking(cfg, overwrite):
    """The names of the earlier outputs a run may not replace, comma-separated, or ``""``."""
    if overwrite or cfg.overwrite:
        return ""
    return ", ".join(p.name for p in cfg.outputs().values() if p.exists())


def run_config(cfg):
    """Run the fit of a loaded configuration and write every output file.

    Parameters
    ----------
    cfg : socca.config.FitConfig
        From :func:`socca.config.load`.

    Returns
    -------
    socca.fitter
        The fitter, after the run.
    """
    fit = cfg.fitter
    cfg.folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fit.run(method=cfg.method, **cfg.run, **cfg.options)
    print(f"\n{cfg.method} finished in {time.perf_counter() - start:.1f} s")
    if fit.logz is not None:
        print(f"log-evidence: {fit.logz:.4f}")
    out = cfg.outputs()
    _print_and_save(out["parameters"], fit.parameters)
    _write_text(out["table"], parameter_csv(fit, cfg.names))
    fit.savemodel(str(out["model"]), what="all", overwrite=True)
    _write_residual(out["residual"], fit)
    if "bmc" in out:
        _print_and_save(out["bmc"], fit.bmc)
    if cfg.plots:
        _plots(fit, out, cfg.format)
    fit.dump(str(out["fit"]), overwrite=True)  # last: the other files survive a failure here
    print("\nFiles written:")
    for path in out.values():
        if path.exists():
            print(f"  {path}")
    return fit


def _print_and_save(path, report):
    """Print what ``report()`` prints, and write it to ``path``."""
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        report()
    print(text.getvalue(), end="")
    _write_text(path, text.getvalue())


def _plots(fit, out, fmt):
    """The comparison and corner figures; the corner needs samples (not the optimizer)."""
    fit.plot.comparison(name=str(out["comparison"].with_suffix("")), fmt=fmt)
    try:
        fit.plot.corner(name=str(out["corner"].with_suffix("")), fmt=fmt)
    except ValueError as err:
        out["corner"].unlink(missing_ok=True)  # a stale corner would not match this fit
        print(f"note: no corner plot ({err})")


def _atomic(path, write):
    """Call ``write(tmp)`` on a temporary name next to ``path``, then move it there."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_residual(path, fit):
    """Write :func:`residual_hdus` to ``path`` atomically."""
    hdus = residual_hdus(fit)
    _atomic(path, lambda tmp: hdus.writeto(tmp, overwrite=True, output_verify="silentfix"))


def parameter_csv(fit, names):
    """The parameter table as CSV: value and 16th/84th-percentile errors per parameter.

    Parameters
    ----------
    fit : socca.fitter
        A fitter after its run.
    names : list of str or None
        The ``name`` of each component of the model, in order.

    Returns
    -------
    str
        One row per free parameter, with the columns of ``CSV_COLUMNS``; the
        errors are empty for the optimizer.
    """
    from socca.inference.summary import best_fit

    point = fit.method == "optimizer"
    if point:
        mid = fit.samples[0]
        low = high = np.full_like(mid, np.nan)
    else:
        low, mid, high = best_fit(fit.samples, fit.weights)
    comps = {c.id: n for c, n in zip(fit.mod.components, names, strict=True)}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, (label, unit) in enumerate(zip(fit.labels, fit.units, strict=True)):
        cid = next(k for k in comps if label.startswith(k + "_"))
        errors = ["", ""] if point else [repr(float(mid[i] - low[i])),
                                         repr(float(high[i] - mid[i]))]
        writer.writerow([label, cid, comps[cid] or "", label[len(cid) + 1:], unit,
                         repr(float(mid[i])), *errors])
    return buf.getvalue()


def residual_hdus(fit):
    """Data minus model (sources convolved, plus background) with the image WCS.

    Pixels whose data are not finite are NaN; a ``MASK`` extension gives the
    pixels used in the fit (1) and those ignored (0).

    Parameters
    ----------
    fit : socca.fitter
        A fitter after its run.

    Returns
    -------
    astropy.io.fits.HDUList
        The residual map and the ``MASK`` extension.
    """
    from astropy.io import fits

    img = fit.img
    smoothed, background = fit.getmodel(what=["smoothed", "background"])
    finite = np.isfinite(np.asarray(img.hdu.data, dtype=float))
    residual = np.where(finite, img.data - (smoothed + background), np.nan)
    header = img.wcs.to_header()
    header["MODEL"] = ("residual", "data - (smoothed + background)")
    if "BUNIT" in img.hdu.header:
        header["BUNIT"] = img.hdu.header["BUNIT"]
    return fits.HDUList([
        fits.PrimaryHDU(data=residual, header=header),
        fits.ImageHDU(data=img.mask.astype(np.uint8), header=img.wcs.to_header(), name="MASK"),
    ])
