"""Packing and unpacking of the free-parameter vector.

Every parameter of every component gets the label ``<id>_<name>``; those of
a composite's sub-profiles (``disk.radial.re``) are ``<id>_<role>_<name>``
(``comp_00_radial_re``). Free parameters (priors) take their values from the
vector ``theta`` in label order; fixed ones are constants; tied ones
(functions, ``boundto``) are computed from other labels, in dependency order,
inside the traced function.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from socca import priors
from socca.errors import InputError, InputTypeError
from socca.models.component import _validate_value


@dataclass(frozen=True)
class Tie:
    """A tied parameter: ``function(*[values[a] for a in arguments])``."""

    function: object
    arguments: tuple[str, ...]

    @property
    def alias(self) -> str | None:
        """The one label this tie copies (``boundto``), or None for a function of labels."""
        return self.arguments[0] if self.function is _identity else None


def label(comp, name: str) -> str:
    """The label of parameter ``name`` of component ``comp``."""
    return f"{comp.id}_{name}"


class ParameterMap:
    """The labels, priors and resolution rules of a list of components.

    Parameters
    ----------
    components : sequence of Component
        All components whose parameters may be referenced.
    """

    def __init__(self, components):
        self.components = tuple(components)
        if not self.components:
            raise InputError(
                "model: it has no components; expected at least one, added with "
                "Model.addcomponent(comp) or Model([comp, ...])"
            )
        self.free: dict[str, object] = {}
        self.units: dict[str, str] = {}
        self.fixed: dict[str, float] = {}
        ties: dict[str, Tie] = {}
        ids = {c.id: c for c in self.components}
        for comp in self.components:  # sub-profiles, the targets of boundto(disk.radial, ...)
            ids.update({sub.id: sub for sub in comp.subprofiles().values()})
        for comp in self.components:
            for name, entry in comp.parameter_entries().items():
                key = label(comp, name)
                self.units[key] = entry.units
                ties_or_values = self._classify(key, entry.value, ids)
                if not isinstance(ties_or_values, Tie):  # values may have been set around setattr
                    _validate_value(comp.owner, name, entry.value, entry.domain)
                if isinstance(ties_or_values, Tie):
                    ties[key] = ties_or_values
                elif priors.is_free(entry.value):
                    priors.check_icdf(entry.value, key)
                    self.free[key] = entry.value
                else:
                    self.fixed[key] = ties_or_values
        for key, tie in ties.items():
            unknown = [a for a in tie.arguments if a not in self.units]
            if unknown:
                hints = [_closest(a, self.units) for a in unknown]
                raise InputError(
                    f"{key}: its functional prior refers to unknown parameter(s) "
                    f"{', '.join(unknown)}{''.join(hints)}; expected arguments named "
                    f"<component id>_<parameter> after labels of this model, e.g. "
                    f"{', '.join(list(self.units)[:4])}"
                )
        self.ties = _dependency_order(ties)

    @staticmethod
    def _classify(key, value, ids):
        if value is None:
            raise InputError(
                f"parameter {key} is None: assign it a number, a prior or a tie before fitting"
            )
        if isinstance(value, priors.BoundTo):
            target = value.component
            if ids.get(target.id) is not target:
                owner = target.parent if target.parent is not None else target
                raise InputError(
                    f"{key} is bound to {target.id}.{value.name}, but {owner.id} is not "
                    f"part of this model: add it with Model.addcomponent"
                )
            return Tie(_identity, (label(target, value.name),))
        if priors.is_tied(value):
            try:
                arguments = priors.functional_arguments(value)
            except (InputError, InputTypeError) as err:
                raise type(err)(f"{key}: {err}") from None
            return Tie(value, arguments)
        return value

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the free parameters, in the order of ``theta``."""
        return tuple(self.free)

    def resolve(self, theta) -> dict:
        """All parameter values (label → value) for the free-parameter vector ``theta``.

        Fixed values stay Python floats so rendering code can specialise on them.
        """
        values = dict(self.fixed)
        for i, key in enumerate(self.free):
            values[key] = theta[..., i]
        for key, tie in self.ties.items():
            values[key] = tie.function(*(values[a] for a in tie.arguments))
        return values

    def component_values(self, comp, values) -> dict:
        """The name → value table of one component from a resolved table."""
        return {name: values[label(comp, name)] for name in comp.parameter_names}


def _identity(x):
    return x


def _closest(name, labels) -> str:
    """`` (did you mean 'x'?)`` for the label closest to ``name``, else ``""``."""
    close = difflib.get_close_matches(name, list(labels), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _dependency_order(ties: dict[str, Tie]) -> dict[str, Tie]:
    ordered: dict[str, Tie] = {}
    visiting: set[str] = set()

    def visit(key, chain):
        if key in ordered or key not in ties:
            return
        if key in visiting:
            raise InputError(f"circular tie between parameters: {' -> '.join(chain + [key])}")
        visiting.add(key)
        for arg in ties[key].arguments:
            visit(arg, chain + [key])
        visiting.discard(key)
        ordered[key] = ties[key]

    for key in ties:
        visit(key, [])
    return ordered
