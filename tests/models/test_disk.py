"""Thick disks: projection against closed forms, nested parameters, recovery.

References are computed in numpy from the image's tangent-plane grid with
the disk centred on the tangent point, where north is the +eta axis.
"""

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

import socca
from socca import priors, simulate
from socca.data import Image
from socca.inference.summary import parameter_table
from socca.models import Background, Exponential, Gaussian, Model, Point, Sersic
from socca.models.disk import Disk
from socca.models.render import build_render
from socca.models.vertical import ExponentialHeight, HyperSecantHeight
from socca.noise import Normal
from tests.conftest import ARCSEC, make_hdu

RA, DEC = 20.0, -10.0


def image(shape):
    return Image(make_hdu(shape), noise=Normal(sigma=1.0))


def sky_axes(img, theta):
    """Offsets along (u) and across (v) position angle ``theta`` of every pixel centre."""
    xi, eta = img.grid.xi[0], img.grid.eta[0]
    return xi * np.sin(theta) + eta * np.cos(theta), xi * np.cos(theta) - eta * np.sin(theta)


def sersic(r, re, ie, n):
    bn = special.gammaincinv(2 * n, 0.5)
    return ie * np.exp(-bn * ((r / re) ** (1 / n) - 1))


# vertical profile, its integral over z
HEIGHTS = [
    (HyperSecantHeight(zs=0.5 * ARCSEC), 1.0 * ARCSEC),
    (HyperSecantHeight(zs=0.5 * ARCSEC, alpha=1.3), 0.5 * ARCSEC * special.beta(0.65, 0.5)),
    (ExponentialHeight(zs=0.5 * ARCSEC), 1.0 * ARCSEC),
]


# -- construction and parameters -------------------------------------------------------
def test_ids_labels_and_nested_parameters():
    before = Point()
    disk = Disk(radial=Sersic(re=3 * ARCSEC, Ie=1.0), vertical=ExponentialHeight(), xc=RA)
    after = Point()
    number = int(before.id[5:])
    assert (disk.id, after.id) == (f"comp_{number + 1:02d}", f"comp_{number + 2:02d}")
    assert disk.radial.id == f"{disk.id}_radial" and disk.vertical.id == f"{disk.id}_vertical"
    assert disk.parameter_names == (
        "xc", "yc", "theta", "inc", "radial_re", "radial_Ie", "radial_ns", "vertical_zs",
    )  # fmt: skip
    disk.vertical.zs = 0.4 * ARCSEC
    assert disk.vertical_zs == 0.4 * ARCSEC  # the flat name is an alias
    disk.radial_ns = 2.0
    assert disk.radial.ns == 2.0
    with pytest.raises(AttributeError, match="no parameter 'e'"):
        disk.radial.e = 0.3  # the radial profile's geometry is the disk's
    with pytest.raises(AttributeError, match="radial_re"):
        disk.radial_rr = 1.0
    assert disk.radial.parameter_entries()["Ie"].units == "image/deg"


def test_default_subprofiles_and_hyperparameters(capsys):
    disk = Disk()
    assert isinstance(disk.radial, Sersic) and isinstance(disk.vertical, HyperSecantHeight)
    assert disk.losdepth is None and disk.losbins == 200  # the other implementation's default
    disk.losdepth, disk.losbins = 60 * ARCSEC, 33
    disk.parameters()
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{disk.id} (Disk: radial=Sersic, vertical=HyperSecantHeight)"
    hyper = out.split("hyper-parameters (not fitted):")[1]
    assert "losdepth" in hyper and "1.6667E-02" in hyper and "losbins" in hyper
    for bad in (0, 1.5, True, "64"):
        with pytest.raises(ValueError, match="losbins"):
            disk.losbins = bad
    for bad in (0.0, -1.0, float("inf"), "a"):
        with pytest.raises(ValueError, match="losdepth"):
            disk.losdepth = bad


