"""Figures of a fit: data/model/residual comparison and posterior corner plots.

The entry point is ``fit.plot``, a :class:`Plotter` bound to a fitter::

    >>> fit.plot.comparison(name="comparison", fmt="png")
    >>> fit.plot.corner(component=0)

Importing this package does not import matplotlib; the drawing modules are
loaded on first use.
"""

from socca.plotting.plotter import Plotter

__all__ = ["Plotter"]
