"""NumPyro backend (experimental): the No-U-Turn sampler on the compiled likelihood.

Each free parameter is a ``numpyro.sample`` site named by its label and drawn
from its prior (``problem.priors``); the log-likelihood enters as a
``numpyro.factor``. NUTS samples in an unconstrained space, mapping each prior's
support there by numpyro's bijections, and needs the gradient of the
log-likelihood, which JAX provides. Points where the log-likelihood is ``-inf``
(a positivity constraint, say, or a NaN or infinite value, which the problem's
public ``loglike`` turns into ``-inf``) end their trajectory as divergences.
Such numerical faults are not counted one by one here, unlike in the other
backends (:mod:`socca.inference.accounting`): the likelihood runs inside
numpyro's compiled trajectories, where counting would cost a host call per
step; ``extras['divergences']`` includes them.

This backend is experimental: it gives no evidence, NUTS may struggle with the
strongly curved or multimodal posteriors of image fits, and its defaults are
less tested than those of the nested samplers. It warns so at every run.

Options (besides ``checkpoint``, ``resume``, ``seed`` and ``progress``)
-----------------------------------------------------------------------
nwarmup (or num_warmup) : int, default 500
    Warmup (adaptation) steps per chain, discarded.
nsamples (or num_samples) : int, default 1000
    Samples kept per chain.
ncores (or num_chains) : int, default 1
    Number of chains (all run in this process: ``fit.run(pool=...)`` and MPI
    launchers are refused by the fitter with a ValueError).
chain_method : {'parallel', 'vectorized', 'sequential'}, optional
    How chains run: by default ``'parallel'`` (one per JAX device) when there
    are at least as many devices as chains, otherwise ``'vectorized'`` (all
    chains in one vmapped program on one device). On a CPU socca makes one
    JAX device per core (:mod:`socca.parallel.devices`), so chains run side
    by side up to the core count; ``SOCCA_CPU_DEVICES=1`` gives one device.
target_accept_prob : float, default 0.8
max_tree_depth : int, default 10
dense_mass : bool, default False
init_strategy : callable, default :func:`numpyro.infer.init_to_median`
    Forwarded to :class:`numpyro.infer.NUTS`.

Anything else raises :class:`TypeError`. ``progress`` shows numpyro's progress
bar; ``resume`` is ignored; checkpointing is not available. ``seed=None``
means seed 0.

The result has ``nchains * nsamples`` equally weighted samples in label order
(chain after chain), ``logz=None`` and the :class:`numpyro.infer.MCMC` object
as ``sampler``. ``extras`` holds ``ncall`` (leapfrog steps, i.e. gradient
evaluations, of the sampling phase; warmup not counted), ``divergences``,
``r_hat`` (split Gelman-Rubin per parameter; with one chain, from its two
halves), ``ess`` (effective sample size per parameter) and ``nchains``.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

# Absolute imports: this module's own name does not shadow the library.
import numpyro
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer import MCMC, NUTS, init_to_median

from socca.inference.results import Result

EVIDENCE = False
CHECKPOINT = None

DEFAULT_WARMUP = 500
DEFAULT_SAMPLES = 1000
ALIASES = {"nwarmup": "num_warmup", "nsamples": "num_samples", "ncores": "num_chains"}
DEFAULTS = {"num_warmup": DEFAULT_WARMUP, "num_samples": DEFAULT_SAMPLES, "num_chains": 1}
KERNEL_OPTIONS = ("target_accept_prob", "max_tree_depth", "dense_mass", "init_strategy")
OPTIONS = (*ALIASES, *DEFAULTS, "chain_method", *KERNEL_OPTIONS)
EXPERIMENTAL = (
    "the numpyro (NUTS) backend is experimental: check its convergence diagnostics "
    "(extras['r_hat'], extras['divergences']) and compare with a nested sampler"
)


def run(problem, *, checkpoint=None, resume=True, seed=None, progress=True, **options):
    """Sample the posterior with NUTS.

    Parameters
    ----------
    problem : socca.inference.Problem
        The compiled problem (``labels``, ``loglike`` and ``priors``).
    checkpoint : str or None
        Must be None: this backend keeps no checkpoint.
    resume : bool
        Ignored.
    seed : int or None
        Seed of the ``jax.random`` key (None means 0).
    progress : bool
        Show numpyro's progress bar.
    **options
        See the module documentation.

    Returns
    -------
    Result
        Equally weighted samples, ``logz=None``.

    Raises
    ------
    TypeError
        For an unknown option, an option given under both of its names, or a
        problem without ``priors``.
    ValueError
        For a checkpoint or non-positive counts.
    """
    settings = _settings(options)
    if checkpoint is not None:
        raise ValueError(
            "checkpointing is not available for the numpyro backend: run it without checkpoint="
        )
    priors = getattr(problem, "priors", None)
    if priors is None:
        raise TypeError("the numpyro backend needs problem.priors, one distribution per parameter")
    warnings.warn(EXPERIMENTAL, UserWarning, stacklevel=2)
    mcmc = _mcmc(problem, priors, settings, progress)
    key = jax.random.PRNGKey(0 if seed is None else seed)
    mcmc.run(key, extra_fields=("num_steps", "diverging"))
    return _result(problem, mcmc)


def _settings(options):
    """Resolve aliases and defaults; reject unknown or duplicated options."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(
            f"numpyro backend got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(OPTIONS)}"
        )
    settings = dict(options)
    for alias, name in ALIASES.items():
        if alias in settings and name in settings:
            raise TypeError(f"give {alias} or {name}, not both")
        if alias in settings:
            settings[name] = settings.pop(alias)
    for name, default in DEFAULTS.items():
        settings.setdefault(name, default)
        _check_count(name, settings[name])
    return settings


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _model(labels, priors, loglike):
    """The numpyro model: one prior site per parameter and the likelihood as a factor."""

    def model():
        theta = jnp.stack([numpyro.sample(k, p) for k, p in zip(labels, priors, strict=True)])
        numpyro.factor("loglike", loglike(theta))

    return model


def _mcmc(problem, priors, settings, progress):
    """The :class:`~numpyro.infer.MCMC` driver for ``settings``."""
    kernel_kw = {k: settings[k] for k in KERNEL_OPTIONS if k in settings}
    kernel_kw.setdefault("init_strategy", init_to_median)
    kernel = NUTS(_model(problem.labels, priors, problem.loglike), **kernel_kw)
    nchains = settings["num_chains"]
    default = "parallel" if jax.local_device_count() >= nchains else "vectorized"
    return MCMC(
        kernel,
        num_warmup=settings["num_warmup"],
        num_samples=settings["num_samples"],
        num_chains=nchains,
        chain_method=settings.get("chain_method", default),
        progress_bar=bool(progress),
    )


def _result(problem, mcmc):
    """Samples in label order, diagnostics and the call count."""
    by_chain = mcmc.get_samples(group_by_chain=True)
    chains = np.stack([np.asarray(by_chain[k], dtype=float) for k in problem.labels], axis=-1)
    nchains, nsamples, ndim = chains.shape
    fields = mcmc.get_extra_fields()
    extras = {
        "ncall": int(np.sum(fields["num_steps"])),
        "divergences": int(np.sum(fields["diverging"])),
        "r_hat": np.asarray(split_gelman_rubin(chains)),
        "ess": np.asarray(effective_sample_size(chains)),
        "nchains": nchains,
    }
    samples = chains.reshape(nchains * nsamples, ndim)
    return Result(samples, np.ones(len(samples)), sampler=mcmc, extras=extras)