def test_unsupported_subprofiles_are_refused():
    refused = type("PolyExpoRefact", (Exponential,), {})
    for bad in (Point(), Background(), refused(), Exponential):
        with pytest.raises(TypeError, match=r"radial=\w+ is .*one of .*Sersic"):
            Disk(radial=bad)
    with pytest.raises(TypeError, match="vertical=Gaussian .*ExponentialHeight, HyperSecantHeight"):
        Disk(vertical=Gaussian())
    with pytest.raises(ValueError, match=r"has e set, but a Disk sets it itself"):
        Disk(radial=Sersic(e=0.3, xc=RA))  # e would be silently ignored (xc is taken over)
    disk = Disk()
    with pytest.raises(ValueError, match="already belongs"):
        Disk(radial=disk.radial)
    with pytest.raises(ValueError, match="sub-profile"):
        Model([disk.radial])
    with pytest.raises(TypeError, match="building block"):
        Model([ExponentialHeight(zs=1.0)])


def test_subprofiles_can_be_swapped():
    disk = Disk(xc=RA, yc=DEC)
    old = disk.radial
    disk.radial = Exponential(rs=2 * ARCSEC, Is=1.0)
    assert disk.radial.id == f"{disk.id}_radial" and old.parent is None
    assert "radial_rs" in disk.parameter_names and "radial_re" not in disk.parameter_names
    disk.vertical = ExponentialHeight(zs=ARCSEC)
    assert disk.vertical_zs == ARCSEC


# -- projection ------------------------------------------------------------------------
@pytest.mark.parametrize("height, integral", HEIGHTS, ids=["sech2", "sech1.3", "exp"])
def test_face_on_thin_disk_is_radial_times_height_integral(height, integral):
    img = image((40, 40))
    radial = Sersic(re=6 * ARCSEC, Ie=2.0, ns=1.5)
    disk = Disk(radial=radial, vertical=height, xc=RA, yc=DEC, losdepth=10 * ARCSEC, losbins=101)
    u, v = sky_axes(img, 0.0)
    expected = sersic(np.hypot(u, v), 6 * ARCSEC, 2.0, 1.5) * integral
    np.testing.assert_allclose(disk.getmap(img), expected, rtol=5e-3)


def test_total_flux_does_not_depend_on_inclination():
    img = image((96, 96))
    rs, i0, zs = 4 * ARCSEC, 1.0, 1 * ARCSEC
    disk = Disk(
        radial=Exponential(rs=rs, Is=i0),
        vertical=HyperSecantHeight(zs=zs),
        xc=RA,
        yc=DEC,
        theta=0.4,
        losdepth=100 * ARCSEC,
        losbins=201,
    )
    total = 2 * np.pi * rs**2 * i0 * 2 * zs / ARCSEC**2  # ∫ I(R) 2πR dR ∫ h dz, in pixels
    for inc in (0.0, 0.6, 1.2, np.pi / 2):
        disk.inc = inc
        assert disk.getmap(img).sum() == pytest.approx(total, rel=0.01), inc


@pytest.mark.parametrize("theta", [0.0, 0.6])
def test_edge_on_exponential_disk_matches_its_closed_form(theta):
    # edge-on, I0 exp(-R/rs) exp(-|z|/zs) projects to I0 2|u| K1(|u|/rs) exp(-|v|/zs)
    img = image((41, 61))  # odd: the centre (tangent point) is a pixel centre
    rs, zs = 5 * ARCSEC, 1.5 * ARCSEC
    disk = Disk(
        radial=Exponential(rs=rs, Is=3.0),
        vertical=ExponentialHeight(zs=zs),
        xc=RA,
        yc=DEC,
        theta=theta,
        inc=np.pi / 2,
        losdepth=150 * ARCSEC,
        losbins=601,
    )
    u, v = np.abs(sky_axes(img, theta))
    safe = np.maximum(u, 1e-12)
    major = np.where(u > 1e-12, 2 * safe * special.k1(safe / rs), 2 * rs)
    expected = 3.0 * major * np.exp(-v / zs)
    got = disk.getmap(img)
    bright = expected > 1e-6 * expected.max()
    np.testing.assert_allclose(got[bright], expected[bright], rtol=2e-3)
    if theta == 0.0:
        # the shape read off the image: exponential of scale zs along the minor axis
        # (a row), the K1 law of scale rs along the major axis (a column)
        row, col = got[20, 30:40], got[20:30, 30]
        scale = ARCSEC / np.log(row[:-1] / row[1:])
        np.testing.assert_allclose(scale, zs, rtol=2e-3)
        x = np.arange(1, 10) * ARCSEC / rs
        np.testing.assert_allclose(col[1:] / col[0], x * special.k1(x), rtol=2e-3)


