"""Maximum a posteriori backend: L-BFGS-B in the prior unit cube with exact JAX gradients.

The parameters are optimised in the unit hypercube ``u``, mapped onto the priors
by their inverse CDFs, ``theta = prior_transform(u)``, as nested samplers do.
In ``u`` the prior is uniform, so maximising the prior-conditioned
log-likelihood ``loglike(prior_transform(u))`` gives the maximum a posteriori
point in ``u``. :func:`scipy.optimize.minimize` runs L-BFGS-B on its negative,
with bounds keeping ``u`` a little inside the cube (``UNIT_EPS``, where the
inverse CDF of an unbounded prior would diverge) and the value and gradient
computed together by one jit-compiled JAX call per iteration.

Options (besides ``checkpoint``, ``resume``, ``seed`` and ``progress``)
-----------------------------------------------------------------------
pinits : {'median', 'random'} or array-like, default 'median'
    Starting point: the prior medians (``u = 0.5``), a uniform draw in the
    unit cube (from ``seed``), or one parameter value per free parameter, in
    label order, mapped to ``u`` by each prior's CDF.
nrestarts : int, default 0
    Extra runs from random starts (from ``seed``); the best optimum is kept.
tol, options, callback
    Forwarded to :func:`scipy.optimize.minimize` (``options`` to L-BFGS-B,
    e.g. ``{'maxiter': 500, 'ftol': 1e-12}``). The callback sees unit-cube
    points.

Anything else raises :class:`TypeError`. ``resume`` and ``progress`` are
accepted for a uniform interface and ignored; checkpointing is not available.
``seed=None`` means seed 0, so every run is reproducible.

The optimizer is single-process: one descent evaluates one point (value and
gradient) at a time, so there is nothing to share among workers, and
``ncores``/``pool`` raise :class:`ValueError`. Under MPI, rank 0 runs it
while the other ranks wait for its result (with a warning).

Three guards keep the optimizer from stopping short:

* Points where the log-likelihood is not finite (outside a positivity
  constraint, say) or absurd (``|lnL| >= ABSURD``, or ``-lnL`` above the
  penalty) get a finite penalty (``PENALTY_SCALE`` times ``max(|f0|, 1)``
  above the starting value ``f0``) and a zero gradient, which L-BFGS-B's line
  search backs away from. (A first step into a corner of the cube where
  ``-lnL`` is 1e248 would otherwise make the line search fall back to the
  start, and L-BFGS-B report convergence there.) A start on such a point
  would leave nothing to descend, so the optimizer instead starts from the
  best finite one of random draws in the unit cube, with a warning.
* When the line search fails (the gradient does not describe the function
  beyond a tiny neighbourhood, as for a cusped profile centred exactly on a
  pixel centre, which is where symmetric position priors put it at their
  medians), L-BFGS-B is restarted from a slightly nudged point (``JITTER``)
  up to ``RETRIES`` times while that improves the optimum.
* When the optimum sits on a face of the cube although the start did not,
  the first step may have crossed the cube into a corner where gradients
  vanish (a source at zero flux no longer feels its position): the descent
  is repeated from a point reached by ``CREEP_STEPS`` short normalised
  gradient steps from the start, and the better optimum is kept.

Success is then verified, not taken from L-BFGS-B: at the best point, the
projected gradient ``pg`` (components pushing against a face of the box set
to zero) is measured in the metric of the inverse Hessian ``H`` of ``-lnL``
over the free coordinates (from differences of exact gradients, one
evaluation per free parameter; curvatures floored at ``FLAT``). ``pg^T H^-1
pg`` is the χ² a Newton step would still gain; ``success`` is True only when
it is at most ``DCHI2_TOL`` (1e-3, i.e. within about 0.03σ of the local
optimum), the Hessian has no curvature below ``-FLAT`` (a saddle) and at
least one above ``FLAT`` (not a plateau where, e.g., every source has faded).
When L-BFGS-B claimed convergence but the check fails, up to
``POLISH_ROUNDS`` Newton steps (or fresh L-BFGS-B runs) start from the best
point; if the check still fails, ``success`` is False, the message says why
and gives the largest projected-gradient component, and a warning repeats
it. A scale-free test is needed: at a converged optimum the raw gradient in
the cube can be large where the posterior is narrow (3 on the quickstart,
7e-6 in χ² from the optimum). A verified optimum on a prior bound (a
coordinate within ``BOUND_EPS`` of 0 or 1) is reported by a warning naming
the parameters.

The compiled value-and-gradient function is cached with the problem's
functions as static arguments, so a second run on the same problem does not
compile again.

The result holds the optimum as its single sample. ``extras['results']``
(also ``Result.sampler``) is scipy's :class:`~scipy.optimize.OptimizeResult`
with ``x`` the optimal *parameters*, ``u`` their unit-cube position, ``fun``
minus the log-likelihood there, ``jac`` its gradient with respect to ``u``,
``dchi2`` the χ² a Newton step would still gain and ``pgnorm`` the largest
projected-gradient component; ``extras['ncall']`` counts log-likelihood evaluations and
``extras['nonfinite']`` those that failed numerically (NaN or infinite, see
:mod:`socca.inference.accounting`; they get the penalty and are reported by a
:class:`NumericalWarning`).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import minimize

from socca.inference.accounting import Faults, flagged_functions
from socca.inference.results import Result

EVIDENCE = False
CHECKPOINT = None

UNIT_EPS = 1e-10  # distance kept from the faces of the unit cube
PENALTY_SCALE = 10.0  # invalid points cost this many times max(|f0|, 1) above the start f0
START_BATCH = 256  # random unit-cube points per round when the start is invalid
START_ROUNDS = 40  # rounds tried before giving up
LINE_SEARCH_FAILED = 2  # L-BFGS-B's status for an abnormal end of the line search
RETRIES = 3  # restarts from nudged points after line-search failures
JITTER = 1e-3  # unit-cube standard deviation of those nudges
ABSURD = 1e100  # |-lnL| at or above this is treated like a non-finite value
DCHI2_TOL = 1e-3  # success needs the chi^2 a Newton step would still gain below this
FLAT = 1.0  # curvature of -lnL in u below which a direction counts as unconstrained
FD_STEP = 1e-6  # unit-cube step of the finite-difference Hessian (of exact gradients)
ACTIVE = 1e-12  # distance from the box within which a coordinate can sit on its bound
BOUND_EPS = 1e-6  # unit-cube distance from 0 or 1 that counts as a prior bound (warning)
POLISH_ROUNDS = 5  # Newton steps (or fresh L-BFGS-B runs) tried on an unverified optimum
BACKTRACKS = 30  # halvings of a Newton step before it is given up
FORWARDED = ("tol", "options", "callback")
OPTIONS = ("pinits", "nrestarts", *FORWARDED)


def run(problem, *, checkpoint=None, resume=True, seed=None, progress=True, **options):
    """Maximise the prior-conditioned log-likelihood with L-BFGS-B.

    Parameters
    ----------
    problem : socca.inference.Problem
        The compiled problem (``ndim``, ``labels``, ``loglike``,
        ``loglike_batch``, ``prior_transform``; ``priors`` for array
        ``pinits``).
    checkpoint : str or None
        Must be None: the optimizer keeps no checkpoint.
    resume, progress : bool
        Ignored.
    seed : int or None
        Seed of the random starts (``pinits='random'``, ``nrestarts``, the
        search for a valid start and the nudges of retries); None means 0.
    **options
        ``pinits``, ``nrestarts``, ``tol``, ``options`` and ``callback``; see
        the module documentation.

    Returns
    -------
    Result
        The optimum as one sample of weight 1, ``logz=None``. Its
        ``extras['results'].success`` is True only at a verified local
        optimum (see the module documentation for the tolerance).

    Raises
    ------
    TypeError
        For an unknown option.
    ValueError
        For a checkpoint, an invalid ``pinits`` or ``nrestarts``, or when no
        point with a finite log-likelihood can be found to start from.
    """
    _check_options(options)
    if checkpoint is not None:
        raise ValueError(
            "checkpointing is not available for the optimizer: run it without checkpoint="
        )
    rng = np.random.default_rng(0 if seed is None else seed)
    nrestarts = _check_restarts(options.get("nrestarts", 0))
    starts = [_initial_point(problem, options.get("pinits", "median"), rng)]
    starts += [_random_point(problem.ndim, rng) for _ in range(nrestarts)]
    forwarded = {k: options[k] for k in FORWARDED if k in options}
    faults = Faults(problem.labels)
    runs = []
    for u0 in starts:  # a plain loop keeps the warning's stack level fixed
        runs.append(_optimize(problem, u0, rng, forwarded, faults))
    best, _, fun = min(runs, key=lambda r: r[0].fun)
    best.nrestarts = nrestarts
    ncall = _finish(problem, best, fun, forwarded) + sum(n for _, n, _ in runs)
    return faults.report(_result(problem, best, ncall=ncall), "optimizer")


def _check_options(options):
    parallel = sorted({"ncores", "pool"} & set(options))
    if parallel:
        raise ValueError(
            f"the optimizer runs in a single process: {', '.join(parallel)} is not available "
            "(one descent evaluates one point at a time; use nrestarts for several starts)"
        )
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(
            f"optimizer got unknown option(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(OPTIONS)}"
        )


def _check_restarts(nrestarts):
    if isinstance(nrestarts, bool) or not isinstance(nrestarts, numbers.Integral):
        raise ValueError(f"nrestarts must be a non-negative integer, got {nrestarts!r}")
    if nrestarts < 0:
        raise ValueError(f"nrestarts must be a non-negative integer, got {nrestarts!r}")
    return int(nrestarts)


# --------------------------------------------------------------------------- starting points


def _random_point(ndim, rng):
    return rng.uniform(UNIT_EPS, 1.0 - UNIT_EPS, ndim)


def _initial_point(problem, pinits, rng):
    """Unit-cube starting point for ``pinits``."""
    if isinstance(pinits, str):
        if pinits == "median":
            return np.full(problem.ndim, 0.5)
        if pinits == "random":
            return _random_point(problem.ndim, rng)
        raise ValueError(
            f"pinits={pinits!r}: expected 'median', 'random' or one value per free parameter"
        )
    return _values_to_unit(problem, pinits)


def _values_to_unit(problem, pinits):
    """Map parameter values onto the unit cube through each prior's CDF."""
    try:
        theta = np.asarray(pinits, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"pinits: expected numbers, got {pinits!r}") from err
    if theta.shape != (problem.ndim,):
        raise ValueError(
            f"pinits: expected {problem.ndim} values, one per free parameter "
            f"({', '.join(problem.labels)}), got shape {theta.shape}"
        )
    priors = getattr(problem, "priors", None)
    if priors is None:
        raise ValueError("pinits: parameter values need the problem's priors; use 'median'")
    u = [
        _prior_cdf(label, prior, value)
        for label, prior, value in zip(problem.labels, priors, theta, strict=True)
    ]
    return np.clip(np.asarray(u, dtype=float), UNIT_EPS, 1.0 - UNIT_EPS)


