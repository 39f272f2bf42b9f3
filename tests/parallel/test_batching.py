"""Batches padded to few shapes, and split evenly among workers."""

import numpy as np
import pytest

from socca.parallel.batching import Bucketed, bucket, split


@pytest.mark.parametrize(
    "n, largest, expected",
    [(1, 0, 1), (100, 64, 100), (5, 100, 8), (64, 100, 64), (65, 100, 100), (3, 3, 3)],
)
def test_bucket_is_a_power_of_two_capped_at_the_largest(n, largest, expected):
    assert bucket(n, largest) == expected


def test_bucketed_pads_with_the_last_row_and_drops_the_padding():
    seen = []

    def batch_fn(x):
        seen.append(x.copy())
        return x.sum(axis=1)

    fn = Bucketed(batch_fn)
    rng = np.random.default_rng(0)
    first = rng.normal(size=(100, 3))
    np.testing.assert_array_equal(fn(first), first.sum(axis=1))
    for n in (1, 5, 33, 64, 99):
        x = rng.normal(size=(n, 3))
        np.testing.assert_array_equal(fn(x), x.sum(axis=1))
        padded = seen[-1]
        assert padded.shape[0] == bucket(n, 100)
        np.testing.assert_array_equal(padded[n:], np.repeat(x[-1:], padded.shape[0] - n, axis=0))
    # one call per batch, whatever its size; only the rows asked for are counted
    assert (fn.nbatch, fn.ncall, fn.largest) == (6, 100 + 1 + 5 + 33 + 64 + 99, 100)
    assert {s.shape[0] for s in seen} == {100, 1, 8, 64}
    assert fn(np.empty((0, 3))).shape == (0,)


@pytest.mark.parametrize("n, parts", [(10, 3), (9, 3), (2, 5), (1, 1), (7, 0)])
def test_split_gives_equal_consecutive_chunks(n, parts):
    x = np.arange(2 * n, dtype=float).reshape(n, 2)
    chunks = split(x, parts)
    np.testing.assert_array_equal(np.concatenate(chunks), x)
    assert len(chunks) <= max(1, parts)
    assert all(len(c) == len(chunks[0]) for c in chunks[:-1])
    assert len(chunks[-1]) <= len(chunks[0])
    assert split(np.empty((0, 2)), parts) == []
