"""Model components and composite models (``zoo()`` lists them all)."""

from socca.models import truncation
from socca.models.background import Background
from socca.models.bridge import MesaBridge, SimpleBridge
from socca.models.component import Component, Param
from socca.models.custom import CustomProfile
from socca.models.disk import Disk
from socca.models.model import Model
from socca.models.point import Point
from socca.models.radial import (
    Beta,
    Exponential,
    Gaussian,
    ModExponential,
    PolyExponential,
    PolyExpoRefact,
    Power,
    Profile,
    Sersic,
    TopHat,
    gNFW,
)
from socca.models.truncation import HyperTangent
from socca.models.vertical import ExponentialHeight, HyperSecantHeight
from socca.models.zoo import zoo

__all__ = [
    "Background",
    "Beta",
    "Component",
    "CustomProfile",
    "Disk",
    "Exponential",
    "ExponentialHeight",
    "Gaussian",
    "HyperSecantHeight",
    "HyperTangent",
    "MesaBridge",
    "Model",
    "ModExponential",
    "Param",
    "Point",
    "PolyExpoRefact",
    "PolyExponential",
    "Power",
    "Profile",
    "Sersic",
    "SimpleBridge",
    "TopHat",
    "gNFW",
    "truncation",
    "zoo",
]
