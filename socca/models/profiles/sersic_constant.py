"""The Sérsic constant b_n, exact for any index."""

import numbers

import jax
import jax.numpy as jnp
import scipy.special
from jax.scipy.special import gammainc, gammaln

NEWTON_STEPS = 8


def _initial_guess(n):
    # Ciotti & Bertin (1999) asymptotic series: within 1e-3 for n > 0.36 and a
    # safe starting point for Newton's method down to n = 0.25.
    return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n**2)


def _newton_step(b, a):
    # Solve P(a, b) = 1/2 for b, with P the regularised lower incomplete gamma.
    residual = gammainc(a, b) - 0.5
    slope = jnp.exp((a - 1.0) * jnp.log(b) - b - gammaln(a))
    return b - residual / slope


def sersic_bn(n):
    """Return b_n such that half the Sérsic light lies within the effective radius.

    b_n solves ``gammainc(2n, b_n) = 1/2``. Newton's method runs on a frozen
    copy; one last step on the live value gives the implicit-function gradient,
    so ``jax.grad`` with respect to ``n`` is exact.

    Parameters
    ----------
    n : float or array
        Sérsic index, valid over [0.25, 10] (and beyond).

    Notes
    -----
    A fixed index (a Python number, not traced) is solved once with scipy at
    trace time: the compiled likelihood then contains no iterative special
    function at all, which matters on GPUs, where each loop iteration of
    ``gammainc`` costs a device round trip.
    """
    if isinstance(n, numbers.Real):
        return float(scipy.special.gammaincinv(2.0 * n, 0.5))
    n = jnp.asarray(n, dtype=float)
    a = 2.0 * n
    frozen = jax.lax.stop_gradient(a)
    b = _initial_guess(jax.lax.stop_gradient(n))
    for _ in range(NEWTON_STEPS):
        b = jnp.maximum(_newton_step(b, frozen), 1e-6)
    return _newton_step(jax.lax.stop_gradient(b), a)
