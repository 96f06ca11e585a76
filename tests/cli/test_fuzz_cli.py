"""Fuzzing the command line: random options and values, valid and not, for every command.

Whatever a user types, the outcome is success (0), a partial run refused (3), or one of our two
error forms with exit 2: a usage error in the CLI library's style (``Usage: ...`` first,
``Error: ...`` last) or one line ``error: ...``. Never a traceback, never an internal error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_run import Run, shockwave

DATA = Path(__file__).parents[2] / "src" / "shockwave" / "data"
FIRST = (DATA / "canonical-120jobs.trace").read_text().splitlines()[0].split("\t")


def _line(model_field: str, steps: int, gpus: int, arrival: int) -> str:
    fields = list(FIRST)
    fields[0], fields[5], fields[6], fields[7], fields[11] = (
        model_field, str(steps), str(gpus), "static", str(arrival))
    return "\t".join(fields)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Small valid inputs (runs take milliseconds), a folder, a plain file and garbage."""
    root = tmp_path_factory.mktemp("fuzz")
    trace = root / "tiny.trace"
    trace.write_text("\n".join([
        _line("ResNet-18 (batch size 32)", 2000, 1, 0),
        _line("ResNet-18 (batch size 32)", 1000, 2, 30),
        _line("LM (batch size 20)", 500, 1, 60),
    ]) + "\n")
    saved = root / "fifo.json"
    assert shockwave("simulate", "--trace", str(trace), "--policy", "fifo", "--json",
                     str(saved)).exit_code == 0
    plain = root / "plain.txt"
    plain.write_text("not a trace\n")
    garbage = root / "garbage.json"
    garbage.write_text(json.dumps({"policy": "x", "jobs": [{"id": float("nan")}]}))
    folder = root / "folder"
    folder.mkdir()
    return {"trace": trace, "saved": saved, "plain": plain, "garbage": garbage, "folder": folder,
            "root": root}


