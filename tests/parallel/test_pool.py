"""Process pools: ``fit.run(ncores=...)``/``pool=...`` and the checks made before any run."""

import functools
import pickle
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from loky import ProcessPoolExecutor

from socca import parallel
from socca.inference import Problem
from socca.parallel import mpi
from socca.parallel.pool import ForeignPool, Recipe, worker_env, worker_state
from socca.parallel.session import Session
from tests.parallel import small


@pytest.mark.parametrize("method", ["nautilus", "dynesty", "pocomc"])
def test_ncores_matches_serial(method, small_fit, serial):
    reference = serial(method)
    pooled = small.run(small_fit, method, ncores=2)
    small.assert_consistent(reference, pooled)


@pytest.mark.filterwarnings("ignore:The sampling was stopped short")
def test_socca_pool_builds_the_problem_once_per_worker(serial):
    fit = small.fitter()
    with parallel.Pool(2) as pool:
        first = small.run(fit, "dynesty", pool=pool)
        before = pool.map(worker_state, range(8))
        small.run(fit, "dynesty", pool=pool, maxiter=50)  # the pool stays open between runs
        after = pool.map(worker_state, range(8))
    small.assert_consistent(serial("dynesty"), first)
    # every worker that ran a task built the problem once, for all the batches it evaluated
    for states in (before, after):
        assert all(len(keys) == 1 for _, keys, _ in states), states
    assert len({pid for pid, _, _ in before + after}) <= 2  # no worker was restarted
    assert max(n for _, _, n in before) > 10
    assert max(n for _, _, n in after) > max(n for _, _, n in before)
    assert not pool.open  # closed by the with block


def test_foreign_pool_evaluates_like_the_local_problem(small_fit):
    # any object with map will do; threads keep the test fast (processes: see above)
    thetas = np.asarray(small_fit.prior_transform(np.random.default_rng(0).uniform(size=(37, 2))))
    recipe = Recipe(functools.partial(Problem, small_fit.mod, small_fit.img))
    with ThreadPoolExecutor(max_workers=3) as executor:
        pool = ForeignPool(executor)
        pool.bind(recipe)
        assert pool.size == 3
        values = pool.evaluate(thetas)
        assert pool.map(abs, [-1, 2]) == [1, 2]
    np.testing.assert_allclose(values, np.asarray(small_fit.loglike_batch(thetas)), rtol=1e-12)
    assert pickle.loads(pickle.dumps(recipe)).key == recipe.key


def test_multipool_of_the_parallel_tutorial():
    import socca
    from socca.pool.mp import MultiPool

    assert socca.pool.mp.MultiPool is MultiPool and socca.pool.Pool is parallel.Pool
    # socca's own pool under another name: workers build the problem once (tested above)
    with MultiPool(processes=3, threads=1) as pool:
        assert isinstance(pool, parallel.Pool) and pool.processes == pool.size == 3
        assert pool.is_master() and not pool.is_worker()
        assert repr(pool) == "socca.pool.mp.MultiPool(processes=3, threads=1) [idle]"
        session = Session("nautilus", {"pool": pool})
        assert session.mode == "pool" and session._new_pool is pool  # not wrapped as foreign
    assert not pool.open


def test_prior_evidence_problem_travels_to_workers(small_fit):
    from socca.inference.noise_run import prior_problem

    thetas = np.asarray(small_fit.prior_transform(np.random.default_rng(2).uniform(size=(5, 2))))
    recipe = Recipe(functools.partial(prior_problem, small_fit.mod, small_fit.img))
    with ThreadPoolExecutor(max_workers=2) as executor:
        pool = ForeignPool(executor)
        pool.bind(recipe)
        values = pool.evaluate(thetas)
    np.testing.assert_allclose(values, np.asarray(small_fit.log_prior(thetas)), rtol=1e-12)


