"""Printed summaries of a fit: the parameter table and the model comparison."""

from __future__ import annotations

import numpy as np

from socca.inference.results import weighted_quantile

QUANTILES = (0.16, 0.5, 0.84)


def best_fit(samples, weights):
    """Weighted median and the 16th/84th percentiles of each parameter, shape (3, nfree)."""
    return weighted_quantile(samples, weights, QUANTILES)


def parameter_table(labels, components, samples, weights, point_estimate=False) -> str:
    """The ``fit.parameters()`` text: one block per component.

    Parameters
    ----------
    labels : sequence of str
        Free-parameter labels ``<id>_<name>``.
    components : sequence of Component
        Model components, in order; their ids group the labels.
    samples, weights : numpy.ndarray
        Weighted posterior samples (one sample for an optimum).
    point_estimate : bool
        Print the single optimum without uncertainties.
    """
    low, mid, high = best_fit(samples, weights)
    lines = ["", "Best-fit parameters", "=" * 40]
    for comp in components:
        rows = []
        for i, key in enumerate(labels):
            if not key.startswith(comp.id + "_"):
                continue
            name = key[len(comp.id) + 1 :]
            if point_estimate:
                rows.append(f"{name} : {samples[0, i]:.4E}")
            else:
                rows.append(
                    f"{name} : {mid[i]:.4E} [+{high[i] - mid[i]:.4E}/-{mid[i] - low[i]:.4E}]"
                )
        if rows:
            lines += ["", comp.id, "-" * len(comp.id), *rows]
    return "\n".join(lines)


def effective_sigma(ln_bayes_factor: float) -> float:
    """Gaussian-equivalent significance of a log Bayes factor, sign kept: ±sqrt(2|lnB|)."""
    return float(np.sign(ln_bayes_factor) * np.sqrt(2.0 * abs(ln_bayes_factor)))


def comparison_text(title: str, ln_bayes_factor: float) -> str:
    """One block of the ``fit.bmc()`` printout."""
    return "\n".join(
        [
            title,
            "=" * 21,
            f"ln(Bayes factor) : {ln_bayes_factor:.3E}",
            f"effective sigma : {effective_sigma(ln_bayes_factor):.3E}",
        ]
    )