def _prior_cdf(label, prior, value):
    """``prior.cdf(value)``, after checking that ``value`` is inside the support."""
    if not (np.isfinite(value) and np.isfinite(float(prior.log_prob(value)))):
        raise ValueError(
            f"pinits: {label}={float(value)!r} is outside the support of its prior{_support(prior)}"
        )
    try:
        return float(prior.cdf(value))
    except NotImplementedError as err:
        raise ValueError(
            f"pinits: the prior of {label} ({type(prior).__name__}) has no cdf; "
            "start from 'median' or 'random'"
        ) from err


def _support(prior):
    """`` [low, high]`` for interval supports, else an empty string."""
    try:
        low, high = prior.support.lower_bound, prior.support.upper_bound
    except (AttributeError, NotImplementedError):
        return ""
    return f" [{float(low):.6g}, {float(high):.6g}]"


def _valid_start(problem, u0, rng, faults):
    """``u0``, or the best of random points if the log-likelihood is not finite there.

    Returns
    -------
    u : numpy.ndarray
        The starting point.
    value : float
        Its log-likelihood.
    ncall : int
        Log-likelihood evaluations spent.
    """
    # The objective (compiled anyway) with an infinite penalty flags invalid
    # points (non-finite, or absurd: |-lnL| >= ABSURD).
    value = -float(_scipy_objective(problem, np.inf, faults)(u0)[0])
    if np.isfinite(value):
        return u0, value, 1
    _, batch = flagged_functions(problem)
    for k in range(1, START_ROUNDS + 1):
        cand = rng.uniform(UNIT_EPS, 1.0 - UNIT_EPS, (START_BATCH, problem.ndim))
        thetas = np.asarray(problem.prior_transform(cand))
        values = faults.screen(thetas, np.asarray(batch(thetas)))
        values = np.where(np.abs(values) < ABSURD, values, -np.inf)
        best = int(np.argmax(values))
        if np.isfinite(values[best]):
            warnings.warn(
                "optimizer: the log-likelihood is not finite at the starting point "
                f"{_describe(problem, u0)}; starting from the best of {k * START_BATCH} "
                "random points in the unit cube instead",
                UserWarning,
                stacklevel=4,
            )
            return cand[best], float(values[best]), 1 + k * START_BATCH
    raise ValueError(
        f"optimizer: the log-likelihood is not finite at the starting point nor at any of "
        f"{START_ROUNDS * START_BATCH} random points of the prior; check the model and priors"
    )


