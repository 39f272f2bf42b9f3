"""fit.plot.comparison: data | model | residual panels on WCS axes."""

import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from astropy.visualization.wcsaxes import WCSAxes

import socca
from tests.plotting.conftest import MASKED, build_model

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF"


def panels(fig):
    """The data, model and residual AxesImages, in that order."""
    axes = [ax for ax in fig.axes if isinstance(ax, WCSAxes)]
    return [ax.images[0] for ax in axes]


def top_gridspec(fig):
    """The 1x3 GridSpec of the panels (colour bars may nest them in sub-grids)."""
    return fig.axes[0].get_subplotspec().get_topmost_subplotspec().get_gridspec()


def likelihood_model(fit, **kw):
    smoothed, background = fit.getmodel(
        what=["smoothed", "background"], doresp=True, doexp=True, **kw
    )
    return smoothed + background


@pytest.fixture(scope="module")
def figure(optimizer_fit):
    fig = optimizer_fit.plot.comparison()
    yield fig
    plt.close(fig)


def test_three_wcs_panels_with_a_colour_bar_each(figure, optimizer_fit):
    wcs_axes = [ax for ax in figure.axes if isinstance(ax, WCSAxes)]
    assert len(wcs_axes) == 3
    assert [ax.get_title() for ax in wcs_axes] == ["Data", "Model", "Residuals"]
    for ax in wcs_axes:
        assert ax.wcs.wcs.compare(optimizer_fit.img.wcs.wcs)
        assert len(ax.images) == 1 and ax.images[0].colorbar is not None
    colour_bars = [ax for ax in figure.axes if not isinstance(ax, WCSAxes)]
    assert len(colour_bars) == 3
    assert wcs_axes[0].coords[0].get_axislabel() == "RA"
    assert wcs_axes[0].coords[1].get_axislabel() == "Dec"


def test_panels_show_data_model_and_their_difference(figure, optimizer_fit):
    fit = optimizer_fit
    data, model, resid = (im.get_array() for im in panels(figure))
    expected_model = likelihood_model(fit)
    used = fit.img.mask
    np.testing.assert_array_equal(data.data[used], fit.img.data[used])
    np.testing.assert_allclose(model.data[used], expected_model[used], rtol=1e-12)
    np.testing.assert_allclose(
        resid.data[used], (fit.img.data - expected_model)[used], rtol=1e-12, atol=1e-15
    )
    # the fit is good: residuals are noise around zero, well below the source
    assert abs(np.ma.median(resid)) < 0.02 and np.ma.std(resid) < 0.07


def test_masked_pixels_are_masked_in_every_panel(figure, optimizer_fit):
    hidden = ~optimizer_fit.img.mask
    assert hidden[MASKED].all() and hidden.sum() == hidden[MASKED].size
    for image in panels(figure):
        array = image.get_array()
        assert isinstance(array, np.ma.MaskedArray)
        np.testing.assert_array_equal(np.ma.getmaskarray(array), hidden)


def test_scales(figure):
    data, model, resid = panels(figure)
    assert data.norm is model.norm
    assert data.norm.vmin < 0.1 < data.norm.vmax  # the sky level lies inside the range
    assert resid.norm.vmin == -resid.norm.vmax and resid.norm.vmax > 0
    assert data.norm(data.norm.vmax) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ("magma", "magma", "RdBu_r")),
        ({"cmaps": "viridis"}, ("viridis", "viridis", "viridis")),
        ({"cmaps": ["gray", "cividis", "coolwarm"]}, ("gray", "cividis", "coolwarm")),
        ({"cmaps": ("gray", "cividis", "coolwarm")}, ("gray", "cividis", "coolwarm")),
        ({"cmaps": {"model": "cividis", "residuals": "bwr"}}, ("magma", "cividis", "bwr")),
        (
            {"cmaps": "gray", "cmap_model": "viridis", "cmap_residual": "bwr"},
            ("gray", "viridis", "bwr"),
        ),
        ({"cmap_data": matplotlib.colormaps["inferno"]}, ("inferno", "magma", "RdBu_r")),
    ],
)
def test_colour_maps(optimizer_fit, kwargs, expected):
    fig = optimizer_fit.plot.comparison(**kwargs)
    assert tuple(im.get_cmap().name for im in panels(fig)) == expected


@pytest.mark.parametrize(
    ("cmaps", "named"),
    [
        ("not_a_colormap", "not_a_colormap"),
        (["gray", "viridis"], "'gray', 'viridis'"),
        ({"resid": "gray"}, "'resid'"),
        ({"data": "nope_map"}, "nope_map"),
        (42, "42"),
    ],
)
def test_bad_colour_maps_are_named(optimizer_fit, cmaps, named):
    with pytest.raises(ValueError, match=named):
        optimizer_fit.plot.comparison(cmaps=cmaps)


def test_bad_per_panel_colour_map(optimizer_fit):
    with pytest.raises(ValueError, match="'nope'.*residuals"):
        optimizer_fit.plot.comparison(cmap_residual="nope")


