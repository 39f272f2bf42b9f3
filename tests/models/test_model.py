"""The composite model and its compiled render function."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal

from socca import priors
from socca.data import Image
from socca.models import Background, Exponential, Gaussian, Model, Point, Sersic
from socca.models.render import RenderGrid, build_render
from socca.noise import Normal
from tests.conftest import ARCSEC, gaussian_psf, make_hdu


@pytest.fixture
def image():
    return Image(
        make_hdu((48, 56)), noise=Normal(sigma=1.0), addpsf=dict(img=gaussian_psf(13, 1.5))
    )


def centre(img, row=24, col=28):
    return float(img.grid.ra[row, col]), float(img.grid.dec[row, col])


def quickstart_model(img):
    """Point source + Sérsic bound to it, the guide's quickstart shape."""
    ra, dec = centre(img)
    point = Point(
        xc=priors.uniform(ra - 3 * ARCSEC, ra + 3 * ARCSEC),
        yc=priors.uniform(dec - 3 * ARCSEC, dec + 3 * ARCSEC),
        Ic=priors.loguniform(0.1, 100.0),
    )
    galaxy = Sersic(
        xc=priors.boundto(point, "xc"),
        yc=priors.boundto(point, "yc"),
        theta=priors.uniform(0.0, np.pi),
        e=priors.uniform(0.0, 0.9),
        re=priors.loguniform(1 * ARCSEC, 20 * ARCSEC),
        Ie=priors.loguniform(0.01, 10.0),
        ns=1.0,
    )
    mod = Model()
    mod.addcomponent(point)
    mod.addcomponent(galaxy)
    return mod, point, galaxy


def test_labels_follow_component_ids(image):
    mod, point, galaxy = quickstart_model(image)
    assert mod.labels == (
        f"{point.id}_xc",
        f"{point.id}_yc",
        f"{point.id}_Ic",
        f"{galaxy.id}_theta",
        f"{galaxy.id}_e",
        f"{galaxy.id}_re",
        f"{galaxy.id}_Ie",
    )


def test_getmodel_resolves_boundto_and_fixed_values(image):
    mod, point, galaxy = quickstart_model(image)
    ra, dec = centre(image, 20, 30)
    theta = np.array([ra, dec, 4.0, 0.5, 0.3, 5 * ARCSEC, 0.8])
    raw, smoothed_bkg, bkg, negative = mod.getmodel(image, theta)
    ref = Sersic(xc=ra, yc=dec, theta=0.5, e=0.3, re=5 * ARCSEC, Ie=0.8, ns=1.0).getmap(image)
    ref_point = Point(xc=ra, yc=dec, Ic=4.0)
    np.testing.assert_allclose(raw, ref + ref_point.getmap(image), rtol=1e-10, atol=1e-14)
    # the galaxy's light beyond the edge is convolved in: draw it 10 pixels wider all round
    wide = Image(make_hdu((68, 76), crpix=(38.5, 34.5)), noise=Normal(sigma=1.0))
    ref_wide = Sersic(xc=ra, yc=dec, theta=0.5, e=0.3, re=5 * ARCSEC, Ie=0.8, ns=1.0).getmap(wide)
    conv = signal.fftconvolve(ref_wide, image.psf, mode="same")[10:-10, 10:-10]
    conv = conv + ref_point.getmap(image, convolve=True)
    np.testing.assert_allclose(smoothed_bkg, conv, rtol=1e-9, atol=1e-12)
    assert not bkg.any() and not negative.any()


def test_functional_prior_is_evaluated_inside_getmodel(image):
    ra, dec = centre(image)
    small = Gaussian(xc=ra, yc=dec, rs=priors.uniform(1 * ARCSEC, 5 * ARCSEC), Is=1.0)
    big = Gaussian(xc=ra, yc=dec, Is=0.5)
    big.addparameter("scale", priors.uniform(1.0, 4.0), description="size ratio")
    big.rs = eval(f"lambda {small.id}_rs, {big.id}_scale: {small.id}_rs * {big.id}_scale")
    mod = Model([small, big])
    raw, *_ = mod.getmodel(image, [2 * ARCSEC, 3.0])
    expected = Gaussian(xc=ra, yc=dec, rs=2 * ARCSEC, Is=1.0).getmap(image) + Gaussian(
        xc=ra, yc=dec, rs=6 * ARCSEC, Is=0.5
    ).getmap(image)
    np.testing.assert_allclose(raw, expected, rtol=1e-12)


