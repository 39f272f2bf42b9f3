"""Tests for socca.priors: every prior against an independent scipy reference."""

import math
import pickle
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as npd
import pytest
from scipy import integrate, stats

import socca  # noqa: F401  (turns on jax x64 before jax is used)
from socca import priors

N_DRAWS = 4000
KS_PVALUE = 0.01
RTOL = 1e-8


# --------------------------------------------------------------------------- references


class SplitNormalRef:
    """Split normal built from two scipy normal halves sharing the mode."""

    def __init__(self, loc, losig, hisig):
        self.loc = loc
        self.lo, self.hi = stats.norm(loc, losig), stats.norm(loc, hisig)
        self.wlo, self.whi = 2 * losig / (losig + hisig), 2 * hisig / (losig + hisig)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        below = np.log(self.wlo) + self.lo.logpdf(x)
        above = np.log(self.whi) + self.hi.logpdf(x)
        return np.where(x < self.loc, below, above)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        below = self.wlo * self.lo.cdf(x)
        above = self.wlo / 2 + self.whi * (self.hi.cdf(x) - 0.5)
        return np.where(x < self.loc, below, above)


class PowerLawRef:
    """p(x) = x**alpha / Z on [low, high], from the textbook closed forms."""

    def __init__(self, alpha, low, high):
        self.alpha, self.low, self.high = alpha, low, high
        a1 = alpha + 1
        self.norm = math.log(high / low) if a1 == 0 else (high**a1 - low**a1) / a1

    def pdf(self, x):
        return np.asarray(x, dtype=float) ** self.alpha / self.norm

    def logpdf(self, x):
        return np.log(self.pdf(x))

    def cdf(self, x):
        x = np.clip(np.asarray(x, dtype=float), self.low, self.high)
        a1 = self.alpha + 1
        if a1 == 0:
            return np.log(x / self.low) / self.norm
        return (x**a1 - self.low**a1) / a1 / self.norm


class LogPowerLawRef:
    """Density of y = log10(x), x ~ PowerLawRef, by change of variables."""

    def __init__(self, alpha, low, high):
        self.linear = PowerLawRef(alpha, low, high)
        self.low, self.high = math.log10(low), math.log10(high)

    def pdf(self, y):
        x = 10.0 ** np.asarray(y, dtype=float)
        return self.linear.pdf(x) * x * math.log(10)

    def logpdf(self, y):
        return np.log(self.pdf(y))

    def cdf(self, y):
        return self.linear.cdf(10.0 ** np.asarray(y, dtype=float))


@dataclass
class Case:
    id: str
    dist: object
    ref: object
    grid: np.ndarray  # points inside the support
    outside: tuple = ()  # points outside the support (none for unbounded)


CASES = [
    Case("uniform", priors.uniform(-1.0, 3.0), stats.uniform(-1.0, 4.0),
         np.linspace(-0.9, 2.9, 15), (-1.5, 3.01)),
    Case("loguniform", priors.loguniform(0.1, 1e3), stats.loguniform(0.1, 1e3),
         np.geomspace(0.11, 990.0, 15), (0.05, 1e4, -1.0)),
    Case("normal", priors.normal(2.0, 0.5), stats.norm(2.0, 0.5), np.linspace(0.6, 3.4, 15)),
    Case("splitnormal", priors.splitnormal(1.0, 0.5, 2.0), SplitNormalRef(1.0, 0.5, 2.0),
         np.linspace(-0.4, 6.0, 15)),
    Case("powerlaw_steep", priors.powerlaw(-2.5, 1.0, 100.0), PowerLawRef(-2.5, 1.0, 100.0),
         np.geomspace(1.1, 95.0, 15), (0.5, 101.0, -3.0)),
    Case("powerlaw_rising", priors.powerlaw(1.5, 0.5, 4.0), PowerLawRef(1.5, 0.5, 4.0),
         np.linspace(0.6, 3.9, 15), (0.4, 4.5)),
    Case("powerlaw_flat", priors.powerlaw(-1.0, 2.0, 50.0), PowerLawRef(-1.0, 2.0, 50.0),
         np.geomspace(2.1, 49.0, 15), (1.0, 60.0)),
    Case("logpowerlaw_steep", priors.logpowerlaw(-2.0, 1e10, 1e15),
         LogPowerLawRef(-2.0, 1e10, 1e15), np.linspace(10.1, 14.9, 15), (9.9, 15.1)),
    Case("logpowerlaw_rising", priors.logpowerlaw(0.5, 0.01, 10.0),
         LogPowerLawRef(0.5, 0.01, 10.0), np.linspace(-1.9, 0.9, 15), (-2.1, 1.1)),
]
IDS = [case.id for case in CASES]
BOUNDED = [case for case in CASES if case.outside]
ANALYTIC = [case for case in CASES if isinstance(case.ref, PowerLawRef | LogPowerLawRef)]


