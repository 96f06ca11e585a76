"""Policy parameter schemas: ``params.build_policy`` checks every key and value before a policy is
built, and Shockwave's config file refuses every value that would break its program."""

from __future__ import annotations

import json

import pytest

from shockwave.errors import InputError, ShockwaveError, UnknownPolicyError
from shockwave.policies import POLICIES
from shockwave.policies.allox import Allox
from shockwave.policies.params import ParamInfo, build_policy, describe_params
from shockwave.policies.shockwave import ShockwavePolicy
from shockwave.policies.shockwave.config import (
    CONFIG_PARAMS,
    MAX_FUTURE_ROUNDS,
    ShockwaveConfig,
    load_shockwave_config,
)


def _error(name: str, params: dict, **options) -> str:
    with pytest.raises(ShockwaveError) as info:
        build_policy(name, params, **options)
    return str(info.value)


@pytest.mark.parametrize("name", list(POLICIES))
def test_every_policy_builds_with_no_parameters_and_declares_its_schema(name):
    policy = build_policy(name, {})
    assert policy.name == name
    for info in describe_params(name):
        assert isinstance(info, ParamInfo) and info.help and info.accepted


@pytest.mark.parametrize(("params", "message"), [
    ({"alpha": -5}, "--param alpha: must be a number in (0, 1], got -5"),
    ({"alpha": "abc"}, "--param alpha: must be a number in (0, 1], got 'abc'"),
    ({"alpha": 0}, "--param alpha: must be a number in (0, 1], got 0"),
    ({"alpha": True}, "--param alpha: must be a number in (0, 1], got true"),
    ({"alpha": float("nan")}, "--param alpha: must be a number in (0, 1], got nan"),
    ({"alpha": "١٢"}, "--param alpha: must be a number in (0, 1], got '١٢'"),
    ({"nope": 1}, "--param nope: policy 'allox' accepts: alpha"),
])
def test_allox_alpha_is_checked(params, message):
    assert _error("allox", params) == message


def test_values_given_as_text_are_coerced():
    assert build_policy("allox", {"alpha": "0.3"}).alpha == 0.3
    assert build_policy("allox", {"allox_alpha": 1}).alpha == 1.0
    policy = build_policy("shockwave", {"k": "0.01", "future_rounds": "30", "milp_program": "true",
                                        "log_bases": "0,0.5,1"})
    config = policy.config
    assert (config.k, config.future_rounds, config.milp_program) == (0.01, 30, True)
    assert config.log_bases == (0.0, 0.5, 1.0)
    assert build_policy("shockwave", {"lambda": 3}).config.lam == 3.0


def test_allox_checks_alpha_when_built_directly():
    with pytest.raises(InputError, match="alpha: must be a number in"):
        Allox(alpha=2.0)


def test_a_policy_without_parameters_says_so():
    assert _error("gavel", {"nope": 1}) == "--param nope: policy 'max_min_fairness' takes no parameters"
    assert _error("fifo", {}, solver="highs") == "--solver: policy 'fifo' has no solver option"
    assert "has no config option" in _error("themis", {}, config_path="x.json")


def test_unknown_shockwave_key_lists_every_knob():
    message = _error("shockwave", {"nope": 3})
    assert message.startswith("--param nope: policy 'shockwave' accepts: config, solver, ")
    for info in CONFIG_PARAMS:
        assert info.name in message


