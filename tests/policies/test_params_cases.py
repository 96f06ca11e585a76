"""Policy parameter schemas, case by case: how a rejected value is shown back to the user (JSON
spelling, long values cut, huge integers named), what each kind accepts, and which option a
conflict names (``--param`` help and errors; docs/policies.md, "Parameters")."""

from __future__ import annotations

import pytest

from shockwave.errors import InputError
from shockwave.policies import make_policy
from shockwave.policies.params import (
    ParamError,
    ParamInfo,
    build_policy,
    coerce_all,
    describe_params,
    policy_params,
)
from shockwave.policies.shockwave import ShockwavePolicy

RATIO = ParamInfo(name="ratio", kind="number", default=0.5, help="a ratio", low=0.0, high=1.0,
                  low_open=True)
FLAG = ParamInfo(name="flag", kind="boolean", default=False, help="a switch")
MODE = ParamInfo(name="mode", kind="name", default="a", help="a choice", choices=("a", "b"))
PATH = ParamInfo(name="path", kind="path", default=None, help="a file")
COUNT = ParamInfo(name="count", kind="integer", default=1, help="how many", low=1, high=10,
                  unit="rounds", aliases=("n",))


def message(info: ParamInfo, value) -> str:
    with pytest.raises(ParamError) as err:
        info.coerce(value)
    return str(err.value)


def test_rejected_values_are_shown_as_json_would_spell_them():
    assert message(RATIO, True) == "must be a number in (0, 1], got true"
    assert message(RATIO, False) == "must be a number in (0, 1], got false"
    assert message(RATIO, None) == "must be a number in (0, 1], got null"
    assert message(RATIO, 2) == "must be a number in (0, 1], got 2"
    assert message(RATIO, 2.5) == "must be a number in (0, 1], got 2.5"
    assert message(RATIO, 1e300) == "must be a number in (0, 1], got 1e300"
    assert message(RATIO, -1.5e-300) == "must be a number in (0, 1], got -1.5e-300"
    assert message(RATIO, "abc") == "must be a number in (0, 1], got 'abc'"
    assert message(RATIO, [1]) == "must be a number in (0, 1], got [1]"


def test_long_values_are_cut_to_40_characters():
    assert message(RATIO, "x" * 38) == f"must be a number in (0, 1], got '{'x' * 38}'"  # 40 shown
    cut = message(RATIO, "y" * 39)  # repr is 41 characters: cut to 37 and "..."
    assert cut == f"must be a number in (0, 1], got '{'y' * 36}..."
    assert message(RATIO, [1] * 20).endswith("got [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ...")


def test_integers_of_more_than_40_digits_are_named_not_printed():
    assert message(RATIO, 10**40) == (
        "must be a number in (0, 1], got a number with more than 40 digits")
    assert message(RATIO, -(10**40)).endswith("got a number with more than 40 digits")
    assert message(RATIO, 10**40 - 1) == f"must be a number in (0, 1], got {'9' * 40}"


def test_each_kind_says_what_it_accepts():
    assert FLAG.accepted == "true or false"
    assert MODE.accepted == "one of a, b"
    assert PATH.accepted == "a path to a JSON file"
    assert COUNT.accepted == "an integer in [1, 10] rounds"
    assert ParamInfo(name="x", kind="number", default=0, help="").accepted == "a number"
    assert ParamInfo(name="x", kind="number", default=0, help="", low=2.0).accepted == (
        "a number in [2, inf)")
    assert ParamInfo(name="x", kind="number", default=0, help="", high=2.0,
                     high_open=True).accepted == "a number in (-inf, 2)"
    assert ParamInfo(name="x", kind="numbers", default=(), help="", low=0.0,
                     high=1e15).accepted == "a list of numbers each in [0, 1e15]"


def test_names_and_paths_are_text_and_names_are_case_blind():
    assert MODE.coerce(" B ") == "b"
    assert message(MODE, "c") == "must be one of a, b, got 'c'"
    assert message(MODE, 3) == "must be one of a, b, got 3"
    assert PATH.coerce("conf.json") == "conf.json"
    assert message(PATH, "  ") == "must be a path to a JSON file, got '  '"
    assert FLAG.coerce(" TRUE ") is True and FLAG.coerce("false") is False
    assert message(FLAG, "yes") == "must be true or false, got 'yes'"


def test_keys_given_twice_through_an_alias_name_the_alias():
    with pytest.raises(InputError) as err:
        coerce_all((COUNT,), {"count": 2, "n": 3}, owner="p")
    assert str(err.value) == "--param n: given twice (as 'count' and an alias)"
    assert err.value.field == "--param n"
    assert coerce_all((COUNT,), {" n ": "4"}, owner="p") == {"count": 4}


def test_every_registered_policy_lists_its_schema():
    for name in ("shockwave", "allox", "fifo", "max_min_fairness"):
        assert describe_params(name) == list(policy_params(name))
    assert [p.name for p in policy_params("allox")] == ["alpha"]
    assert policy_params("fifo") == ()
    shockwave = {p.name: p for p in policy_params("shockwave")}
    assert shockwave["solver"].accepted == "one of highs, gurobi"
    assert shockwave["lam"].aliases == ("lambda",)
    assert shockwave["rho_max"].accepted == "a number in (0, 1000000]"


def test_the_solver_option_builds_the_policy_with_that_solver():
    assert build_policy("shockwave", {}).solver == "highs"
    assert build_policy("shockwave", {}, solver=" HiGHS ").solver == "highs"
    assert build_policy("shockwave", {"solver": "highs"}).solver == "highs"
    assert make_policy("shockwave").solver == "highs"
    assert isinstance(build_policy("shockwave", {"future_rounds": 7}), ShockwavePolicy)
    assert build_policy("shockwave", {"future_rounds": 7}).config.future_rounds == 7


def test_a_conflict_between_an_option_and_a_parameter_names_the_option():
    with pytest.raises(InputError) as err:
        build_policy("shockwave", {"config": "a.json"}, config_path="b.json")
    assert str(err.value) == "--policy-config: given both as --policy-config and as --param config"
    assert err.value.field == "--policy-config"
    with pytest.raises(InputError) as err:
        build_policy("fifo", {}, config_path="b.json")
    assert str(err.value) == "--policy-config: policy 'fifo' has no config option"
    with pytest.raises(InputError) as err:
        build_policy("allox", {}, solver="highs")
    assert str(err.value) == "--solver: policy 'allox' has no solver option"


def test_param_numbers_are_ascii_only() -> None:
    """Python's int('१२') is 12; a --param value written in another script's digits is refused
    like any other non-number (the trace readers already refused them)."""
    from shockwave.errors import InputError
    from shockwave.policies.params import build_policy

    with pytest.raises(InputError, match="--param future_rounds: must be an integer"):
        build_policy("shockwave", {"future_rounds": "१२"})
    with pytest.raises(InputError, match="--param k: must be a number"):
        build_policy("shockwave", {"k": "०.०१"})
    assert build_policy("shockwave", {"future_rounds": " 12 "}).config.future_rounds == 12