def _describe(problem, u):
    theta = np.asarray(problem.prior_transform(u), dtype=float)
    return "(" + ", ".join(f"{k}={v:.6g}" for k, v in zip(problem.labels, theta, strict=True)) + ")"


# --------------------------------------------------------------------------- optimisation


@functools.partial(jax.jit, static_argnums=(0, 1))
def _objective(loglike, prior_transform, u, penalty, limit):
    """``[f, df/du..., fault]`` of ``f(u) = -loglike(prior_transform(u))``, made finite.

    ``loglike`` is the flagged log-likelihood (NaN for a numerical fault);
    ``fault`` is 1 where it failed (NaN or ``+inf``), else 0, so that faults
    are counted without another transfer. Values above ``limit`` or below
    ``-ABSURD`` are treated like non-finite ones: they get the ``penalty`` and
    a zero gradient. Compiled once per problem (the functions are static
    arguments); ``penalty`` and ``limit`` are traced, so changing them does
    not recompile.
    """
    value, grad = jax.value_and_grad(lambda x: -loglike(prior_transform(x)))(u)
    fault = jnp.isnan(value) | (value == -jnp.inf)
    valid = jnp.isfinite(value) & (value <= limit) & (value > -ABSURD)
    value = jnp.where(valid, value, penalty)
    grad = jnp.where(valid & jnp.isfinite(grad), grad, 0.0)
    return jnp.concatenate([value[None], grad, fault[None].astype(value.dtype)])