def test_worker_env_limits_threads(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = worker_env(1)
    assert "--xla_cpu_multi_thread_eigen=false" in env["XLA_FLAGS"]
    assert env["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    env = worker_env(1)
    assert "XLA_FLAGS" not in env and "OMP_NUM_THREADS" not in env  # the user's settings win
    assert "XLA_FLAGS" not in worker_env(4)
    assert worker_env(4)["SOCCA_CPU_DEVICES"] == "1"  # the workers are the parallelism


# ----------------------------------------------------------------------------- refused options


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("nautilus", {"ncores": 2, "pool": 2}, "ncores or pool"),
        ("pocomc", {"ncores": 2, "vectorize": True}, "vectorize=True"),
        ("nautilus", {"pool": 2, "vectorized": True}, "vectorized=True"),
        ("optimizer", {"ncores": 2}, "single process"),
        ("optimizer", {"pool": object()}, "single process"),
        ("numpyro", {"pool": 2}, "ncores=N for N chains"),
        ("dynesty", {"ncores": 0}, "positive integer"),
        ("dynesty", {"ncores": 1.5}, "positive integer"),
        ("dynesty", {"pool": True}, "positive integer"),
    ],
)
def test_conflicting_options_raise_before_running(small_fit, method, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        small_fit.run(method=method, **options)


def test_pool_object_without_map_is_refused(small_fit):
    with pytest.raises(TypeError, match="map method"):
        small_fit.run(method="dynesty", pool=object(), **small.OPTIONS["dynesty"])


def test_modes():
    assert Session("nautilus", {}).mode == "serial"
    assert Session("nautilus", {"ncores": 1}).mode == "serial"
    session = Session("dynesty", {"ncores": 2, "vectorize": False, "nlive": 5})
    assert session.mode == "pool" and session.options == {"nlive": 5}
    assert Session("emcee", {"pool": 2}).mode == "pool"
    numpyro = Session("numpyro", {"ncores": 4})
    assert numpyro.mode == "serial" and numpyro.options == {"ncores": 4}  # chains
    assert Session("optimizer", {"ncores": 1}).mode == "serial"


def test_optimizer_backend_says_it_is_single_process():
    from socca.inference.backends import optimizer

    with pytest.raises(ValueError, match="single process"):
        optimizer.run(None, ncores=2)


# ----------------------------------------------------------------------------- MPI detection


LAUNCHER_VARIABLES = [v for v, _ in mpi.SIZE_VARIABLES] + list(mpi.RANK_VARIABLES)
LAUNCHER_VARIABLES += list(mpi.LOCAL_SIZE_VARIABLES) + [mpi.SWITCH, "SLURM_NTASKS"]


@pytest.fixture
def clean_env(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("env", "name", "rank"),
    [
        ({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2"}, "Open MPI", 2),
        ({"PMI_SIZE": "2", "PMI_RANK": "1"}, "MPICH/Intel MPI (Hydra)", 1),
        ({"MV2_COMM_WORLD_SIZE": "3", "MV2_COMM_WORLD_RANK": "0"}, "MVAPICH", 0),
        ({"SLURM_STEP_NUM_TASKS": "8", "SLURM_PROCID": "5"}, "Slurm srun", 5),
    ],
)
def test_launchers_are_recognised(clean_env, env, name, rank):
    for key, value in env.items():
        clean_env.setenv(key, value)
    assert mpi.launcher().name == name
    assert parallel.rank() == rank and parallel.is_root() == (rank == 0)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"},  # mpirun -np 1
        {"SLURM_NTASKS": "8", "SLURM_PROCID": "0"},  # the batch script, not an srun step
        {"PMI_SIZE": "4", "PMI_RANK": "3", "SOCCA_MPI": "0"},  # switched off
    ],
)
def test_no_launcher(clean_env, env):
    for key, value in env.items():
        clean_env.setenv(key, value)
    assert mpi.launcher() is None and mpi.world() is None
    assert parallel.rank() == 0 and parallel.is_root()


def test_missing_mpi4py_under_a_launcher_says_how_to_install(clean_env, small_fit):
    clean_env.setenv("PMI_SIZE", "2")
    clean_env.setenv("PMI_RANK", "0")
    clean_env.setitem(sys.modules, "mpi4py", None)  # import mpi4py fails
    with pytest.raises(ImportError, match=re.escape("pip install socca[mpi]")) as info:
        small_fit.run(method="nautilus", **small.OPTIONS["nautilus"])
    assert "PMI_SIZE=2" in str(info.value) and "SOCCA_MPI=0" in str(info.value)


class FakeComm:
    """Stands in for COMM_WORLD of two ranks, for checks made before any exchange."""

    def __init__(self, rank):
        self.rank = rank

    def Get_rank(self):  # noqa: N802 (mpi4py's name)
        return self.rank

    def Get_size(self):  # noqa: N802
        return 2


@pytest.fixture
def fake_mpi(clean_env):
    clean_env.setenv("PMI_SIZE", "2")
    clean_env.setenv("PMI_RANK", "0")
    clean_env.setattr(mpi, "world", lambda: FakeComm(0))
    return clean_env


def test_checks_under_mpi(fake_mpi):
    assert Session("nautilus", {}).mode == "mpi"
    with pytest.raises(ValueError, match="cannot use MPI ranks"):
        Session("numpyro", {})
    with pytest.raises(ValueError, match="vectorize=True evaluates whole batches"):
        Session("pocomc", {"vectorize": True})
    with pytest.warns(UserWarning, match="dynesty may not benefit from MPI"):
        Session("dynesty", {})
    with pytest.warns(UserWarning, match="single process"):
        Session("optimizer", {})
    with pytest.warns(UserWarning, match="ncores=4 ignored"):
        assert Session("nautilus", {"ncores": 4}).mode == "mpi"
    # a pool object of the user's is used as is (e.g. an MPIPool of their own)
    assert Session("nautilus", {"pool": ProcessPoolExecutor}).mode == "pool"


def test_only_rank_0_prints_and_writes(clean_env, small_fit, tmp_path, capsys):
    from socca.inference.results import Result

    fit = small_fit
    samples = np.random.default_rng(0).normal([8.5e-4, 0.96], [2.5e-5, 0.04], (200, 2))
    saved = fit._result, fit.method, fit._prior_result
    fit._result, fit.method = Result(samples, np.ones(200), logz=538.0), "nautilus"
    fit._prior_result = Result(samples, np.ones(200), logz=5.0)
    try:
        clean_env.setenv("PMI_SIZE", "2")
        clean_env.setenv("PMI_RANK", "1")
        fit.parameters()
        values = fit.bmc()
        fit.savemodel(str(tmp_path / "model.fits"))
        fit.dump(str(tmp_path / "fit.pickle"))
        assert fit.plot.corner(name=str(tmp_path / "corner")) is None
        assert capsys.readouterr().out == ""
        assert list(tmp_path.iterdir()) == []
        clean_env.setenv("PMI_RANK", "0")
        assert fit.bmc() == values  # every rank gets the numbers
        fit.parameters()
        assert "Best-fit parameters" in capsys.readouterr().out
    finally:
        fit._result, fit.method, fit._prior_result = saved
