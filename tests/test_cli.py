"""``socca fit CONFIG.toml``: the same fit as the equivalent Python script, and clear errors."""

import csv
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import socca
from socca import cli, datasets

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tutorial.toml"
EXAMPLE_DATA = EXAMPLE.parent  # tutorial_mock.fits and tutorial_psf.fits ship next to it
SCRIPT = ROOT / "examples" / "tutorial.py"
OUTPUTS = {"parameters.txt", "parameters.csv", "model.fits", "residual.fits", "fit.pickle",
           "comparison.pdf"}


def example_text():
    """examples/tutorial.toml with absolute data paths, to be written anywhere."""
    return EXAMPLE.read_text().replace('path = "tutorial_',
                                       f'path = "{EXAMPLE_DATA.as_posix()}/tutorial_')


def optimizer_config(tmp_path):
    """examples/tutorial.toml copied to ``tmp_path``, switched to the optimizer."""
    edited = example_text().replace('method = "nautilus"', 'method = "optimizer"')
    edited = re.sub(r"^\[fit\.options\][^\[]*", "", edited, flags=re.M)  # nautilus' nlive
    assert edited.count(EXAMPLE_DATA.as_posix()) == 2 and "optimizer" in edited
    assert "nlive" not in edited
    path = tmp_path / "tutorial.toml"
    path.write_text(edited)
    return path


def renumber(text):
    """Component ids renumbered from comp_00 in order of appearance.

    Ids count every component made in the process, so a fit made after
    another in the same process has later ids; in a fresh process both start
    at comp_00.
    """
    ids = {}
    return re.sub(r"comp_\d+", lambda m: ids.setdefault(m.group(), f"comp_{len(ids):02d}"), text)


