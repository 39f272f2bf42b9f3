"""Composite models: a sum of components."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from socca import priors
from socca.errors import InputError, InputTypeError
from socca.models.component import Component, format_component
from socca.models.parameters import ParameterMap, label
from socca.models.render import build_render


class Model:
    """A sum of components fitted together.

    Parameters
    ----------
    components : Component or sequence of Component, optional
        Component(s) to add right away (see :meth:`addcomponent`): one
        component (``Model(comp)``) or several (``Model([a, b])``).
    positive : bool or None, optional
        If given, sets ``positive`` on every component given here, as
        ``addcomponent(comp, positive=...)`` does; None keeps each
        component's own setting. Components added later take their own.
    """

    def __init__(self, components=None, positive=None):
        self.components: list[Component] = []
        components = _as_components(components)
        if positive is not None:
            _check_positive(positive)
            if not components:
                raise InputError(
                    f"Model(positive={positive!r}) sets the positivity of the components "
                    f"given with it, but none were given; use Model(comp, positive=...) or "
                    f"addcomponent(comp, positive=...)"
                )
        for comp in components:
            self.addcomponent(comp, positive=positive)

    def addcomponent(self, comp, positive=None):
        """Add a component.

        Parameters
        ----------
        comp : Component
            The component; every parameter must have a value, prior or tie.
        positive : bool or None
            If given, sets ``comp.positive`` (reject samples with negative pixels).
        """
        if not isinstance(comp, Component):
            raise InputTypeError(
                f"addcomponent: expected a socca component, got {type(comp).__name__}"
            )
        if comp.parent is not None:
            raise InputError(
                f"{comp.id} ({type(comp).__name__}) is a sub-profile of {comp.parent.id}; "
                f"add {comp.parent.id} ({type(comp.parent).__name__}) instead"
            )
        if not comp.standalone:
            raise InputTypeError(
                f"{type(comp).__name__} is a building block of composite components "
                f"(e.g. Disk(vertical={type(comp).__name__}())), not a model component"
            )
        if any(c is comp or c.id == comp.id for c in self.components):
            raise InputError(f"component {comp.id} is already in the model")
        missing = [n for n, e in comp.parameter_entries().items() if e.value is None]
        if missing:
            raise InputError(
                f"{comp.id} ({type(comp).__name__}): parameter(s) {', '.join(missing)} are None; "
                f"assign a number, a prior or a tie before adding the component"
            )
        if positive is not None:
            comp.positive = positive
        self.components.append(comp)

    # -- parameters ---------------------------------------------------------
    def parameter_map(self) -> ParameterMap:
        """Labels, priors and resolution rules of the current model."""
        return ParameterMap(self.components)

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels ``<id>_<param>`` of the free parameters, in vector order."""
        return self.parameter_map().labels

    def parameters(self, freeonly=False):
        """Print every component's parameters.

        Parameters
        ----------
        freeonly : bool
            Show only the free parameters (those with a prior).
        """
        blocks = []
        for comp in self.components:
            if freeonly:
                blocks.append(_format_free(comp))
            else:
                blocks.append(format_component(comp))
        title = "Model parameters" if not freeonly else "Free parameters"
        print("\n".join([title, "=" * 40, ""] + [b + "\n" for b in blocks if b]).rstrip())

    # -- rendering ------------------------------------------------------------
    def getmodel(self, img, params, doresp=False, doexp=False, component=None):
        """Render the model for a free-parameter vector.

        Parameters
        ----------
        img : socca.data.Image
            Image providing the grid, PSF, response and exposure.
        params : array-like
            Free parameters, in the order of :attr:`labels`.
        doresp, doexp : bool
            Apply the response (before convolution) and the exposure.
        component : None, int, str, Component or list of them
            Render only these components.

        Returns
        -------
        raw, smoothed, background, negative : numpy.ndarray
            Unconvolved sources; convolved sources plus background; background;
            pixels where a positivity-constrained component is negative.
        """
        render, pmap = build_render(
            self.components, img, doresp=doresp, doexp=doexp, include=component
        )
        theta = jnp.asarray(params, dtype=float).reshape(-1)
        if theta.shape != (len(pmap.labels),):
            raise InputError(
                f"params has {theta.size} values but the model has {len(pmap.labels)} free "
                f"parameters: {', '.join(pmap.labels) or 'none'}"
            )
        maps = jax.jit(render)(theta)  # one compiled program, not hundreds of small calls
        return (
            np.asarray(maps.raw),
            np.asarray(maps.smoothed + maps.background),
            np.asarray(maps.background),
            np.asarray(maps.negative),
        )

    def getmap(self, img, convolve=False, addbackground=False):
        """Render the model when every parameter is fixed (or tied to fixed ones).

        Parameters
        ----------
        img : socca.data.Image
            Image providing the grid and PSF.
        convolve : bool
            Return the PSF-convolved sources instead of the raw ones.
        addbackground : bool
            Add the background components.
        """
        free = self.parameter_map().labels
        if free:
            raise InputError(
                f"getmap needs every parameter to be a number; free parameter(s): {', '.join(free)}"
            )
        raw, smoothed_bkg, background, _ = self.getmodel(img, [])
        image = smoothed_bkg - background if convolve else raw
        return image + background if addbackground else image


def _as_components(components) -> list:
    """The components ``Model(...)`` was given, as a list (one component or an iterable)."""
    if components is None:
        return []
    if isinstance(components, Component):
        return [components]
    if isinstance(components, str | bytes | dict) or not hasattr(components, "__iter__"):
        raise InputTypeError(
            f"Model: expected a component or a list of components, got "
            f"{type(components).__name__} {components!r}"
        )
    return list(components)


def _check_positive(positive) -> None:
    if not isinstance(positive, bool):
        raise InputTypeError(f"Model: positive must be True or False (or None), got {positive!r}")


def _format_free(comp) -> str:
    lines = []
    for name, entry in comp.parameter_entries().items():
        if priors.is_free(entry.value):
            lines.append(f"{label(comp, name):<20} : {priors.describe(entry.value)}")
    return "\n".join(lines)