def test_composite_equals_sum_of_components_and_background_is_not_convolved(image):
    ra, dec = centre(image)
    comps = [
        Sersic(xc=ra, yc=dec, re=4 * ARCSEC, Ie=1.0, ns=2.0),
        Point(xc=ra + 2 * ARCSEC, yc=dec, Ic=3.0),
        Background(a0=0.2, a1x=0.01),
    ]
    mod = Model(comps)
    for convolve in (False, True):
        total = mod.getmap(image, convolve=convolve, addbackground=True)
        parts = sum(c.getmap(image, convolve=convolve) for c in comps)
        np.testing.assert_allclose(total, parts, rtol=1e-12, atol=1e-14)
    bkg = comps[2].getmap(image, convolve=True)
    x_arcsec = image.grid.xi.mean(0)[24, :] - image.grid.xi.mean(0)[24, 27]
    np.testing.assert_allclose(bkg[24], 0.2 + 0.01 * x_arcsec / ARCSEC, rtol=1e-9, atol=1e-12)


def test_component_selection(image):
    mod, point, galaxy = quickstart_model(image)
    theta = np.array([*centre(image), 4.0, 0.5, 0.3, 5 * ARCSEC, 0.8])
    full = mod.getmodel(image, theta)[0]
    only_gal = mod.getmodel(image, theta, component=1)[0]
    only_point = mod.getmodel(image, theta, component=point.id)[0]
    both = mod.getmodel(image, theta, component=[point, 1])[0]
    np.testing.assert_allclose(only_gal + only_point, full, rtol=1e-12)
    np.testing.assert_allclose(both, full, rtol=1e-12)
    with pytest.raises(ValueError, match="comp_9999"):
        mod.getmodel(image, theta, component="comp_9999")


def test_response_and_exposure(image):
    ra, dec = centre(image)
    resp = np.linspace(0.5, 1.5, image.shape[1])[None, :] * np.ones(image.shape)
    expo = np.full(image.shape, 3.0)
    img = Image(
        make_hdu(image.shape),
        noise=Normal(sigma=1.0),
        response=resp,
        exposure=expo,
        addpsf=dict(img=gaussian_psf(13, 1.5)),
    )
    gal = Gaussian(xc=ra, yc=dec, rs=3 * ARCSEC, Is=1.0)
    mod = Model([gal, Background(a0=0.1)])
    raw, smoothed_bkg, bkg, _ = mod.getmodel(img, [], doresp=True, doexp=True)
    plain = gal.getmap(img)
    np.testing.assert_allclose(raw, plain * resp * expo, rtol=1e-12)
    conv = signal.fftconvolve(plain * resp, img.psf, mode="same")
    np.testing.assert_allclose(smoothed_bkg, (conv + 0.1) * expo, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bkg, 0.1 * expo)


def test_positivity_flags_negative_pixels(image):
    ra, dec = centre(image)
    neg = Gaussian(xc=ra, yc=dec, rs=3 * ARCSEC, Is=priors.uniform(-1.0, 1.0))
    mod = Model()
    mod.addcomponent(neg, positive=True)
    assert mod.getmodel(image, [-0.5])[3].any()
    assert not mod.getmodel(image, [0.5])[3].any()
    mod2 = Model([Gaussian(xc=ra, yc=dec, rs=3 * ARCSEC, Is=priors.uniform(-1.0, 1.0))])
    assert not mod2.getmodel(image, [-0.5])[3].any()