JUNK = st.one_of(
    st.sampled_from(["", "nan", "inf", "-inf", "-1", "0", "1e308", "1e-300", "१२", "0x10",
                     "1_000", "  3", "3.5", "true", "null", "{}", "[]", "-", "--", "9" * 400]),
    st.text(max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
POLICY = st.sampled_from(["fifo", "gavel", "themis", "allox", "ossp", "mst", "gandiva_fair",
                          "isolated", "shockwave", "gavl", "SHOCKWAVE", " fifo"])


def _value(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly a valid value, sometimes junk."""
    return st.one_of(valid, valid, valid, valid, valid, JUNK)


def _options(files: dict[str, Path]) -> dict[str, st.SearchStrategy[str]]:
    paths = st.sampled_from([str(files[k]) for k in ("trace", "plain", "garbage", "folder")]
                            + ["/nonexistent/x", str(files["plain"] / "under")])
    tables = st.sampled_from([str(DATA / "tacc_throughputs.json")] * 4
                             + [str(files[k]) for k in ("plain", "garbage", "folder")])
    outputs = st.sampled_from([str(files["root"] / "out" / "r.json"), str(files["folder"]),
                               str(files["plain"] / "x.json"), str(files["root"] / "o.json")])
    return {
        "--gpus": _value(st.integers(1, 16).map(str)),
        "--gpus-per-server": _value(st.sampled_from(["1", "2", "4", "3"])),
        "--round-seconds": _value(st.sampled_from(["60", "120", "360.5", "1", "86400"])),
        "--compat": _value(st.sampled_from(["fixed", "reference"])),
        "--throughputs": tables,
        "--policy-config": paths,
        "--solver": _value(st.sampled_from(["highs", "gurobi"])),
        "--param": _value(st.sampled_from(["k=0.01", "alpha=0.3", "future_rounds=10",
                                           "lambda=5", "log_bases=[0,0.5,1]", "x", "=1"])),
        "--json": outputs,
    }


@st.composite
def simulate_args(draw, files: dict[str, Path]) -> list[str]:
    command = draw(st.sampled_from(["simulate", "compare"]))
    valid_trace = draw(st.integers(0, 4)) > 0
    args = [command, "--trace", str(files["trace"])] if valid_trace else [command]
    if args == [command]:  # then fuzz the trace path itself
        args += ["--trace", draw(st.sampled_from([str(files["plain"]), str(files["garbage"]),
                                                  str(files["folder"]), "/nonexistent"]))]
    options = _options(files)
    if command == "compare":
        options.pop("--json")
        options["--policies"] = st.lists(POLICY, min_size=1, max_size=3).map(",".join)
        options["--jobs"] = st.sampled_from(["1", "1", "0", "x", "300"])
        options["--json-dir"] = st.sampled_from([str(files["root"] / "dir"), str(files["plain"])])
    else:
        options["--policy"] = POLICY
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        args += [name, draw(options[name])]
    if command == "compare" and "--jobs" not in args:
        args += ["--jobs", "1"]
    return args + draw(st.sampled_from([[], [], [], ["-q"], ["--allow-partial"], ["--nope"]]))


@st.composite
def trace_args(draw, files: dict[str, Path]) -> list[str]:
    sub = draw(st.sampled_from(["generate", "info", "convert", "import"]))
    if sub == "generate":
        options = {
            "--num-jobs": _value(st.integers(1, 30).map(str)),
            "--lam": _value(st.sampled_from(["0", "40", "1e6"])),
            "--seed": _value(st.integers(0, 2**32 - 1).map(str)),
            "--min-hours": _value(st.sampled_from(["0.1", "1"])),
            "--max-hours": _value(st.sampled_from(["2", "5"])),
            "--num-durations": _value(st.sampled_from(["5", "100", "2000"])),
            "--scale-factor-mix": _value(st.sampled_from(["0.6,0.3,0.09,0.01", "1,0,0,0"])),
            "--mode-mix": _value(st.sampled_from(["0,0.5,0.5", "1,0,0", "0.5,0.5"])),
            "--single-mode": _value(st.sampled_from(["static", "gns", "accordion"])),
            "--format": _value(st.sampled_from(["reference", "jsonl"])),
            "--out": st.sampled_from([str(files["root"] / "g.trace"), str(files["folder"])]),
        }
        args = ["trace", "generate", "--num-jobs", "5"]
        for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
            args += [name, draw(options[name])]
        return args + draw(st.sampled_from([[], ["--duration-logspace"], ["--single-gpu"]]))
    source = draw(st.sampled_from([str(files[k]) for k in ("trace", "plain", "garbage",
                                                           "folder")] + ["/nonexistent"]))
    if sub == "info":
        return ["trace", "info", source, "--gpus", draw(_value(st.sampled_from(["1", "32"])))]
    if sub == "convert":
        out = draw(st.sampled_from([str(files["root"] / "c.jsonl"), str(files["folder"]), "-"]))
        return ["trace", "convert", source, out]
    kind = draw(st.sampled_from(["gavel", "pollux", "philly"]))
    return ["trace", "import", kind, source]


@st.composite
def other_args(draw, files: dict[str, Path]) -> list[str]:
    return draw(st.sampled_from([
        ["policies"], ["policies", "--params", draw(POLICY)], ["--version"], [],
        ["report", str(files["saved"]), "--out", str(files["plain"])],
        ["report", str(files["garbage"]), "--out", str(files["root"] / "rep")],
        ["report", str(files["plain"]), "--out", str(files["root"] / "rep")],
        ["report", "/nonexistent.json", "--out", str(files["root"] / "rep")],
        ["report", str(files["saved"])],
        [draw(st.text(max_size=8))],
    ]))


def assert_outcome(run: Run) -> None:
    assert "Traceback" not in run.output, run.output
    assert "internal error" not in run.stderr, run.stderr
    assert run.exit_code in (0, 2, 3), run.output
    if run.exit_code != 2:
        return
    lines = [line for line in run.stderr.splitlines()
             if line.strip() and not line.startswith(("note: ", "warning: "))]
    assert lines, "exit 2 with nothing on stderr"
    if lines[0].startswith("Usage: ") and "Commands:" in run.stderr:
        return  # a group called without a command shows its help
    if lines[0].startswith("Usage: "):
        assert lines[-1].startswith("Error: "), run.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr


SETTINGS = settings(max_examples=500, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(data=st.data())
def test_simulate_and_compare_options(files, data) -> None:
    assert_outcome(shockwave(*data.draw(simulate_args(files))))


@SETTINGS
@given(data=st.data())
def test_trace_commands(files, data) -> None:
    assert_outcome(shockwave(*data.draw(trace_args(files))))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_report_policies_and_bare_commands(files, data) -> None:
    assert_outcome(shockwave(*data.draw(other_args(files))))
