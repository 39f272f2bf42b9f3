"""Sampler backends: one module per method behind one interface.

Every backend module defines

``run(problem, *, checkpoint=None, resume=True, seed=None, progress=True, **options) -> Result``

where ``problem`` has ``ndim``, ``labels``, ``loglike``, ``loglike_batch``,
``prior_transform`` and ``log_prior`` (see :class:`socca.inference.Problem`),
and ``options`` are forwarded to the library. Module attributes:
``EVIDENCE`` (whether ``Result.logz`` is estimated) and ``CHECKPOINT`` (the
checkpoint suffix, or None).
"""

from __future__ import annotations

import importlib

METHODS = ("nautilus", "dynesty", "pocomc", "emcee", "optimizer", "numpyro")


def get_backend(method: str):
    """The backend module for ``method``."""
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    return importlib.import_module(f"socca.inference.backends.{method.lower()}")
