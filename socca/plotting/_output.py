"""Showing or saving a finished figure."""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
from matplotlib.backend_bases import FigureCanvasBase


def check_format(fmt) -> str:
    """The file format ``fmt`` in lower case, if matplotlib can write it.

    Checked before any drawing so a typo fails fast.
    """
    supported = FigureCanvasBase.get_supported_filetypes()
    if not isinstance(fmt, str) or fmt.lower().lstrip(".") not in supported:
        raise ValueError(
            f"fmt={fmt!r} is not a format matplotlib can write; choose among "
            f"{', '.join(sorted(supported))}"
        )
    return fmt.lower().lstrip(".")


def output_path(name, fmt: str) -> str:
    """``name.fmt``, unless ``name`` already ends with ``.fmt``."""
    name = os.fspath(name)
    suffix = f".{fmt}"
    return name if name.lower().endswith(suffix) else name + suffix


def finish(fig, name, fmt, dpi=None):
    """Show ``fig`` (no ``name``) or write it to ``name.fmt``; return it.

    A saved figure is released from pyplot's figure manager, so figures made
    in a loop do not pile up; the returned object can still be drawn and
    saved again.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The finished figure.
    name : str, os.PathLike or None
        Output base name; None shows the figure with ``plt.show()``.
    fmt : str
        File format, already checked by :func:`check_format`.
    dpi : float, optional
        Resolution of raster output (default: the figure's).
    """
    if name is None:
        plt.show()
        return fig
    path = output_path(name, fmt)
    # a tight bounding box: no tick label or axis title is ever cut at the border
    fig.savefig(path, format=fmt, dpi=dpi if dpi is not None else "figure", bbox_inches="tight")
    plt.close(fig)
    print(f"Saved to {path}")
    return fig
