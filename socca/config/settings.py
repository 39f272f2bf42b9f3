"""The ``[fit]`` and ``[output]`` sections: how to run the fit and where to write it."""

from __future__ import annotations

import inspect

from socca.config.errors import named, unknown

FIT_KEYS = ("method", "seed", "checkpoint", "resume", "getzprior", "progress", "options")
OUTPUT_KEYS = ("folder", "overwrite", "plots", "format")
PLOT_FORMATS = ("pdf", "png", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff")
# names of the backend functions that check option names without running
_OPTION_CHECKERS = ("_split_options", "_check_options", "_settings")
_RUN_ARGUMENTS = ("problem", "checkpoint", "resume", "seed", "progress", "options")


def fit_settings(reader):
    """The method, run settings and options of ``[fit]``.

    Parameters
    ----------
    reader : socca.config.reader.Reader
        The parsed configuration file.

    Returns
    -------
    method : str
        The inference method, lower case.
    run : dict
        ``seed``, ``checkpoint``, ``resume``, ``getzprior``, ``progress`` as given.
    options : dict
        ``[fit.options]``, their names checked by the method's backend.

    Raises
    ------
    ConfigError
        For any error in ``[fit]``.
    """
    from socca.inference.backends import get_backend

    spec = reader.table(("fit",), reader.data.get("fit", {}), FIT_KEYS, "[fit]")
    method = _method(reader, spec)
    backend = get_backend(method)
    run = _run_settings(reader, spec, method, backend)
    options = reader.typed(("fit", "options"), spec.get("options", {}), (dict,), "a table")
    misplaced = [k for k in options if k in FIT_KEYS]
    if misplaced:
        key = misplaced[0]
        raise reader.error(("fit", "options", key), f"fit.options.{key}: {key} is a key of "
                           "[fit], not of [fit.options]; move it there")
    _check_options(reader, backend, method, options)
    return method, run, dict(options)


def _method(reader, spec):
    from socca.inference.backends import METHODS

    method = reader.typed(("fit", "method"), spec.get("method", "nautilus"), (str,),
                          "a method name")
    if method.lower() not in METHODS:
        raise reader.error(("fit", "method"),
                           f"fit.method: {unknown('method', method, METHODS, method.lower())}")
    return method.lower()


def _run_settings(reader, spec, method, backend):
    """The arguments of ``fit.run`` that ``[fit]`` gives, checked against the method."""
    run = {}
    if "seed" in spec:
        run["seed"] = reader.index(("fit", "seed"), spec["seed"], "a seed (integer >= 0)")
    for key in ("resume", "getzprior", "progress"):
        if key in spec:
            run[key] = reader.flag(("fit", key), spec[key])
    if "checkpoint" in spec:
        run["checkpoint"] = reader.typed(("fit", "checkpoint"), spec["checkpoint"], (str,),
                                         "a checkpoint name (string)")
        if backend.CHECKPOINT is None:
            raise reader.error(("fit", "checkpoint"), f"fit.checkpoint: method {method!r} "
                               "keeps no checkpoint; remove the key")
    if run.get("getzprior") and not backend.EVIDENCE:
        raise reader.error(("fit", "getzprior"), f"fit.getzprior: method {method!r} computes "
                           "no evidence; use nautilus, dynesty or pocomc")
    return run


def _check_options(reader, backend, method, options):
    """Check the option names with the backend's own checker, before any sampling."""
    explicit = set(inspect.signature(backend.run).parameters) - set(_RUN_ARGUMENTS)
    rest = {k: v for k, v in options.items() if k not in explicit}
    checker = next((getattr(backend, n) for n in _OPTION_CHECKERS if hasattr(backend, n)), None)
    if checker is None:
        return
    try:
        checker(rest)
    except (TypeError, ValueError) as err:
        key = named(str(err), options)
        path = ("fit", "options") if key is None else ("fit", "options", key)
        raise reader.error(path, f"fit.options ({method}): {err}") from None


def output_settings(reader):
    """The folder, overwrite flag, plots flag and plot format of ``[output]``.

    Parameters
    ----------
    reader : socca.config.reader.Reader
        The parsed configuration file.

    Returns
    -------
    folder : pathlib.Path
        The output folder, absolute (default ``<config name>_output``).
    overwrite, plots : bool
        Whether earlier outputs may be replaced; whether to draw plots.
    format : str
        The plot format, lower case.

    Raises
    ------
    ConfigError
        For any error in ``[output]``.
    """
    spec = reader.table(("output",), reader.data.get("output", {}), OUTPUT_KEYS, "[output]")
    folder = reader.typed(("output", "folder"), spec.get("folder", f"{reader.path.stem}_output"),
                          (str,), "a folder path (string)")
    folder = reader.resolve(folder)
    if folder.exists() and not folder.is_dir():
        raise reader.error(("output", "folder"), f"output.folder: {folder} is not a folder")
    overwrite = reader.flag(("output", "overwrite"), spec.get("overwrite", False))
    plots = reader.flag(("output", "plots"), spec.get("plots", True))
    fmt = reader.typed(("output", "format"), spec.get("format", "pdf"), (str,), "a file format")
    if fmt.lower() not in PLOT_FORMATS:
        message = unknown("plot format", fmt, PLOT_FORMATS, hint=False)
        raise reader.error(("output", "format"), f"output.format: {message}")
    return folder, overwrite, plots, fmt.lower()
