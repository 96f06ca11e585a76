"""``dumps_indented`` writes what ``json.dumps(value, indent=n)`` writes, character for
character: scalars of every kind (NaN and infinities, subclasses, non-ASCII text), keys that
are not strings, empty and nested containers, lists of plain numbers; and it leaves to ``json``
what ``json`` refuses."""

from __future__ import annotations

import enum
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave.jsondump import dumps_indented

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=8))
KEYS = st.text(max_size=6) | st.integers() | st.floats() | st.booleans() | st.none()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=VALUES, indent=st.sampled_from([0, 1, 2, 4]))
def test_the_text_is_json_dumps_with_indent(value: object, indent: int) -> None:
    assert dumps_indented(value, indent) == json.dumps(value, indent=indent)


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize("value", [
    [1.0, 2.5, -0.0, 1e300, 5e-324], [1, 2, -3, 10**30], [math.nan, 1.0], [math.inf, -math.inf],
    [1.0, 2], [True, 1], [np.float64(0.1), 0.2], {"a": [np.float64(1.5)]}, [Level.HIGH, 2],
    {"é": "ünïcode \u2028 \"quoted\" \\"}, {1.5: 0, True: 1, None: 2, 3: [], "x": {}},
    ([], {}, ()), "plain", 7, None,
])
def test_edge_values(value: object) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=1)


def test_what_json_refuses_it_refuses_the_same_way() -> None:
    for value in ({"a": {1, 2}}, [object()], {(1, 2): 0}, np.int64(3)):
        with pytest.raises(TypeError) as ours:
            dumps_indented(value)
        with pytest.raises(TypeError) as theirs:
            json.dumps(value, indent=1)
        assert str(ours.value) == str(theirs.value)
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(cycle)
