"""The result every backend returns, and weighted posterior summaries."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    """Outcome of one inference run, whatever the method.

    Attributes
    ----------
    samples : numpy.ndarray
        Shape ``(n, nfree)``: posterior samples (or the optimum, ``n = 1``).
    weights : numpy.ndarray
        Shape ``(n,)``, non-negative, normalised to sum to one.
    logz, logz_err : float or None
        Log-evidence and its uncertainty, where the method estimates it.
    sampler : object
        The underlying library's sampler (or scipy result) object.
    extras : dict
        Method-specific outputs, e.g. ``tau``, ``tau_history`` (emcee) or
        ``results`` (the optimizer's ``OptimizeResult``).
    """

    samples: np.ndarray
    weights: np.ndarray
    logz: float | None = None
    logz_err: float | None = None
    sampler: object = None
    extras: dict = field(default_factory=dict)

    def __post_init__(self):
        self.samples = np.atleast_2d(np.asarray(self.samples, dtype=float))
        weights = np.asarray(self.weights, dtype=float).reshape(-1)
        if weights.shape[0] != self.samples.shape[0]:
            raise ValueError(f"{weights.shape[0]} weights for {self.samples.shape[0]} samples")
        if np.any(weights < 0) or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError("posterior weights must be finite, non-negative and not all zero")
        self.weights = weights / weights.sum()
        self.logz = None if self.logz is None else float(self.logz)
        self.logz_err = None if self.logz_err is None else float(self.logz_err)


def weighted_quantile(samples, weights, q):
    """Quantiles ``q`` (in [0, 1]) of each column of weighted ``samples``.

    Uses the midpoints of the cumulative weights, so that equal weights give
    the usual interpolated percentiles.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(q), nfree)``.
    """
    samples = np.atleast_2d(samples)
    q = np.atleast_1d(q)
    out = np.empty((q.size, samples.shape[1]))
    for j in range(samples.shape[1]):
        order = np.argsort(samples[:, j])
        x, w = samples[order, j], weights[order]
        cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
        out[:, j] = np.interp(q, cdf, x)
    return out
