"""Corner plot of the weighted posterior (a wrapper of ``corner.corner``)."""

from __future__ import annotations

import numbers

import corner
import numpy as np
from matplotlib.ticker import ScalarFormatter

from socca.inference.results import weighted_quantile
from socca.models.parameters import label as parameter_label
from socca.models.render import select_components
from socca.plotting._output import check_format, finish

# tick labels: an offset when the ticks would share more than this many leading
# digits; a power of ten outside 10^-2 .. 10^3 (matplotlib waits until 10^-5)
OFFSET_DIGITS = 3
SCALE_LIMITS = (-2, 3)
TRUTH_COLOUR = "#4682b4"  # corner's default truth_color
MINUS = "\u2212"  # the typographic minus sign matplotlib uses in tick labels
# arguments that plot_corner sets itself and that a user must not pass through
RESERVED = {"weights": "weights are the fit's own", "range": "give ranges with edges="}


def plot_corner(fit, *, name, fmt, component, sigma, edges, quantiles, bins, truths, **kwargs):
    """Draw the corner figure; see :meth:`socca.plotting.Plotter.corner`."""
    fmt = check_format(fmt) if name is not None else fmt
    result = fit._require_result("plot.corner")
    if fit.method == "optimizer":
        raise ValueError(
            "plot.corner: the optimizer returns a single best-fit point, so there is no "
            "posterior to draw; run a sampling method (e.g. fit.run(method='nautilus'))"
        )
    for key, why in RESERVED.items():
        if key in kwargs:
            raise ValueError(f"plot.corner: do not pass {key}= ({why})")
    if not fit.labels:
        raise ValueError("plot.corner: the model has no free parameters, so no posterior to draw")
    if sigma is not None and not (isinstance(sigma, numbers.Real) and sigma > 0):
        raise ValueError(f"sigma must be a positive number or None (full range), got {sigma!r}")
    quantiles = _check_quantiles(quantiles)

    index = shown_parameters(fit, component)
    labels = [fit.labels[i] for i in index]
    samples = result.samples[:, index]
    ranges = default_ranges(samples, result.weights, sigma)
    ranges = [
        default if custom is None else _check_edge(custom, lab)
        for default, custom, lab in zip(
            ranges, per_parameter(edges, fit.labels, index, "edges"), labels, strict=True
        )
    ]
    units = [fit.units[i] for i in index]
    truths = None if truths is None else per_parameter(truths, fit.labels, index, "truths")
    options = {
        "bins": bins,
        "quantiles": quantiles,
        "labels": [axis_label(lab, unit) for lab, unit in zip(labels, units, strict=True)],
        # corner cannot draw truths on a single panel: done below
        "truths": truths if len(index) > 1 else None,
    }
    options.update(kwargs)
    fig = corner.corner(samples, weights=result.weights, range=ranges, **options)
    if len(index) == 1 and truths is not None and truths[0] is not None:
        fig.axes[0].axvline(truths[0], color=kwargs.get("truth_color", TRUTH_COLOUR))
    # our labels on the standard layout: offsets and powers of ten move into the labels
    if not {"labels", "reverse", "axes_scale"} & set(kwargs):
        fold_offsets(fig, labels, units, ranges, kwargs.get("use_math_text", False))
    return finish(fig, name, fmt)


def shown_parameters(fit, component) -> list[int]:
    """Indices into ``fit.labels`` of the free parameters of the chosen components."""
    if component is None:
        return list(range(len(fit.labels)))
    chosen = select_components(fit.mod.components, component)
    wanted = {parameter_label(c, n) for c in chosen for n in c.parameter_names}
    index = [i for i, lab in enumerate(fit.labels) if lab in wanted]
    if not index:
        ids = ", ".join(c.id for c in chosen)
        raise ValueError(f"component(s) {ids} have no free parameters to show")
    return index


def axis_label(label: str, unit: str) -> str:
    """``label [unit]``, or the bare label for dimensionless parameters."""
    return f"{label} [{unit}]" if unit else label


def fold_offsets(fig, labels, units, ranges, math_text=False):
    """Write tick offsets and powers of ten into the axis labels.

    Narrow posteriors far from zero (a position of 20.000012 deg) would make
    matplotlib print an offset text such as ``1e-5+2e1`` at the end of the
    axis, where ``corner`` puts the next panel or the axis label. Instead the
    offset and scale (see :func:`axis_scale`) are fixed on the tick formatter
    and the label reads ``comp_00_xc − 20 [10^-4 deg]``.
    """
    ndim = len(labels)
    grid = np.array(fig.axes).reshape(ndim, ndim)
    for p, (low, high) in enumerate(ranges):
        offset, order = axis_scale(low, high)
        if not offset and not order:
            continue
        # the axes whose ticks are labelled for parameter p: bottom row, left column
        axes = [grid[-1, p].xaxis] + ([grid[p, 0].yaxis] if p > 0 else [])
        for axis in axes:
            if not isinstance(axis.get_major_formatter(), ScalarFormatter):
                continue
            fixed = ScalarFormatter(useOffset=offset, useMathText=math_text)
            if order:
                fixed.set_powerlimits((order, order))
            else:
                fixed.set_scientific(False)
            axis.set_major_formatter(fixed)
            axis.get_offset_text().set_visible(False)
            axis.set_label_text(offset_label(labels[p], units[p], offset, order))