def _scipy_objective(problem, penalty, faults):
    """``u -> (f, grad)`` in float64 numpy, one compiled call per evaluation.

    Numerical faults are counted by ``faults`` (the penalty stands in for them).
    Values above ``min(penalty, ABSURD)`` get the penalty too: a first step
    into a corner of the cube where ``-lnL`` is, say, 1e248 must not break
    the line search.
    """
    (loglike, _), transform = flagged_functions(problem), problem.prior_transform
    penalty = float(penalty)
    limit = min(penalty, ABSURD)

    def fun(u):
        out = np.asarray(_objective(loglike, transform, u, penalty, limit))
        if out[-1]:
            faults.screen_one(np.asarray(transform(u), dtype=float), np.nan)
        else:
            faults.ncall += 1
        return out[0], out[1:-1]

    return fun


def _optimize(problem, u0, rng, forwarded, faults):
    """L-BFGS-B from ``u0``, retried from nudged points after line-search failures.

    The line search fails where the gradient does not describe the function
    beyond a tiny neighbourhood, e.g. a cusped profile centred exactly on a
    pixel centre, as at the prior medians of a symmetric image: without the
    retries the optimizer would stop at its start point.

    Returns
    -------
    res : scipy.optimize.OptimizeResult
        The best run.
    ncall : int
        Log-likelihood evaluations of all runs.
    fun : callable
        The objective ``u -> (f, grad)`` the runs minimised.
    """
    u0, value, ncall = _valid_start(problem, u0, rng, faults)
    fun = _scipy_objective(problem, -value + PENALTY_SCALE * max(abs(value), 1.0), faults)
    res = _lbfgsb(fun, u0, forwarded)
    ncall += res.nfev
    for _ in range(RETRIES):
        if res.status != LINE_SEARCH_FAILED:
            break
        nudged = np.clip(res.x + rng.normal(0.0, JITTER, u0.size), UNIT_EPS, 1.0 - UNIT_EPS)
        retry = _lbfgsb(fun, nudged, forwarded)
        ncall += retry.nfev
        if not retry.fun < res.fun:
            break
        res = retry
    if _on_bound(res.x) and not _on_bound(u0):
        # A first step across the whole cube can land in a corner where some
        # gradients vanish (a source at zero flux no longer feels its
        # position). Creep towards the optimum with short normalised steps,
        # descend from there, and keep the better end.
        start, calls = _creep(fun, u0)
        retry = _lbfgsb(fun, start, forwarded)
        ncall += calls + retry.nfev
        if retry.fun < res.fun:
            res = retry
    return res, int(ncall), fun


