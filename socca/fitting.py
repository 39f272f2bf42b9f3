"""The user-facing fitter: model + image in, posteriors, evidences and model maps out."""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings

import dill
import jax
import jax.numpy as jnp
import numpy as np

from socca import parallel
from socca.atomic import write_atomically
from socca.errors import InputError, InputTypeError
from socca.inference import Problem
from socca.inference.backends import get_backend, method_name
from socca.inference.modelmaps import (
    compiled_maps,
    median_of_realisations,
    parse_what,
    write_fits,
)
from socca.inference.results import Result
from socca.inference.summary import best_fit, comparison_text, parameter_table
from socca.models.parameters import ParameterMap

NO_FREE_PARAMETERS = "the model has no free parameters: give at least one a prior"
POSITION_SAMPLES = 17  # points per axis of a position prior's box, for the off-image check

# Under an MPI launcher with several ranks per node, one XLA thread per rank
# (set before JAX starts its CPU backend).
parallel.configure_threads()


class fitter:  # noqa: N801  (the public name used throughout the user guide)
    """Fit a model to an image.

    Building the fitter compiles the problem once: ``fit.loglike``,
    ``fit.loglike_batch``, ``fit.prior_transform`` and ``fit.log_prior`` are
    jit-compiled pure functions that any sampler can drive.

    Parameters
    ----------
    mod : socca.models.Model
        The model, with priors on its free parameters. A model without free
        parameters is accepted: its likelihood, model images, plots and FITS
        output are available, only :meth:`run` refuses it.
    img : socca.data.Image
        The image with its PSF, mask and noise model. ``fitter(img, mod)``,
        the other order, is accepted too: the two are told apart by type.

    Raises
    ------
    socca.errors.InputTypeError
        Unless one argument is a ``Model`` and the other an ``Image``.

    Warns
    -----
    UserWarning
        For each component whose position prior lies entirely outside the
        image: the data cannot constrain it, and the fit returns the prior.

    Attributes
    ----------
    labels, units : tuple of str
        Free-parameter labels (``<id>_<name>``) and units.
    method : str or None
        The method of the last :meth:`run`.
    samples, weights : numpy.ndarray or None
        Posterior samples ``(n, nfree)`` and weights summing to one.
    logz : float or None
        Log-evidence (None for methods without one).
    sampler : object
        The underlying library's sampler object.
    """

    def __init__(self, mod, img):
        self.mod, self.img = _model_and_image(mod, img)
        self._build()
        self.method = None
        self._result = None
        self._prior_result = None
        self._null_loglike = None
        for comp_id in positions_off_image(self.mod, self.img):
            warnings.warn(
                f"{comp_id}: the prior on its position (xc, yc) lies entirely outside the "
                f"image ({self.img.shape[1]} x {self.img.shape[0]} pixels): the data cannot "
                "constrain it and a fit returns the prior; check the coordinates (RA, Dec "
                "in degrees) or the image",
                UserWarning,
                stacklevel=2,
            )

    def _build(self):
        if ParameterMap(self.mod.components).labels:
            self.problem = Problem(self.mod, self.img)
        else:
            self.problem = FixedProblem(self.mod, self.img)
        self.labels, self.units = self.problem.labels, self.problem.units
        self.loglike = self.problem.loglike
        self.loglike_batch = self.problem.loglike_batch
        self.prior_transform = self.problem.prior_transform
        self.log_prior = self.problem.log_prior
        self._maps = {}

    # -- running --------------------------------------------------------------
    def run(
        self,
        method="nautilus",
        checkpoint=None,
        resume=True,
        getzprior=False,
        seed=None,
        progress=True,
        verbose=None,
        **options,
    ):
        """Run the inference.

        Parameters
        ----------
        method : str
            ``'nautilus'`` (default), ``'dynesty'``, ``'pocomc'``, ``'emcee'``,
            ``'optimizer'`` or ``'numpyro'`` (experimental), in any case
            (``'Nautilus'`` is ``'nautilus'``).
        checkpoint : str, optional
            Base name of a checkpoint (``<name>.hdf5``, or the
            ``<name>_pocomc_dump`` folder for pocomc).
        resume : bool
            Resume from an existing checkpoint (default) or start afresh.
        getzprior : bool
            Also estimate the prior evidence, used by :meth:`bmc` to deboost
            the Bayes factor (nested samplers and pocomc): a second run of the
            same method samples the prior with the log prior density in place
            of the log-likelihood, and its log-evidence,
            ``ln Z_prior = ln ∫ π(θ)² dθ``, is kept.
        seed : int, optional
            Seed for reproducible runs.
        progress : bool
            Show progress: the sampler's own output or a progress bar (also
            for the prior-evidence run).
        verbose : bool, optional
            Alias of ``progress``.
        ncores : int, optional
            Share each likelihood batch of nautilus, dynesty, pocomc or emcee
            among this many processes: this one and ``ncores - 1`` workers,
            which compile the problem once when they start. For numpyro, the
            number of chains. Not for the optimizer, which runs in one process.
        pool : int or object, optional
            ``pool=N`` is ``ncores=N``; a :class:`socca.parallel.Pool` (kept
            open across runs) or any pool with a ``map`` method is used as is.
        **options
            Forwarded to the sampler library (e.g. ``nlive``, ``nwalkers``).

        Raises
        ------
        socca.inference.backends.UnknownMethodError
            For an unknown method (a :class:`socca.errors.InputError`), with
            the closest name when it looks like a typo.
        socca.errors.InputError
            When the model has no free parameter.
        TypeError
            For an option the method does not take (before anything runs).
        ValueError
            For a checkpoint written for another problem: other parameters,
            another image (data, mask, PSF, noise) or another model (priors,
            fixed values); use another checkpoint name or ``resume=False``.

        Warns
        -----
        socca.inference.accounting.NumericalWarning
            When likelihood evaluations were NaN or infinite: they are given
            ``-inf`` (never passed to the sampler), counted in
            ``fit.nonfinite`` and located in parameter space by the warning.

        Notes
        -----
        Under an MPI launcher (``mpirun -np 8 python fit.py``, ``srun``) the
        script runs unchanged on every rank: rank 0 runs the sampler, all
        ranks evaluate its likelihood batches, and every rank ends with the
        same ``samples``, ``weights`` and ``logz`` (``fit.sampler`` only on
        rank 0). Printing and writing methods act on rank 0 only.
        """
        if not self.labels:
            raise InputError(
                f"{NO_FREE_PARAMETERS} (fit.run() needs one; getmodel, savemodel, plots "
                "and fit.loglike work with the fixed model)"
            )
        method = method_name(method)
        backend = get_backend(method)
        session = parallel.Session(method, options)
        if verbose is not None:
            progress = bool(verbose)
        if getzprior and not backend.EVIDENCE:
            raise ValueError(
                f"getzprior=True needs an evidence; method {method!r} does not compute one "
                "(use 'nautilus', 'dynesty' or 'pocomc')"
            )
        with session:
            result = session.run(
                backend,
                self.problem,
                functools.partial(Problem, self.mod, self.img),
                checkpoint=checkpoint,
                resume=resume,
                seed=seed,
                progress=progress and session.is_root,
            )
            self.method, self._result, self._prior_result = method, result, None
            if getzprior:
                self._prior_result = self._prior_run(backend, seed, progress, session)

    def _prior_run(self, backend, seed, progress, session):
        """The prior-evidence run: the prior sampled with its own log density as likelihood."""
        from socca.inference.noise_run import PriorProblem, prior_problem

        progress = progress and session.is_root
        if progress:
            print("\nPrior evidence: sampling the prior with its density as likelihood")
        with warnings.catch_warnings():
            # uniform priors make this likelihood flat, which is expected here
            warnings.filterwarnings("ignore", message=".*plateau in the likelihood")
            return session.run(
                backend,
                PriorProblem(self.problem),
                functools.partial(prior_problem, self.mod, self.img),
                seed=seed,
                progress=progress,
            )

    # -- results --------------------------------------------------------------
    def _require_result(self, what):
        if self._result is None:
            if not self.labels:  # a fixed model is its own (only) result
                return Result(np.zeros((1, 0)), np.ones(1))
            raise RuntimeError(f"{what} needs results: call fit.run() first")
        return self._result

    @property
    def samples(self):
        return None if self._result is None else self._result.samples

    @property
    def weights(self):
        return None if self._result is None else self._result.weights

    @property
    def logz(self):
        return None if self._result is None else self._result.logz

    @property
    def sampler(self):
        return None if self._result is None else self._result.sampler

    def __getattr__(self, name):
        # method-specific results (fit.results, fit.tau, fit.tau_history, ...)
        result = self.__dict__.get("_result")
        if result is not None and name in result.extras:
            return result.extras[name]
        raise AttributeError(f"fitter has no attribute {name!r}")

    @property
    def plot(self):
        """Figures of this fit: ``fit.plot.comparison(...)``, ``fit.plot.corner(...)``.

        See :class:`socca.plotting.Plotter`; matplotlib is imported on first use.
        Under MPI, plots are drawn on rank 0 only (elsewhere the methods do nothing).
        """
        if not parallel.is_root():
            return parallel.Silent("fit.plot")
        from socca.plotting import Plotter

        return Plotter(self)

    def best(self):
        """Best-fit parameter vector: the optimum, or the weighted posterior median."""
        result = self._require_result("best")
        if not self.labels:
            return np.zeros(0)
        if self.method == "optimizer":
            return result.samples[0]
        return best_fit(result.samples, result.weights)[1]

    def parameters(self):
        """Print the best-fit parameters with 16th/84th-percentile uncertainties (rank 0 only)."""
        result = self._require_result("parameters")
        if not parallel.is_root():
            return
        print(
            parameter_table(
                self.labels,
                self.mod.components,
                result.samples,
                result.weights,
                point_estimate=self.method == "optimizer",
            )
        )

    # -- model images -----------------------------------------------------------
    def getmodel(
        self,
        what="all",
        component=None,
        usebest=True,
        img=None,
        doresp=False,
        doexp=False,
        progress=True,
    ):
        """Model image(s) from the fit.

        Parameters
        ----------
        what : str or list of str
            ``'all'`` (raw, smoothed, background), ``'raw'``, ``'smoothed'``
            (``'conv'``, ``'convolved'``), ``'background'`` (``'bkg'``), or a list.
        component : None, int, str, Component or list of them
            Components to include (default all).
        usebest : bool
            True: the model at the weighted median of the posterior (the
            optimum for the optimizer). False: the pixel-wise median of the
            models of posterior draws.
        img : socca.data.Image, optional
            Evaluate on another image (default: the fitted one).
        doresp, doexp : bool
            Apply the response and exposure maps.
        progress : bool
            Progress bar for ``usebest=False``.
        """
        names, as_tuple = parse_what(what)
        result = self._require_result("getmodel")
        single, batch = self._compiled(img or self.img, doresp, doexp, component)
        if usebest or self.method == "optimizer" or not self.labels:
            maps = tuple(np.asarray(a) for a in single(np.asarray(self.best())))
        else:
            maps = median_of_realisations(batch, result.samples, result.weights, progress=progress)
        chosen = {"raw": maps[0], "smoothed": maps[1], "background": maps[2]}
        out = tuple(chosen[n] for n in names)
        return out if as_tuple else out[0]

    def _compiled(self, img, doresp, doexp, component):
        key = (id(img), doresp, doexp, _component_key(component))
        if key not in self._maps:
            single, batch, _ = compiled_maps(self.mod.components, img, doresp, doexp, component)
            self._maps[key] = (single, batch)
        return self._maps[key]

    def savemodel(
        self,
        name,
        what=None,
        component=None,
        usebest=True,
        img=None,
        doresp=False,
        doexp=False,
        overwrite=False,
    ):
        """Write model image(s) to a FITS file with the image's WCS.

        Takes the arguments of :meth:`getmodel`; a single product is a 2-D
        image tagged with the ``MODEL`` keyword, several a cube with
        ``NSLICES`` and ``SLICEn``. Refuses to replace an existing file unless
        ``overwrite=True``. Under MPI, only rank 0 writes.

        Parameters
        ----------
        name : str or path-like
            The FITS file to write.
        what : str or list of str, optional
            As in :meth:`getmodel`. By default ``'all'`` (a cube of raw,
            smoothed and background), but with ``component`` the convolved
            model of those components alone (``'smoothed'``, one image; its
            ``COMPS`` keyword lists their ids).
        component, usebest, img, doresp, doexp
            As in :meth:`getmodel`.
        overwrite : bool
            Replace an existing file.
        """
        if what is None:
            what = "all" if component is None else "smoothed"
        names, _ = parse_what(what)
        if not parallel.is_root():
            return
        if os.path.exists(name) and not overwrite:
            raise FileExistsError(f"{name} exists; pass overwrite=True to replace it")
        print(f"Generating {', '.join(names)} model")
        images = self.getmodel(
            what=list(names),
            component=component,
            usebest=usebest,
            img=img,
            doresp=doresp,
            doexp=doexp,
        )
        chosen = None if component is None else _component_ids(self.mod, component)
        write_fits(name, images, names, img or self.img, overwrite=overwrite, components=chosen)
        print(f"Saved to {name}")

    # -- model comparison ---------------------------------------------------------
    def bmc(self):
        """Bayes factor of the model against the null (no-source) model.

        Returns
        -------
        lnB_raw, sigma_raw : float
            The log Bayes factor ``logZ - lnL(null)`` and its Gaussian-equivalent
            significance ``sqrt(2 lnB)``.
        lnB_deboost, sigma_deboost : float or None
            The same after subtracting the log prior evidence
            ``ln Z_prior = ln ∫ π(θ)² dθ`` estimated by ``run(getzprior=True)``
            (the prior sampled with the log prior density as likelihood).
            None, with a warning, for a run without ``getzprior=True``.

        Every MPI rank returns them; rank 0 alone prints them.
        """
        from socca.inference.summary import effective_sigma

        result = self._require_result("bmc")
        if result.logz is None:
            raise ValueError(f"method {self.method!r} gives no evidence: bmc() is unavailable")
        null = float(self._null())
        if not np.isfinite(null):
            raise ValueError(
                f"bmc(): the null model (no source) has log-likelihood {null} under the "
                f"{type(self.img.noise).__name__} noise model, so no Bayes factor against it "
                "exists; compare the evidences (fit.logz) of two models instead"
            )
        ln_raw = result.logz - null
        ln_deboost = None if self._prior_result is None else ln_raw - self._prior_result.logz
        if ln_deboost is None:
            warnings.warn(
                "bmc(): no prior evidence, so no deboosted Bayes factor (returned as None); "
                "run with getzprior=True for it",
                UserWarning,
                stacklevel=2,
            )
        if parallel.is_root():
            print(comparison_text("null-model comparison", ln_raw))
            if ln_deboost is not None:
                print()
                print(comparison_text("prior deboosted", ln_deboost))
        sigma_deboost = None if ln_deboost is None else effective_sigma(ln_deboost)
        return ln_raw, effective_sigma(ln_raw), ln_deboost, sigma_deboost

    def _null(self):
        if self._null_loglike is None:
            self._null_loglike = float(self.img.noise.loglike_fn()(np.zeros(self.img.shape)))
        return self._null_loglike

    # -- persistence ----------------------------------------------------------------
    def dump(self, path, overwrite=False):
        """Save the whole fit (model, image, results) with dill, atomically (MPI: rank 0 only).

        The fit is written to ``path + '.tmp'``, flushed to disk and renamed
        onto ``path``, so an interrupted dump leaves any previous file intact.

        Parameters
        ----------
        path : str or path-like
            Where to write; read it back with :func:`socca.load`.
        overwrite : bool
            Replace an existing file.

        Raises
        ------
        FileExistsError
            If ``path`` exists and ``overwrite`` is False.
        """
        if not parallel.is_root():
            return
        if os.path.exists(path) and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        write_atomically(path, lambda fh: dill.dump(self, fh, recurse=True))

    def __getstate__(self):
        state = dict(self.__dict__)
        for key in ("problem", "loglike", "loglike_batch", "prior_transform", "log_prior", "_maps"):
            state.pop(key, None)
        state["_result"] = _portable(state.get("_result"))
        state["_prior_result"] = _portable(state.get("_prior_result"))
        return state

    def __setstate__(self, state):
        if isinstance(state.get("_prior_result"), tuple):
            # saved by a version whose "prior evidence" was a fit to a pure-noise image
            warnings.warn(
                "this fit's prior evidence was computed with an earlier definition and is "
                "dropped: rerun with getzprior=True for the deboosted Bayes factor",
                UserWarning,
                stacklevel=2,
            )
            state["_prior_result"] = None
        self.__dict__.update(state)
        self._build()


