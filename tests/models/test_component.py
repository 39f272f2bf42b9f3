"""Component machinery: ids, parameter tables, guards."""

import re

import numpyro.distributions as dist
import pytest

from socca import priors
from socca.models import Background, Point, Sersic


def test_ids_are_unique_and_increase():
    a, b, c = Sersic(), Point(), Background()
    numbers = [int(x.id.split("_")[1]) for x in (a, b, c)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert re.fullmatch(r"comp_\d{2,}", a.id)
    with pytest.raises(AttributeError):
        a.id = "comp_99"


def test_keyword_construction_and_defaults():
    s = Sersic(re=1e-4, Ie=2.0, ns=4)
    assert s.re == 1e-4 and s.ns == 4.0 and s.theta == 0.0 and s.xc is None
    assert s.parameter_names[:5] == ("xc", "yc", "theta", "e", "cbox")
    with pytest.raises(AttributeError, match="nn"):
        Sersic(nn=3)


def test_values_priors_and_ties_are_accepted():
    s = Sersic()
    s.re = priors.loguniform(1e-5, 1e-3)
    s.Ie = dist.Normal(1.0, 0.1)
    s.ns = lambda comp_00_Ie: comp_00_Ie
    assert priors.is_free(s.re) and priors.is_tied(s.ns)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            s.e = bad


def test_add_and_remove_parameters():
    s = Sersic()
    s.addparameter("scale", priors.uniform(1, 2), units="", description="a ratio")
    assert "scale" in s.parameter_names
    s.scale = 1.5
    assert s.scale == 1.5
    with pytest.raises(ValueError, match="already"):
        s.addparameter("re")
    with pytest.raises(ValueError, match="identifier"):
        s.addparameter("2x")
    with pytest.raises(ValueError, match="built-in"):
        s.removeparameter("re")
    s.removeparameter("scale")
    assert "scale" not in s.parameter_names
    with pytest.raises(ValueError, match="no parameter"):
        s.removeparameter("scale")


def test_positive_flag():
    s = Sersic()
    assert s.positive is False
    s.positive = True
    assert s.positive
    with pytest.raises(TypeError):
        s.positive = "yes"


def test_parameters_prints_units_values_and_descriptions(capsys):
    s = Sersic(re=priors.uniform(1e-4, 2e-4), Ie=1.0)
    s.parameters()
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{s.id} (Sersic)"
    assert re.search(
        r"^re\s+: Uniform\(low=0\.0001, high=0\.0002\)\s+\[deg\]\s+Effective", out, re.M
    )
    assert re.search(r"^Ie\s+: 1\.0000E\+00", out, re.M)
    assert re.search(r"^xc\s+: None", out, re.M)
