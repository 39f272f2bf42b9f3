"""Serial reference runs of the small fit, shared by the pool and MPI tests."""

import pytest

from tests.parallel import small


@pytest.fixture(scope="session")
def small_fit():
    return small.fitter()


@pytest.fixture(scope="session")
def serial(small_fit):
    """``serial(method)``: the summary of a serial run, computed once per method."""
    cache = {}

    def get(method):
        if method not in cache:
            cache[method] = small.run(small_fit, method)
        return cache[method]

    return get