def _portable(result):
    """The result with its sampler dropped when that object cannot be pickled.

    Samplers may hold compiled JAX functions or open files; the samples,
    weights, evidence and extras are what a reloaded fit needs.
    """
    if result is None or result.sampler is None:
        return result
    try:
        dill.dumps(result.sampler, recurse=True)
    except Exception:  # noqa: BLE001 - any pickling failure means: leave it out
        return dataclasses.replace(result, sampler=None)
    return result


class FixedProblem:
    """The likelihood of a model without free parameters: evaluated, never sampled.

    It has the attributes of :class:`socca.inference.Problem` for a parameter
    vector of length zero, so that ``fit.loglike([])``, model images and
    plots work; :meth:`fitter.run` refuses it.

    Parameters
    ----------
    mod : socca.models.Model
        A model whose parameters are all fixed or tied.
    img : socca.data.Image
        The image, with its noise model.
    """

    labels = units = priors = ()
    ndim = 0

    def __init__(self, mod, img):
        from socca.inference.problem import _finite, _has_positive, _make_score
        from socca.models.render import Renderer

        renderer = Renderer(mod.components, img, doresp=True, doexp=True)
        score = _finite(
            _make_score(img.noise.loglike_fn(), _has_positive(mod), bool(renderer.backgrounds))
        )
        value = jax.jit(lambda: score(renderer.render(jnp.zeros(0))))
        self.render = renderer.render
        self.loglike = lambda theta=(): value()
        self.loglike_batch = lambda thetas: jnp.full(len(thetas), value())
        self.prior_transform = lambda u: jnp.asarray(u, dtype=float)
        self.log_prior = lambda theta: jnp.zeros(np.shape(theta)[:-1])


