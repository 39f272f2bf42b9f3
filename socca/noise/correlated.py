"""Gaussian noise with a full pixel-to-pixel covariance matrix."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from scipy import linalg

from socca.data.io import read_array
from socca.errors import InputError
from socca.noise.base import Noise
from socca.noise.spectrum import (
    check_cube_shape,
    check_smoothing,
    cube_lag_covariance,
    lag_matrix,
    read_cube,
)

#: Relative tolerance of the symmetry check on ``cov`` and ``icov``.
SYMMETRY_RTOL = 1e-8


def _read_matrix(value, key: str) -> np.ndarray:
    """Read a covariance or precision matrix, ``(npix, npix)`` or ``(ny, nx, ny, nx)``."""
    if isinstance(value, str):
        value = Path(value)
    mat, _ = read_array(value, what=f"NormalCorrelated {key}")
    if mat.ndim == 4 and mat.shape[:2] == mat.shape[2:]:
        npix = mat.shape[0] * mat.shape[1]
        mat = mat.reshape(npix, npix)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise InputError(
            f"NormalCorrelated {key}: expected a square (npix, npix) matrix over the flattened "
            f"image (or (ny, nx, ny, nx)), got shape {mat.shape}"
        )
    if not np.all(np.isfinite(mat)):
        raise InputError(f"NormalCorrelated {key}: the matrix has NaN or inf entries")
    scale = np.abs(mat).max()
    asym = np.abs(mat - mat.T).max()
    if asym > SYMMETRY_RTOL * scale:
        raise InputError(
            f"NormalCorrelated {key}: the matrix is not symmetric (largest |M - M^T| = "
            f"{asym:.3g} for entries up to {scale:.3g})"
        )
    return 0.5 * (mat + mat.T)


def _cholesky(mat: np.ndarray, what: str) -> np.ndarray:
    """Lower Cholesky factor, or a ``ValueError`` saying the matrix is not positive definite."""
    try:
        return linalg.cholesky(mat, lower=True, check_finite=False)
    except linalg.LinAlgError as exc:
        raise InputError(
            f"NormalCorrelated: {what} is not positive definite on the {mat.shape[0]} unmasked "
            f"pixels (Cholesky failed: {exc}); check the matrix, or with cube= give more "
            "realisations or more smoothing"
        ) from exc


class NormalCorrelated(Noise):
    """Gaussian noise with a full covariance between the pixels.

    The likelihood of the unmasked pixels, flattened in C order into a vector
    ``r = d - m`` of length ``n``, is the normalised multivariate Gaussian

    ``ln L = -1/2 r^T C^-1 r - 1/2 ln det(2 pi C)``.

    Parameters
    ----------
    cov : array-like, str or HDU, optional
        Covariance of the whole image, shape ``(npix, npix)`` with
        ``npix = ny * nx`` (pixel ``(y, x)`` is index ``y * nx + x``), or
        ``(ny, nx, ny, nx)``. Must be symmetric positive definite on the
        unmasked pixels.
    icov : array-like, str or HDU, optional
        Its inverse (the precision matrix), same shapes.
    cube : array-like, str or HDU, optional
        Noise realisations, shape ``(nr, ny, nx)`` (a single 2-D map is one
        realisation), from which a stationary covariance is estimated.
    smooth : int
        With ``cube``: passes of the smoothing kernel over the estimated power
        spectrum (0 keeps the raw estimate).
    kernel : array-like, optional
        With ``cube``: smoothing kernel (odd sides, non-negative), used instead
        of the 5-point stencil ``[[0, 1, 0], [1, 4, 1], [0, 1, 0]] / 8``.

    Attributes
    ----------
    covariance : numpy.ndarray or None
        After :meth:`bind`, the covariance of the unmasked pixels.

    Notes
    -----
    Exactly one of ``cov``, ``icov`` and ``cube`` is given, except that
    ``cov`` and ``icov`` together are accepted with a warning: ``icov`` is
    used and ``cov`` ignored.

    *Masks* are handled by selecting the unmasked pixels in the covariance
    before inverting it (the marginal density of the pixels that are used).
    With ``icov`` and a mask, the precision matrix is first inverted to the
    covariance; without a mask it is factorised directly. The Cholesky factor
    ``C = L L^T`` gives both ``ln det C`` and the whitening matrix ``L^-1``,
    computed once at :meth:`bind`; each likelihood call is one matrix-vector
    product, ``r^T C^-1 r = |L^-1 r|^2``.

    *Estimate from a cube.* A full sample covariance of ``npix`` pixels needs
    more than ``npix`` realisations to be invertible; instead the noise is
    taken to be stationary and its covariance is estimated as a function of
    the lag ``(dy, dx)``: the mean of ``n(x) n(x + lag)`` over every
    realisation and every pixel pair inside the image (the cube's overall
    mean removed first). This estimate is moved to its power spectrum on a
    zero-padded ``(2 ny, 2 nx)`` grid and smoothed there ``smooth`` times
    with the kernel, which multiplies the covariance by a lag window: with the
    default stencil each pass multiplies it by
    ``(4 + 2 cos(pi dy / ny) + 2 cos(pi dx / nx)) / 8``, which is 1 at zero
    lag and falls to 0 at the largest lags (the variance is kept, the noisy
    long lags are damped; on small images it also slightly lowers the
    covariance at a few pixels' lag). Negative power is then set to zero, so
    the covariance is positive semi-definite, and the full ``(npix, npix)``
    matrix is filled from the lag function. ``smooth=0`` avoids the small
    bias but needs many realisations (hundreds or more): the longest lags
    are measured from a few pixel pairs, and zeroing the negative power their
    noise causes adds variance.

    Memory grows as ``npix^2``: a 128 x 128 image needs matrices of 2.1 GB
    (a few alive while binding); JAX then warns that large constants were
    captured when the likelihood is compiled: they are passed to the compiled
    function, not embedded in it (``JAX_CAPTURED_CONSTANTS_WARN_BYTES=-1``
    silences the warning).
    Image features: masks, response and exposure maps and PSFs all work.
    """

    def __init__(self, cov=None, icov=None, cube=None, smooth=3, kernel=None):
        if cov is not None and icov is not None and cube is None:
            warnings.warn(
                "NormalCorrelated: both cov and icov were given; using icov (the precision "
                "matrix) and ignoring cov",
                UserWarning,
                stacklevel=2,
            )
            cov = None
        given = [k for k, v in (("cov", cov), ("icov", icov), ("cube", cube)) if v is not None]
        if len(given) != 1:
            raise InputError(
                "NormalCorrelated needs exactly one of cov, icov or cube, got "
                f"{', '.join(given) if given else 'none'}"
            )
        (self.source,) = given
        if kernel is not None and self.source != "cube":
            raise InputError("NormalCorrelated: kernel only applies to a cube estimate (cube=)")
        self.smooth, self.kernel = check_smoothing(smooth, kernel, "NormalCorrelated")
        if self.source == "cube":
            self._input = read_cube(cube, "NormalCorrelated cube")
        else:
            self._input = _read_matrix(cov if cov is not None else icov, self.source)
        self._full = None  # full-image covariance estimated from the cube, cached
        self._key = None  # (shape, mask) of the current factorisation
        self.covariance = None
        self._bound = False

    def __repr__(self) -> str:
        if self.source == "cube":
            return (
                f"NormalCorrelated(cube=<{self._input.shape[0]} realisations>, "
                f"smooth={self.smooth})"
            )
        return f"NormalCorrelated({self.source}=<{self._input.shape[0]}x{self._input.shape[1]}>)"

    def bind(self, img) -> None:
        """Factorise the covariance of the unmasked pixels of ``img``; see :class:`Noise`.

        The factorisation is kept while the image shape and mask stay the same,
        so rebinding to new data (e.g. a simulated noise image) is cheap.
        """
        self._bound = False
        shape = tuple(img.shape)
        mask = np.asarray(img.mask, dtype=bool)
        if not mask.any():
            raise InputError("NormalCorrelated: every pixel is masked")
        key = (shape, mask.tobytes())
        if self._key != key:
            self._key = None
            self._factorise(shape, mask)
            self._key = key
        self._data = jnp.asarray(np.asarray(img.data, dtype=np.float64).ravel()[self._used_np])
        self._bound = True

    def _factorise(self, shape, mask) -> None:
        """Whitening matrix, log-determinant and pixel selection for ``shape`` and ``mask``."""
        npix = shape[0] * shape[1]
        if self.source == "cube":
            check_cube_shape(self._input, shape, "NormalCorrelated cube")
            if self._full is None:
                xi = cube_lag_covariance(self._input, self.kernel, self.smooth)
                self._full = lag_matrix(xi, shape)
        elif self._input.shape[0] != npix:
            raise InputError(
                f"NormalCorrelated {self.source}: matrix of shape {self._input.shape} but the "
                f"image has {shape[0]} x {shape[1]} = {npix} pixels"
            )
        used = np.flatnonzero(mask.ravel())
        whole = used.size == npix
        if self.source == "icov" and whole:
            factor = _cholesky(self._input, "icov")
            # C^-1 = P P^T, so r^T C^-1 r = |P^T r|^2 and ln det C = -2 sum ln diag P
            whiten, lower, logdet = factor.T, False, -2.0 * np.log(np.diag(factor)).sum()
            self.covariance = None
        else:
            if self.source == "icov":
                full = linalg.cho_solve((_cholesky(self._input, "icov"), True), np.eye(npix))
            else:
                full = self._full if self.source == "cube" else self._input
            cov = full if whole else full[np.ix_(used, used)]
            factor = _cholesky(cov, "the covariance")
            whiten = linalg.solve_triangular(factor, np.eye(used.size), lower=True)
            lower, logdet = True, 2.0 * np.log(np.diag(factor)).sum()
            self.covariance = cov
        self._const = float(-0.5 * (used.size * math.log(2.0 * math.pi) + logdet))
        self._lower = lower
        self._whiten = jnp.asarray(whiten)
        self._used = None if whole else jnp.asarray(used)
        self._used_np = used
        self._shape = shape

    def loglike_fn(self):
        """Return the Gaussian log-likelihood of a model image; see :class:`Noise`."""
        self._check_bound()
        data, whiten, used, const = self._data, self._whiten, self._used, self._const

        def loglike(model):
            flat = jnp.ravel(model)
            resid = data - (flat if used is None else flat[used])
            white = whiten @ resid
            return const - 0.5 * jnp.dot(white, white)

        return loglike

    def simulate(self, rng) -> np.ndarray:
        """A Gaussian noise image with this covariance (zero on masked pixels)."""
        self._check_bound()
        draw = linalg.solve_triangular(
            np.asarray(self._whiten), rng.standard_normal(self._used_np.size), lower=self._lower
        )
        out = np.zeros(self._shape[0] * self._shape[1])
        out[self._used_np] = draw
        return out.reshape(self._shape)
