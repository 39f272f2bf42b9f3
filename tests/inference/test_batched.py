"""Batched likelihoods: pairs, chunks and CPU devices give the single calls' answers."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from socca.errors import InputError
from socca.inference.batched import BatchedLoglike, layout


@pytest.mark.parametrize(
    "n, ndevices", list(itertools.product([1, 2, 3, 7, 16, 63, 64, 100, 257], [0, 1, 2, 3, 8]))
)
def test_layout_covers_every_row_with_little_padding(n, ndevices):
    used, pairs = layout(n, ndevices)
    needed = -(-n // 2)
    assert 1 <= used <= max(1, min(ndevices, needed))
    assert 2 * used * pairs >= n  # every row has a slot
    assert used * (pairs - 1) < needed  # no device holds padding alone


def quadratic_pair(pair):
    """A stand-in pair likelihood: each row's own value, -inf for a negative first entry."""
    value = -0.5 * jnp.sum(pair**2, axis=1) + jnp.arange(2) * 0.0
    return jnp.where(pair[:, 0] < 0, -jnp.inf, value)


def rows(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 3))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 16, 33, 100])
@pytest.mark.parametrize("devices", ["all", "one", "accelerator"])
def test_a_batch_gives_each_row_its_own_value(n, devices):
    cpus = tuple(jax.devices("cpu"))
    chosen = {"all": cpus, "one": cpus[:1], "accelerator": ()}[devices]
    batch = BatchedLoglike(quadratic_pair, devices=chosen)
    thetas = rows(n)
    expected = np.where(thetas[:, 0] < 0, -np.inf, -0.5 * np.sum(thetas**2, axis=1))
    got = np.asarray(batch(thetas))
    assert got.shape == (n,)
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_traced_batches_run_inside_the_callers_program():
    batch = BatchedLoglike(quadratic_pair, devices=tuple(jax.devices("cpu")))
    thetas = np.abs(rows(9))
    np.testing.assert_allclose(jax.jit(batch)(thetas), -0.5 * np.sum(thetas**2, axis=1))
    grad = jax.grad(lambda t: jnp.sum(batch(t)))(thetas)
    np.testing.assert_allclose(grad, -thetas, rtol=1e-14)


@pytest.mark.parametrize("ndevices", [0, 1, 2])
def test_a_batch_must_be_two_dimensional(ndevices):
    batch = BatchedLoglike(quadratic_pair, devices=(jax.devices("cpu")[0],) * ndevices)
    with pytest.raises(InputError, match=r"expected an \(n, nfree\) array, got shape \(3,\)"):
        batch(np.zeros(3))
