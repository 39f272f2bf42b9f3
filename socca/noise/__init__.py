"""Noise models: they turn a model image into a normalised log-likelihood."""

from socca.noise.base import Noise
from socca.noise.correlated import NormalCorrelated
from socca.noise.fourier import NormalFourier
from socca.noise.interferometric import NormalRI
from socca.noise.normal import Normal
from socca.noise.poisson import Poisson

__all__ = ["Noise", "Normal", "NormalCorrelated", "NormalFourier", "NormalRI", "Poisson"]