def unit_draws(seed=1234):
    return np.random.default_rng(seed).uniform(size=N_DRAWS)


# --------------------------------------------------------------------------- the references


@pytest.mark.parametrize("case", ANALYTIC, ids=[c.id for c in ANALYTIC])
def test_analytic_references_match_quadrature(case):
    ref = case.ref
    total, _ = integrate.quad(ref.pdf, ref.low, ref.high, epsabs=0, epsrel=1e-12)
    assert total == pytest.approx(1.0, rel=RTOL)
    for x in case.grid[::4]:
        mass, _ = integrate.quad(ref.pdf, ref.low, x, epsabs=0, epsrel=1e-12)
        assert ref.cdf(x) == pytest.approx(mass, rel=RTOL)


# --------------------------------------------------------------------------- every prior


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_icdf_of_uniform_draws_follows_reference(case):
    draws = np.asarray(case.dist.icdf(jnp.asarray(unit_draws())))
    assert stats.kstest(draws, case.ref.cdf).pvalue > KS_PVALUE


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sample_follows_reference(case):
    draws = case.dist.sample(jax.random.key(7), (N_DRAWS,))
    assert draws.shape == (N_DRAWS,) and draws.dtype == jnp.float64
    assert stats.kstest(np.asarray(draws), case.ref.cdf).pvalue > KS_PVALUE


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_prob_matches_reference(case):
    got = np.asarray(case.dist.log_prob(jnp.asarray(case.grid)))
    np.testing.assert_allclose(got, case.ref.logpdf(case.grid), rtol=RTOL)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cdf_matches_reference_and_icdf_inverts_it(case):
    cdf = case.ref.cdf(case.grid)
    np.testing.assert_allclose(case.dist.cdf(jnp.asarray(case.grid)), cdf, rtol=RTOL)
    np.testing.assert_allclose(case.dist.icdf(jnp.asarray(cdf)), case.grid, rtol=RTOL)


@pytest.mark.parametrize("case", BOUNDED, ids=[c.id for c in BOUNDED])
def test_outside_support(case):
    outside = jnp.asarray(case.outside)
    assert np.all(np.isneginf(case.dist.log_prob(outside)))
    assert not np.any(case.dist.support(outside))
    edges = case.dist.icdf(jnp.asarray([0.0, 1.0]))
    assert np.all(np.isfinite(case.dist.log_prob(edges)))  # rounding never leaves the support
    np.testing.assert_allclose(case.dist.cdf(outside), (np.asarray(case.outside) > edges[1]))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_icdf_under_jit_and_vmap(case):
    u = jnp.asarray(unit_draws()[:64])
    eager = case.dist.icdf(u)
    assert eager.dtype == jnp.float64
    np.testing.assert_allclose(jax.jit(case.dist.icdf)(u), eager, rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(case.dist.icdf)(u), eager, rtol=1e-12)
    # the distribution is a pytree, so it can be passed into compiled code
    as_argument = jax.jit(lambda dist, q: dist.icdf(q))(case.dist, u)
    np.testing.assert_allclose(as_argument, eager, rtol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_finite_differences(case):
    u = np.array([0.05, 0.3, 0.5, 0.7, 0.95])
    step = 1e-6
    grad = np.asarray(jax.vmap(jax.grad(case.dist.icdf))(jnp.asarray(u)))
    icdf = np.asarray(jax.jit(case.dist.icdf)(jnp.asarray(np.concatenate([u - step, u + step]))))
    numeric = (icdf[u.size:] - icdf[:u.size]) / (2 * step)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, numeric, rtol=1e-5)
    assert np.all(np.isfinite(jax.vmap(jax.grad(case.dist.log_prob))(jnp.asarray(case.grid))))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_check_icdf_accepts_every_factory(case):
    priors.check_icdf(case.dist, case.id)
    assert priors.is_free(case.dist) and not priors.is_tied(case.dist)


