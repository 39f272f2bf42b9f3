"""zoo(): every component the package exports is listed once, under its family."""

import inspect
import re

import socca
from socca import models
from socca.models.component import Component
from socca.models.zoo import FAMILIES


def exported_components():
    return {
        obj
        for name in models.__all__
        if inspect.isclass(obj := getattr(models, name))
        and issubclass(obj, Component)
        and obj.__module__ != "socca.models.component"
        and obj.__name__ != "Profile"
    }


def test_every_exported_component_is_listed_once():
    listed = [cls for _, members in FAMILIES for cls in members]
    assert len(listed) == len(set(listed))
    assert exported_components() <= set(listed)


def test_zoo_prints_families_and_summaries(capsys):
    socca.models.zoo()
    out = capsys.readouterr().out
    for title, members in FAMILIES:
        assert f"{title}\n{'-' * len(title)}\n" in out
        for cls in members:
            rows = [x for x in out.splitlines() if re.match(rf"{cls.__name__}\s{{2,}}\S", x)]
            assert rows and all(len(r.split(None, 1)[1]) > 10 and "``" not in r for r in rows)
    assert "gNFW" in out and "MesaBridge" in out and "HyperSecantHeight" in out
