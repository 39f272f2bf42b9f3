"""Data | model | residual figure on WCS axes."""

from __future__ import annotations

import numbers

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from astropy.visualization import AsinhStretch, ImageNormalize
from matplotlib.colors import Colormap, Normalize

from socca.plotting._output import check_format, finish
from socca.plotting.plotter import COMPARISON_HEIGHT, COMPARISON_WIDTH

PANELS = ("data", "model", "residuals")
TITLES = {"data": "Data", "model": "Model", "residuals": "Residuals"}
DEFAULT_CMAPS = {"data": "magma", "model": "magma", "residuals": "RdBu_r"}
CMAP_KEYS = {"data": "data", "model": "model", "residuals": "residuals", "residual": "residuals"}
MASKED_COLOUR = "0.75"  # grey: masked pixels stand out on every default colour map

# Data/model scale: asinh between low and high percentiles of the unmasked data.
# The low end sits in the noise (about -2.3 sigma for pure noise) so the sky is
# dark without being clipped; the high end saturates only the brightest (nuclear)
# pixels; a softening of 0.1 of the range keeps faint outskirts visible next to a
# bright core while the noise stays in the dark end of the colour map.
DATA_PERCENTILES = (1.0, 99.9)
ASINH_SOFTENING = 0.1
RESIDUAL_PERCENTILE = 99.5  # |residual| level mapped to the ends of the symmetric scale

MODEL_OPTIONS = ("doresp", "doexp", "progress", "usebest")
# GridSpec spacing that the constrained layout would otherwise override
SPACING_KEYS = {"left", "right", "top", "bottom", "wspace", "hspace"}
LONGITUDE_NAMES = {"RA": "RA", "GLON": "Galactic longitude", "ELON": "Ecliptic longitude"}
LATITUDE_NAMES = {"DEC": "Dec", "GLAT": "Galactic latitude", "ELAT": "Ecliptic latitude"}


def plot_comparison(
    fit,
    *,
    name,
    component,
    fmt,
    fx,
    fy,
    dpi,
    cmaps,
    cmap_data,
    cmap_model,
    cmap_residual,
    gs_kwargs,
    model_kwargs,
    usebest,
):
    """Draw the comparison figure; see :meth:`socca.plotting.Plotter.comparison`."""
    fmt = check_format(fmt) if name is not None else fmt
    colour_maps = resolve_cmaps(cmaps, cmap_data, cmap_model, cmap_residual)
    options = {"usebest": usebest, **model_options(model_kwargs)}
    size = figure_size(fx, fy)
    gs_kwargs = dict(gs_kwargs or {})
    fit._require_result("plot.comparison")

    smoothed, background = fit.getmodel(
        what=["smoothed", "background"], component=component, **options
    )
    images = panel_arrays(fit.img, smoothed + background)
    norms = panel_norms(images)

    # explicit spacing only takes effect without a layout engine
    layout = None if SPACING_KEYS & set(gs_kwargs) else "constrained"
    fig = plt.figure(figsize=size, dpi=dpi, layout=layout)
    grid = fig.add_gridspec(1, len(PANELS), **gs_kwargs)
    for i, panel in enumerate(PANELS):
        ax = fig.add_subplot(grid[0, i], projection=fit.img.wcs)
        shown = ax.imshow(
            images[panel],
            origin="lower",
            cmap=colour_maps[panel],
            norm=norms[panel],
            interpolation="nearest",
        )
        ax.set_title(TITLES[panel])
        _label_axes(ax, fit.img.wcs, first=i == 0)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.02)
    return finish(fig, name, fmt, dpi=dpi)


