"""Noise models: they turn a model image into a normalised log-likelihood."""

from socca.noise.base import Noise
from socca.noise.normal import Normal

__all__ = ["Noise", "Normal"]