def test_accuracy_converges_with_losbins():
    img = image((32, 32))
    disk = Disk(
        radial=Sersic(re=5 * ARCSEC, Ie=1.0, ns=1.0),
        vertical=HyperSecantHeight(zs=1 * ARCSEC),
        xc=RA,
        yc=DEC,
        theta=0.3,
        inc=1.0,
        losdepth=60 * ARCSEC,
        losbins=2049,
    )
    reference = disk.getmap(img)
    errors = []
    for n in (9, 17, 33, 65, 129):
        disk.losbins = n
        errors.append(np.abs(disk.getmap(img) - reference).max() / reference.max())
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False)), errors
    assert errors[-1] < 1e-4, errors


def test_truncated_radial_profile_is_supported():
    img = image((40, 40))
    plain = Disk(radial=Exponential(rs=4 * ARCSEC, Is=1.0), vertical=HyperSecantHeight(zs=ARCSEC))
    cut = Disk(
        radial=Exponential(rs=4 * ARCSEC, Is=1.0, truncation=True, rt=8 * ARCSEC, wt=ARCSEC),
        vertical=HyperSecantHeight(zs=ARCSEC),
    )
    for d in (plain, cut):
        d.xc, d.yc, d.losdepth, d.losbins = RA, DEC, 40 * ARCSEC, 81
    assert "radial_rt" in cut.parameter_names
    a, b = plain.getmap(img), cut.getmap(img)
    assert b[20, 20] == pytest.approx(a[20, 20], rel=1e-3)  # untouched in the centre
    assert b[20, 2] < 0.05 * a[20, 2]  # cut beyond rt = 8" (18" out)


# -- nested parameters in a model ----------------------------------------------------
def nested_model():
    disk = Disk(
        radial=Exponential(rs=priors.loguniform(1 * ARCSEC, 10 * ARCSEC), Is=priors.uniform(0, 5)),
        vertical=HyperSecantHeight(),
        xc=RA,
        yc=DEC,
        theta=priors.uniform(0, np.pi),
        inc=priors.uniform(0, np.pi / 2),
        losdepth=40 * ARCSEC,
        losbins=33,
    )
    disk.vertical.zs = eval(f"lambda {disk.id}_radial_rs: 0.25 * {disk.id}_radial_rs")
    bulge = Sersic(
        xc=priors.boundto(disk, "xc"),
        yc=priors.boundto(disk, "yc"),
        re=priors.boundto(disk.radial, "rs"),
        Ie=1.0,
    )
    return Model([disk, bulge]), disk, bulge


def test_labels_ties_and_render_of_nested_parameters():
    mod, disk, bulge = nested_model()
    d = disk.id
    assert mod.labels == (f"{d}_theta", f"{d}_inc", f"{d}_radial_rs", f"{d}_radial_Is")
    img = image((40, 40))
    theta = np.array([0.5, 1.1, 4 * ARCSEC, 2.0])
    raw = mod.getmodel(img, theta)[0]
    ref_disk = Disk(
        radial=Exponential(rs=4 * ARCSEC, Is=2.0),
        vertical=HyperSecantHeight(zs=ARCSEC),
        xc=RA,
        yc=DEC,
        theta=0.5,
        inc=1.1,
        losdepth=40 * ARCSEC,
        losbins=33,
    )
    ref_bulge = Sersic(xc=RA, yc=DEC, re=4 * ARCSEC, Ie=1.0)
    np.testing.assert_allclose(raw, ref_disk.getmap(img) + ref_bulge.getmap(img), rtol=1e-12)