def tutorial_script():
    spec = importlib.util.spec_from_file_location("tutorial_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def console_script():
    path = Path(sys.executable).with_name("socca")
    assert path.exists(), f"the socca console script is not installed next to {sys.executable}"
    return str(path)


def test_fit_gives_the_table_of_the_python_script(tmp_path, capsys):
    cfg = optimizer_config(tmp_path)
    assert cli.main(["fit", str(cfg)]) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "tutorial_output"
    table = (out / "parameters.txt").read_text()
    assert table.startswith("\nBest-fit parameters\n") and table in printed
    assert "no corner plot" in printed  # the optimizer has no posterior to draw
    assert {p.name for p in out.iterdir()} == OUTPUTS
    for name in OUTPUTS:
        assert str(out / name) in printed

    fit = tutorial_script().main(["--method", "optimizer"])
    script = capsys.readouterr().out
    assert renumber(script).endswith(renumber(table))

    # the CSV has the same optimum at full precision
    with open(out / "parameters.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["parameter"] for r in rows] == ["xc", "yc", "Ic", "theta", "e", "re", "Ie"]
    assert [r["name"] for r in rows] == ["point"] * 3 + ["galaxy"] * 4
    assert [r["unit"] for r in rows][:2] == ["deg", "deg"]
    np.testing.assert_array_equal([float(r["value"]) for r in rows], fit.samples[0])
    assert all(r["err_minus"] == r["err_plus"] == "" for r in rows)

    # residual = data - (convolved sources + background), on the image WCS
    smoothed, background = fit.getmodel(what=["smoothed", "background"])
    with fits.open(out / "residual.fits") as hdul:
        np.testing.assert_allclose(hdul[0].data, fit.img.data - smoothed - background, atol=1e-9)
        assert hdul[0].header["CTYPE1"] == "RA---TAN" and hdul["MASK"].data.all()
    with fits.open(out / "model.fits") as hdul:
        assert hdul[0].header["NSLICES"] == 3 and hdul[0].data.shape == (3, 128, 128)
    assert len(socca.load(str(out / "fit.pickle")).labels) == 7

    # a second run refuses to replace the results, before fitting, unless told to
    assert cli.main(["fit", str(cfg)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, s in enumerate(cfg.read_text().splitlines(), 1) if "folder =" in s)
    assert err.startswith(f"socca: error: {cfg}:{line}: output.folder: {out} already holds "
                          "parameters.txt") and err.count("\n") == 1 and "--overwrite" in err
    before = (out / "parameters.csv").stat().st_mtime_ns
    assert cli.main(["fit", "--overwrite", str(cfg)]) == 0
    assert renumber((out / "parameters.txt").read_text()) == renumber(table)
    assert (out / "parameters.csv").stat().st_mtime_ns > before


def test_console_script_checks_the_example():
    run = subprocess.run(
        [console_script(), "fit", "--check", "examples/tutorial.toml"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "examples/tutorial.toml: configuration OK" in run.stdout
    assert "comp_00 'point' (Point), comp_01 'galaxy' (Sersic)" in run.stdout
    assert "free (7)" in run.stdout and "method     : nautilus (seed=1, nlive=500)" in run.stdout
    assert "Traceback" not in run.stderr


def test_console_script_reports_one_line(tmp_path):
    text = example_text().replace('re = {prior = "loguniform"', 're = {prior = "logunifrom"')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "logunifrom" in s)
    run = subprocess.run([console_script(), "fit", str(bad)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"socca: error: {bad}:{line}: component 'galaxy' re: "
                                 "unknown prior 'logunifrom'")
    assert not (tmp_path / "tutorial_output").exists()


@pytest.mark.parametrize("flag", [[], ["--check"]])
def test_errors_exit_with_status_2(tmp_path, capsys, flag):
    bad = tmp_path / "bad.toml"
    bad.write_text(example_text().replace('/tutorial_psf.fits"', '/missing_psf.fits"'))
    assert cli.main(["fit", *flag, str(bad)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, s in enumerate(bad.read_text().splitlines(), 1) if "missing_psf" in s)
    assert err == (f"socca: error: {bad}:{line}: psf.path: PSF file not found: "
                   f"{EXAMPLE_DATA / 'missing_psf.fits'}\n")


def test_demo_writes_every_file_and_says_where(tmp_path, capsys):
    from socca.cli import main

    outdir = tmp_path / "demo"
    assert main(["demo", "--outdir", str(outdir), "--method", "optimizer", "--seed", "2"]) == 0
    tail = capsys.readouterr().out.strip().splitlines()[-4:]
    # the optimizer has no posterior: no corner plot, and the list says so by omission
    assert tail[0] == "Files written:"
    for line, name in zip(tail[1:], ["mock.fits", "model.fits", "comparison.png"], strict=True):
        path = Path(line.split(": ", 1)[1])
        assert path == outdir / name and path.stat().st_size > 0
    assert (outdir / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (outdir / "corner.png").exists()


def test_demo_truths_follow_the_free_parameters():
    from socca.cli import _truth_vector

    class Labelled:
        labels = ("comp_00_xc", "comp_00_Ic", "comp_01_re", "comp_01_radial_rs")

    truth = {"xc": 20.0, "Ic": 10.0, "re": 4e-4}
    assert _truth_vector(Labelled, truth) == [20.0, 10.0, 4e-4, None]


def test_example_data_are_the_tutorial_data():
    """The files next to examples/tutorial.toml are what ``socca demo --data`` writes."""
    mock, psf = datasets.tutorial_hdus()
    with fits.open(EXAMPLE_DATA / "tutorial_mock.fits") as hdul:
        assert hdul[0].header.tostring() == mock.header.tostring()
        np.testing.assert_allclose(hdul[0].data, mock.data, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fits.getdata(EXAMPLE_DATA / "tutorial_psf.fits"), psf.data,
                               rtol=1e-12, atol=0)


def test_demo_data_writes_the_tutorial_files(tmp_path, capsys):
    folder = tmp_path / "data"
    assert cli.main(["demo", "--data", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    mock, psf = folder / "tutorial_mock.fits", folder / "tutorial_psf.fits"
    assert lines[1:3] == [f"  image : {mock}", f"  psf   : {psf}"]
    assert fits.getdata(mock).shape == (128, 128) and fits.getdata(psf).shape == (34, 34)
    # the same data again: nothing to refuse, nothing rewritten
    before = mock.stat().st_mtime_ns
    assert cli.main(["demo", "--data", str(folder)]) == 0
    assert mock.stat().st_mtime_ns == before


def test_demo_data_refuses_to_replace_a_file(tmp_path, capsys):
    (tmp_path / "tutorial_psf.fits").write_text("my own PSF")
    assert cli.main(["demo", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"socca: error: {tmp_path / 'tutorial_psf.fits'} already exists")
    assert err.count("\n") == 1 and "--overwrite" in err
    assert (tmp_path / "tutorial_psf.fits").read_text() == "my own PSF"
    assert not (tmp_path / "tutorial_mock.fits").exists()  # nothing written
    assert cli.main(["demo", "--data", str(tmp_path), "--overwrite"]) == 0
    assert fits.getdata(tmp_path / "tutorial_psf.fits").shape == (34, 34)


def test_demo_overwrite_needs_data(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--overwrite"])
    assert exit_info.value.code == 2
    assert "--overwrite applies only with --data" in capsys.readouterr().err
