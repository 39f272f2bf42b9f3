"""Configuration files for ``socca fit``: building the fit, and one-line located errors."""

import math
from pathlib import Path

import pytest

from socca import config, priors
from socca.config import ConfigError, KeyLines
from tests.conftest import SHARED_DATA

ARCSEC = 1.0 / 3600.0
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tutorial.toml"

BASE = """\
# a small fit of the tutorial image
[image]
path = "DATA/tutorial_mock.fits"
hdu = 0

[psf]
path = "DATA/tutorial_psf.fits"

[[component]]
name = "point"
type = "Point"
xc = {prior = "uniform", low = 19.999, high = 20.001}
yc = {prior = "uniform", low = -10.001, high = -9.999}
Ic = {prior = "uniform", low = 0.0, high = 50.0}

[[component]]
name = "galaxy"
type = "Sersic"
xc = {boundto = "point"}
yc = {boundto = "point", param = "yc"}
theta = {prior = "uniform", low = 0.0, high = "180 deg"}
e = {prior = "uniform", low = 0.0, high = 0.9}
re = {prior = "loguniform", low = "0.1 arcsec", high = "10 arcsec"}
Ie = {prior = "loguniform", low = 0.01, high = 10.0}
ns = 1.0

[fit]
method = "nautilus"
seed = 1

[fit.options]
nlive = 100
"""


def write(tmp_path, old=None, new=None, name="fit.toml"):
    text = BASE
    if old is not None:
        assert old in text, old
        text = text.replace(old, new, 1)
    text = text.replace("DATA", SHARED_DATA.as_posix())
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_one_located_line(path, marker, parts):
    """Loading ``path`` fails with one line blaming the line of ``marker`` and holding ``parts``."""
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line_of(path, marker)}: "), message
    for part in parts:
        assert part in message, message


def line_of(path, marker):
    """1-based line of the first line of ``path`` containing ``marker``."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if marker in line)


# --------------------------------------------------------------------------- building


def test_example_builds_the_tutorial_fit():
    cfg = config.load(EXAMPLE)
    point, galaxy = cfg.model.components
    assert cfg.names == ["point", "galaxy"]
    assert (type(point).__name__, type(galaxy).__name__) == ("Point", "Sersic")
    assert cfg.image.shape == (128, 128) and cfg.image.psf is not None
    assert len(cfg.fitter.labels) == 7
    assert isinstance(galaxy.xc, priors.BoundTo) and galaxy.xc.component is point
    assert galaxy.yc.name == "yc" and galaxy.ns == 1.0
    # unit strings are converted exactly to the parameter's unit
    assert float(galaxy.theta.high) == math.pi
    assert float(galaxy.re.low) == 0.1 * ARCSEC and float(galaxy.re.high) == 10 * ARCSEC
    assert float(point.xc.low) == 20.0 - 2 * ARCSEC and float(point.yc.high) == -10 + 2 * ARCSEC
    assert (cfg.method, cfg.run, cfg.options) == ("nautilus", {"seed": 1}, {"nlive": 500})
    assert cfg.folder == EXAMPLE.parent / "tutorial_output"
    assert set(cfg.outputs()) >= {"parameters", "table", "model", "residual", "corner", "fit"}


def test_fixed_values_units_and_image_options(tmp_path):
    path = write(
        tmp_path,
        'hdu = 0\n',
        'hdu = 0\nmask = ["fk5; circle(20.001, -10.0, 0.5\\")"]\n'
        'cutout = {center = [63.5, 63.5], size = [60, 80]}\n'
        '[noise]\nmodel = "Normal"\nsigma = 0.05\n',
    )
    text = path.read_text().replace('re = {prior = "loguniform", low = "0.1 arcsec", '
                                    'high = "10 arcsec"}', 're = "1.5 arcsec"')
    text = text.replace('seed = 1', 'seed = 1\ncheckpoint = "ckpt"')
    path.write_text(text + '\n[output]\nfolder = "out"\nformat = "PNG"\n')
    cfg = config.load(path)
    img = cfg.image
    assert img.shape == (60, 80)
    assert 0 < img.mask.size - img.mask.sum() < 200  # the masked circle, about 80 pixels
    assert img.noise.noise_level == 0.05
    assert cfg.model.components[1].re == 1.5 * ARCSEC
    assert cfg.run["checkpoint"] == str(tmp_path / "out" / "ckpt")
    assert cfg.outputs()["comparison"] == tmp_path / "out" / "comparison.png"


DISK = """
[[component]]
name = "disk"
type = "Disk"
radial = "Exponential"
vertical = "ExponentialHeight"
losdepth = "90 arcsec"
losbins = 96
xc = {boundto = "point"}
yc = {boundto = "point"}
inc = {prior = "uniform", low = 0.0, high = 1.5}
radial_rs = "3 arcsec"
radial_Is = {prior = "loguniform", low = 0.001, high = 1.0}
vertical_zs = "0.5 arcsec"

[[component]]
type = "MesaBridge"
parallel = "TopHat"
xc = 20.0
yc = -10.0
rs = "4 arcsec"
Is = 0.1

