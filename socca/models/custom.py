"""User-defined radial profiles.

::

    >>> import jax.numpy as jnp
    >>> from socca import priors
    >>> from socca.models.custom import CustomProfile
    >>> def gauss(r, sigma, amp):
    ...     return amp * jnp.exp(-0.5 * (r / sigma) ** 2)
    >>> comp = CustomProfile(
    ...     parameters=[
    ...         {"name": "sigma", "unit": "deg", "description": "Width"},
    ...         {"name": "amp", "unit": "image", "description": "Peak"},
    ...     ],
    ...     profile=gauss,
    ...     sigma=1e-3,
    ... )
    >>> comp.amp = priors.loguniform(0.1, 10.0)

The profile gets the same geometry (``xc, yc, theta, e, cbox``), the same
optional truncation, and the same treatment in fits (priors, ties,
positivity, ``vmap``, gradients) as the built-in ones.
"""

from __future__ import annotations

import inspect
import keyword

from socca.errors import InputError, InputTypeError
from socca.models.component import Component, ParamEntry, _validate_value
from socca.models.radial import GEOMETRY, Profile

_ENTRY_KEYS = {"name", "unit", "units", "description", "value"}


class CustomProfile(Profile):
    """A radial profile ``f(r, **params)`` with user-declared parameters.

    Parameters
    ----------
    parameters : list of dict (or str)
        One entry per shape parameter of ``profile``, in order: ``{"name":
        ..., "unit": ..., "description": ...}``; ``"units"`` is accepted for
        ``"unit"``, and an optional ``"value"`` sets the initial value
        (number, prior or tie; default None, to be assigned before fitting).
        A bare string is a name with no unit or description. Names must be
        Python identifiers, distinct, and must not collide with the geometry
        parameters or with attributes of the component.
    profile : callable
        ``f(r, p1, p2, ...)`` written with ``jax.numpy`` (it is traced, jitted,
        vmapped and differentiated): the first argument is the elliptical
        radius in degrees, the others are exactly the declared names (passed
        by keyword). A ``**kwargs`` catch-all may stand for declared names.
    truncation : None, bool or Truncation, optional
        As for every radial profile (adds ``rt`` and ``wt``).
    **values
        Initial values of any parameter, geometry included.

    Raises
    ------
    ValueError
        On malformed declarations, or when the function's signature does not
        match the declared names (the message lists the missing and extra ones).
    TypeError
        If ``profile`` is not callable.
    """

    def __init__(self, parameters, profile, *, truncation=None, **values):
        specs = _parse_parameters(parameters)
        names = tuple(spec[0] for spec in specs)
        _check_signature(profile, names)
        Component.__init__(self)
        for name, units, description, value in specs:
            owner = f"{self.id}({type(self).__name__})"
            self._params[name] = ParamEntry(_validate_value(owner, name, value), units, description)
        object.__setattr__(self, "_custom_names", names)
        object.__setattr__(self, "profile", profile)
        self._configure(truncation, values)

    def shape_names(self) -> tuple[str, ...]:
        """The declared parameter names, in declaration order."""
        return self._custom_names

    def removeparameter(self, name):
        """Remove a parameter added with ``addparameter`` (declared ones stay)."""
        if name in self._custom_names:
            raise InputError(
                f"{name!r} is an argument of the profile function of {self.id}; "
                f"it cannot be removed"
            )
        super().removeparameter(name)


def _parse_parameters(parameters):
    if isinstance(parameters, str | dict) or not hasattr(parameters, "__iter__"):
        raise InputTypeError(
            "parameters must be a list of {'name': ..., 'unit': ..., 'description': ...} "
            f"dictionaries, got {parameters!r}"
        )
    geometry = {p.name for p in GEOMETRY}
    specs, seen = [], set()
    for entry in parameters:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict):
            raise InputTypeError(f"each parameter must be a dict with a 'name', got {entry!r}")
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise InputError(
                f"parameter entry {entry!r} has unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: name, unit (or units), description, value"
            )
        if "unit" in entry and "units" in entry:
            raise InputError(f"parameter entry {entry!r} gives both 'unit' and 'units'")
        if "name" not in entry:
            raise InputError(f"parameter entry {entry!r} has no 'name'")
        name = entry["name"]
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise InputError(f"parameter name {name!r} is not a valid Python identifier")
        if name.startswith("_"):
            raise InputError(f"parameter name {name!r} must not start with an underscore")
        if name in seen:
            raise InputError(f"parameter {name!r} is declared twice")
        if name in geometry:
            raise InputError(
                f"parameter {name!r} is a geometry parameter every profile already has "
                f"({', '.join(p.name for p in GEOMETRY)}); choose another name"
            )
        if name == "id" or hasattr(CustomProfile, name):
            raise InputError(f"parameter name {name!r} is reserved (an attribute of components)")
        seen.add(name)
        units = entry.get("unit", entry.get("units", ""))
        description = entry.get("description", "")
        if not isinstance(units, str) or not isinstance(description, str):
            raise InputTypeError(f"'unit' and 'description' of {name!r} must be strings")
        specs.append((name, units, description, entry.get("value")))
    if not specs:
        raise InputError("a CustomProfile needs at least one declared parameter")
    return specs


def _check_signature(profile, names):
    if not callable(profile):
        raise InputTypeError(f"profile must be a function f(r, ...), got {profile!r}")
    try:
        signature = inspect.signature(profile)
    except (TypeError, ValueError) as err:
        raise InputTypeError(f"cannot read the signature of profile {profile!r}: {err}") from None
    args = list(signature.parameters.values())
    kind = inspect.Parameter
    positional = (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD)
    if not args or args[0].kind not in positional:
        raise InputError(
            f"profile{signature}: the first argument must be the radius, passed positionally"
        )
    rest = args[1:]
    bad = [a.name for a in rest if a.kind in (kind.POSITIONAL_ONLY, kind.VAR_POSITIONAL)]
    if bad:
        raise InputError(
            f"profile{signature}: parameters are passed by keyword, so {', '.join(bad)} cannot "
            f"be positional-only or *args"
        )
    catch_all = any(a.kind is kind.VAR_KEYWORD for a in rest)
    named = [a.name for a in rest if a.kind is not kind.VAR_KEYWORD]
    missing = [] if catch_all else [n for n in names if n not in named]
    extra = [n for n in named if n not in names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"declared but not arguments of the function: {', '.join(missing)}")
        if extra:
            parts.append(f"arguments of the function but not declared: {', '.join(extra)}")
        raise InputError(
            f"profile{signature} does not match the declared parameters "
            f"({', '.join(names)}): " + "; ".join(parts)
        )