@pytest.mark.parametrize(("fmt", "magic"), [("png", PNG_MAGIC), ("pdf", PDF_MAGIC)])
def test_saves_name_dot_fmt(optimizer_fit, tmp_path, capsys, fmt, magic):
    fig = optimizer_fit.plot.comparison(name=tmp_path / "cmp", fmt=fmt)
    path = tmp_path / f"cmp.{fmt}"
    assert path.read_bytes().startswith(magic)
    assert capsys.readouterr().out == f"Saved to {path}\n"
    assert not plt.fignum_exists(fig.number)  # released from pyplot, still returned
    assert len(panels(fig)) == 3


def test_name_with_the_extension_is_not_doubled(optimizer_fit, tmp_path):
    optimizer_fit.plot.comparison(name=str(tmp_path / "cmp.png"), fmt="png")
    assert [p.name for p in tmp_path.iterdir()] == ["cmp.png"]


def test_without_name_the_figure_is_shown_and_kept(optimizer_fit, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    fig = optimizer_fit.plot.comparison()
    assert shown == [True] and plt.fignum_exists(fig.number)
    assert list(tmp_path.iterdir()) == []


def test_bad_format_fails_before_drawing(optimizer_fit, tmp_path):
    with pytest.raises(ValueError, match="'jpeg2'"):
        optimizer_fit.plot.comparison(name=tmp_path / "cmp", fmt="jpeg2")
    assert list(tmp_path.iterdir()) == []


def test_figure_size_dpi_and_gridspec(optimizer_fit):
    # fx and fy scale the default size (15 x 4.6 inches), as in the other implementation
    assert tuple(optimizer_fit.plot.comparison().get_size_inches()) == (15, 4.6)
    fig = optimizer_fit.plot.comparison(fx=0.6, fy=0.5, dpi=72, gs_kwargs=dict(wspace=0.4))
    np.testing.assert_allclose(fig.get_size_inches(), (0.6 * 15, 0.5 * 4.6))
    assert fig.dpi == 72
    assert fig.get_layout_engine() is None  # explicit spacing: no constrained layout
    assert top_gridspec(fig).wspace == 0.4
    fig = optimizer_fit.plot.comparison(gs_kwargs=dict(width_ratios=[1, 1, 2]))
    assert fig.get_layout_engine() is not None
    assert list(top_gridspec(fig).get_width_ratios()) == [1, 1, 2]


def test_component_selection(optimizer_fit):
    fit = optimizer_fit
    fig = fit.plot.comparison(component=0)  # the source alone: the sky stays in the residual
    _, model, resid = (im.get_array() for im in panels(fig))
    np.testing.assert_allclose(model.data, likelihood_model(fit, component=0), rtol=1e-12)
    assert np.ma.median(resid) == pytest.approx(0.1, abs=0.02)


@pytest.mark.parametrize("bad", [0, -1, "big", True])
def test_bad_scale_factor(optimizer_fit, bad):
    with pytest.raises(ValueError, match="scale factor of the default figure size"):
        optimizer_fit.plot.comparison(fx=bad)


def test_usebest_in_model_kwargs(sampled_fit):
    fit = sampled_fit
    expected = likelihood_model(fit, usebest=True)
    best = panels(fit.plot.comparison(model_kwargs=dict(usebest=True)))[1].get_array()
    np.testing.assert_allclose(best.data, expected, rtol=1e-12)
    # the model_kwargs entry wins over the argument (the median of draws would differ)
    chosen = fit.plot.comparison(usebest=False, model_kwargs=dict(usebest=True))
    np.testing.assert_allclose(panels(chosen)[1].get_array().data, expected, rtol=1e-12)


def test_model_kwargs(optimizer_fit):
    fig = optimizer_fit.plot.comparison(model_kwargs=dict(doexp=False, doresp=False))
    model = panels(fig)[1].get_array()
    raw = sum(optimizer_fit.getmodel(what=["smoothed", "background"]))
    np.testing.assert_allclose(model.data, raw, rtol=1e-12)
    with pytest.raises(ValueError, match="'what'"):
        optimizer_fit.plot.comparison(model_kwargs=dict(what="raw"))


def test_posterior_median_model(sampled_fit):
    fit = sampled_fit
    fig = fit.plot.comparison(usebest=False, model_kwargs=dict(progress=False))
    model = panels(fig)[1].get_array()
    expected = likelihood_model(fit, usebest=False, progress=False)
    np.testing.assert_allclose(model.data, expected, rtol=1e-12)


def test_needs_a_run(image):
    fit = socca.fitter(mod=build_model(), img=image)
    with pytest.raises(RuntimeError, match=r"fit\.run\(\) first"):
        fit.plot.comparison()


def test_importing_socca_does_not_load_the_plotting_stack():
    # matplotlib itself may come with socca's dependencies (regions checks for it);
    # pyplot, corner and the WCS axes are loaded only when a figure is drawn
    heavy = ("matplotlib.pyplot", "corner", "astropy.visualization.wcsaxes")
    code = (
        "import sys, socca\n"
        "from socca.plotting import Plotter\n"
        f"loaded = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
