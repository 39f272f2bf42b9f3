"""Inference: the compiled problem (likelihood, priors) and sampler backends."""

from socca.inference.problem import Problem

__all__ = ["Problem"]