def test_model_of_one_component_and_positive_for_all(image):
    # what positive=True does to the likelihood: test_positivity_flags_negative_pixels
    ra, dec = centre(image)
    gal = Gaussian(xc=ra, yc=dec, rs=3 * ARCSEC, Is=priors.uniform(-1.0, 1.0))
    mod = Model(gal)  # one component, without a list
    assert mod.components == [gal] and not gal.positive
    assert mod.labels == (f"{gal.id}_Is",)
    pos = Model(gal, positive=True)  # as addcomponent(gal, positive=True)
    assert gal.positive and pos.components == [gal]
    a, b = Gaussian(xc=ra, yc=dec, rs=ARCSEC, Is=1.0), Point(xc=ra, yc=dec, Ic=1.0)
    both = Model((a, b), positive=True)
    assert both.components == [a, b] and a.positive and b.positive
    b.positive = False
    Model([a, b])  # positive=None keeps each component's own setting
    assert a.positive and not b.positive
    with pytest.raises(TypeError, match="expected a component or a list of components, got int 5"):
        Model(5)
    with pytest.raises(TypeError, match="positive must be True or False .*'yes'"):
        Model(a, positive="yes")
    with pytest.raises(ValueError, match=r"Model\(positive=True\) .* none were given"):
        Model(positive=True)


def test_vmap_equals_single_calls_and_grad_matches_finite_differences(image):
    mod, *_ = quickstart_model(image)
    render, pmap = build_render(mod.components, image)
    rng = np.random.default_rng(3)
    u = rng.uniform(size=(64, len(pmap.labels)))
    thetas = jnp.stack(
        [jnp.array([pmap.free[k].icdf(ui[i]) for i, k in enumerate(pmap.labels)]) for ui in u]
    )
    batch = jax.jit(jax.vmap(lambda t: render(t).smoothed))(thetas)
    single = jax.jit(lambda t: render(t).smoothed)
    for i in range(64):
        np.testing.assert_allclose(batch[i], single(thetas[i]), rtol=1e-12, atol=1e-14)

    def scalar(t):
        m = render(t)
        return jnp.sum((m.smoothed + m.background) ** 2)

    theta = thetas[0]
    grad = np.asarray(jax.grad(scalar)(theta))
    assert np.all(np.isfinite(grad))
    for i in range(theta.size):
        h = 1e-6 * max(abs(float(theta[i])), 1e-3) if i > 1 else 1e-9
        step = jnp.zeros_like(theta).at[i].set(h)
        fd = (scalar(theta + step) - scalar(theta - step)) / (2 * h)
        assert grad[i] == pytest.approx(float(fd), rel=1e-4, abs=1e-6 * abs(float(fd)) + 1e-8)


def test_parameters_printout(image, capsys):
    mod, point, galaxy = quickstart_model(image)
    mod.parameters()
    out = capsys.readouterr().out
    assert f"{galaxy.id} (Sersic)" in out
    assert f"boundto({point.id}.xc)" in out
    assert "Uniform" in out and "[deg]" in out
    mod.parameters(freeonly=True)
    out = capsys.readouterr().out
    assert f"{galaxy.id}_re" in out and f"{galaxy.id}_ns" not in out


def test_errors_are_clear(image):
    ra, dec = centre(image)
    with pytest.raises(ValueError, match="re, Ie"):
        Model().addcomponent(Sersic(xc=ra, yc=dec))
    gal = Sersic(xc=ra, yc=dec, re=priors.uniform(1e-4, 1e-3), Ie=1.0)
    with pytest.raises(ValueError, match="re is Uniform"):
        gal.getmap(image)
    with pytest.raises(AttributeError, match="'rr'.*valid parameters"):
        gal.rr = 1.0
    with pytest.raises(TypeError, match="expected a number"):
        gal.re = "big"
    mod = Model([gal])
    with pytest.raises(ValueError, match="free parameter"):
        mod.getmap(image)
    with pytest.raises(ValueError, match="1 free parameters"):
        mod.getmodel(image, [1.0, 2.0])
    other = Gaussian(xc=ra, yc=dec, rs=1e-3, Is=1.0)
    gal.ns = priors.boundto(other, "Is")
    with pytest.raises(ValueError, match="not part of this model"):
        mod.getmodel(image, [1e-4])
    gal.ns = lambda comp_9999_x: comp_9999_x
    with pytest.raises(ValueError, match="comp_9999_x"):
        mod.getmodel(image, [1e-4])


