"""The ``[[component]]`` tables: the model, its parameters, priors and ties."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from socca.config.errors import choices, kind, show, suggest, unknown
from socca.config.reader import QUANTITY_EXAMPLE

COMPONENT_KEYS = ("type", "name", "positive")
PRIORS = ("uniform", "loguniform", "normal", "splitnormal", "powerlaw", "logpowerlaw")


def component_types() -> dict:
    """The component classes a configuration may name.

    Returns
    -------
    dict
        ``{name: class}`` for every component class of :mod:`socca.models`.
    """
    import socca.models
    from socca.models import Component, Profile

    out = {}
    for name in socca.models.__all__:
        cls = getattr(socca.models, name)
        if isinstance(cls, type) and issubclass(cls, Component) and cls not in (
            Component, Profile
        ):
            out[name] = cls
    return out


@dataclass
class _Entry:
    """One ``[[component]]`` table while it is being built."""

    index: int
    spec: dict
    component: object
    name: str | None

    @property
    def path(self):
        return ("component", self.index)

    @property
    def title(self):
        named = f" {self.name!r}" if self.name else ""
        return f"[[component]] #{self.index + 1}{named} ({type(self.component).__name__})"

    @property
    def label(self):
        if self.name:
            return f"component {self.name!r}"
        return f"component #{self.index + 1} ({type(self.component).__name__})"


def build_model(reader):
    """The model of the ``[[component]]`` tables, components in file order.

    Parameters
    ----------
    reader : socca.config.reader.Reader
        The parsed configuration file.

    Returns
    -------
    model : socca.models.Model
        The model.
    names : list of str or None
        The ``name`` of each component.

    Raises
    ------
    ConfigError
        For any error in a ``[[component]]`` table.
    """
    from socca.models import Model

    tables = reader.data.get("component")
    if tables is None:
        raise reader.error((), "no [[component]] table: describe at least one model component")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise reader.error(("component",), "component: expected [[component]] tables")
    entries = [_new_component(reader, i, spec) for i, spec in enumerate(tables)]
    byname = _by_name(reader, entries)
    for entry in entries:
        _set_parameters(reader, entry, byname)
    model = Model()
    for entry in entries:
        reader.apply(entry.path, model.addcomponent, entry.component)
    return model, [e.name for e in entries]


def _new_component(reader, index, spec):
    """The component of a ``[[component]]`` table, its parameters not set yet."""
    types = component_types()
    path = ("component", index)
    type_name = spec.get("type")
    if type_name is None:
        raise reader.error(path, f"[[component]] #{index + 1}: missing required key 'type'; "
                           f"expected one of: {choices(types)}")
    reader.typed((*path, "type"), type_name, (str,), "a component type name")
    found = _named(type_name, types)
    if found is None:
        raise reader.error((*path, "type"),
                           f"[[component]] #{index + 1}: {unknown('type', type_name, types)}")
    name = spec.get("name")
    if name is not None:
        reader.typed((*path, "name"), name, (str,), "a name (string)")
        if not name.strip():
            raise reader.error((*path, "name"), f"[[component]] #{index + 1}: empty name")
    return _Entry(index, spec, types[found](), name)


def _named(word, names):
    """The one of ``names`` that ``word`` spells, ignoring case, or None."""
    lower = {n.lower(): n for n in names}
    return lower.get(word.lower())


def _by_name(reader, entries):
    """The named entries, ``{name: entry}``; a name used twice is an error."""
    byname = {}
    for entry in entries:
        if entry.name in byname:
            raise reader.error((*entry.path, "name"), f"{entry.label}: the name {entry.name!r} "
                               f"is already used by {byname[entry.name].title}")
        if entry.name:
            byname[entry.name] = entry
    return byname


def _flatten(spec, names):
    """Parameter entries of ``spec``, with nested tables of dotted names flattened."""
    out = {}
    for key, value in spec.items():
        prefix = f"{key}."
        if isinstance(value, dict) and any(n.startswith(prefix) for n in names):
            for sub, item in _flatten(value, [n[len(prefix):] for n in names
                                              if n.startswith(prefix)]).items():
                out[(key, *sub)] = item
        else:
            out[(key,)] = value
    return out


def _set_parameters(reader, entry, byname):
    """Set ``positive`` and every parameter the table gives; all must then have a value."""
    comp = entry.component
    structure = _set_structure(reader, entry)
    allowed = (*COMPONENT_KEYS, *structure, *comp.parameter_names)
    flat = _flatten(entry.spec, comp.parameter_names)
    reader.reject_unknown(entry.path, flat, allowed, entry.title)
    if "positive" in entry.spec:
        comp.positive = reader.flag((*entry.path, "positive"), entry.spec["positive"],
                                    f"{entry.label} positive")
    entries = comp.parameter_entries()
    for keys, value in flat.items():
        name = ".".join(keys)
        if name in COMPONENT_KEYS or name in structure:
            continue
        path = (*entry.path, *keys)
        built = _parameter(reader, path, f"{entry.label} {name}", value, entries[name].units,
                           byname)
        reader.apply(path, setattr, comp, name, built)
    missing = [n for n, e in comp.parameter_entries().items() if e.value is None]
    if missing:
        raise reader.error(entry.path, f"{entry.title}: no value for {choices(missing)}; give "
                           "each a number, a prior table or a boundto table")


def _set_structure(reader, entry):
    """Apply the keys that shape a component before its parameters are set.

    ``truncation`` of a radial profile (``true``, ``"HyperTangent"`` or
    ``"Exponential"``, adding ``rt`` and ``wt``), the type name of each
    sub-profile of a composite (``radial = "Exponential"``,
    ``vertical = "ExponentialHeight"``) and its hyper-parameters (a disk's
    ``losdepth``, an angle, and ``losbins``).

    Returns
    -------
    tuple of str
        The keys this component accepts besides its parameters.
    """
    comp, spec = entry.component, entry.spec
    roles = tuple(comp.subprofiles())
    hyper = comp.hyperparameters()
    truncation = ("truncation",) if hasattr(type(comp), "truncation") else ()
    for role in roles:
        if role in spec:
            path = (*entry.path, role)
            sub = _subprofile_type(reader, path, f"{entry.label} {role}", spec[role])
            reader.apply(path, setattr, comp, role, sub())
    for name, (_, units, _) in hyper.items():
        if name in spec:
            path, value = (*entry.path, name), spec[name]
            if units:  # a length or an angle, which may be written with its unit
                value = reader.quantity(path, value, units, f"{entry.label} {name}")
            reader.apply(path, setattr, comp, name, value)
    if truncation and "truncation" in spec:
        path = (*entry.path, "truncation")
        reader.apply(path, setattr, comp, "truncation",
                     _truncation(reader, path, f"{entry.label} truncation", spec["truncation"]))
    return (*roles, *hyper, *truncation)


def _subprofile_type(reader, path, what, value):
    """The class a sub-profile key names (checked for its role when assigned)."""
    types = component_types()
    reader.typed(path, value, (str,), "a profile type name", what)
    found = _named(value, types)
    if found is None:
        raise reader.error(path, f"{what}: {unknown('type', value, types)}")
    return types[found]


TRUNCATIONS = ("HyperTangent", "Exponential")


def _truncation(reader, path, what, value):
    """A profile's truncation: ``true``/``false`` or the name of a truncation class."""
    from socca.models import truncation

    if isinstance(value, bool):
        return value or None
    reader.typed(path, value, (str,), "true, false or a truncation name", what)
    found = _named(value, TRUNCATIONS)
    if found is None:
        raise reader.error(path, f"{what}: {unknown('truncation', value, TRUNCATIONS)}")
    return getattr(truncation, found)()


