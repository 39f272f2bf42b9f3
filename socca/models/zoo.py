"""The catalogue of model components, printed by family."""

from __future__ import annotations

import inspect

from socca.models import background, bridge, custom, disk, point, radial, truncation, vertical

FAMILIES = (
    (
        "Radial profiles (elliptical; truncation=... available)",
        (
            radial.Sersic,
            radial.Exponential,
            radial.Gaussian,
            radial.Beta,
            radial.gNFW,
            radial.Power,
            radial.TopHat,
            radial.PolyExponential,
            radial.PolyExpoRefact,
            radial.ModExponential,
            custom.CustomProfile,
        ),
    ),
    ("Point sources", (point.Point,)),
    ("Backgrounds (never PSF-convolved)", (background.Background,)),
    ("Thick disks", (disk.Disk,)),
    ("Vertical profiles of disks", (vertical.HyperSecantHeight, vertical.ExponentialHeight)),
    ("Filaments", (bridge.SimpleBridge, bridge.MesaBridge)),
    ("Truncations (socca.models.truncation)", (truncation.HyperTangent, truncation.Exponential)),
)


def summary(cls) -> str:
    """First line of a class's docstring, without reST markup."""
    doc = inspect.getdoc(cls) or ""
    return doc.splitlines()[0].replace("``", "") if doc else ""


def zoo_text() -> str:
    """The text :func:`zoo` prints."""
    width = max(len(cls.__name__) for _, members in FAMILIES for cls in members)
    blocks = []
    for title, members in FAMILIES:
        lines = [title, "-" * len(title)]
        lines += [f"{cls.__name__:<{width}}  {summary(cls)}" for cls in members]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def zoo():
    """Print every available model component, grouped by family, with a one-line summary."""
    print(zoo_text())