def _model_and_image(first, second):
    """``(model, image)`` from the two arguments of :class:`fitter`, in either order."""
    from socca.data import Image
    from socca.models import Model

    if isinstance(first, Image) and isinstance(second, Model):
        return second, first
    if isinstance(first, Model) and isinstance(second, Image):
        return first, second
    raise InputTypeError(
        "fitter(mod, img): expected a socca.models.Model and a socca.data.Image, in either "
        f"order; got {_kind(first)} and {_kind(second)}"
    )


def _kind(value):
    """A short, complete description of a value: its type, and its path for a string."""
    kind = type(value).__name__
    if isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        text = text if len(text) <= 60 else "..." + text[-57:]
        return f"{kind} {text!r} (load a FITS file with socca.data.Image(path))"
    return kind


def positions_off_image(mod, img):
    """Ids of the components whose position prior lies entirely outside ``img``.

    A component counts when ``xc`` or ``yc`` is free and both have known
    finite bounds (:func:`socca.models.reach.parameter_bounds`). The prior's
    box in (RA, Dec) and the image's footprint (pixel edges) are compared
    both ways: points of the box mapped to pixels, and points of the image's
    border mapped to the sky.
    """
    from socca.models.reach import parameter_bounds

    pmap = ParameterMap(mod.components)
    border = _border_world(img)
    off = []
    for comp in mod.components:
        keys = (f"{comp.id}_xc", f"{comp.id}_yc")
        if not any(k in pmap.free for k in keys):
            continue
        box = [parameter_bounds(pmap, k) for k in keys]
        if None in box:
            continue
        if not _box_meets_image(box, img) and not _border_in_box(border, box):
            off.append(comp.id)
    return off


