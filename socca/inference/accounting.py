"""Numerical-safety accounting: non-finite likelihoods are counted, never passed on.

The compiled problem (:class:`socca.inference.Problem`) offers, next to its
public ``loglike`` and ``loglike_batch`` (which answer ``-inf`` for any
non-finite value), the *flagged* twins ``loglike_flagged`` and
``loglike_batch_flagged``: they answer NaN where the evaluation failed
numerically, that is where the noise model's log-likelihood is NaN or
``+inf``, or is ``-inf`` because the model image holds NaN or infinite
pixels. A legitimate ``-inf`` (a positivity-constrained component gone
negative, a Poisson model predicting zero counts where some were seen) stays
``-inf`` and is not a fault.

Every sampler backend evaluates the flagged functions and hands their answers
to a :class:`Faults` counter on the host, after padding rows are dropped and
before the sampler sees them: faults become ``-inf``, their number and
parameter values are recorded, and at the end of the run one
:class:`NumericalWarning` says how many evaluations failed and where. The
flag travels inside the float values themselves, so the accounting costs no
extra device transfer or compiled function, and batches stay batched (also
when other processes evaluate them). Problems without flagged functions
(duck-typed test problems) are screened the same way: their NaN and ``+inf``
answers are counted.

The count is that of the run in this process: a resumed run counts from the
resume. The NUTS backend (numpyro) evaluates the likelihood inside its
compiled trajectories, where counting would need a host call per step; there
a fault ends the trajectory as a divergence (``extras['divergences']``).
"""

from __future__ import annotations

import warnings

import numpy as np

from socca.errors import NumericalWarning

EXAMPLES = 3  # offending points quoted in the warning


def flagged_functions(problem):
    """The problem's ``(single, batch)`` likelihoods with NaN marking faults.

    Falls back on ``loglike`` and ``loglike_batch`` for problems without
    flagged twins, whose non-finite answers are then screened as faults.
    """
    single = getattr(problem, "loglike_flagged", None) or problem.loglike
    batch = getattr(problem, "loglike_batch_flagged", None) or problem.loglike_batch
    return single, batch


class Faults:
    """Counts numerical faults among likelihood values and replaces them by ``-inf``.

    Parameters
    ----------
    labels : sequence of str
        Parameter labels, for the warning.

    Attributes
    ----------
    count : int
        Faulty evaluations seen.
    ncall : int
        Evaluations screened.
    low, high : numpy.ndarray or None
        Per-parameter minimum and maximum over the faulty points.
    examples : list of numpy.ndarray
        The first :data:`EXAMPLES` faulty points.
    """

    def __init__(self, labels):
        self.labels = tuple(str(label) for label in labels)
        self.count = 0
        self.ncall = 0
        self.low = self.high = None
        self.examples = []

    def screen(self, thetas, values):
        """``values`` with faults (NaN, ``+inf``) set to ``-inf``, recording them.

        Parameters
        ----------
        thetas : array-like
            ``(n, ndim)`` points, or one ``(ndim,)`` point.
        values : array-like
            Their ``n`` log-likelihoods (a scalar for one point).

        Returns
        -------
        numpy.ndarray
            Float values of ``values``' shape, never NaN or ``+inf``.
        """
        values = np.asarray(values, dtype=float)
        flat = values.reshape(-1)
        self.ncall += flat.size
        bad = np.isnan(flat) | (flat == np.inf)
        if not bad.any():
            return values
        points = np.asarray(thetas, dtype=float).reshape(flat.size, -1)[bad]
        self._record(points)
        return np.where(bad, -np.inf, flat).reshape(values.shape)

    def screen_one(self, theta, value):
        """:meth:`screen` for a single point: a float."""
        return float(self.screen(np.asarray(theta, dtype=float)[None, :], np.reshape(value, 1))[0])

    def _record(self, points):
        self.count += len(points)
        low, high = points.min(axis=0), points.max(axis=0)
        self.low = low if self.low is None else np.minimum(self.low, low)
        self.high = high if self.high is None else np.maximum(self.high, high)
        self.examples.extend(points[: EXAMPLES - len(self.examples)])

    def message(self, method):
        """The warning text for a run of ``method`` (None without faults)."""
        if not self.count:
            return None
        ranges = ", ".join(
            f"{k} in [{lo:.6g}, {hi:.6g}]"
            for k, lo, hi in zip(self.labels, self.low, self.high, strict=True)
        )
        first = "; ".join(
            "(" + ", ".join(f"{k}={v:.6g}" for k, v in zip(self.labels, p, strict=True)) + ")"
            for p in self.examples
        )
        return (
            f"{method}: {self.count} of {self.ncall} likelihood evaluations were not finite "
            "(NaN or infinite likelihood, or NaN/inf in the model image) and were given "
            f"log-likelihood -inf. They span {ranges}; first: {first}. Check the model "
            "(profile functions, parameter ranges) and the priors there"
        )

    def report(self, result, method, stacklevel=3):
        """Store the count in ``result.extras['nonfinite']`` and warn if there were faults."""
        result.extras["nonfinite"] = self.count
        text = self.message(method)
        if text is not None:
            warnings.warn(text, NumericalWarning, stacklevel=stacklevel + 1)
        return result
