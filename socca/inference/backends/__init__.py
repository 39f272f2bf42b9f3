"""Sampler backends: one module per method behind one interface.

Every backend module defines

``run(problem, *, checkpoint=None, resume=True, seed=None, progress=True, **options) -> Result``

where ``problem`` has ``ndim``, ``labels``, ``loglike``, ``loglike_batch``,
``prior_transform`` and ``log_prior`` (see :class:`socca.inference.Problem`),
and ``options`` are forwarded to the library. Module attributes:
``EVIDENCE`` (whether ``Result.logz`` is estimated) and ``CHECKPOINT`` (the
checkpoint suffix, or None).

Method names are case-insensitive (``'Nautilus'`` is ``'nautilus'``).
"""

from __future__ import annotations

import difflib
import importlib

from socca.errors import InputError

METHODS = ("nautilus", "dynesty", "pocomc", "emcee", "optimizer", "numpyro")
SIMILAR = 0.7  # difflib ratio above which an unknown name is taken for a typo


class UnknownMethodError(InputError):
    """``fit.run(method=...)`` names no inference method socca has."""


def method_name(method) -> str:
    """The canonical (lower-case) name of ``method``, whatever its case.

    Raises
    ------
    UnknownMethodError
        For anything but one of :data:`METHODS`, suggesting the closest name.
    """
    name = method.strip().lower() if isinstance(method, str) else None
    if name in METHODS:
        return name
    hint = difflib.get_close_matches(name or "", METHODS, n=1, cutoff=SIMILAR)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    raise UnknownMethodError(
        f"unknown method {method!r}{suggestion}; available: {', '.join(METHODS)} (in any case)"
    )


def get_backend(method: str):
    """The backend module for ``method`` (case-insensitive, see :func:`method_name`)."""
    return importlib.import_module(f"socca.inference.backends.{method_name(method)}")