def _parameter(reader, path, what, value, units, byname):
    """A fixed value, a prior or a tie for one parameter entry."""
    if not isinstance(value, dict):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise reader.error(path, f"{what}: expected a number, {QUANTITY_EXAMPLE}, a prior "
                               "table {prior = ...} or a tie {boundto = ...}, got "
                               f"{kind(value)} {show(value)}")
        return reader.quantity(path, value, units, what)
    if ("prior" in value) == ("boundto" in value):
        raise reader.error(path, f"{what}: a parameter table needs exactly one of 'prior' "
                           f"(a free parameter) or 'boundto' (a tie), got keys "
                           f"{choices(value) or 'none'}")
    if "boundto" in value:
        return _tie(reader, path, what, value, byname)
    return _prior(reader, path, what, value, units)


def _prior(reader, path, what, spec, units):
    """The prior of a ``{prior = ...}`` table; its arguments in the parameter's unit."""
    from socca import priors

    name = reader.typed((*path, "prior"), spec["prior"], (str,), "a prior name", what)
    if name.lower() not in PRIORS:
        raise reader.error((*path, "prior"),
                           f"{what}: {unknown('prior', name, PRIORS, name.lower())}")
    factory = getattr(priors, name.lower())
    arguments = tuple(inspect.signature(factory).parameters)
    _check_arguments(reader, path, what, spec, name, arguments)
    kwargs = {
        k: reader.quantity((*path, k), spec[k], "" if k == "alpha" else units, f"{what} {k}")
        for k in arguments
    }
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as err:
        raise reader.error(path, f"{what}: {err}") from None


def _check_arguments(reader, path, what, spec, name, arguments):
    """The keys of a prior table must be exactly the prior's ``arguments``."""
    extra = [k for k in spec if k != "prior" and k not in arguments]
    if extra:
        raise reader.error((*path, extra[0]), f"{what}: unknown argument {extra[0]!r} of "
                           f"prior {name!r}; expected: {choices(arguments)}")
    missing = [k for k in arguments if k not in spec]
    if missing:
        raise reader.error(path, f"{what}: prior {name!r} needs {choices(arguments)}; "
                           f"missing {choices(missing)}")


def _tie(reader, path, what, spec, byname):
    """The :func:`socca.priors.boundto` of a ``{boundto = ...}`` table."""
    from socca import priors

    extra = [k for k in spec if k not in ("boundto", "param")]
    if extra:
        raise reader.error((*path, extra[0]), f"{what}: unknown key {extra[0]!r} in a tie; "
                           "expected boundto and optionally param")
    target = reader.typed((*path, "boundto"), spec["boundto"], (str,), "a component name", what)
    if target not in byname:
        known = choices(byname) or "none (give components a name = ... key)"
        raise reader.error((*path, "boundto"), f"{what}: boundto {target!r}: no component "
                           f"named {target!r}{suggest(target, byname)}; named components: "
                           f"{known}")
    param = spec.get("param", path[-1])
    reader.typed((*path, "param"), param, (str,), "a parameter name", what)
    try:
        return priors.boundto(byname[target].component, param)
    except ValueError as err:
        raise reader.error((*path, "param") if "param" in spec else path,
                           f"{what}: {err}") from None
