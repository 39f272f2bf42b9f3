"""A checkpointing run to be killed: ``python killed_run.py METHOD NAME``.

Run by tests/inference/test_faults.py, which SIGKILLs it at a random moment
and resumes the checkpoint in its own process. The likelihood is the
analytic Gaussian, slowed down by sleeping (its values are unchanged) so that
the run lasts long enough to be killed; every backend checkpoints as often as
it can, so that many kills land while a checkpoint is being written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from socca.inference.backends import get_backend  # noqa: E402
from tests.inference.analytic import GaussianProblem  # noqa: E402

# The options of a complete run, shared with the test; ``SAVE`` adds what makes
# the backend checkpoint often, ``PAUSE`` the sleep per likelihood batch.
RUNS = {
    "nautilus": {"n_live": 100, "n_networks": 1, "n_eff": 1000},
    "dynesty": {"nlive": 50, "dlogz": 0.5},
    "emcee": {"nwalkers": 16, "nsteps": 500, "discard": 100},
    "pocomc": {"n_effective": 128, "n_total": 500, "n_evidence": 0, "flow": "maf3"},
}
SAVE = {
    "nautilus": {},  # nautilus writes after every batch
    "dynesty": {"checkpoint_every": 0.02},
    "emcee": {"checkpoint_every": 0.02},
    "pocomc": {"save_every": 1},
}
PAUSE = {"nautilus": 0.1, "dynesty": 0.005, "emcee": 0.01, "pocomc": 0.05}
SEED = 11


def slowed(problem, pause):
    """``problem`` with each batch likelihood call delayed by ``pause`` seconds."""
    batch = problem.loglike_batch

    def slow(thetas):
        time.sleep(pause)
        return batch(thetas)

    problem.loglike_batch = slow
    return problem


def run(method, name, pause=0.0, save=True):
    """Run ``method`` on the analytic problem with the checkpoint ``name``."""
    options = {**RUNS[method], **(SAVE[method] if save else {})}
    problem = slowed(GaussianProblem(), pause) if pause else GaussianProblem()
    return get_backend(method).run(problem, checkpoint=name, seed=SEED, progress=False, **options)


if __name__ == "__main__":
    method, name = sys.argv[1], sys.argv[2]
    run(method, name, pause=PAUSE[method])
