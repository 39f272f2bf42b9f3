"""Helpers shared by the nested-sampling backends: options and HDF5 checkpoints."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import h5py
import numpy as np


def resolve_aliases(options, aliases):
    """Rename aliased options to the library's names; both given is a ValueError."""
    options = dict(options)
    for alias, name in aliases.items():
        if alias in options:
            if name in options:
                raise ValueError(f"give {alias!r} or {name!r}, not both")
            options[name] = options.pop(alias)
    return options


def parameter_names(func):
    """The argument names of ``func`` (without ``self``)."""
    return set(inspect.signature(func).parameters) - {"self"}


def split_options(library, options, aliases, reserved, init_fn, run_fn, where):
    """Split ``options`` between a sampler's constructor and its run method.

    Parameters
    ----------
    library : str
        Name used in error messages.
    options : dict
        The user's keywords.
    aliases : dict
        ``alias -> library name``.
    reserved : dict
        Options socca sets itself, ``name -> what to use instead``.
    init_fn, run_fn : callable
        The constructor and the run method whose signatures decide.
    where : str
        Human description of the two, for the unknown-option message.

    Raises
    ------
    TypeError
        For an option neither takes, or one socca sets itself.
    ValueError
        For an option given under two aliases.
    """
    options = resolve_aliases(options, aliases)
    taken = sorted(set(options) & set(reserved))
    if taken:
        uses = ", ".join(f"{k!r} (use {reserved[k]})" for k in taken)
        raise TypeError(f"{library}: socca sets these options itself: {uses}")
    init_names, run_names = parameter_names(init_fn), parameter_names(run_fn)
    unknown = sorted(set(options) - init_names - run_names)
    if unknown:
        raise TypeError(
            f"{library}: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"options must be arguments of {where}"
        )
    init_kw = {k: v for k, v in options.items() if k in init_names}
    run_kw = {k: v for k, v in options.items() if k not in init_names}
    return init_kw, run_kw


def checkpoint_path(checkpoint, suffix=".hdf5"):
    """``checkpoint + suffix`` as a Path (unchanged if it already ends so), or None."""
    if checkpoint is None:
        return None
    name = os.fspath(checkpoint)
    return Path(name if name.endswith(suffix) else name + suffix)


def temporary_path(path):
    """Where a new version of ``path`` is written before it replaces it."""
    path = Path(path)
    return path.with_name(path.stem + ".tmp" + path.suffix)


def publish(tmp, path):
    """Flush ``tmp`` to disk and atomically rename it to ``path``."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    directory = os.open(Path(path).resolve().parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def problem_attrs(problem):
    """The HDF5 attributes a checkpoint records about its problem."""
    return {"socca_ndim": int(problem.ndim), "socca_labels": [str(x) for x in problem.labels]}


def prepare_checkpoint(path, problem, resume, dataset=None, kind="socca"):
    """Drop a stale temporary file; delete ``path`` unless resuming, else check it."""
    temporary_path(path).unlink(missing_ok=True)
    if not resume:
        path.unlink(missing_ok=True)
    elif path.exists():
        check_checkpoint(path, problem, dataset, kind)


def check_checkpoint(path, problem, dataset=None, kind="socca"):
    """Raise ValueError unless the checkpoint at ``path`` was written for ``problem``.

    ``dataset``, if given, must exist in the file (the backend's saved state);
    ``kind`` names the checkpoint type in the message.
    """
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: f.attrs[k] for k in ("socca_ndim", "socca_labels") if k in f.attrs}
            has_state = dataset is None or dataset in f
    except OSError as err:
        raise ValueError(
            f"cannot read checkpoint {path} ({err}); pass resume=False to start afresh"
        ) from err
    if len(attrs) < 2 or not has_state:
        raise ValueError(f"{path} is not a {kind} checkpoint; pass resume=False to overwrite it")
    labels = tuple(str(x) for x in np.atleast_1d(attrs["socca_labels"]))
    if int(attrs["socca_ndim"]) != problem.ndim or labels != tuple(problem.labels):
        raise ValueError(
            f"checkpoint {path} belongs to another problem: parameters {labels}, "
            f"not {tuple(problem.labels)}; use another checkpoint name or resume=False"
        )