@pytest.mark.parametrize("case", BOUNDED, ids=[c.id for c in BOUNDED])
def test_outside_support_without_numpyro_validation(case):
    with npd.distribution.validation_enabled(False):
        dist = pickle.loads(pickle.dumps(case.dist))  # rebuilt with validation off
        assert not dist._validate_args
        assert np.all(np.isneginf(dist.log_prob(jnp.asarray(case.outside))))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pickle_round_trip(case):
    u = jnp.asarray([0.2, 0.5, 0.8])
    copy = pickle.loads(pickle.dumps(case.dist))
    np.testing.assert_array_equal(copy.icdf(u), case.dist.icdf(u))
    assert priors.describe(copy) == priors.describe(case.dist)


# --------------------------------------------------------------------------- power laws


def test_powerlaw_minus_one_is_loguniform():
    u = jnp.linspace(0.0, 1.0, 11)
    x = jnp.geomspace(0.2, 70.0, 11)
    flat, logu = priors.powerlaw(-1.0, 0.2, 70.0), priors.loguniform(0.2, 70.0)
    np.testing.assert_allclose(flat.icdf(u), logu.icdf(u), rtol=1e-13)
    np.testing.assert_allclose(flat.log_prob(x), logu.log_prob(x), rtol=1e-13)
    np.testing.assert_allclose(flat.cdf(x), logu.cdf(x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("alpha", [-1.0 - 1e-9, -1.0 + 1e-9])
def test_powerlaw_is_continuous_around_minus_one(alpha):
    u = jnp.linspace(0.0, 1.0, 11)
    near, logu = priors.powerlaw(alpha, 0.2, 70.0), priors.loguniform(0.2, 70.0)
    np.testing.assert_allclose(near.icdf(u), logu.icdf(u), rtol=1e-7)
    np.testing.assert_allclose(jax.grad(near.icdf)(0.4), jax.grad(logu.icdf)(0.4), rtol=1e-7)


@pytest.mark.parametrize("alpha", [-3.0, -1.0, 0.0, 2.0])
def test_logpowerlaw_icdf_is_log10_of_powerlaw_icdf(alpha):
    u = jnp.asarray(unit_draws()[:50])
    linear = priors.powerlaw(alpha, 3.0, 3e4).icdf(u)
    np.testing.assert_allclose(priors.logpowerlaw(alpha, 3.0, 3e4).icdf(u), jnp.log10(linear),
                               rtol=1e-12)


@pytest.mark.parametrize("alpha", [-4.0, 3.0])
def test_powerlaw_over_hundreds_of_decades(alpha):
    dist = priors.powerlaw(alpha, 1e-3, 1e300)  # naive x**(alpha + 1) would overflow
    u = jnp.linspace(0.0, 1.0, 21)
    x = dist.icdf(u)
    assert np.all(np.isfinite(x)) and np.all(np.diff(np.asarray(x)) >= 0)
    np.testing.assert_allclose(dist.cdf(x), u, atol=1e-12)
    assert np.all(np.isfinite(dist.log_prob(x)))


# --------------------------------------------------------------------------- validation

NAN, INF = float("nan"), float("inf")

INVALID = [
    (priors.uniform, (5.0, 1.0), "low", "5.0"),
    (priors.uniform, (2.0, 2.0), "low", "2.0"),
    (priors.uniform, (NAN, 1.0), "low", "nan"),
    (priors.uniform, (0.0, INF), "high", "inf"),
    (priors.loguniform, (0.0, 1.0), "low", "0.0"),
    (priors.loguniform, (-2.0, 1.0), "low", "-2.0"),
    (priors.loguniform, (1.0, -3.0), "high", "-3.0"),
    (priors.loguniform, (10.0, 1.0), "low", "10.0"),
    (priors.normal, (0.0, 0.0), "scale", "0.0"),
    (priors.normal, (0.0, -1.5), "scale", "-1.5"),
    (priors.normal, (NAN, 1.0), "loc", "nan"),
    (priors.splitnormal, (0.0, 0.0, 1.0), "losig", "0.0"),
    (priors.splitnormal, (0.0, 1.0, -2.5), "hisig", "-2.5"),
    (priors.splitnormal, (-INF, 1.0, 1.0), "loc", "-inf"),
    (priors.powerlaw, (-2.0, 0.0, 1.0), "low", "0.0"),
    (priors.powerlaw, (-2.0, 3.0, 1.0), "low", "3.0"),
    (priors.powerlaw, (NAN, 1.0, 2.0), "alpha", "nan"),
    (priors.powerlaw, (1.0, 1.0, INF), "high", "inf"),
    (priors.logpowerlaw, (-2.0, -1.0, 1.0), "low", "-1.0"),
    (priors.logpowerlaw, (-2.0, 7.0, 7.0), "high", "7.0"),
    (priors.logpowerlaw, (INF, 1.0, 2.0), "alpha", "inf"),
]


@pytest.mark.parametrize(("factory", "args", "name", "bad"), INVALID,
                         ids=[f"{f.__name__}{a}" for f, a, _, _ in INVALID])
def test_invalid_arguments_raise_value_error(factory, args, name, bad):
    with pytest.raises(ValueError) as info:
        factory(*args)
    message = str(info.value)
    assert factory.__name__ in message and f"{name}={bad}" in message


def test_ordering_message():
    with pytest.raises(ValueError, match=r"uniform: low=5.0 must be smaller than high=1.0"):
        priors.uniform(5.0, 1.0)


@pytest.mark.parametrize("bad", ["1.0", None, True, np.array([1.0, 2.0]), 1 + 2j])
def test_non_numbers_raise_type_error(bad):
    with pytest.raises(TypeError, match="uniform: low"):
        priors.uniform(bad, 3.0)


def test_numpy_and_integer_arguments_are_accepted():
    dist = priors.uniform(np.float32(1.0), np.array(3))
    assert dist.low.dtype == jnp.float64 and float(dist.high) == 3.0


# --------------------------------------------------------------------------- boundto


class FakeComponent:
    def __init__(self, id_, names):
        self.id = id_
        self.parameter_names = names


def test_boundto_stores_target_and_prints():
    comp = FakeComponent("comp_00", ("xc", "yc", "re"))
    bound = priors.boundto(comp, "xc")
    assert isinstance(bound, priors.BoundTo)
    assert bound.component is comp and bound.name == "xc"
    assert repr(bound) == "boundto(comp_00.xc)"
    assert priors.describe(bound) == "boundto(comp_00.xc)"
    assert priors.is_tied(bound) and not priors.is_free(bound) and not priors.is_fixed(bound)


def test_boundto_pickles():
    bound = pickle.loads(pickle.dumps(priors.boundto(FakeComponent("comp_01", ("re",)), "re")))
    assert repr(bound) == "boundto(comp_01.re)"


def test_boundto_rejects_unknown_parameter():
    comp = FakeComponent("comp_03", ("xc", "yc"))
    with pytest.raises(ValueError, match=r"'zc'.*xc, yc"):
        priors.boundto(comp, "zc")


def test_boundto_rejects_objects_without_parameters():
    with pytest.raises(ValueError, match="xc"):
        priors.boundto(object(), "xc")


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize("value", [1.5, 2, np.float32(0.5), np.int64(3), np.array(2.0),
                                   jnp.asarray(-1.0)])
def test_is_fixed_numbers(value):
    assert priors.is_fixed(value) and not priors.is_free(value) and not priors.is_tied(value)


@pytest.mark.parametrize("value", [NAN, INF, True, None, "1.0", np.array([1.0]),
                                   lambda comp_00_xc: comp_00_xc])
def test_is_fixed_rejects(value):
    assert not priors.is_fixed(value)


def test_is_tied_functions_not_distributions():
    assert priors.is_tied(lambda comp_00_xc: comp_00_xc)
    assert not priors.is_tied(npd.Normal(0.0, 1.0))  # distributions are callable too
    assert priors.is_free(npd.Normal(0.0, 1.0))


# --------------------------------------------------------------------------- check_icdf


class NoInverse(npd.Distribution):
    support = npd.constraints.real

    def log_prob(self, value):
        return -0.5 * value**2


class NeedsExtraPackage(NoInverse):
    def icdf(self, q):
        raise ImportError("Please install some_package")


@pytest.mark.parametrize("dist", [NoInverse(), NeedsExtraPackage(), npd.Weibull(1.0, 2.0)],
                         ids=["custom", "import_error", "weibull"])
def test_check_icdf_rejects_distributions_without_icdf(dist):
    with pytest.raises(TypeError, match="comp_00_re"):
        priors.check_icdf(dist, "comp_00_re")


def test_weibull_really_lacks_icdf():
    with pytest.raises(NotImplementedError):
        npd.Weibull(1.0, 2.0).icdf(0.5)


@pytest.mark.parametrize("dist", [npd.Normal(0.0, 1.0), npd.TruncatedNormal(0.0, 1.0, low=0.0),
                                  npd.LogUniform(1.0, 10.0), npd.Uniform(0.0, 1.0)])
def test_check_icdf_accepts_numpyro_distributions(dist):
    priors.check_icdf(dist, "comp_00_re")


def test_check_icdf_rejects_non_scalar_and_non_distributions():
    with pytest.raises(ValueError, match="scalar"):
        priors.check_icdf(npd.Normal(jnp.zeros(3), 1.0), "comp_00_re")
    with pytest.raises(TypeError, match="comp_00_re"):
        priors.check_icdf(1.0, "comp_00_re")


# --------------------------------------------------------------------------- describe


@pytest.mark.parametrize(("value", "text"), [
    (priors.uniform(1.0, 2.0), "Uniform(low=1.0, high=2.0)"),
    (priors.loguniform(0.5, 8), "LogUniform(low=0.5, high=8.0)"),
    (priors.normal(0.0, 1.0), "Normal(loc=0.0, scale=1.0)"),
    (priors.splitnormal(1.0, 0.25, 2.0), "SplitNormal(loc=1.0, losig=0.25, hisig=2.0)"),
    (priors.powerlaw(-2.0, 1.0, 10.0), "PowerLaw(alpha=-2.0, low=1.0, high=10.0)"),
    (priors.logpowerlaw(-2.0, 1.0, 10.0), "LogPowerLaw(alpha=-2.0, low=1.0, high=10.0)"),
    (npd.Normal(0.5, 2.0), "Normal(loc=0.5, scale=2.0)"),
    (npd.TruncatedNormal(0.0, 1.0, low=0.0),
     "LeftTruncatedDistribution(Normal(loc=0.0, scale=1.0), low=0.0)"),
    (lambda comp_01_re_scale, comp_02_re: comp_01_re_scale * comp_02_re,
     "lambda(comp_01_re_scale, comp_02_re)"),
    (1.5, "1.5000E+00"),
    (np.float32(-0.25), "-2.5000E-01"),
    (np.array(1e-5), "1.0000E-05"),
    (None, "None"),
])
def test_describe(value, text):
    assert priors.describe(value) == text


# --------------------------------------------------------------------------- functional priors


def test_functional_arguments():
    def scaled(comp_01_re_scale, comp_02_re):
        return comp_01_re_scale * comp_02_re

    assert priors.functional_arguments(scaled) == ("comp_01_re_scale", "comp_02_re")
    assert priors.functional_arguments(lambda comp_00_xc: comp_00_xc) == ("comp_00_xc",)


@pytest.mark.parametrize("func", [lambda: 1.0, lambda *args: args[0],
                                  lambda comp_00_xc, **kw: comp_00_xc])
def test_functional_arguments_rejects(func):
    with pytest.raises(ValueError):
        priors.functional_arguments(func)


def test_functional_arguments_rejects_non_functions():
    with pytest.raises(TypeError):
        priors.functional_arguments(priors.normal(0.0, 1.0))