def axis_scale(low, high) -> tuple[float, int]:
    """Offset and power of ten for tick values ``(x - offset) / 10**order`` on [low, high].

    An offset is used when the range is narrow compared to its distance from
    zero (the ticks would share more than ``OFFSET_DIGITS`` leading digits); it
    is the centre rounded to the decade above the range's width. A power of
    ten is used when the remaining values fall outside ``SCALE_LIMITS``.
    """
    span, centre = high - low, 0.5 * (low + high)
    offset = 0.0
    if span > 0 and abs(centre) >= span * 10**OFFSET_DIGITS:
        step = 10.0 ** np.ceil(np.log10(span))
        offset = float(np.round(centre / step) * step)
    size = max(abs(low - offset), abs(high - offset))
    order = int(np.floor(np.log10(size))) if size > 0 else 0
    lowest, highest = SCALE_LIMITS
    return offset, (order if not lowest <= order <= highest else 0)


def offset_label(label, unit, offset, order) -> str:
    """``label − offset [10^order unit]`` for tick values ``(x - offset) / 10**order``.

    With an offset the label is long, so the bracket goes on a second line
    (neighbouring panels' labels would otherwise overlap).
    """
    text = label
    if offset:
        text += f" {MINUS if offset > 0 else '+'} {abs(offset):.10g}"
    inside = " ".join(part for part in (f"$10^{{{order}}}$" if order else "", unit) if part)
    if not inside:
        return text
    return f"{text}{chr(10) if offset else ' '}[{inside}]"


# Tails beyond these weighted quantiles (about 3.3 sigma for a Gaussian) hold a
# few low-weight points at most: the default range stops a little past them.
TAIL = 5e-4
TAIL_PAD = 0.1


def default_ranges(samples, weights, sigma) -> list[tuple[float, float]]:
    """Weighted median +- ``sigma`` weighted std, clipped to where the posterior lies.

    The clip is the weighted ``TAIL`` and ``1 - TAIL`` quantiles widened by
    ``TAIL_PAD`` of their span on each side (never past the non-zero-weight
    samples): stray low-weight draws of nested samplers do not stretch the axes.
    ``sigma=None`` gives the full range of the non-zero-weight samples.
    """
    median = weighted_quantile(samples, weights, [0.5])[0]
    if sigma is None:
        support = samples[weights > 0]
        return _nonempty(support.min(axis=0), support.max(axis=0), median)
    mean = np.average(samples, axis=0, weights=weights)
    std = np.sqrt(np.average((samples - mean) ** 2, axis=0, weights=weights))
    support = samples[weights > 0]
    q_lo, q_hi = weighted_quantile(samples, weights, [TAIL, 1.0 - TAIL])
    pad = TAIL_PAD * (q_hi - q_lo)
    clip_lo = np.maximum(q_lo - pad, support.min(axis=0))
    clip_hi = np.minimum(q_hi + pad, support.max(axis=0))
    lo = np.maximum(median - sigma * std, clip_lo)
    hi = np.minimum(median + sigma * std, clip_hi)
    return _nonempty(lo, hi, median)


def _nonempty(lo, hi, median) -> list[tuple[float, float]]:
    """``(lo, hi)`` pairs, a small interval around the median where a pair is empty."""
    ranges = []
    for low, high, mid in zip(lo, hi, median, strict=True):
        if not high > low:  # no spread (e.g. a stuck chain): a small interval around it
            pad = 1e-6 * abs(mid) or 1e-12
            low, high = mid - pad, mid + pad
        ranges.append((float(low), float(high)))
    return ranges


def per_parameter(values, all_labels, index, what) -> list:
    """``values`` as a list aligned with the shown parameters (None where not given).

    Accepts a list with one entry per shown parameter (or per free parameter,
    from which the shown ones are taken), or a dict keyed by label; dict keys
    of parameters not shown are ignored.
    """
    shown = [all_labels[i] for i in index]
    if values is None:
        return [None] * len(index)
    if isinstance(values, dict):
        unknown = [k for k in values if k not in all_labels]
        if unknown:
            raise ValueError(
                f"{what}: unknown label(s) {', '.join(map(repr, unknown))}; "
                f"labels are {', '.join(all_labels)}"
            )
        return [values.get(lab) for lab in shown]
    values = list(values)
    if len(values) == len(index):
        return values
    if len(values) == len(all_labels):
        return [values[i] for i in index]
    raise ValueError(
        f"{what}: got {len(values)} entries for {len(index)} shown parameters "
        f"({', '.join(shown)}); give one per shown parameter or a dict label -> value"
    )


def _check_edge(edge, label):
    try:
        low, high = (float(v) for v in edge)
    except (TypeError, ValueError):
        raise ValueError(f"edges: expected a (lo, hi) pair for {label}, got {edge!r}") from None
    if not high > low:
        raise ValueError(f"edges: the range for {label} must have lo < hi, got {edge!r}")
    return (low, high)


def _check_quantiles(quantiles):
    if quantiles is None:
        return []
    values = [float(q) for q in quantiles]
    if any(not 0.0 <= q <= 1.0 for q in values):
        raise ValueError(f"quantiles must lie in [0, 1], got {quantiles!r}")
    return values