def figure_size(fx, fy) -> tuple[float, float]:
    """The figure size in inches: the default size scaled by ``fx`` and ``fy``."""
    for key, value in (("fx", fx), ("fy", fy)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValueError(
                f"{key}={value!r}: expected a positive scale factor of the default figure "
                f"size ({COMPARISON_WIDTH:g} x {COMPARISON_HEIGHT:g} inches)"
            )
    return float(fx) * COMPARISON_WIDTH, float(fy) * COMPARISON_HEIGHT


def resolve_cmaps(cmaps, cmap_data, cmap_model, cmap_residual) -> dict[str, Colormap]:
    """The colour map of each panel, from ``cmaps`` and the per-panel overrides."""
    chosen = dict(DEFAULT_CMAPS)
    if cmaps is None:
        pass
    elif isinstance(cmaps, str | Colormap):
        chosen = dict.fromkeys(PANELS, cmaps)
    elif isinstance(cmaps, dict):
        unknown = [k for k in cmaps if k not in CMAP_KEYS]
        if unknown:
            raise ValueError(
                f"cmaps: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"use 'data', 'model' and 'residuals'"
            )
        chosen.update({CMAP_KEYS[k]: v for k, v in cmaps.items()})
    elif isinstance(cmaps, list | tuple) and len(cmaps) == len(PANELS):
        chosen = dict(zip(PANELS, cmaps, strict=True))
    else:
        raise ValueError(
            f"cmaps={cmaps!r}: expected a colour map name, a list or tuple of three "
            "(data, model, residuals), or a dict with keys 'data', 'model', 'residuals'"
        )
    overrides = {"data": cmap_data, "model": cmap_model, "residuals": cmap_residual}
    chosen.update({k: v for k, v in overrides.items() if v is not None})
    return {panel: _colormap(chosen[panel], panel) for panel in PANELS}


def _colormap(value, panel) -> Colormap:
    if isinstance(value, Colormap):
        cmap = value
    elif isinstance(value, str):
        try:
            cmap = matplotlib.colormaps[value]
        except KeyError:
            raise ValueError(
                f"colour map {value!r} for the {panel} panel is not a matplotlib colour map "
                "(e.g. 'viridis', 'magma', 'gray', 'RdBu_r')"
            ) from None
    else:
        raise ValueError(
            f"colour map {value!r} for the {panel} panel: expected a name or a Colormap"
        )
    return cmap.with_extremes(bad=MASKED_COLOUR)


def model_options(model_kwargs) -> dict:
    """``fit.getmodel`` options: response and exposure on, as in the likelihood."""
    options = {"doresp": True, "doexp": True}
    if model_kwargs is None:
        return options
    unknown = [k for k in model_kwargs if k not in MODEL_OPTIONS]
    if unknown:
        raise ValueError(
            f"model_kwargs: unsupported key(s) {', '.join(map(repr, unknown))}; allowed: "
            f"{', '.join(MODEL_OPTIONS)} (component is an argument of its own)"
        )
    options.update(model_kwargs)
    return options


def panel_arrays(img, model) -> dict[str, np.ma.MaskedArray]:
    """Data, model and data - model as masked arrays (mask: pixels not used in the fit)."""
    hidden = ~np.asarray(img.mask, dtype=bool)
    data = np.ma.masked_array(np.asarray(img.data, dtype=float), mask=hidden)
    model = np.ma.masked_array(np.asarray(model, dtype=float), mask=hidden.copy())
    return {"data": data, "model": model, "residuals": data - model}


def panel_norms(images) -> dict[str, Normalize]:
    """One asinh scale for data and model, a symmetric linear one for the residuals."""
    values = images["data"].compressed()
    values = values[np.isfinite(values)]
    if values.size:
        low, high = np.percentile(values, DATA_PERCENTILES)
    else:
        low, high = 0.0, 1.0
    if not high > low:  # a flat image: any non-empty interval around its level
        low, high = low - 0.5, low + 0.5
    shared = ImageNormalize(vmin=low, vmax=high, stretch=AsinhStretch(ASINH_SOFTENING))

    resid = np.abs(images["residuals"].compressed())
    resid = resid[np.isfinite(resid)]
    level = np.percentile(resid, RESIDUAL_PERCENTILE) if resid.size else 0.0
    level = level if level > 0 else 1.0
    return {
        "data": shared,
        "model": shared,
        "residuals": Normalize(vmin=-level, vmax=level),
    }


def _label_axes(ax, wcs, first):
    """Celestial axis labels; the latitude axis is labelled on the first panel only."""
    lon, lat = ax.coords[0], ax.coords[1]
    lon.set_axislabel(LONGITUDE_NAMES.get(wcs.wcs.lngtyp, wcs.wcs.lngtyp or "longitude"))
    lon.set_ticks(number=4)
    lon.set_ticklabel(exclude_overlapping=True)  # long sexagesimal labels on narrow panels
    lat.set_ticks(number=5)
    if first:
        lat.set_axislabel(LATITUDE_NAMES.get(wcs.wcs.lattyp, wcs.wcs.lattyp or "latitude"))
    else:
        lat.set_axislabel("")
        lat.set_ticklabel_visible(False)
