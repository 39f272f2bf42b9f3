"""Model components and composite models."""

from socca.models.background import Background
from socca.models.component import Component, Param
from socca.models.model import Model
from socca.models.point import Point
from socca.models.radial import Beta, Exponential, Gaussian, Power, Profile, Sersic, TopHat

__all__ = [
    "Background",
    "Beta",
    "Component",
    "Exponential",
    "Gaussian",
    "Model",
    "Param",
    "Point",
    "Power",
    "Profile",
    "Sersic",
    "TopHat",
]
