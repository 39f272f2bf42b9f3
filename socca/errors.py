"""The exceptions socca raises for what a user hands in.

Every error socca raises about its input derives from :class:`SoccaError`, so a
pipeline can tell "the data or the model description is wrong" from a bug or a
failure in a library underneath::

    try:
        img = socca.data.Image("field.fits", addpsf="psf.fits")
    except socca.SoccaError as err:
        log.error("skipping field: %s", err)

Each class also derives from the builtin exception it refines (``ValueError``,
``TypeError``, ...), so code that catches those keeps working. Messages follow
one pattern: the argument or parameter at fault, what was wrong with it (the
value, or a summary of it), and what was expected.
"""

from __future__ import annotations

__all__ = [
    "CheckpointWarning",
    "InputError",
    "InputIndexError",
    "InputTypeError",
    "MissingFileError",
    "NumericalWarning",
    "SoccaError",
    "StateError",
    "UnknownParameterError",
]


class SoccaError(Exception):
    """Base class of every error socca raises about its input or its use."""


class InputError(SoccaError, ValueError):
    """A value handed in is invalid: wrong range, shape, NaN/inf, inconsistent options."""


class InputTypeError(SoccaError, TypeError):
    """A value handed in has the wrong type (a string where a number is expected, ...)."""


class MissingFileError(SoccaError, FileNotFoundError):
    """A file named by the user (FITS image, PSF, region file) does not exist."""


class InputIndexError(SoccaError, IndexError):
    """An index handed in is out of range (an HDU number, a component index)."""


class UnknownParameterError(SoccaError, AttributeError):
    """A component was given a parameter it does not have (usually a typo)."""


class StateError(SoccaError, RuntimeError):
    """An object was used before it was ready (a noise model never bound to an image)."""


class NumericalWarning(UserWarning):
    """Some likelihood evaluations were NaN or infinite and were given ``-inf``."""


class CheckpointWarning(UserWarning):
    """A checkpoint is resumed although it cannot be fully checked against the problem."""
