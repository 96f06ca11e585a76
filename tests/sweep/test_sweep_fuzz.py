"""Fuzzing the spec file: whatever a sweep's YAML holds, ``shockwave sweep --dry-run`` accepts it
(exit 0) or answers one line ``error: FILE[:LINE]: ...`` (exit 2); never a traceback."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sweep_helpers import sweep

SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 40), st.sampled_from([0.5, 1e308, -0.0, 2.5]),
    st.sampled_from(["", "x", "fifo", "gavel", "gns", "1", "nan"]),
)
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=4),
                  st.lists(st.lists(st.sampled_from([0, 0.5, 1, 0.25]), max_size=5), max_size=2),
                  st.dictionaries(st.sampled_from(["k", "alpha", "x"]), SCALAR, max_size=2))
TOP = ["policies", "seeds", "gpus", "gpus_per_server", "round_seconds", "compat",
       "preemption_penalty_seconds", "name", "trace", "params", "nope"]
TRACE = ["num_jobs", "lam", "min_hours", "max_hours", "num_durations", "duration_logspace",
         "multi_gpu", "scale_factor_mix", "dynamic", "mode_mix", "single_mode", "seed"]


@st.composite
def documents(draw: st.DrawFn) -> dict:
    doc = {"policies": draw(st.sampled_from([["fifo"], ["fifo", "themis"], "gavel"])),
           "gpus": draw(st.sampled_from([8, [8, 16], 16])),
           "trace": {"num_jobs": draw(st.integers(1, 8)), "multi_gpu": False}}
    for key in draw(st.lists(st.sampled_from(TOP), max_size=3)):
        doc[key] = draw(VALUE)
    if isinstance(doc.get("trace"), dict):
        for key in draw(st.lists(st.sampled_from(TRACE), max_size=3)):
            doc["trace"][key] = draw(VALUE)
    if draw(st.booleans()):
        doc["params"] = {draw(st.sampled_from(["fifo", "allox", "shockwave", "x"])):
                         {draw(st.sampled_from(["k", "alpha", "future_rounds"])): draw(VALUE)}}
    return doc


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents())
def test_any_spec_is_accepted_or_refused_in_one_line(tmp_path, doc):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc))
    run = sweep(path, tmp_path / "out", "--dry-run")
    assert "Traceback" not in run.output and "internal error" not in run.output, run.output
    if run.exit_code == 0:
        assert run.stderr.startswith("sweep fuzz: ")
        return
    assert run.exit_code == 2, run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), run.stderr