def test_render_jits_vmaps_and_differentiates_nested_parameters():
    mod, disk, _ = nested_model()
    img = image((24, 24))
    render, _ = build_render(mod.components, img)

    @jax.jit
    def total(theta):
        return jnp.sum(render(theta).raw)

    thetas = jnp.array([[0.5, 1.1, 4 * ARCSEC, 2.0], [1.0, 0.3, 3 * ARCSEC, 1.0]])
    batched = jax.jit(jax.vmap(total))(thetas)
    looped = jnp.array([total(t) for t in thetas])
    np.testing.assert_allclose(batched, looped, rtol=1e-12)
    grad = jax.jit(jax.grad(total))(thetas[0])
    assert np.all(np.isfinite(grad))
    step = 1e-6 * thetas[0, 1]
    fd = (total(thetas[0].at[1].add(step)) - total(thetas[0].at[1].add(-step))) / (2 * step)
    assert grad[1] == pytest.approx(float(fd), rel=1e-5)


def test_parameter_printouts_group_nested_parameters(capsys):
    mod, disk, bulge = nested_model()
    mod.parameters(freeonly=True)
    out = capsys.readouterr().out
    assert f"{disk.id}_radial_rs" in out and f"{disk.id}_vertical_zs" not in out
    labels = mod.labels
    samples = np.arange(1.0, 1.0 + len(labels))[None, :]
    table = parameter_table(labels, mod.components, samples, np.ones(1), point_estimate=True)
    block = table.split(f"\n{disk.id}\n")[1]
    assert "radial_rs : 3.0000E+00" in block and "radial_Is : 4.0000E+00" in block


def test_pickle_round_trip_keeps_the_nesting():
    mod, disk, _ = nested_model()
    disk.vertical.zs = ARCSEC  # lambdas do not pickle
    copy = pickle.loads(pickle.dumps(disk))
    assert copy.radial.parent is copy and copy.parameter_names == disk.parameter_names
    copy.radial.rs = 2 * ARCSEC
    assert copy.radial_rs == 2 * ARCSEC and copy.losbins == 33


# -- injection and recovery -----------------------------------------------------------
def test_optimizer_recovers_an_inclined_disk():
    truth = dict(theta=0.87, inc=1.3, radial_rs=5 * ARCSEC, radial_Is=2000.0, vertical_zs=ARCSEC)
    hyper = dict(losdepth=60 * ARCSEC, losbins=65)
    true_disk = Disk(
        radial=Exponential(), vertical=HyperSecantHeight(), xc=RA, yc=DEC, **truth, **hyper
    )
    # peak 2.2, S/N 1000: the Is-zs degeneracy of a thin, nearly edge-on disk
    # (their product is what the image measures best) stays well below 1%
    img, _ = simulate.mock_observation(
        Model([true_disk]),
        shape=(48, 48),
        pixscale=ARCSEC,
        psf=simulate.gaussian_psf(size=15, fwhm=2.0),
        sigma=0.002,
        seed=4,
    )
    disk = Disk(
        radial=Exponential(
            rs=priors.loguniform(1 * ARCSEC, 20 * ARCSEC), Is=priors.loguniform(100, 1e4)
        ),
        vertical=HyperSecantHeight(zs=priors.loguniform(0.2 * ARCSEC, 5 * ARCSEC)),
        xc=priors.uniform(RA - 2 * ARCSEC, RA + 2 * ARCSEC),
        yc=priors.uniform(DEC - 2 * ARCSEC, DEC + 2 * ARCSEC),
        theta=priors.uniform(0.0, np.pi),
        inc=priors.uniform(0.5, np.pi / 2),
        **hyper,
    )
    fit = socca.fitter(mod=Model([disk]), img=img)
    fit.run(method="optimizer")
    best = dict(zip(fit.labels, fit.samples[0], strict=True))
    for name, value in truth.items():
        assert best[f"{disk.id}_{name}"] == pytest.approx(value, rel=0.01), name
    assert best[f"{disk.id}_xc"] == pytest.approx(RA, abs=0.05 * ARCSEC)


