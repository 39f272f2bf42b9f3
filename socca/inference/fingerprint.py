"""A fingerprint of an inference problem, recorded in checkpoints and checked on resume.

A checkpoint resumed on another problem would silently mix two posteriors.
The labels of the free parameters tell models apart only when their
parameters differ; the fingerprint also tells apart the same model on another
image, or with other priors, fixed values, ties or noise. It holds two
SHA-256 digests, computed once on the host when the problem is built:

``'data'``
    The image side: pixel values, mask, PSF, response and exposure maps,
    the WCS and sub-pixel sampling, and the bound noise model's state (its
    type and every attribute: noise levels, covariances, spectra, ...).
``'model'``
    The model side: the components in order, each with its type and all its
    attributes, among them every parameter's prior (distribution type and
    parameters), fixed value or tie (function and arguments), and user
    profile functions (their code, constants and captured values).

Two digests rather than one let the refusal say which side changed. A
checkpoint that records no fingerprint (written before socca recorded one)
but whose labels match is resumed with a :class:`CheckpointWarning`: it may be
the only copy of a long run, and a refusal would leave no way to resume it;
the warning says how to start afresh instead. Duck-typed problems without a
``fingerprint`` attribute are checked by their labels only. Hashing
walks plain data: numbers, strings, arrays (dtype, shape and bytes),
containers, functions and the attribute dictionaries of objects, each object
once (cycles are cut) and to a bounded depth. Memory addresses never enter
the digest, so the same script gives the same fingerprint in another session.
"""

from __future__ import annotations

import hashlib
import types

import numpy as np

MAX_DEPTH = 12  # nesting followed before an object is represented by its type alone
IMAGE_ATTRIBUTES = ("data", "mask", "psf", "exposure", "response", "shape", "subgrid")


def fingerprint(model, img, pmap=None):
    """The ``{'data': hex, 'model': hex}`` digests of ``model`` fitted to ``img``.

    Parameters
    ----------
    model : socca.models.Model
        The model (its ``components`` are hashed).
    img : socca.data.Image
        The image with its bound noise model.
    pmap : socca.models.parameters.ParameterMap, optional
        The model's parameter map; its labels, fixed values and priors are
        hashed too (they are also reachable from the components).

    Returns
    -------
    dict
        Hexadecimal SHA-256 digests under ``'data'`` and ``'model'``.
    """
    data = _Digest()
    for name in IMAGE_ATTRIBUTES:
        data.add(name, getattr(img, name, None))
    wcs = getattr(img, "wcs", None)
    data.add("wcs", None if wcs is None else wcs.to_header_string(relax=True))
    data.add("noise", getattr(img, "noise", None))
    described = _Digest()
    described.add("components", list(getattr(model, "components", ())))
    if pmap is not None:
        described.add("labels", tuple(pmap.labels))
        described.add("free", pmap.free)
        described.add("fixed", pmap.fixed)
    return {"data": data.hexdigest(), "model": described.hexdigest()}


class _Digest:
    """SHA-256 of a walk over plain data and object attributes."""

    def __init__(self):
        self._hash = hashlib.sha256()
        self._seen = {}

    def hexdigest(self):
        return self._hash.hexdigest()

    def add(self, name, obj):
        """Feed ``obj`` under the key ``name``."""
        self._token("key", name)
        self._feed(obj, 0)

    def _token(self, kind, text):
        self._hash.update(f"<{kind}:{text}>".encode())

    def _feed(self, obj, depth):
        if obj is None or isinstance(obj, bool | int | float | complex | str):
            self._token(type(obj).__name__, repr(obj))
        elif isinstance(obj, bytes):
            self._token("bytes", len(obj))
            self._hash.update(obj)
        elif _is_array(obj):
            self._array(np.asarray(obj), depth)
        elif depth >= MAX_DEPTH:
            self._token("deep", _qualname(type(obj)))
        elif id(obj) in self._seen:
            self._token("seen", self._seen[id(obj)])  # order of first visit: address-free
        else:
            self._seen[id(obj)] = len(self._seen)
            self._object(obj, depth + 1)

    def _array(self, arr, depth):
        self._token("array", f"{arr.dtype.str}{arr.shape}")
        if arr.dtype == object:
            for item in arr.reshape(-1):
                self._feed(item, depth + 1)
        else:
            self._hash.update(np.ascontiguousarray(arr).tobytes())

    def _object(self, obj, depth):
        if isinstance(obj, dict):
            self._token("dict", len(obj))
            for key in sorted(obj, key=repr):
                self._feed(key, depth)
                self._feed(obj[key], depth)
        elif isinstance(obj, list | tuple):
            self._token(type(obj).__name__, len(obj))
            for item in obj:
                self._feed(item, depth)
        elif isinstance(obj, set | frozenset):
            self._token("set", len(obj))
            for item in sorted(obj, key=repr):
                self._feed(item, depth)
        elif isinstance(obj, types.FunctionType):
            self._function(obj, depth)
        elif isinstance(obj, types.MethodType):
            self._feed(obj.__func__, depth)
            self._feed(obj.__self__, depth)
        elif isinstance(obj, types.CodeType):
            self._code(obj, depth)
        elif isinstance(obj, types.ModuleType | type):
            self._token("name", _qualname(obj))
        elif hasattr(obj, "__wrapped__"):  # jax.jit, functools.wraps
            self._token("wrapped", _qualname(type(obj)))
            self._feed(obj.__wrapped__, depth)
        else:
            self._token("object", _qualname(type(obj)))
            state = getattr(obj, "__dict__", None)
            if isinstance(state, dict):
                self._feed(state, depth)

    def _function(self, fn, depth):
        self._token("function", f"{fn.__module__}.{fn.__qualname__}")
        self._code(fn.__code__, depth)
        self._feed(fn.__defaults__, depth)
        self._feed(fn.__kwdefaults__, depth)
        cells = fn.__closure__ or ()
        self._feed([_cell(c) for c in cells], depth)

    def _code(self, code, depth):
        self._token("code", code.co_name)
        self._hash.update(code.co_code)
        self._feed(code.co_names, depth)
        self._feed(code.co_consts, depth)


def _is_array(obj):
    return isinstance(obj, np.ndarray | np.generic) or (
        hasattr(obj, "__array__") and hasattr(obj, "dtype") and hasattr(obj, "shape")
    )


def _qualname(obj):
    return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


def _cell(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def describe(saved, current):
    """What differs between two fingerprints, in words (None when nothing does)."""
    parts = []
    if saved.get("data") != current.get("data"):
        parts.append("the image (data, mask, PSF, response, exposure, WCS or noise model)")
    if saved.get("model") != current.get("model"):
        parts.append("the model (components, priors, fixed values, ties or profile functions)")
    return " and ".join(parts) or None
