"""The user-facing fitter: model + image in, posteriors, evidences and model maps out."""

from __future__ import annotations

import dataclasses
import functools
import os

import dill
import numpy as np

from socca import parallel
from socca.atomic import write_atomically
from socca.inference import Problem
from socca.inference.backends import get_backend
from socca.inference.modelmaps import (
    compiled_maps,
    median_of_realisations,
    parse_what,
    write_fits,
)
from socca.inference.summary import best_fit, comparison_text, parameter_table

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
        The model, with priors on its free parameters.
    img : socca.data.Image
        The image with its PSF, mask and noise model.

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
        self.mod = mod
        self.img = img
        self._build()
        self.method = None
        self._result = None
        self._prior_result = None
        self._null_loglike = None

    def _build(self):
        self.problem = Problem(self.mod, self.img)
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
            ``'optimizer'`` or ``'numpyro'`` (experimental).
        checkpoint : str, optional
            Base name of a checkpoint (``<name>.hdf5``, or the
            ``<name>_pocomc_dump`` folder for pocomc).
        resume : bool
            Resume from an existing checkpoint (default) or start afresh.
        getzprior : bool
            Also estimate the evidence the model gains on pure noise, used by
            :meth:`bmc` to deboost the Bayes factor (nested samplers and pocomc).
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
            self.method, self._result, self._prior_result = method.lower(), result, None
            if getzprior:
                self._prior_result = self._noise_run(backend, seed, progress, session)

    def _noise_run(self, backend, seed, progress, session):
        from socca.inference.noise_run import noise_problem

        noise_seed = session.shared_seed(seed)
        problem = noise_problem(self.mod, self.img, noise_seed)
        progress = progress and session.is_root
        if progress:
            print("\nPrior evidence: fitting the model to a pure-noise realisation")
        result = session.run(
            backend,
            problem,
            functools.partial(noise_problem, self.mod, self.img, noise_seed),
            seed=seed,
            progress=progress,
        )
        return result, problem.null_loglike

    # -- results --------------------------------------------------------------
    def _require_result(self, what):
        if self._result is None:
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
        if usebest or self.method == "optimizer":
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
        what="all",
        component=None,
        usebest=True,
        img=None,
        doresp=False,
        doexp=False,
        overwrite=False,
    ):
        """Write model image(s) to a FITS file with the image's WCS.

        Takes the arguments of :meth:`getmodel`; a single product is tagged
        with the ``MODEL`` keyword, several with ``NSLICES`` and ``SLICEn``.
        Refuses to replace an existing file unless ``overwrite=True``. Under
        MPI, only rank 0 writes.
        """
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
        write_fits(name, images, names, img or self.img, overwrite=overwrite)
        print(f"Saved to {name}")

    # -- model comparison ---------------------------------------------------------
    def bmc(self):
        """Bayes factor of the model against the null (no-source) model.

        Returns
        -------
        lnB_raw, sigma_raw, lnB_deboost, sigma_deboost : float
            The log Bayes factor ``logZ - lnL(null)`` and its Gaussian-equivalent
            significance ``sqrt(2 lnB)``; then the same after subtracting the
            log Bayes factor the model reaches on a pure-noise realisation
            (computed by ``run(getzprior=True)``). Every MPI rank returns
            them; rank 0 alone prints them.
        """
        from socca.inference.summary import effective_sigma

        result = self._require_result("bmc")
        if result.logz is None:
            raise ValueError(f"method {self.method!r} gives no evidence: bmc() is unavailable")
        if self._prior_result is None:
            raise ValueError("bmc() needs the prior evidence: run with getzprior=True")
        ln_raw = result.logz - float(self._null())
        noise_result, noise_null = self._prior_result
        ln_deboost = ln_raw - (noise_result.logz - noise_null)
        if parallel.is_root():
            print(comparison_text("null-model comparison", ln_raw))
            print()
            print(comparison_text("prior deboosted", ln_deboost))
        return ln_raw, effective_sigma(ln_raw), ln_deboost, effective_sigma(ln_deboost)

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
        if state.get("_prior_result") is not None:
            noise_result, noise_null = state["_prior_result"]
            state["_prior_result"] = (_portable(noise_result), noise_null)
        return state

    def __setstate__(self, state):
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