def test_custom_radial_profile_is_supported():
    custom = pytest.importorskip("socca.models.custom")
    exponential = custom.CustomProfile(
        parameters=[{"name": "h", "unit": "deg"}, {"name": "amp", "unit": "image"}],
        profile=lambda r, h, amp: amp * jnp.exp(-r / h),
        h=4 * ARCSEC,
        amp=1.5,
    )
    img = image((32, 32))
    settings = dict(xc=RA, yc=DEC, theta=0.3, inc=0.9, losdepth=40 * ARCSEC, losbins=33)
    mine = Disk(radial=exponential, vertical=HyperSecantHeight(zs=ARCSEC), **settings)
    ref = Disk(radial=Exponential(rs=4 * ARCSEC, Is=1.5), vertical=HyperSecantHeight(zs=ARCSEC))
    for name, value in settings.items():
        setattr(ref, name, value)
    assert mine.parameter_names[4:6] == ("radial_h", "radial_amp")
    np.testing.assert_allclose(mine.getmap(img), ref.getmap(img), rtol=1e-12)


# -- the other implementation's spellings (issue 17) -----------------------------------
def test_vertical_profiles_import_from_the_disk_package():
    from socca.models import vertical
    from socca.models.disk import vertical as nested
    from socca.models.disk.vertical import ExponentialHeight as Exp
    from socca.models.disk.vertical import Height

    assert Exp is ExponentialHeight and Height is vertical.Height
    assert nested.HyperSecantHeight is HyperSecantHeight
    height = Height()  # the base class shows the inclination and the settings
    assert height.parameter_names == ("inc",) and height.inc == 0.0
    assert (height.losdepth, height.losbins) == (None, 200)


def test_centre_angle_and_inclination_are_reachable_on_the_subprofiles(capsys):
    disk = Disk(radial=Exponential(rs=4 * ARCSEC, Is=1.0), vertical=HyperSecantHeight(zs=ARCSEC))
    disk.radial.xc, disk.radial.yc, disk.radial.theta = RA, DEC, 0.4
    disk.vertical.inc = 0.9
    assert (disk.xc, disk.yc, disk.theta, disk.inc) == (RA, DEC, 0.4, 0.9)
    disk.theta, disk.inc = 0.5, 1.1  # one parameter behind both spellings
    assert (disk.radial.theta, disk.vertical.inc) == (0.5, 1.1)
    disk.vertical.losdepth, disk.vertical.losbins = 50 * ARCSEC, 41
    assert (disk.losdepth, disk.losbins) == (50 * ARCSEC, 41)
    disk.losbins = 43
    assert disk.vertical.losbins == 43
    with pytest.raises(ValueError, match="losbins must be an integer >= 2, got 1"):
        disk.vertical.losbins = 1
    with pytest.raises(ValueError, match=r"yc: .*-91"):
        disk.radial.yc = -91.0  # the disk's own check: a declination
    # priors set through the sub-profiles are the disk's parameters: the labels stay
    disk.radial.xc = priors.uniform(RA - ARCSEC, RA + ARCSEC)
    disk.vertical.inc = priors.uniform(0.0, 1.5)
    assert disk.xc is disk.radial.xc
    d = disk.id
    assert Model([disk]).labels == (f"{d}_xc", f"{d}_inc")
    assert "radial_xc" not in disk.parameter_names and "vertical_inc" not in disk.parameter_names
    disk.parameters()
    out = capsys.readouterr().out
    assert "\nxc " in out and "\ninc " in out and "radial_xc" not in out
    # a detached sub-profile no longer reaches the disk
    old = disk.radial
    disk.radial = Exponential(rs=4 * ARCSEC, Is=1.0)
    with pytest.raises(AttributeError):
        old.xc = 1.0
    assert disk.radial.xc is disk.xc


