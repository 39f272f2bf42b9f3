"""The component base class: parameter declarations, ids, printing, guards.

A component only *declares* its parameters (name, default, units,
description) and provides a pure rendering method; the values users assign
(numbers, priors, functions) are resolved by :mod:`socca.models.render`.
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass, field

from socca import priors

DEG_PER_ARCSEC = 1.0 / 3600.0


@dataclass(frozen=True)
class Param:
    """Declaration of one component parameter."""

    name: str
    default: object = None
    units: str = ""
    description: str = ""


@dataclass
class ParamEntry:
    """A parameter of one component instance: its current value and metadata."""

    value: object
    units: str = ""
    description: str = ""
    declared: bool = field(default=True, repr=False)


_ids = itertools.count()


def is_static_zero(value) -> bool:
    """True for a parameter fixed to exactly zero (a Python number, not traced).

    Fixed values reach the pure rendering code as Python floats, so terms that
    vanish can be dropped when the function is traced.
    """
    return isinstance(value, float) and value == 0.0


def _validate_value(owner: str, name: str, value):
    if value is None or priors.is_free(value) or priors.is_tied(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}.{name}: expected a number, a numpyro distribution (prior), "
                f"a function (tied parameter) or boundto(...), got {value!r}"
            ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{owner}.{name}: value must be finite, got {value!r}")
    return float(value)


class Component:
    """Base class of every model component.

    Subclasses list their parameters in ``PARAMS`` (a tuple of :class:`Param`)
    and set ``kind`` to ``"extended"`` (PSF-convolved), ``"point"`` (rendered
    in Fourier space) or ``"background"`` (never convolved).

    Parameters
    ----------
    **values
        Initial parameter values: numbers (fixed), numpyro distributions
        (free, with that prior), functions or ``boundto(...)`` (tied).
    """

    PARAMS: tuple[Param, ...] = ()
    kind = "extended"

    def __init__(self, **values):
        entries = {}
        for cls in reversed(type(self).__mro__):
            for p in cls.__dict__.get("PARAMS", ()):
                entries[p.name] = ParamEntry(p.default, p.units, p.description)
        object.__setattr__(self, "_params", entries)
        object.__setattr__(self, "id", f"comp_{next(_ids):02d}")
        object.__setattr__(self, "_positive", False)
        for name, value in values.items():
            setattr(self, name, value)

    # -- attribute access ---------------------------------------------------
    def __getattr__(self, name):
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name].value
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in self._params:
            owner = f"{self.id}({type(self).__name__})"
            self._params[name].value = _validate_value(owner, name, value)
        elif name == "id":
            raise AttributeError("a component's id is assigned at creation and cannot change")
        elif hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(
                f"{type(self).__name__} has no parameter {name!r}; valid parameters: "
                f"{', '.join(self._params)} (use addparameter() to add a new one)"
            )

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def positive(self) -> bool:
        """If True, any sample giving a negative pixel in this component is rejected."""
        return self._positive

    @positive.setter
    def positive(self, value):
        if not isinstance(value, bool):
            raise TypeError(f"{self.id}.positive must be True or False, got {value!r}")
        object.__setattr__(self, "_positive", value)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of all parameters, in declaration order."""
        return tuple(self._params)

    def parameter_entries(self) -> dict[str, ParamEntry]:
        """Copy of the name → :class:`ParamEntry` table."""
        return dict(self._params)

    # -- editing parameters ---------------------------------------------------
    def addparameter(self, name, value=None, units="", description=""):
        """Add a new parameter, e.g. a hyper-parameter used by a functional prior.

        Parameters
        ----------
        name : str
            A valid Python identifier not already used by this component.
        value : float, Distribution, callable or None
            Its value or prior.
        units, description : str
            Shown by :meth:`parameters`.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"parameter name must be a Python identifier, got {name!r}")
        if name in self._params or hasattr(type(self), name):
            raise ValueError(f"{self.id} already has an attribute named {name!r}")
        value = _validate_value(self.id, name, value)
        self._params[name] = ParamEntry(value, units, description, declared=False)

    def removeparameter(self, name):
        """Remove a parameter previously added with :meth:`addparameter`."""
        entry = self._params.get(name)
        if entry is None:
            raise ValueError(f"{self.id} has no parameter {name!r}")
        if entry.declared:
            raise ValueError(
                f"{name!r} is a built-in parameter of {type(self).__name__} and cannot be removed"
            )
        del self._params[name]

    # -- inspection -----------------------------------------------------------
    def parameters(self):
        """Print each parameter's name, units, current value or prior, and description."""
        print(format_component(self))

    def getmap(self, img, convolve=False):
        """Render this component alone on ``img``.

        Every parameter must be a number (no priors, no ties).

        Parameters
        ----------
        img : socca.data.Image
            The image whose grid (and PSF) is used.
        convolve : bool
            Convolve with the image PSF (ignored for backgrounds).

        Returns
        -------
        numpy.ndarray
            The component image, in image units.
        """
        for name, entry in self._params.items():
            if not isinstance(entry.value, float):
                raise ValueError(
                    f"getmap needs every parameter of {self.id} to be a number; "
                    f"{name} is {priors.describe(entry.value) if entry.value is not None else None}"
                )
        from socca.models.model import Model

        return Model([self]).getmap(img, convolve=convolve, addbackground=True)

    def __repr__(self):
        return f"<{type(self).__name__} {self.id}>"


def format_component(comp: Component) -> str:
    """The text block :meth:`Component.parameters` prints."""
    title = f"{comp.id} ({type(comp).__name__})"
    lines = [title, "-" * len(title)]
    entries = comp.parameter_entries()
    width = max((len(n) for n in entries), default=0)
    for name, entry in entries.items():
        value = "None" if entry.value is None else priors.describe(entry.value)
        units = f"[{entry.units}]" if entry.units else ""
        lines.append(f"{name:<{width}} : {value:<36} {units:<7} {entry.description}".rstrip())
    if comp.positive:
        lines.append("(positive: negative pixels are rejected)")
    return "\n".join(lines)
