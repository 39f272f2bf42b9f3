"""``fit.plot``: the plotting methods bound to one fitter.

The defaults live here, in the public signatures; the drawing modules (which
import matplotlib) are loaded only when a method is called.
"""

from __future__ import annotations

# default figure size of the comparison plot, inches: three square panels with
# colour bars; fx and fy scale it
COMPARISON_WIDTH = 15.0
COMPARISON_HEIGHT = 4.6
COMPARISON_DPI = 150


class Plotter:
    """Figures of one fit, reached as ``fit.plot``.

    Each method returns the matplotlib ``Figure``. Without ``name`` it is
    shown with ``plt.show()`` (a no-op on non-interactive backends such as
    Agg); with ``name`` it is written to ``name.fmt`` and released from pyplot
    (see :func:`socca.plotting._output.finish`).

    Parameters
    ----------
    fit : socca.fitter
        The fit to draw; it must have been run.
    """

    def __init__(self, fit):
        self.fit = fit

    def __repr__(self):
        return f"<socca Plotter for a {self.fit.method or 'not yet run'} fit>"

    def comparison(
        self,
        name=None,
        component=None,
        fmt="pdf",
        fx=1.0,
        fy=1.0,
        dpi=COMPARISON_DPI,
        cmaps=None,
        cmap_data=None,
        cmap_model=None,
        cmap_residual=None,
        gs_kwargs=None,
        model_kwargs=None,
        usebest=True,
    ):
        """Data, model and residual panels side by side on WCS axes.

        The model is the one the likelihood compares with the data: the
        PSF-convolved sources plus the background, with the response and
        exposure applied (``fit.getmodel(what=['smoothed', 'background'],
        doresp=True, doexp=True)``). The residual is data minus model. Masked
        pixels are shown masked (grey) in all three panels. Data and model
        share one colour scale (asinh stretch between the 1st and 99.9th
        percentiles of the unmasked data); the residual scale is symmetric
        about zero and reaches the 99.5th percentile of the absolute
        residuals. Each panel has its own colour bar.

        Parameters
        ----------
        name : str or os.PathLike, optional
            Output base name: the figure is written to ``name.fmt`` (``name``
            may already end with ``.fmt``). Without it the figure is shown.
        component : None, int, str, Component or list of them
            Model components to include, as in ``fit.getmodel`` (default all).
        fmt : str
            File format when saving (any matplotlib format: pdf, png, svg...).
        fx, fy : float
            Scale factors of the default figure width and height
            (15 x 4.6 inches): ``fx=2`` draws a figure twice as wide.
        dpi : float
            Figure resolution (also used for raster output).
        cmaps : str, Colormap, list/tuple of three, or dict, optional
            Colour maps: one for all panels, one per panel in the order data,
            model, residuals, or a dict with keys ``'data'``, ``'model'``,
            ``'residuals'`` (missing keys keep the defaults: ``'magma'``,
            ``'magma'``, ``'RdBu_r'``).
        cmap_data, cmap_model, cmap_residual : str or Colormap, optional
            Per-panel colour maps; they override ``cmaps``.
        gs_kwargs : dict, optional
            Keyword arguments of the 1x3 ``GridSpec`` (e.g. ``wspace``,
            ``width_ratios``). Spacing keywords (``left``, ``right``, ``top``,
            ``bottom``, ``wspace``, ``hspace``) turn off the automatic
            (constrained) layout so that they take effect.
        model_kwargs : dict, optional
            Passed to ``fit.getmodel``: ``doresp``, ``doexp`` (both default
            True, as in the likelihood), ``progress``, and ``usebest`` (which
            then replaces the argument of that name).
        usebest : bool
            As in ``fit.getmodel``: the model at the posterior median (True)
            or the pixel-wise median of posterior model realisations (False).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from socca.plotting.comparison import plot_comparison

        return plot_comparison(
            self.fit,
            name=name,
            component=component,
            fmt=fmt,
            fx=fx,
            fy=fy,
            dpi=dpi,
            cmaps=cmaps,
            cmap_data=cmap_data,
            cmap_model=cmap_model,
            cmap_residual=cmap_residual,
            gs_kwargs=gs_kwargs,
            model_kwargs=model_kwargs,
            usebest=usebest,
        )

    def corner(
        self,
        name=None,
        fmt="pdf",
        component=None,
        sigma=10,
        edges=None,
        quantiles=(0.16, 0.5, 0.84),
        bins=40,
        truths=None,
        **kwargs,
    ):
        """Corner plot of the weighted posterior samples (``corner.corner``).

        Axes are labelled ``<label> [unit]``. Each parameter's range is its
        weighted median plus or minus ``sigma`` weighted standard deviations,
        clipped to the range of the samples; ``sigma=None`` shows the full
        range of the samples.

        Parameters
        ----------
        name : str or os.PathLike, optional
            Output base name: the figure is written to ``name.fmt``. Without it
            the figure is shown.
        fmt : str
            File format when saving.
        component : None, int, str, Component or list of them
            Show only the free parameters of these components (default all).
        sigma : float or None
            Half-width of the default ranges, in weighted standard deviations;
            None: from the smallest to the largest sample (of non-zero weight).
        edges : list or dict, optional
            Ranges overriding the defaults: a ``(lo, hi)`` pair (or None to keep
            the default) per shown parameter, or a dict ``label -> (lo, hi)``.
        quantiles : sequence of float
            Quantiles marked by dashed lines on the 1-D histograms.
        bins : int
            Number of histogram bins per parameter.
        truths : list or dict, optional
            Reference values: one per shown parameter (None to skip one), or a
            dict ``label -> value``.
        **kwargs
            Passed to ``corner.corner`` (e.g. ``smooth``, ``show_titles``,
            ``color``, ``labels`` to replace the default labels).

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        RuntimeError
            If the fit has not been run.
        ValueError
            For an optimizer fit, which has a single point and no posterior.
        """
        from socca.plotting.cornerplot import plot_corner

        return plot_corner(
            self.fit,
            name=name,
            fmt=fmt,
            component=component,
            sigma=sigma,
            edges=edges,
            quantiles=quantiles,
            bins=bins,
            truths=truths,
            **kwargs,
        )
