"""The component base class: parameter declarations, ids, printing, guards.

A component only *declares* its parameters (name, default, units,
description) and provides a pure rendering method; the values users assign
(numbers, priors, functions) are resolved by :mod:`socca.models.render`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from socca import priors
from socca.errors import InputError, InputTypeError, UnknownParameterError
from socca.models.domain import REAL, Domain, check_number, check_prior

DEG_PER_ARCSEC = 1.0 / 3600.0


@dataclass(frozen=True)
class Param:
    """Declaration of one component parameter.

    Parameters
    ----------
    name : str
        The attribute name (``re``).
    default : float or None
        Initial value; None when the user must give one.
    units : str
        ``deg``, ``rad``, ``image`` (image units) or ``""``.
    description : str
        One line, shown by ``parameters()``.
    domain : Domain
        Valid range; fixed values and the supports of priors are checked
        against it (see :mod:`socca.models.domain`).
    """

    name: str
    default: object = None
    units: str = ""
    description: str = ""
    domain: Domain = REAL


@dataclass
class ParamEntry:
    """A parameter of one component instance: its current value and metadata."""

    value: object
    units: str = ""
    description: str = ""
    declared: bool = field(default=True, repr=False)
    domain: Domain = field(default=REAL, repr=False)


class _IdAllocator:
    """Hands out component numbers in creation order.

    A sub-profile adopted by a composite component (``Disk(radial=Sersic())``)
    was created first and took a number; it gives that number back when it was
    the last one handed out, so the composite takes it and ids stay
    consecutive.
    """

    def __init__(self):
        self._next = 0

    def take(self) -> int:
        number = self._next
        self._next += 1
        return number

    def give_back(self, number: int) -> None:
        if number == self._next - 1:
            self._next -= 1


_ids = _IdAllocator()


def is_static_zero(value) -> bool:
    """True for a parameter fixed to exactly zero (a Python number, not traced).

    Fixed values reach the pure rendering code as Python floats, so terms that
    vanish can be dropped when the function is traced.
    """
    return isinstance(value, float) and value == 0.0


def _validate_value(owner: str, name: str, value, domain: Domain = REAL):
    """Check what is assigned to a parameter and return it (numbers as float).

    Parameters
    ----------
    owner : str
        The component, e.g. ``'comp_00(Sersic)'``, for messages.
    name : str
        The parameter.
    value : object
        None, a prior, a tie or a real number.
    domain : Domain
        Valid range of fixed values and of priors' supports.
    """
    if value is None or priors.is_tied(value):
        return value
    if priors.is_free(value):
        check_prior(owner, name, value, domain)
        return value
    if isinstance(value, bool | str | bytes):  # float() would take True or "20"
        raise InputTypeError(
            f"{owner}.{name}: expected a number, a numpyro distribution (prior), "
            f"a function (tied parameter) or boundto(...), got {value!r}"
        )
    if not isinstance(value, numbers.Real):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputTypeError(
                f"{owner}.{name}: expected a number, a numpyro distribution (prior), "
                f"a function (tied parameter) or boundto(...), got {value!r}"
            ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{owner}.{name}: value must be finite, got {value!r}")
    check_number(owner, name, float(value), domain)
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
    #: False for building blocks that only live inside a composite (vertical profiles)
    standalone = True

    def __init__(self, **values):
        entries = {}
        for cls in reversed(type(self).__mro__):
            for p in cls.__dict__.get("PARAMS", ()):
                entries[p.name] = ParamEntry(p.default, p.units, p.description, domain=p.domain)
        object.__setattr__(self, "_params", entries)
        object.__setattr__(self, "id", f"comp_{_ids.take():02d}")
        object.__setattr__(self, "_positive", False)
        object.__setattr__(self, "_subprofiles", {})
        object.__setattr__(self, "_parent", None)
        for name, value in values.items():
            setattr(self, name, value)

    # -- attribute access ---------------------------------------------------
    def __getattr__(self, name):
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name].value
        nested = self._nested(name) or self._shared(name)
        if nested is not None:
            return getattr(*nested)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        nested = None if name in self._params else self._nested(name) or self._shared(name)
        if name in self._params:
            entry = self._params[name]
            entry.value = _validate_value(self.owner, name, value, entry.domain)
        elif nested is not None:
            setattr(*nested, value)
        elif name == "id":
            raise AttributeError("a component's id is assigned at creation and cannot change")
        elif hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            raise UnknownParameterError(
                f"{type(self).__name__} has no parameter {name!r}; valid parameters: "
                f"{', '.join(self.parameter_entries())} (use addparameter() to add a new one)"
            )

    def _nested(self, name):
        """``(sub-profile, its parameter name)`` for a flat name ``<role>_<name>``, or None."""
        for role, sub in self.__dict__.get("_subprofiles", {}).items():
            inner = name[len(role) + 1 :]
            if name.startswith(role + "_") and inner in sub.parameter_names:
                return sub, inner
        return None

    def _shared(self, name):
        """``(composite, name)`` when this sub-profile exposes its composite's ``name``, or None.

        A composite lists in ``SHARED`` (role → names) the parameters of its
        own that its sub-profiles also show (``disk.radial.xc`` is ``disk.xc``).
        """
        parent = self.__dict__.get("_parent")
        if parent is None:
            return None
        for role, sub in parent.subprofiles().items():
            if sub is self and name in type(parent).SHARED.get(role, ()):
                return parent, name
        return None

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def owner(self) -> str:
        """``'<id>(<class>)'``, how messages about this component name it."""
        return f"{self.id}({type(self).__name__})"

    @property
    def positive(self) -> bool:
        """If True, any sample giving a negative pixel in this component is rejected."""
        return self._positive

    @positive.setter
    def positive(self, value):
        if not isinstance(value, bool):
            raise InputTypeError(f"{self.id}.positive must be True or False, got {value!r}")
        object.__setattr__(self, "_positive", value)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of all parameters, in declaration order (sub-profiles' as ``<role>_<name>``)."""
        return tuple(self.parameter_entries())

    def parameter_entries(self) -> dict[str, ParamEntry]:
        """Copy of the name → :class:`ParamEntry` table.

        The parameters of sub-profiles (``disk.radial.re``) follow the
        component's own, named ``<role>_<name>`` (``radial_re``); the entries
        are shared, so the table always reflects the sub-profiles' values.
        """
        entries = dict(self._params)
        for role, sub in self.subprofiles().items():
            for name, entry in sub.parameter_entries().items():
                entries[f"{role}_{name}"] = entry
        return entries

    def subprofiles(self) -> dict[str, Component]:
        """The sub-profiles of a composite component, role → profile (empty for others)."""
        return dict(self.__dict__.get("_subprofiles", {}))

    @property
    def parent(self):
        """The composite component this one is a sub-profile of, or None."""
        return self.__dict__.get("_parent")

    def hyperparameters(self) -> dict[str, tuple[object, str, str]]:
        """Settings that shape the rendering but are never fitted.

        Returns
        -------
        dict
            Name → ``(value, units, description)``; empty for most components.
        """
        return {}

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
            raise InputError(f"parameter name must be a Python identifier, got {name!r}")
        if name in self.parameter_entries() or hasattr(type(self), name):
            raise InputError(f"{self.id} already has an attribute named {name!r}")
        value = _validate_value(self.id, name, value)
        self._params[name] = ParamEntry(value, units, description, declared=False)

    def removeparameter(self, name):
        """Remove a parameter previously added with :meth:`addparameter`."""
        entry = self._params.get(name)
        if entry is None:
            raise InputError(f"{self.id} has no parameter {name!r}")
        if entry.declared:
            raise InputError(
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
        for name, entry in self.parameter_entries().items():
            if not isinstance(entry.value, float):
                raise InputError(
                    f"getmap needs every parameter of {self.id} to be a number; "
                    f"{name} is {priors.describe(entry.value) if entry.value is not None else None}"
                )
        from socca.models.model import Model

        return Model([self]).getmap(img, convolve=convolve, addbackground=True)

    def __repr__(self):
        return f"<{type(self).__name__} {self.id}>"


class SubProfileSlot:
    """Class attribute exposing one sub-profile of a :class:`Composite` (``disk.radial``).

    Reading gives the sub-profile; assigning a new profile replaces it (after
    the composite has checked it is allowed in that role).
    """

    def __set_name__(self, owner, name):
        self.role = name

    def __get__(self, comp, owner=None):
        if comp is None:
            return self
        return comp._subprofiles[self.role]

    def __set__(self, comp, profile):
        if comp._subprofiles.get(self.role) is profile:
            return
        keep = comp._check_subprofile(self.role, profile)
        _check_unused(comp, self.role, profile, keep)
        _claim([profile])
        comp._adopt(self.role, profile, keep)


class Composite(Component):
    """A component built from sub-profiles (``Disk``, the bridges).

    Each sub-profile fills a role declared as a :class:`SubProfileSlot`. Its
    parameters stay on the sub-profile (``disk.radial.re = prior``) and are
    part of the composite's parameter table as ``<role>_<name>``, so their
    labels in a model are ``<id>_<role>_<name>`` (``comp_00_radial_re``), the
    names functional priors use. An adopted sub-profile takes the id
    ``<id>_<role>``, which makes ``boundto(disk.radial, "re")`` work as for
    any component. Parameters a role does not use (a radial profile's
    geometry inside a disk, say) are removed from the sub-profile.

    Parameters
    ----------
    subprofiles : dict
        Role → profile instance.
    **values
        Initial values of the composite's own parameters (and of the
        sub-profiles' as ``<role>_<name>``).
    """

    #: Role → names of the composite's own parameters its sub-profile in that role
    #: also shows (reading and assigning them there reaches the composite's).
    SHARED: dict[str, tuple[str, ...]] = {}

    def __init__(self, subprofiles, **values):
        keep = {role: self._check_subprofile(role, sub) for role, sub in subprofiles.items()}
        for role, sub in subprofiles.items():
            _check_unused(self, role, sub, keep[role])
        _claim(list(subprofiles.values()))
        super().__init__()
        for role, sub in subprofiles.items():
            self._adopt(role, sub, keep[role])
        for name, value in values.items():
            setattr(self, name, value)

    def _check_subprofile(self, role, profile) -> tuple[str, ...]:  # pragma: no cover
        """Raise if ``profile`` cannot fill ``role``; return the parameter names it keeps."""
        raise NotImplementedError

    def _adopt(self, role, profile, keep):
        old = self._subprofiles.get(role)
        if old is not None:
            object.__setattr__(old, "_parent", None)
        for name in [n for n in profile._params if n not in keep]:
            del profile._params[name]
        object.__setattr__(profile, "id", f"{self.id}_{role}")
        object.__setattr__(profile, "_parent", self)
        self._subprofiles[role] = profile


def _check_unused(comp, role, profile, keep):
    """Refuse a sub-profile whose unused parameters were given values (they would be ignored)."""
    defaults = {}
    for cls in reversed(type(profile).__mro__):
        defaults.update({p.name: p.default for p in cls.__dict__.get("PARAMS", ())})
    ignored = [
        name
        for name, entry in profile._params.items()
        if name not in keep and name in defaults and entry.value != defaults[name]
    ]
    if ignored:
        owner = type(comp).__name__
        them = "them" if len(ignored) > 1 else "it"
        raise InputError(
            f"{owner}: the {role} profile ({type(profile).__name__}) has {', '.join(ignored)} "
            f"set, but a {owner} sets {them} itself and would ignore what was given; leave "
            f"{them} unset (the {role} profile keeps: {', '.join(keep) or 'nothing'})"
        )


def _claim(profiles):
    """Check that ``profiles`` are distinct and free, and give their numbers back (newest first)."""
    for i, profile in enumerate(profiles):
        if not isinstance(profile, Component):
            raise InputTypeError(f"expected a profile instance, got {profile!r}")
        if profile.parent is not None:
            raise InputError(
                f"{type(profile).__name__} {profile.id} already belongs to {profile.parent.id}; "
                f"create a new instance"
            )
        if any(profile is other for other in profiles[:i]):
            raise InputError(
                f"the same {type(profile).__name__} instance cannot fill two roles; "
                f"create one instance per role"
            )
    numbers = [int(p.id[5:]) for p in profiles if p.id[5:].isdigit()]
    for number in sorted(numbers, reverse=True):
        _ids.give_back(number)


def kind_label(comp: Component, truncation: bool = False) -> str:
    """The component's class with its sub-profiles', ``Disk: radial=Sersic, vertical=...``.

    With ``truncation``, a truncated profile also names its truncation's class.
    """
    parts = [f"{role}={type(sub).__name__}" for role, sub in comp.subprofiles().items()]
    taper = getattr(comp, "truncation", None) if truncation else None
    if taper is not None:
        parts.append(f"truncation={type(taper).__name__}")
    return type(comp).__name__ + (f": {', '.join(parts)}" if parts else "")


def format_component(comp: Component) -> str:
    """The text block :meth:`Component.parameters` prints."""
    title = f"{comp.id} ({kind_label(comp)})"
    lines = [title, "-" * len(title)]
    entries = comp.parameter_entries()
    hyper = comp.hyperparameters()
    width = max((len(n) for n in [*entries, *hyper]), default=0)
    for name, entry in entries.items():
        value = "None" if entry.value is None else priors.describe(entry.value)
        lines.append(_row(name, width, value, entry.units, entry.description))
    if hyper:
        lines.append("hyper-parameters (not fitted):")
        for name, (value, units, description) in hyper.items():
            lines.append(_row(name, width, str(value), units, description))
    if comp.positive:
        lines.append("(positive: negative pixels are rejected)")
    return "\n".join(lines)


def _row(name, width, value, units, description) -> str:
    units = f"[{units}]" if units else ""
    return f"{name:<{width}} : {value:<36} {units:<7} {description}".rstrip()