def _box_meets_image(box, img):
    """Whether some point of the (RA, Dec) box falls on the image's pixels."""
    (ra0, ra1), (dec0, dec1) = box
    ra, dec = np.meshgrid(
        np.linspace(ra0, ra1, POSITION_SAMPLES), np.linspace(dec0, dec1, POSITION_SAMPLES)
    )
    with np.errstate(all="ignore"):
        x, y = (np.asarray(v) for v in img.wcs.world_to_pixel_values(ra % 360.0, dec))
    ny, nx = img.shape
    inside = (x >= -0.5) & (x <= nx - 0.5) & (y >= -0.5) & (y <= ny - 0.5)
    return bool(np.any(inside))


def _border_world(img):
    """(RA, Dec) in degrees of points along the outer edge of the image, a pixel apart."""
    ny, nx = img.shape
    xs, ys = np.arange(nx + 1) - 0.5, np.arange(ny + 1) - 0.5
    x = np.concatenate([xs, xs, np.full(ny + 1, -0.5), np.full(ny + 1, nx - 0.5)])
    y = np.concatenate([np.full(nx + 1, -0.5), np.full(nx + 1, ny - 0.5), ys, ys])
    with np.errstate(all="ignore"):
        ra, dec = (np.asarray(v) for v in img.wcs.pixel_to_world_values(x, y))
    return ra, dec


def _border_in_box(border, box):
    """Whether a point of the image's border lies in the (RA, Dec) box (RA modulo 360)."""
    ra, dec = border
    (ra0, ra1), (dec0, dec1) = box
    in_ra = (ra1 - ra0 >= 360.0) | (np.mod(ra - ra0, 360.0) <= ra1 - ra0)
    return bool(np.any(in_ra & (dec >= dec0) & (dec <= dec1)))


def _component_ids(mod, component):
    """The ids of the components selected by ``component`` (index, id, object or list)."""
    from socca.models.render import select_components

    return [c.id for c in select_components(mod.components, component)]


def _component_key(component):
    if component is None:
        return None
    items = component if isinstance(component, list | tuple) else [component]
    return tuple(getattr(c, "id", c) for c in items)


def load(path):
    """Load a fit saved with :meth:`fitter.dump`."""
    with open(path, "rb") as fh:
        fit = dill.load(fh)
    if not isinstance(fit, fitter):
        raise TypeError(f"{path} does not hold a socca fit (found {type(fit).__name__})")
    return fit
