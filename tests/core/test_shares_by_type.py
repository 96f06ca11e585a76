"""``shares_by_type`` is ``typed_shares`` turned around (type -> job -> share), and resetting
the accounting with it is resetting it with ``typed_shares``: on one type (the fast path) and
on several, flat and typed shares alike."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave.mechanism import TypedAccounting, shares_by_type, typed_shares
from shockwave.model import Cluster

ONE_TYPE = Cluster(12)
THREE_TYPES = Cluster.of_types([("v100", 4, 1), ("p100", 4, 2), ("k80", 8, 1)])
SHARE = st.floats(0.0, 1.0) | st.integers(0, 1)
TYPED = st.dictionaries(st.sampled_from(["v100", "p100", "k80"]), st.floats(0.0, 1.0))


def _turned(typed: dict[int, dict[str, float]], types: tuple[str, ...]) -> dict:
    return {t: {j: by_type[t] for j, by_type in typed.items()} for t in types}


@settings(max_examples=200, deadline=None)
@given(shares=st.dictionaries(st.integers(0, 50), SHARE | TYPED, max_size=12),
       cluster=st.sampled_from([ONE_TYPE, THREE_TYPES]))
def test_shares_by_type_is_typed_shares_turned_around(shares, cluster) -> None:
    if cluster is ONE_TYPE:
        shares = {j: s for j, s in shares.items() if not isinstance(s, dict) or set(s) <= {"v100"}}
    want = _turned(typed_shares(shares, cluster), cluster.gpu_types)
    got = shares_by_type(shares, cluster)
    assert got == want
    assert [list(by_job) for by_job in got.values()] == [list(w) for w in want.values()]
    assert [type(x) for by_job in got.values() for x in by_job.values()] \
        == [type(x) for by_job in want.values() for x in by_job.values()]

    by_shares, by_types = (TypedAccounting(120.0, cluster.gpu_types) for _ in range(2))
    for accounting in (by_shares, by_types):
        for j in shares:
            accounting.add_job(j)
            accounting.record_run(j, cluster.gpu_types[-1], 30.0 + j)
    by_shares.reset(480.0, typed_shares(shares, cluster))
    by_types.reset_by_type(480.0, got)
    assert by_shares == by_types


def test_an_unknown_type_is_refused_on_one_type_too() -> None:
    with pytest.raises(ValueError, match="k80"):
        shares_by_type({0: 0.5, 1: {"k80": 1.0}}, ONE_TYPE)


FULL = st.permutations(["v100", "p100", "k80"]).flatmap(
    lambda order: st.tuples(*[st.floats(0.0, 1.0) | st.integers(0, 1) for _ in order]).map(
        lambda values: dict(zip(order, values, strict=True))))


@settings(max_examples=100, deadline=None)
@given(shares=st.dictionaries(st.integers(0, 50), FULL, max_size=12))
def test_shares_that_give_every_type_are_turned_around_directly(shares) -> None:
    """The typed policies' answers (every type, in any order, ints too) take the direct path:
    the same dicts, in the same order, with the same float values."""
    want = _turned(typed_shares(shares, THREE_TYPES), THREE_TYPES.gpu_types)
    got = shares_by_type(shares, THREE_TYPES)
    assert got == want
    assert [list(by_job) for by_job in got.values()] == [list(w) for w in want.values()]
    assert all(type(x) is float for by_job in got.values() for x in by_job.values())
