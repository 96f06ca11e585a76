"""Shockwave's config file at its boundaries (docs/policies.md, "Configuration"): what is not an
object, unknown keys (the known ones listed), the breakpoint count and spacing limits, and the
concavity of the log interpolation's first segment."""

from __future__ import annotations

import pytest

from shockwave.errors import InputError
from shockwave.policies.shockwave.config import (
    CONFIG_PARAMS,
    MAX_LOG_BASES,
    MIN_LOG_BASE_SPACING,
    config_from_mapping,
)


def error(raw) -> InputError:
    with pytest.raises(InputError) as caught:
        config_from_mapping(raw, "sw.json")
    return caught.value


def test_a_config_must_be_an_object():
    err = error([1])
    assert str(err) == "sw.json: must be a JSON object"
    assert err.path == "sw.json"


def test_unknown_keys_list_every_known_key():
    keys = sorted(key for info in CONFIG_PARAMS for key in (info.name, *info.aliases))
    assert str(error({"nope": 1})) == f"sw.json: nope: unknown setting; known: {', '.join(keys)}"


def test_breakpoint_count_limits_are_inclusive():
    assert MAX_LOG_BASES == 101
    most = [i / 100 for i in range(101)]
    assert config_from_mapping({"log_approximation_bases": most}).log_bases == tuple(most)
    too_many = [i / 101 for i in range(102)]
    assert "must have 2 to 101 breakpoints, got 102" in str(error({"log_bases": too_many}))
    assert config_from_mapping({"log_bases": [0, 1]}).log_bases == (0.0, 1.0)


def test_breakpoints_exactly_the_minimum_apart_are_accepted():
    assert MIN_LOG_BASE_SPACING == 1e-3
    assert config_from_mapping({"log_bases": [0, 0.001, 1]}).log_bases == (0.0, 0.001, 1.0)
    message = str(error({"log_bases": [0, 0.0009, 1]}))
    assert "must be strictly increasing, at least 0.001 apart (smallest gap: 0.0009)" in message


def test_the_first_segment_must_not_be_flatter_than_the_second():
    # Breakpoints 0, 0.1, 1 with ln 0 := ln(origin). Slopes: (ln 0.1 - ln origin) / 0.1 and
    # -ln 0.1 / 0.9 = 2.558. Origin 0.0794: first slope 2.30 < 2.558, not concave: refused.
    # Origin 0.07: first slope 3.56, concave: accepted.
    assert "log_origin" in str(error({"log_bases": [0, 0.1, 1], "log_origin": 0.0794}))
    accepted = config_from_mapping({"log_bases": [0, 0.1, 1], "log_origin": 0.07})
    assert accepted.log_origin == 0.07
