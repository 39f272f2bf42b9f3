"""socca: Source Characterization using a Composable Analysis.

Fit parametric models of astronomical sources (Sérsic galaxies, point sources,
cluster profiles, backgrounds, ...) to FITS images and obtain Bayesian
posteriors. The forward model is written in JAX: compiled, batched with
``vmap`` and differentiable.
"""

import jax

# Positions are world coordinates in degrees: single precision cannot resolve
# sub-pixel offsets at RA ~ 100 deg, so double precision is required.
jax.config.update("jax_enable_x64", True)

# One JAX device per CPU core, so that batches of likelihoods use every core
# (set before JAX starts its backend; see socca.parallel.devices).
from socca.parallel import devices as _devices  # noqa: E402

_devices.configure()

# socca.pool: process pools (socca.pool.Pool, socca.pool.mp.MultiPool)
from socca import data, datasets, errors, models, noise, plotting, pool, priors  # noqa: E402
from socca.errors import SoccaError  # noqa: E402
from socca.fitting import fitter, load  # noqa: E402

__all__ = [
    "SoccaError",
    "data",
    "datasets",
    "errors",
    "fitter",
    "load",
    "models",
    "noise",
    "plotting",
    "pool",
    "priors",
]
__version__ = "0.1.0"
