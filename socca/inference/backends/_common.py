"""Helpers shared by the sampler backends: options, checkpoint files and their identity."""

from __future__ import annotations

import inspect
import os
import warnings
from pathlib import Path

import h5py
import numpy as np

from socca.errors import CheckpointWarning
from socca.inference.fingerprint import describe

ATTR_PREFIX = "socca_"  # HDF5 attributes of the problem's identity: socca_ndim, socca_labels, ...
FINGERPRINT = ("data", "model")
HOW = "use another checkpoint name to keep it, or resume=False to start afresh (which deletes it)"


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


def identity(problem):
    """What a checkpoint records about its problem: ``ndim``, ``labels``, fingerprint.

    The fingerprint digests (``data`` and ``model``, see
    :mod:`socca.inference.fingerprint`) are left out for problems without one.
    """
    ident = {"ndim": int(problem.ndim), "labels": [str(x) for x in problem.labels]}
    prints = getattr(problem, "fingerprint", None)
    if prints:
        ident.update({k: str(prints[k]) for k in FINGERPRINT})
    return ident


def check_identity(path, saved, problem):
    """Raise ValueError unless ``saved`` (a checkpoint's identity) is ``problem``'s.

    Parameters
    ----------
    path : path-like
        The checkpoint, for the messages.
    saved : dict
        ``ndim``, ``labels`` and, when written by a fingerprinting socca,
        ``data`` and ``model`` digests.
    problem : socca.inference.Problem
        The problem about to resume.

    Raises
    ------
    ValueError
        When the parameters or the fingerprint differ.

    Warns
    -----
    CheckpointWarning
        When the checkpoint has no fingerprint (written before socca recorded
        one) while the problem has: it is resumed, since the labels agree, but
        cannot be checked against the image and model.
    """
    current = identity(problem)
    labels = [str(x) for x in np.atleast_1d(saved.get("labels", []))]
    if int(saved.get("ndim", -1)) != current["ndim"] or labels != current["labels"]:
        raise ValueError(
            f"checkpoint {path} belongs to another problem: parameters {tuple(labels)}, "
            f"not {tuple(current['labels'])}; {HOW}"
        )
    if "data" not in current:
        return
    if not all(k in saved for k in FINGERPRINT):
        warnings.warn(
            f"checkpoint {path} records no fingerprint of its image and model (it was "
            "written by an older socca): resuming it because its parameters match, but "
            f"it cannot be checked against this image and model; if they changed, {HOW}",
            CheckpointWarning,
            stacklevel=4,
        )
        return
    differs = describe({k: str(saved[k]) for k in FINGERPRINT}, current)
    if differs:
        raise ValueError(
            f"checkpoint {path} belongs to another problem: same parameters, but {differs} "
            f"differ from this fit's; {HOW}"
        )


def problem_attrs(problem):
    """The HDF5 attributes a checkpoint records about its problem."""
    return {f"{ATTR_PREFIX}{k}": v for k, v in identity(problem).items()}


def saved_attrs(attrs):
    """The identity stored by :func:`problem_attrs` in HDF5 ``attrs``."""
    return {k[len(ATTR_PREFIX) :]: attrs[k] for k in attrs if k.startswith(ATTR_PREFIX)}


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
    ``kind`` names the checkpoint type in the message. See :func:`check_identity`.
    """
    try:
        with h5py.File(path, "r") as f:
            saved = saved_attrs(f.attrs)
            has_state = dataset is None or dataset in f
    except OSError as err:
        raise ValueError(
            f"cannot read checkpoint {path} ({err}); pass resume=False to start afresh"
        ) from err
    if not {"ndim", "labels"} <= set(saved) or not has_state:
        raise ValueError(f"{path} is not a {kind} checkpoint; pass resume=False to overwrite it")
    check_identity(path, saved, problem)
