"""python -m porthole.bench --param: one size of a mode overridden, bad ones refused with a code."""

from __future__ import annotations

import pytest

from porthole.bench.__main__ import with_overrides
from porthole.bench.context import FULL, QUICK
from porthole.errors import PortholeError


def test_overrides_set_ints_floats_and_tuples():
    p = with_overrides(QUICK, ["concurrency_levels=200", "rss_after_s=60", "throughput_bytes=8388608"])
    assert p.concurrency_levels == (200,)
    assert p.rss_after_s == 60.0
    assert p.throughput_bytes == 8 << 20
    assert p.keystrokes == QUICK.keystrokes
    assert with_overrides(FULL, ["bridge_concurrency_levels="]).bridge_concurrency_levels == ()
    assert with_overrides(FULL, ["concurrency_levels=1,10"]).concurrency_levels == (1, 10)
    assert with_overrides(FULL, []) == FULL


@pytest.mark.parametrize("bad", ["nosuch=1", "keystrokes", "keystrokes=many", "concurrency_levels=a,b"])
def test_bad_overrides_are_refused(bad: str):
    with pytest.raises(PortholeError) as e:
        with_overrides(QUICK, [bad])
    assert e.value.code == "bad_request"