@pytest.mark.parametrize(("params", "message"), [
    ({"config": {}}, "--param config: must be a path to a JSON file, got {}"),
    ({"solver": 1}, "--param solver: must be one of highs, gurobi, got 1"),
    ({"future_rounds": 1e9}, f"--param future_rounds: must be an integer in [1, {MAX_FUTURE_ROUNDS}]"),
    ({"future_rounds": 2.5}, "--param future_rounds: must be an integer"),
    ({"k": "inf"}, "--param k: must be a number in [0, "),
    ({"time_limit_s": 0}, "--param time_limit_s: must be a number in (0, 3600] s, got 0"),
    ({"log_bases": [0, 1e-300, 0.5, 1]}, "--param log_bases: must be strictly increasing, at least"),
    ({"log_bases": [0.1, 0.5, 1]}, "--param log_bases: must start at 0 and end at 1"),
    ({"log_origin": 0.09, "log_bases": [0, 0.1, 0.2, 1]}, "--param log_origin: must be small enough"),
    ({"exact_rounds": "maybe"}, "--param exact_rounds: must be true or false"),
])
def test_shockwave_parameters_are_checked(params, message):
    assert _error("shockwave", params).startswith(message)


def test_solver_option_and_parameter_conflict():
    assert _error("shockwave", {}, solver="cplex").startswith("--solver: must be one of highs")
    assert "given both" in _error("shockwave", {"solver": "highs"}, solver="highs")


def test_unknown_policy():
    with pytest.raises(UnknownPolicyError):
        build_policy("nosuch", {})


def test_parameters_override_the_config_file(tmp_path):
    path = tmp_path / "sw.json"
    path.write_text(json.dumps({"future_rounds": 10, "lambda": 3.0}))
    policy = build_policy("shockwave", {"k": 0.5}, config_path=str(path))
    assert (policy.config.future_rounds, policy.config.lam, policy.config.k) == (10, 3.0, 0.5)


@pytest.mark.parametrize(("content", "message"), [
    ({"log_approximation_bases": [0, 1e-300, 0.5, 1]}, "log_approximation_bases: must be strictly"),
    ({"log_approximation_bases": [0, 0.5, 0.4, 1]}, "log_approximation_bases: must be strictly"),
    ({"log_approximation_bases": [0, 1]}, None),
    ({"log_approximation_bases": [i / 200 for i in range(201)]}, "log_approximation_bases: must have 2 to 101"),
    ({"future_rounds": 1e9}, "future_rounds: must be an integer in [1, 100] rounds, got 1000000000"),
    ({"future_rounds": MAX_FUTURE_ROUNDS}, None),
    ({"k": "0.3"}, "k: must be a number in [0, 1000000], got '0.3'"),
    ({"lambda": -1}, "lambda: must be a number in [0, 1000], got -1"),
    ({"rhomax": 0}, "rhomax: must be a number in (0, 1000000], got 0"),
    ({"solver_timeout": 0}, "solver_timeout: must be a number in (0, 3600] s, got 0"),
    ({"solver_num_threads": 0}, "solver_num_threads: must be an integer in [1, 1024], got 0"),
    ({"momentum": 1.5}, "momentum: must be a number in [0, 1], got 1.5"),
    ({"log_origin": 0.5}, "log_origin: must be a number in [1e-12, 0.1], got 0.5"),
    ({"priority_cap": 1e300}, "priority_cap: must be a number in [1, 1e15], got 1e300"),
    ({"exact_rounds": 1}, "exact_rounds: must be true or false, got 1"),
    ({"lambda": 2, "lam": 3}, "lam: set twice"),
    ({"lamda": 3}, "lamda: unknown setting"),
])
def test_config_file_refuses_values_that_break_the_program(tmp_path, content, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(content))
    if message is None:
        ShockwavePolicy(config=str(path))
        return
    with pytest.raises(InputError) as info:
        load_shockwave_config(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_a_config_built_in_python_is_checked_too():
    with pytest.raises(InputError, match="future_rounds: must be an integer"):
        ShockwavePolicy(ShockwaveConfig(future_rounds=0))
    with pytest.raises(InputError, match="log_approximation_bases"):
        ShockwavePolicy(ShockwaveConfig(log_bases=(0.0, 0.0005, 1.0)))


def test_the_bundled_config_and_every_default_are_valid():
    defaults = ShockwaveConfig()
    assert load_shockwave_config() == defaults
    for info in CONFIG_PARAMS:
        assert info.coerce(getattr(defaults, info.name)) == getattr(defaults, info.name)
