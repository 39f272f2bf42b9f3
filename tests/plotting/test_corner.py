"""fit.plot.corner: the weighted posterior through corner.corner."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from socca.inference.results import weighted_quantile
from socca.plotting.cornerplot import axis_scale, default_ranges, offset_label
from tests.plotting.conftest import build_model

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF"


def grid(fig):
    k = int(round(np.sqrt(len(fig.axes))))
    assert k * k == len(fig.axes)
    return np.array(fig.axes).reshape(k, k)


def diagonal(fig):
    axes = grid(fig)
    return [axes[i, i] for i in range(len(axes))]


def vertical_lines(ax):
    """x positions of the axvlines of a 1-D histogram panel."""
    return [line.get_xdata()[0] for line in ax.lines]


@pytest.fixture(scope="module")
def figure(sampled_fit):
    fig = sampled_fit.plot.corner()
    yield fig
    plt.close(fig)


def test_one_panel_per_pair_of_free_parameters(figure, sampled_fit):
    nfree = len(sampled_fit.labels)
    assert grid(figure).shape == (nfree, nfree)


def test_labels_carry_units(figure, sampled_fit):
    bottom = [ax.get_xlabel() for ax in grid(figure)[-1]]
    for text, label, unit in zip(bottom, sampled_fit.labels, sampled_fit.units, strict=True):
        assert text.startswith(label)
        assert text.endswith(f"{unit}]")
    # the sky level needs neither offset nor scale: exactly "<label> [unit]"
    assert bottom[-1] == f"{sampled_fit.labels[-1]} [image]"


def test_positions_fold_their_offset_into_the_label(figure, sampled_fit):
    axes = grid(figure)
    xc_label = axes[-1, 0].get_xlabel()
    assert xc_label.startswith(f"{sampled_fit.labels[0]} \u2212 20\n[$10^{{-")
    assert xc_label.endswith("}$ deg]")
    assert not axes[-1, 0].xaxis.get_offset_text().get_visible()
    yc_label = axes[1, 0].get_ylabel()
    assert yc_label.startswith(f"{sampled_fit.labels[1]} + 10\n[$10^{{-")
    # the tick values read (x - offset) / 10^order
    formatter = axes[-1, 0].xaxis.get_major_formatter()
    offset, order = axis_scale(*axes[-1, 0].get_xlim())
    ticks = [offset + k * 10.0**order for k in (-2, 0, 2, 4)]
    formatter.set_locs(ticks)
    assert [formatter(t) for t in ticks] == ["\u22122", "0", "2", "4"]


@pytest.mark.parametrize(
    ("low", "high", "offset", "order"),
    [
        (19.9994, 20.0006, 20.0, -4),  # a position: offset and scale
        (-10.0004, -9.9995, -10.0, -4),
        (0.85, 0.92, 0.0, 0),  # plain numbers: nothing
        (3.8e-4, 4.4e-4, 0.0, -4),  # small: scale only
        (2e4, 9e4, 0.0, 4),  # large: scale only
        (1000.0, 1000.5, 1000.0, 0),  # narrow: offset only
        (0.0, 0.0, 0.0, 0),
    ],
)
def test_axis_scale(low, high, offset, order):
    assert axis_scale(low, high) == (pytest.approx(offset), order)


def test_offset_label():
    assert offset_label("a_xc", "deg", 20.0, -5) == "a_xc \u2212 20\n[$10^{-5}$ deg]"
    assert offset_label("a_yc", "deg", -10.0, 0) == "a_yc + 10\n[deg]"
    assert offset_label("a_e", "", 0.0, -3) == "a_e [$10^{-3}$]"
    assert offset_label("a_e", "", 0.5, 0) == "a_e \u2212 0.5"


def test_default_quantile_lines(figure, sampled_fit):
    fit = sampled_fit
    expected = weighted_quantile(fit.samples, fit.weights, (0.16, 0.5, 0.84))
    std = np.sqrt(np.cov(fit.samples.T, aweights=fit.weights).diagonal())
    for i, ax in enumerate(diagonal(figure)):
        lines = vertical_lines(ax)
        assert len(lines) == 3
        assert all(line.get_linestyle() == "--" for line in ax.lines)
        np.testing.assert_allclose(lines, expected[:, i], atol=0.05 * std[i])


@pytest.mark.parametrize("quantiles", [(0.05, 0.5, 0.95, 0.99), (0.5,), ()])
def test_requested_quantiles(sampled_fit, quantiles):
    fig = sampled_fit.plot.corner(quantiles=quantiles)
    assert all(len(vertical_lines(ax)) == len(quantiles) for ax in diagonal(fig))


def test_default_ranges_are_sigma_times_std_clipped_to_the_posterior(sampled_fit):
    fit = sampled_fit
    median = weighted_quantile(fit.samples, fit.weights, [0.5])[0]
    mean = np.average(fit.samples, axis=0, weights=fit.weights)
    std = np.sqrt(np.average((fit.samples - mean) ** 2, axis=0, weights=fit.weights))
    low = np.maximum(median - 2 * std, fit.samples.min(0))
    high = np.minimum(median + 2 * std, fit.samples.max(0))
    fig = fit.plot.corner(sigma=2)
    for i, ax in enumerate(diagonal(fig)):
        np.testing.assert_allclose(ax.get_xlim(), (low[i], high[i]))
    # a huge sigma is clipped a little past the 0.05% and 99.95% weighted quantiles
    q_lo, q_hi = weighted_quantile(fit.samples, fit.weights, [5e-4, 1 - 5e-4])
    pad = 0.1 * (q_hi - q_lo)
    expected = np.stack(
        [np.maximum(q_lo - pad, fit.samples.min(0)), np.minimum(q_hi + pad, fit.samples.max(0))], 1
    )
    wide = default_ranges(fit.samples, fit.weights, 1e6)
    np.testing.assert_allclose(wide, expected)


def test_sigma_none_shows_the_full_range(sampled_fit):
    fit = sampled_fit
    fig = fit.plot.corner(sigma=None, quantiles=())
    low, high = fit.samples.min(axis=0), fit.samples.max(axis=0)
    for i, ax in enumerate(diagonal(fig)):
        np.testing.assert_allclose(ax.get_xlim(), (low[i], high[i]))
    # a stray low-weight draw is part of the full range (but not of the default one)
    samples = np.array([[0.0], [1.0], [2.0], [40.0]])
    weights = np.array([1.0, 1.0, 1.0, 1e-6]) / 3.000001
    assert default_ranges(samples, weights, None) == [(0.0, 40.0)]


def test_default_ranges_ignore_a_stray_low_weight_draw():
    rng = np.random.default_rng(0)
    samples = np.concatenate([rng.normal(0.0, 1.0, (4000, 1)), [[40.0]]])
    weights = np.concatenate([np.ones(4000), [1e-6]])
    low, high = default_ranges(samples, weights / weights.sum(), 10)[0]
    assert -5 < low < -3 and 3 < high < 5


def test_default_ranges_ignore_zero_weight_samples():
    # nested samplers return prior draws of zero weight far outside the posterior
    samples = np.array([[-100.0], [0.0], [1.0], [2.0], [100.0]])
    weights = np.array([0.0, 0.25, 0.5, 0.25, 0.0])
    std = np.sqrt(0.5)
    assert default_ranges(samples, weights, 1) == [pytest.approx((1 - std, 1 + std))]
    assert default_ranges(samples, weights, 10) == [(0.0, 2.0)]
    # no spread at all: a small interval around the value, never an empty one
    low, high = default_ranges(np.full((4, 1), 3.0), np.ones(4) / 4, 10)[0]
    assert low < 3.0 < high and high - low < 1e-5


def test_edges_override_the_ranges(sampled_fit):
    fit = sampled_fit
    sky = fit.labels[-1]
    fig = fit.plot.corner(edges={sky: (0.05, 0.15)})
    assert diagonal(fig)[-1].get_xlim() == (0.05, 0.15)
    fig = fit.plot.corner(component=1, edges=[(0.0, 0.2)])
    assert diagonal(fig)[0].get_xlim() == (0.0, 0.2)
    default = default_ranges(fit.samples, fit.weights, 10)
    edges = [None] * (len(fit.labels) - 1) + [(0.08, 0.12)]
    fig = fit.plot.corner(edges=edges)
    assert diagonal(fig)[0].get_xlim() == pytest.approx(default[0])
    assert diagonal(fig)[-1].get_xlim() == (0.08, 0.12)


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ([(0, 1)], "1 entries for 5 shown parameters"),
        ({"comp_99_xc": (0, 1)}, "unknown label"),
        ("last", "expected a \\(lo, hi\\) pair"),
    ],
)
def test_bad_edges(sampled_fit, edges, message):
    if edges == "last":
        edges = {sampled_fit.labels[-1]: (0.2, 0.1)}
        message = "lo < hi"
    with pytest.raises(ValueError, match=message):
        sampled_fit.plot.corner(edges=edges)


def test_component_selection(sampled_fit):
    fit = sampled_fit
    source, sky = fit.mod.components
    assert grid(fit.plot.corner(component=0)).shape == (4, 4)
    assert grid(fit.plot.corner(component=source)).shape == (4, 4)
    assert grid(fit.plot.corner(component=[sky.id])).shape == (1, 1)
    fig = fit.plot.corner(component=[1, source])
    assert grid(fig).shape == (5, 5)
    assert grid(fig)[-1, -1].get_xlabel() == f"{sky.id}_a0 [image]"
    with pytest.raises(ValueError, match="comp_nope"):
        fit.plot.corner(component="comp_nope")


def test_truths(sampled_fit):
    fit = sampled_fit
    sky = fit.labels[-1]
    fig = fit.plot.corner(truths={sky: 0.1})
    assert [len(vertical_lines(ax)) for ax in diagonal(fig)] == [3, 3, 3, 3, 4]
    assert 0.1 in vertical_lines(diagonal(fig)[-1])
    fig = fit.plot.corner(component=1, truths=[0.1], quantiles=())
    assert vertical_lines(diagonal(fig)[0]) == [0.1]
    truth = [20.0, -10.0, 2.5 / 3600, 1.0, 0.1]
    fig = fit.plot.corner(component=0, truths=truth, quantiles=())  # a full vector is cut
    assert [vertical_lines(ax) for ax in diagonal(fig)] == [[t] for t in truth[:4]]
    with pytest.raises(ValueError, match="2 entries"):
        fit.plot.corner(truths=[1.0, 2.0])


def test_keywords_pass_through_to_corner(sampled_fit):
    fig = sampled_fit.plot.corner(show_titles=True, title_fmt=".3g", labels=list("abcde"))
    assert all(ax.get_title() for ax in diagonal(fig))
    assert [ax.get_xlabel() for ax in grid(fig)[-1]] == list("abcde")
    fig = sampled_fit.plot.corner(bins=7, quantiles=())
    assert len(diagonal(fig)[-1].patches[0].get_xy()) > 0
    for reserved in ("weights", "range"):
        with pytest.raises(ValueError, match=reserved):
            sampled_fit.plot.corner(**{reserved: None})


@pytest.mark.parametrize(
    ("given", "fmt", "magic"),
    [("corner", "png", PNG_MAGIC), ("corner.pdf", "pdf", PDF_MAGIC)],  # the suffix is not doubled
)
def test_saves_name_dot_fmt(sampled_fit, tmp_path, capsys, given, fmt, magic):
    sampled_fit.plot.corner(name=str(tmp_path / given), fmt=fmt)
    path = tmp_path / f"corner.{fmt}"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert path.read_bytes().startswith(magic)
    assert capsys.readouterr().out == f"Saved to {path}\n"


def test_optimizer_has_no_posterior(optimizer_fit):
    with pytest.raises(ValueError, match="no posterior to draw.*sampling method"):
        optimizer_fit.plot.corner()


def test_needs_a_run(image):
    import socca

    fit = socca.fitter(mod=build_model(), img=image)
    with pytest.raises(RuntimeError, match=r"fit\.run\(\) first"):
        fit.plot.corner()


@pytest.mark.parametrize("sigma", [0, -1, "wide"])
def test_bad_sigma(sampled_fit, sigma):
    with pytest.raises(ValueError, match="sigma"):
        sampled_fit.plot.corner(sigma=sigma)
