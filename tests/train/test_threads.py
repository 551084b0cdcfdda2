"""BLAS threads of a run: ``CoreShare`` leaves a core to a busy tracking process, then gives it back."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from nnexp.train.threads import CoreShare


def blas_now() -> int:
    return max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")


@pytest.fixture
def two_blas_threads():
    with threadpool_limits(limits=2, user_api="blas"):
        if blas_now() < 2:
            pytest.skip("this BLAS does not run 2 threads here")
        yield


def test_one_thread_fewer_while_busy_then_all_again(two_blas_threads):
    busy = [True]
    share = CoreShare(lambda: busy[0], cores=2)
    assert share.limited and blas_now() == 1
    share(None, {"epoch": 1})
    assert share.limited and blas_now() == 1  # still busy
    busy[0] = False
    share(None, {"epoch": 2})
    assert not share.limited and blas_now() == 2
    share.close()  # idempotent
    assert blas_now() == 2


def test_close_restores_even_while_busy(two_blas_threads):
    share = CoreShare(lambda: True, cores=2)
    assert blas_now() == 1
    share.close()
    assert not share.limited and blas_now() == 2


def test_nothing_is_limited_when_idle_on_one_core_or_below_the_cores(two_blas_threads):
    for busy, cores in ((False, 2), (True, 1), (True, 3)):
        share = CoreShare(lambda busy=busy: busy, cores=cores)
        assert not share.limited and blas_now() == 2