def _on_bound(u):
    """True where some coordinate of ``u`` sits on the optimizer's box."""
    return bool(np.any(_at_bound(u, BOUND_EPS)))


def _at_bound(u, margin):
    """Per coordinate: -1 on the lower face of the box, +1 on the upper one, else 0."""
    u = np.asarray(u, dtype=float)
    return np.where(u <= UNIT_EPS + margin, -1, 0) + np.where(u >= 1.0 - UNIT_EPS - margin, 1, 0)


def _creep(fun, u0):
    """``CREEP_STEPS`` normalised gradient steps of shrinking length from ``u0``."""
    u = np.asarray(u0, dtype=float)
    best_u, best_f = u, None
    for k in range(CREEP_STEPS):
        f, g = fun(u)
        if best_f is None or f < best_f:
            best_u, best_f = u, f
        norm = np.linalg.norm(g)
        if not norm > 0:
            break
        step = CREEP_STEP * (1.0 - k / CREEP_STEPS)
        u = np.clip(u - step * g / norm, UNIT_EPS, 1.0 - UNIT_EPS)
    return best_u, CREEP_STEPS


CREEP_STEPS = 40
CREEP_STEP = 0.02


def _lbfgsb(fun, u0, forwarded):
    bounds = [(UNIT_EPS, 1.0 - UNIT_EPS)] * u0.size
    return minimize(fun, u0, jac=True, method="L-BFGS-B", bounds=bounds, **forwarded)


# --------------------------------------------------------------------------- verification


class _Check(NamedTuple):
    """What :func:`_verify` found at a point: ``reason`` is empty at a verified optimum."""

    f: float
    grad: np.ndarray
    dchi2: float
    pgnorm: float
    reason: str
    step: np.ndarray
    ncall: int


def _projected_gradient(u, grad):
    """The gradient with the components that push against the box set to zero.

    Returns
    -------
    pg : numpy.ndarray
        The projected gradient.
    free : numpy.ndarray of bool
        The coordinates not held on a face of the box.
    """
    side = _at_bound(u, ACTIVE)
    held = ((side < 0) & (grad > 0)) | ((side > 0) & (grad < 0))
    return np.where(held, 0.0, grad), ~held


def _fd_hessian(fun, u, grad, free):
    """Hessian of the objective over the ``free`` coordinates, by differences of exact gradients.

    Each column costs one evaluation; steps go inwards from the box.
    """
    idx = np.flatnonzero(free)
    cols = []
    for i in idx:
        h = FD_STEP if u[i] + FD_STEP <= 1.0 - UNIT_EPS else -FD_STEP
        v = np.array(u, dtype=float)
        v[i] += h
        cols.append((fun(v)[1][idx] - grad[idx]) / h)
    hess = np.array(cols).T
    return 0.5 * (hess + hess.T)


def _verify(fun, u):
    """Check that ``u`` is a local minimum of ``fun`` in the box.

    With ``pg`` the projected gradient and ``H`` the Hessian over the free
    coordinates (curvatures floored at ``FLAT`` in absolute value), the
    χ² that a Newton step would still gain is ``pg^T H^-1 pg``; it must not
    exceed ``DCHI2_TOL``, the Hessian must have no curvature below ``-FLAT``
    (a saddle) and at least one above ``FLAT`` (not a plateau where no
    parameter is constrained). The Newton step, with an escape along the
    most negative curvature at a saddle, comes with the verdict.
    """
    f, grad = fun(u)
    pg, free = _projected_gradient(u, grad)
    pgnorm = float(np.max(np.abs(pg), initial=0.0))
    step = np.zeros(u.size)
    if not free.any():  # every coordinate is held on the box: a vertex optimum
        return _Check(float(f), grad, 0.0, pgnorm, "", step, 1)
    lam, vec = np.linalg.eigh(_fd_hessian(fun, u, grad, free))
    proj = vec.T @ pg[free]
    curv = np.maximum(np.abs(lam), FLAT)
    dchi2 = float(np.sum(proj**2 / curv))
    move = -vec @ (proj / curv)
    reason = ""
    if lam[-1] < FLAT:
        reason = (
            f"the log-likelihood is flat around this point (largest curvature {lam[-1]:.3g} "
            f"< {FLAT:g} in the unit cube): no parameter is constrained here, "
            "e.g. every source has faded away"
        )
    elif lam[0] < -FLAT:
        reason = f"a saddle point (curvature {lam[0]:.3g} in the unit cube)"
        move += vec[:, 0] * np.sqrt(2.0 / -lam[0]) * (-1.0 if proj[0] > 0 else 1.0)
    elif dchi2 > DCHI2_TOL:
        reason = f"a Newton step would still gain Δχ² = {dchi2:.3g} (tolerance {DCHI2_TOL:g})"
    step[free] = move
    return _Check(float(f), grad, dchi2, pgnorm, reason, step, 1 + int(free.sum()))