[[component]]
type = "Beta"
truncation = "Exponential"
xc = 20.0
yc = -10.0
rc = "5 arcsec"
Ic = 0.1
rt = "20 arcsec"
"""


def test_sub_profiles_hyper_parameters_and_truncations(tmp_path):
    path = write(tmp_path, "[fit]\n", DISK + "\n[fit]\n")
    cfg = config.load(path)
    point, _, disk, bridge, beta = cfg.model.components
    assert type(disk.radial).__name__ == "Exponential"
    assert type(disk.vertical).__name__ == "ExponentialHeight"
    assert disk.losdepth == pytest.approx(90 * ARCSEC, rel=1e-14) and disk.losbins == 96
    assert disk.radial.rs == pytest.approx(3 * ARCSEC, rel=1e-14)
    assert isinstance(disk.xc, priors.BoundTo) and disk.xc.component is point
    assert {f"{disk.id}_radial_Is", f"{disk.id}_inc"} <= set(cfg.fitter.labels)
    assert type(bridge.parallel).__name__ == "TopHat"
    assert type(bridge.radial).__name__ == "Beta"  # the default kept
    assert type(beta.truncation).__name__ == "Exponential"
    assert beta.rt == pytest.approx(20 * ARCSEC, rel=1e-14)
    assert beta.wt == beta.truncation.wt  # not given: the truncation's default
    summary = cfg.summary()
    assert "'disk' (Disk: radial=Exponential, vertical=ExponentialHeight)" in summary
    assert "(MesaBridge: radial=Beta, parallel=TopHat)" in summary
    assert "(Beta: truncation=Exponential)" in summary


SUB_ERRORS = {
    "unknown sub-profile type": (
        'radial = "Exponential"', 'radial = "Exponentail"', "Exponentail",
        ["component 'disk' radial: unknown type 'Exponentail'", "did you mean 'Exponential'"],
    ),
    "sub-profile unfit for its role": (
        'vertical = "ExponentialHeight"', 'vertical = "Sersic"', 'vertical = "Sersic"',
        ["Disk: vertical=Sersic is not supported", "ExponentialHeight"],
    ),
    "bad hyper-parameter": (
        "losbins = 96", "losbins = 1", "losbins = 1", ["losbins must be an integer >= 2"],
    ),
    "bad hyper-parameter unit": (
        '"90 arcsec"', '"90 kg"', "90 kg", ["component 'disk' losdepth: '90 kg' cannot"],
    ),
    "unknown truncation": (
        'truncation = "Exponential"', 'truncation = "Gauss"', "Gauss",
        ["truncation: unknown truncation 'Gauss'", "expected one of: HyperTangent, Exponential"],
    ),
    "truncation parameter without a truncation": (
        'truncation = "Exponential"\n', "", 'rt = "20',
        ["unknown key 'rt'"],
    ),
}


@pytest.mark.parametrize("case", list(SUB_ERRORS))
def test_sub_profile_errors_are_one_located_line(tmp_path, case):
    old, new, marker, parts = SUB_ERRORS[case]
    path = write(tmp_path, "[fit]\n", DISK.replace(old, new, 1) + "\n[fit]\n")
    assert_one_located_line(path, marker, parts)


def test_key_lines_of_a_tricky_document():
    text = (
        'title = "a [not a table] # not a comment"\n'  # 1
        "multi = '''\n"  # 2
        "x = 1\n"  # 3: inside a string
        "'''\n"  # 4
        "[a.b]  # comment [c]\n"  # 5
        '"quoted key".c = {d = 1, e = {f = "}"}}\n'  # 6
        "arr = [\n"  # 7
        "  1,  # one\n"  # 8
        "  {g = 2},\n"  # 9
        "]\n"  # 10
        "[[comp]]\n"  # 11
        "k = 1\n"  # 12
        "[[comp]]\n"  # 13
        "k = 2\n"  # 14
        "[comp.sub]\n"  # 15
        "z = 3\n"  # 16
    )
    lines = KeyLines(text)
    assert lines.line(("multi",)) == 2 and ("x",) not in lines.lines
    assert lines.line(("a", "b")) == 5
    assert lines.line(("a", "b", "quoted key", "c", "e", "f")) == 6
    assert lines.line(("a", "b", "arr", 1, "g")) == 9
    assert lines.line(("comp", 0, "k")) == 12 and lines.line(("comp", 1, "k")) == 14
    assert lines.line(("comp", 1, "sub", "z")) == 16
    assert lines.line(("comp", 1, "missing")) == 13  # the deepest known parent


# --------------------------------------------------------------------------- errors

# (old text, new text, marker of the line to blame, substrings of the message)
ERRORS = {
    "unknown key": (
        're = {prior', 'rre = {prior', "rre =",
        ["unknown key 'rre'", "[[component]] #2 'galaxy' (Sersic)", "did you mean 're'",
         "expected one of: type, name, positive, truncation, xc, yc, theta, e, cbox, re, Ie, ns"],
    ),
    "unknown section key": (
        "path = \"DATA/tutorial_psf.fits\"", "pth = \"x.fits\"", "pth =",
        ["unknown key 'pth' in [psf]", "expected one of: path, hdu, normalize"],
    ),
    "unknown section": ("[fit]\n", "[fitt]\n", "[fitt]", ["unknown key 'fitt'"]),
    "missing image": (
        "tutorial_mock.fits", "no_such_image.fits", "no_such_image",
        ["image.path: image file not found:", str(SHARED_DATA / "no_such_image.fits")],
    ),
    "missing psf": (
        "tutorial_psf.fits", "no_such_psf.fits", "no_such_psf",
        ["psf.path: PSF file not found:", str(SHARED_DATA / "no_such_psf.fits")],
    ),
    "missing mask file": (
        "hdu = 0\n", 'hdu = 0\nmask = ["stars.reg"]\n', "stars.reg",
        ["image.mask[0]: mask file not found"],
    ),
    "bad prior name": (
        '"loguniform", low = "0.1', '"logunifrom", low = "0.1', "logunifrom",
        ["component 'galaxy' re: unknown prior 'logunifrom'", "did you mean 'loguniform'",
         "expected one of: uniform, loguniform"],
    ),
    "bad prior bounds": (
        "low = 0.01, high = 10.0", "low = 10.0, high = 0.01", "low = 10.0",
        ["component 'galaxy' Ie: loguniform: low=10.0 must be smaller than high=0.01"],
    ),
    "non-positive log bound": (
        "low = 0.01, high = 10.0", "low = 0, high = 10.0", "low = 0, high",
        ["component 'galaxy' Ie: loguniform: low=0.0 must be positive"],
    ),
    "bad prior argument": (
        "low = 0.0, high = 0.9", "lo = 0.0, high = 0.9", "lo = 0.0",
        ["component 'galaxy' e: unknown argument 'lo' of prior 'uniform'"],
    ),
    "bad method": (
        'method = "nautilus"', 'method = "nautilis"', "nautilis",
        ["fit.method: unknown method 'nautilis'", "did you mean 'nautilus'"],
    ),
    "bad option": (
        "nlive = 100", "nlive = 100\nn_lieve = 3", "n_lieve",
        ["fit.options (nautilus)", "'n_lieve'"],
    ),
    "run argument among options": (
        "nlive = 100", "nlive = 100\nseed = 3", "seed = 3",
        ["fit.options.seed: seed is a key of [fit], not of [fit.options]"],
    ),
    "tie to unknown component": (
        '{boundto = "point", param = "yc"}', '{boundto = "pont", param = "yc"}', "pont",
        ["component 'galaxy' yc: boundto 'pont': no component named 'pont'",
         "named components: point, galaxy"],
    ),
    "tie to unknown parameter": (
        '{boundto = "point", param = "yc"}', '{boundto = "point", param = "dec"}', '"dec"',
        ["component 'galaxy' yc:", "no parameter 'dec'"],
    ),
    "wrong type hdu": (
        "hdu = 0", 'hdu = "zero"', "zero",
        ["image.hdu: expected an HDU index (integer >= 0), got a string 'zero'"],
    ),
    "wrong type parameter": (
        "ns = 1.0", "ns = true", "ns = true",
        ["component 'galaxy' ns: expected a number", "got a boolean true"],
    ),
    "wrong type seed": ("seed = 1", "seed = 1.5", "seed = 1.5", ["fit.seed: expected a seed"]),
    "bad unit": (
        '"10 arcsec"', '"10 kg"', "10 kg",
        ["component 'galaxy' re high: '10 kg' cannot be converted to deg"],
    ),
    "unknown component type": (
        'type = "Sersic"', 'type = "Sercic"', "Sercic",
        ["[[component]] #2: unknown type 'Sercic'", "did you mean 'Sersic'"],
    ),
    "missing parameter": (
        'Ic = {prior = "uniform", low = 0.0, high = 50.0}\n', "", "[[component]]",
        ["[[component]] #1 'point' (Point): no value for Ic"],
    ),
    "bad noise keyword": (
        "[fit]\n", '[noise]\nsgima = 0.1\n\n[fit]\n', "sgima",
        ["noise: Normal() got unexpected keyword argument(s) 'sgima'"],
    ),
    "invalid toml": ("seed = 1", "seed = = 1", "seed = = 1", ["invalid TOML"]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_are_one_located_line(tmp_path, case):
    old, new, marker, parts = ERRORS[case]
    assert_one_located_line(write(tmp_path, old, new), marker, parts)


def test_missing_sections_and_config_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        config.load(tmp_path / "nothing.toml")
    path = tmp_path / "empty.toml"
    path.write_text("[fit]\nmethod = 'optimizer'\n")
    with pytest.raises(ConfigError, match=r"empty.toml: missing \[image\] section"):
        config.load(path)


def test_optimizer_refuses_checkpoint_and_getzprior(tmp_path):
    path = write(tmp_path, 'method = "nautilus"\nseed = 1\n\n[fit.options]\nnlive = 100\n',
                 'method = "optimizer"\ngetzprior = true\n')
    with pytest.raises(ConfigError, match=r"fit.toml:\d+: fit.getzprior: method 'optimizer'"):
        config.load(path)