def test_values_given_to_the_subprofiles_become_the_disks():
    img = image((24, 24))
    # the other implementation's way of writing a disk: geometry on the sub-profiles
    theirs = Disk(
        radial=Exponential(xc=RA, yc=DEC, theta=0.3, rs=3 * ARCSEC, Is=1.0),
        vertical=ExponentialHeight(zs=ARCSEC, inc=1.0, losdepth=40 * ARCSEC, losbins=33),
    )
    ours = Disk(
        radial=Exponential(rs=3 * ARCSEC, Is=1.0),
        vertical=ExponentialHeight(zs=ARCSEC),
        xc=RA, yc=DEC, theta=0.3, inc=1.0, losdepth=40 * ARCSEC, losbins=33,
    )  # fmt: skip
    assert theirs.parameter_names == ours.parameter_names
    assert (theirs.losdepth, theirs.losbins) == (40 * ARCSEC, 33)
    np.testing.assert_array_equal(theirs.getmap(img), ours.getmap(img))
    # a swapped-in profile brings its values; one left at its defaults keeps the disk's
    theirs.radial = Exponential(xc=RA + ARCSEC, rs=3 * ARCSEC, Is=1.0)
    assert (theirs.xc, theirs.yc, theirs.theta) == (RA + ARCSEC, DEC, 0.3)
    theirs.vertical = HyperSecantHeight(zs=ARCSEC)
    assert (theirs.inc, theirs.losbins) == (1.0, 33)
    with pytest.raises(ValueError, match=r"xc is given twice, 2.0 to the disk and 1.0 to its"):
        Disk(radial=Exponential(xc=1.0), xc=2.0)
    with pytest.raises(ValueError, match=r"losbins is given twice, 60 .* 50 to its vertical"):
        Disk(vertical=ExponentialHeight(losbins=50), losbins=60)
    copy = pickle.loads(pickle.dumps(theirs))
    copy.radial.xc = RA
    assert copy.xc == RA and theirs.xc == RA + ARCSEC


def test_inclined_exponential_disk_with_default_losbins_matches_quadrature():
    # I(u, v) = ∫ Is exp(-R/rs) exp(-|z|/zs) ds along each line of sight, by
    # scipy.integrate.quad (the kinks of |z| and R given as break points),
    # against the default losbins (200) on a line of sight covering the disk
    img = image((24, 24))
    rs, zs, i0, inc, theta = 3 * ARCSEC, 0.8 * ARCSEC, 2.0, np.radians(60), 0.7
    disk = Disk(
        radial=Exponential(rs=rs, Is=i0),
        vertical=ExponentialHeight(zs=zs),
        xc=RA, yc=DEC, theta=theta, inc=inc, losdepth=40 * ARCSEC,
    )  # fmt: skip
    assert disk.losbins == 200
    cos_i, sin_i = np.cos(inc), np.sin(inc)

    def emissivity(s, u, v):
        y, z = v * cos_i + s * sin_i, s * cos_i - v * sin_i
        return i0 * np.exp(-np.hypot(u, y) / rs - abs(z) / zs)

    def line_of_sight(u, v):
        kinks = [v * sin_i / cos_i, -v * cos_i / sin_i]  # z = 0, and y = 0
        reach = 30 * rs  # exp(-30): nothing beyond
        return integrate.quad(emissivity, -reach, reach, args=(u, v), points=kinks)[0]

    u, v = sky_axes(img, theta)
    expected = np.vectorize(line_of_sight)(u, v)
    # 200 points: 0.15% of the peak (64 points: 1%), the trapezoid rule across the kink of |z|
    np.testing.assert_allclose(disk.getmap(img), expected, rtol=0, atol=2.5e-3 * expected.max())