def _newton(fun, u, f, step):
    """``u + t * step`` (clipped to the box) for the first ``t = 1, 1/2, ...`` that lowers ``f``.

    Returns
    -------
    u : numpy.ndarray or None
        The new point, or None when no trial lowered ``f``.
    ncall : int
        Evaluations spent.
    """
    t = 1.0
    for k in range(BACKTRACKS):
        trial = np.clip(u + t * step, UNIT_EPS, 1.0 - UNIT_EPS)
        if fun(trial)[0] < f:
            return trial, k + 1
        t *= 0.5
    return None, BACKTRACKS


def _polish(fun, res, check, forwarded):
    """Newton steps, else fresh L-BFGS-B runs, from ``res.x`` until the optimum is verified.

    ``res`` is updated in place (``x``, ``fun``, ``nit``, ``nfev``).

    Returns
    -------
    check : _Check
        The verdict at the final point.
    ncall : int
        Evaluations spent.
    """
    ncall = 0
    for _ in range(POLISH_ROUNDS):
        if not check.reason:
            break
        u, calls = _newton(fun, res.x, check.f, check.step)
        ncall += calls
        if u is None:
            retry = _lbfgsb(fun, res.x, forwarded)
            ncall += retry.nfev
            if not retry.fun < check.f:
                break
            u, res.nit, res.nfev = retry.x, res.nit + retry.nit, res.nfev + retry.nfev
        else:
            res.nit, res.nfev = res.nit + 1, res.nfev + calls
        res.x = u
        check = _verify(fun, u)
        ncall += check.ncall
    return check, ncall


def _finish(problem, res, fun, forwarded):
    """Verify the optimum (polishing it if L-BFGS-B claimed convergence too early).

    Sets ``res.success`` (True only at a verified local optimum), ``res.fun``,
    ``res.jac``, ``res.pgnorm``, ``res.dchi2`` and, on failure, a message that
    says why; warns when the optimum is not verified, or else when it sits on a
    prior bound.

    Returns
    -------
    int
        Log-likelihood evaluations spent.
    """
    check = _verify(fun, np.asarray(res.x, dtype=float))
    ncall = check.ncall
    if check.reason and res.status == 0:  # claimed convergence; not a user's iteration limit
        check, calls = _polish(fun, res, check, forwarded)
        ncall += calls
    res.fun, res.jac, res.pgnorm, res.dchi2 = check.f, check.grad, check.pgnorm, check.dchi2
    res.success = not check.reason
    if check.reason:
        res.message = (
            f"not a verified optimum: {check.reason}; largest projected-gradient component "
            f"{check.pgnorm:.3g} (L-BFGS-B: {res.message})"
        )
        warnings.warn(f"optimizer: {res.message}", UserWarning, stacklevel=3)
    else:
        _warn_bounds(problem, res.x)
    return ncall


def _warn_bounds(problem, u):
    """Warn, naming them, about parameters whose optimum sits on a bound of their prior."""
    side = _at_bound(u, BOUND_EPS)
    if not side.any():
        return
    theta = np.asarray(problem.prior_transform(np.asarray(u, dtype=float)), dtype=float)
    named = [
        f"{label}={value:.6g} ({'lower' if s < 0 else 'upper'} end)"
        for label, value, s in zip(problem.labels, theta, side, strict=True)
        if s
    ]
    warnings.warn(
        f"optimizer: the optimum sits on the prior bound of {', '.join(named)}; the data "
        "prefer values beyond the prior there: widen the prior or check the model",
        UserWarning,
        stacklevel=4,
    )


def _result(problem, res, ncall):
    """Express the optimum in parameter space and wrap it in a :class:`Result`."""
    res.u = np.asarray(res.x, dtype=float)
    res.x = np.asarray(problem.prior_transform(res.u), dtype=float)
    res.fun = float(res.fun)
    extras = {"results": res, "ncall": ncall, "u": res.u}
    return Result(res.x[None, :], np.ones(1), sampler=res, extras=extras)