def test_exponential_and_sersic_n1_agree(image):
    ra, dec = centre(image)
    b = 1.678346990016661
    ser = Sersic(xc=ra, yc=dec, re=b * 3 * ARCSEC, Ie=np.exp(-b), ns=1.0).getmap(image)
    exp = Exponential(xc=ra, yc=dec, rs=3 * ARCSEC, Is=1.0).getmap(image)
    np.testing.assert_allclose(ser, exp, rtol=1e-9)


def test_response_lookup_is_right_in_large_batches():
    # regression: the matrix-product form ``wy @ image @ wx`` of the point
    # source's response lookup returned wrong values under vmap for batches of
    # ~100 and more on XLA:CPU (jax 0.10.2)
    from socca import simulate
    from socca.cli import quickstart_fit_model
    from socca.models.parameters import ParameterMap
    from socca.models.render import RenderGrid, _at

    img, _ = simulate.mock_observation(simulate.quickstart_truth(), shape=(48, 48), seed=11)
    model = quickstart_fit_model()
    point, pmap = model.components[0], ParameterMap(model.components)
    grid = RenderGrid(img.grid, img.shape)
    response = jnp.asarray(np.ones(img.shape))
    u = np.random.default_rng(0).uniform(size=(300, len(pmap.labels)))
    priors_ = list(pmap.free.values())
    thetas = np.array([[d.icdf(x) for d, x in zip(priors_, row, strict=True)] for row in u])

    def lookup(theta):
        return _at(response, point, pmap.component_values(point, pmap.resolve(theta)), grid)

    batch = np.asarray(jax.jit(jax.vmap(lookup))(thetas))
    single = np.array([float(jax.jit(lookup)(t)) for t in thetas])
    np.testing.assert_allclose(batch, single, rtol=1e-12)
    np.testing.assert_allclose(batch, 1.0, rtol=1e-12)


def test_corrections_reach_the_convolution_near_an_edge():
    # a compact n = 4 source one pixel from the corner: the refined patch is
    # clipped to the image, and the renderer adds it to the padded canvas of
    # the convolution instead of the image; both must agree
    resp = np.linspace(0.5, 1.5, 56)[None, :] * np.linspace(1.2, 0.8, 48)[:, None]
    img = Image(
        make_hdu((48, 56)), noise=Normal(sigma=1.0), response=resp,
        addpsf=dict(img=gaussian_psf(13, 1.5)),
    )  # fmt: skip
    ra, dec = centre(img, row=1, col=54)
    gal = Sersic(xc=ra, yc=dec, theta=0.4, e=0.3, re=0.7 * ARCSEC, Ie=5.0, ns=4.0)
    raw, smoothed, _, _ = Model([gal]).getmodel(img, [], doresp=True, doexp=False)
    refined = gal.getmap(img)
    np.testing.assert_allclose(raw, refined * resp, rtol=1e-12)
    # light beyond the edge is convolved in: the reference draws the source 10 pixels
    # wider all round, the response extended by its edge values (docs/data.md)
    wide = Image(make_hdu((68, 76), crpix=(38.5, 34.5)), noise=Normal(sigma=1.0))
    wide_resp = np.pad(resp, 10, mode="edge")
    expected = signal.fftconvolve(gal.getmap(wide) * wide_resp, img.psf, mode="same")
    expected = expected[10:-10, 10:-10]
    np.testing.assert_allclose(smoothed, expected, rtol=1e-9, atol=1e-12 * expected.max())
    # the corrections matter here: the plain lattice average is far off
    values = {name: entry.value for name, entry in gal.parameter_entries().items()}
    averaged, _ = gal.image_parts(values, RenderGrid(img.grid, img.shape))
    assert np.abs(np.asarray(averaged) - refined).max() > 0.05 * refined.max()
