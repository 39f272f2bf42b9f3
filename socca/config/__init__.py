"""Fit configuration files, read by ``socca fit CONFIG.toml``.

One TOML file describes a whole fit. Relative paths are taken from the folder
of the configuration file. Every error in the file is a :class:`ConfigError`
whose message is one line naming the file, the line and the key, e.g.
``fit.toml:14: unknown key 'rre' in [[component]] #2 'galaxy' (Sersic); ...``.

Format
------
``[image]``
    ``path`` (required) FITS image; ``hdu`` (0) HDU index; ``subgrid`` (1);
    ``mask`` a DS9 region file, FITS mask map (1 = used) or DS9 region
    string, or a list of them (regions mark pixels to IGNORE);
    ``exposure``, ``response`` FITS maps or numbers;
    ``cutout = {center = [x, y], size = 64}`` with ``center`` in 0-based
    pixels or ``{ra = ..., dec = ...}`` and ``size`` in pixels, ``[ny, nx]``
    or an angle such as ``"30 arcsec"``.
``[psf]`` (optional)
    ``path`` (required), ``hdu`` (0), ``normalize`` (true).
``[noise]`` (optional, default ``Normal`` with the MAD noise level)
    ``model`` a class of :mod:`socca.noise` (``"Normal"``); the other keys are
    its keywords, e.g. ``sigma = 0.05`` or ``weight = "weights.fits"``.
``[[component]]`` (one table per component, in order)
    ``type`` (required) a class of :mod:`socca.models` such as ``"Sersic"``;
    ``name`` (optional) used by ties; ``positive`` (false) rejects negative
    pixels; then one entry per parameter (unset ones keep their defaults):

    - a number: the parameter is fixed;
    - a string with an astropy unit, e.g. ``"1.5 arcsec"``: fixed, converted to
      the parameter's unit (degrees for positions and radii, radians for
      angles);
    - ``{prior = "uniform", low = ..., high = ...}``: free, with a prior of
      :mod:`socca.priors` (``uniform``, ``loguniform``, ``normal``,
      ``splitnormal``, ``powerlaw``, ``logpowerlaw``) whose arguments are the
      other keys; they also accept unit strings (not ``alpha``);
    - ``{boundto = "point", param = "xc"}``: tied to parameter ``param``
      (default: the same name) of the component named ``point``.

    Keys that shape a component come before its parameters: ``truncation``
    of a radial profile (``true``, ``"HyperTangent"``, ``"Exponential"``;
    adds ``rt`` and ``wt``), the type name of each sub-profile of a disk or
    bridge (``radial = "Exponential"``, ``vertical = "ExponentialHeight"``,
    ``parallel = "Power"``; parameters ``radial_<name>``, ...), and a disk's
    ``losdepth`` (an angle) and ``losbins``.
``[fit]``
    ``method`` (``"nautilus"``), ``seed``, ``checkpoint`` (a base name,
    relative to the output folder), ``resume`` (true), ``getzprior`` (false),
    ``progress`` (true); ``[fit.options]`` is forwarded to ``fit.run``
    (``nlive = 500``, ...) and its names are checked against the method.
``[output]``
    ``folder`` (``<config name>_output``), ``overwrite`` (false), ``plots``
    (true), ``format`` (``"pdf"``) of the plots.

Modules
-------
:mod:`~socca.config.errors` the error and its message phrases;
:mod:`~socca.config.lines` the line of each key;
:mod:`~socca.config.reader` the file read into checked values;
:mod:`~socca.config.data` ``[image]``, ``[psf]``, ``[noise]``;
:mod:`~socca.config.components` ``[[component]]``;
:mod:`~socca.config.settings` ``[fit]``, ``[output]``;
:mod:`~socca.config.fitconfig` :class:`FitConfig` and :func:`load`;
:mod:`~socca.config.run` running a loaded fit and writing its outputs.
"""

from socca.config.components import COMPONENT_KEYS, PRIORS, component_types
from socca.config.data import CUTOUT_KEYS, FITS_SUFFIXES, IMAGE_KEYS, PSF_KEYS
from socca.config.errors import ConfigError
from socca.config.fitconfig import OUTPUT_FILES, SECTIONS, FitConfig, load
from socca.config.lines import KeyLines
from socca.config.run import run_config
from socca.config.settings import FIT_KEYS, OUTPUT_KEYS, PLOT_FORMATS

__all__ = [
    "COMPONENT_KEYS",
    "CUTOUT_KEYS",
    "FITS_SUFFIXES",
    "FIT_KEYS",
    "IMAGE_KEYS",
    "OUTPUT_FILES",
    "OUTPUT_KEYS",
    "PLOT_FORMATS",
    "PRIORS",
    "PSF_KEYS",
    "SECTIONS",
    "ConfigError",
    "FitConfig",
    "KeyLines",
    "component_types",
    "load",
    "run_config",
]
