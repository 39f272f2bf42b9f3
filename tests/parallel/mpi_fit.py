"""Run under ``mpiexec -n 2``: the small nautilus fit, with no MPI-specific code.

Every rank writes its posterior summary to ``<outdir>/rank<r>.json``; the
parameter table is printed by ``fit.parameters()``, which prints on rank 0 only.

Usage: ``python mpi_fit.py OUTDIR``.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import small  # noqa: E402

out = Path(sys.argv[1])
fit = small.fitter()
summary = small.run(fit, "nautilus")
fit.parameters()
rank = next(int(os.environ[k]) for k in ("PMI_RANK", "OMPI_COMM_WORLD_RANK") if k in os.environ)
summary["has_sampler"] = fit.sampler is not None
(out / f"rank{rank}.json").write_text(json.dumps(summary))
