"""Reading a sweep's YAML: what a valid spec means, and the one line every mistake gets (exit 2,
the file, the line and the field)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sweep_helpers import sweep

from cli_run import one_line_error
from shockwave.errors import InputError
from shockwave.sweep.spec import load_spec

DATA = Path(__file__).parents[2] / "src" / "shockwave" / "data"
EXAMPLE = Path(__file__).parents[2] / "examples" / "sweep.yaml"


def test_scalars_are_fixed_lists_are_swept_and_names_canonical(spec_file):
    """A scalar is one value, a list is swept; ``seeds: N`` is seeds 0..N-1; aliases become
    registry names; a flat probability mix is one value, a list of mixes is swept."""
    spec = load_spec(spec_file(
        "policies: [themis, gavel]\nseeds: 3\ngpus: 16\nround_seconds: [60, 120]\n"
        "trace:\n  num_jobs: 10\n  lam: [20, 40.5]\n  scale_factor_mix: [0.7, 0.3, 0, 0]\n"
        "  mode_mix: [[0, 0.5, 0.5], [1, 0, 0]]\n"))
    assert spec.policies == ("finish_time_fairness", "max_min_fairness")
    assert spec.seeds == (0, 1, 2)
    assert spec.gpus == (16,)
    assert spec.round_s == (60.0, 120.0)
    settings = dict(spec.generator)
    assert settings["num_jobs"] == (10,)
    assert settings["lam"] == (20.0, 40.5)
    assert settings["scale_factor_mix"] == ((0.7, 0.3, 0.0, 0.0),)
    assert settings["mode_mix"] == ((0.0, 0.5, 0.5), (1.0, 0.0, 0.0))
    assert settings["max_hours"] == (5.0,)  # the generator's default
    assert spec.name == "sweep" and spec.compat == "fixed" and spec.trace_file is None


def test_paths_are_relative_to_the_spec_and_params_are_coerced(tmp_path):
    folder = tmp_path / "specs"
    (folder / "data").mkdir(parents=True)
    shutil.copy(DATA / "tacc_throughputs.json", folder / "data" / "tp.json")
    shutil.copy(DATA / "canonical-120jobs.trace", folder / "data" / "t.trace")
    shutil.copy(DATA / "shockwave-config.json", folder / "data" / "sw.json")
    (folder / "s.yaml").write_text(
        "policies: [shockwave, allox]\ntrace: data/t.trace\nthroughputs: data/tp.json\n"
        "params:\n  shockwave: {config: data/sw.json, k: [0.001, 0.01], future_rounds: 10}\n"
        "  allox: {allox_alpha: 1}\n")
    spec = load_spec(folder / "s.yaml")
    assert spec.trace_file == str((folder / "data" / "t.trace").resolve())
    assert spec.throughputs == str((folder / "data" / "tp.json").resolve())
    assert spec.generator is None and spec.seeds == (0,)
    assert dict(spec.params["shockwave"]) == {
        "config": (str((folder / "data" / "sw.json").resolve()),), "k": (0.001, 0.01),
        "future_rounds": (10,)}
    assert dict(spec.params["allox"]) == {"alpha": (1.0,)}  # the alias, as a float


KNOWN = ("allox, fifo, fifo_perf, finish_time_fairness, finish_time_fairness_perf, gandiva-fair, "
         "gandiva_fair, gandiva_fair_perf, gavel, gavel_perf, isolated, las, las_perf, "
         "max_min_fairness, max_min_fairness_perf, max_sum_throughput, max_sum_throughput_perf, "
         "min_total_duration, min_total_duration_perf, mst, mst_perf, ossp, ossp_perf, shockwave, "
         "themis, themis_perf")
"""Every registry name and alias, as an unknown name's message lists them."""

ERRORS = [
    ("policies: [fifo]\ngpu: 4\n", "2: gpu: unknown key; known: name, policies, seeds, gpus, "
     "cluster, gpus_per_server, round_seconds, compat, preemption_penalty_seconds, throughputs, "
     "workload_facts, trace, params"),
    ("gpus: 4\n", "1: policies: required but missing"),
    ("policies: []\n", "1: policies: must not be empty, got a list"),
    ("policies: [fifo, 3]\n", "1: policies[1]: expected a string, got 3"),
    ("policies: [fifo, gavl]\n", f"1: policies[1]: unknown policy 'gavl'; known: {KNOWN} "
     "(did you mean 'gavel'?)"),
    ("policies: [gavel, max_min_fairness]\n",
     "1: policies[1]: 'max_min_fairness' is max_min_fairness, listed already"),
    ("policies: fifo\nseeds: 0\n", "2: seeds: a count of seeds must be from 1 to 10,000, got 0 "
     "(or list the seeds: [0, 1, 2])"),
    ("policies: fifo\nseeds: [1, -1]\n", "2: seeds[1]: must be at least 0, got -1"),
    ("policies: fifo\nseeds: [1, 2, 1]\n", "2: seeds: lists 1 twice"),
    ("policies: fifo\nseeds: 2.5\n", "2: seeds: expected a count of seeds (5) or a list of seeds "
     "([0, 1, 2]), got 2.5"),
    ("policies: fifo\ngpus:\n  - 4\n  - 0\n", "4: gpus[1]: must be at least 1, got 0"),
    ("policies: fifo\ngpus: 0\n", "2: gpus: must be at least 1, got 0"),
    ("policies: fifo\ngpus: []\n", "2: gpus: must not be empty, got a list"),
    ("policies: fifo\ngpus: '8'\n", "2: gpus: expected an integer, got '8'"),
    ("policies: fifo\ngpus: [8, 6]\ngpus_per_server: 4\n",
     "2: gpus[1]: 6 GPUs do not make whole servers of 4 (gpus_per_server)"),
    ("policies: fifo\nround_seconds: 0.5\n", "2: round_seconds: must be at least 1, got 0.5"),
    ("policies: fifo\ncompat: turbo\n", "2: compat: expected 'fixed' or 'reference', got 'turbo'"),
    ("policies: fifo\npreemption_penalty_seconds: -1\n",
     "2: preemption_penalty_seconds: must be at least 0, got -1"),
    ("policies: fifo\ntrace: 3\n", "2: trace: expected a trace file's path or a mapping of "
     "generator settings (num_jobs: ..., lam: ...), got 3"),
    ("policies: fifo\ntrace:\n  num_jobs: 5\n  lamda: 3\n", "4: trace.lamda: unknown key; "
     "known: num_jobs, lam, min_hours, max_hours, num_durations, duration_logspace, "
     "multi_gpu, scale_factor_mix, dynamic, mode_mix, single_mode"),
    ("policies: fifo\ntrace:\n  lam: [10, x]\n", "3: trace.lam[1]: expected a number, got 'x'"),
    ("policies: fifo\ntrace:\n  num_jobs: 0\n", "3: trace.num_jobs: must be at least 1, got 0"),
    ("policies: fifo\ntrace:\n  num_jobs: [4, 4]\n", "3: trace.num_jobs: lists 4 twice"),
    ("policies: fifo\ntrace:\n  min_hours: 2\n  max_hours: [3, 1]\n",
     "3: trace.min_hours: need 0 < min-hours <= max-hours <= 2.77778e+08, got 2.0 and 1.0"),
    ("policies: fifo\ntrace:\n  scale_factor_mix: [0.5, 0.5, 0, 2]\n",
     "3: trace.scale_factor_mix[3]: must be at most 1, got 2"),
    ("policies: fifo\ntrace:\n  mode_mix: [[0, 1, 0], [0.5, 0.6, 0]]\n",
     "3: trace.mode_mix: probabilities must be >= 0 and sum to 1, got (0.5, 0.6, 0.0)"),
    ("policies: fifo\ntrace:\n  single_mode: turbo\n",
     "3: trace.single_mode: expected 'static', 'accordion' or 'gns', got 'turbo'"),
    ("policies: fifo\ntrace:\n  seed: 3\n", "3: trace.seed: give the seeds at the top level "
     "(seeds: 5 or seeds: [0, 1, 2]): they are swept"),
    ("policies: fifo\ntrace: nowhere.trace\n", "2: trace: no such file: {folder}/nowhere.trace"),
    ("policies: fifo\nthroughputs: tp.json\n", "2: throughputs: no such file: {folder}/tp.json"),
    ("policies: [fifo, shockwave]\nparams:\n  shockwave:\n    k: [0.1, -1]\n",
     "4: params.shockwave.k[1]: must be a number in [0, 1000000], got -1"),
    ("policies: [fifo, shockwave]\nparams:\n  shockwave: {kk: 1}\n",
     "3: params.shockwave.kk: shockwave accepts: config, solver, hetero, future_rounds, k, lam, "
     "rho_max, log_bases, log_origin, gpu_ram_gb, mip_rel_gap, time_limit_s, threads, "
     "resolve_every_rounds, momentum, finishing_priority_power, calibration_tolerance, "
     "exact_rounds, milp_program, priority_cap, makespan_slack, makespan_protect, srpt_power"),
    ("policies: [fifo, shockwave]\nparams:\n  shockwave: {k: []}\n",
     "3: params.shockwave.k: an empty list sweeps nothing; give a value or a list of values"),
    ("policies: [fifo, shockwave]\nparams:\n  shockwave: {k: [0.1, 0.1]}\n",
     "3: params.shockwave.k[1]: lists 0.1 twice"),
    ("policies: [fifo]\nparams:\n  allox: {alpha: 0.1}\n",
     "3: params.allox: allox is not one of the policies swept (fifo)"),
    ("policies: [fifo]\nparams:\n  fifo: {alpha: 0.1}\n", "3: params.fifo.alpha: fifo accepts: none"),
    ("policies: [fifo]\nparams:\n  fifoo: {}\n", "3: params.fifoo: unknown policy 'fifoo'; "
     f"known: {KNOWN} (did you mean 'fifo'?)"),
    ("policies: fifo\npolicies: gavel\n", "2: policies: given twice in the same mapping"),
    ("policies: [fifo\n", "2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[e[1].split(":")[1].strip()
                                                            for e in ERRORS])
def test_every_mistake_is_one_line_naming_file_line_and_field(spec_file, tmp_path, text, expected):
    path = spec_file(text)
    run = sweep(path, tmp_path / "out", "--dry-run")
    assert one_line_error(run) == f"error: {path}:" + expected.format(folder=tmp_path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("- fifo\n", "expected a mapping (policies: ..., seeds: ..., gpus: ...), got list"),
    ("", "expected a mapping (policies: ..., seeds: ..., gpus: ...), got nothing"),
])
def test_a_file_that_is_not_a_mapping(spec_file, tmp_path, text, expected):
    path = spec_file(text)
    assert one_line_error(sweep(path, tmp_path / "out")) == f"error: {path}: {expected}"


def test_a_trace_wider_than_a_cluster_is_refused_before_any_run(spec_file, tmp_path):
    """The generated traces are checked against every cluster size before the first run (the
    canonical mix has 8-GPU jobs)."""
    path = spec_file("policies: fifo\ngpus: [2, 16]\nseeds: 2\ntrace: {num_jobs: 30, lam: [10, 20]}\n")
    assert one_line_error(sweep(path, tmp_path / "out", "--dry-run")) == (
        f"error: {path}: gpus: the trace of seed 0 (lam=10.0) has a job of 8 GPUs, more than a "
        "cluster of 2; use larger clusters, or trace: {multi_gpu: false}")


def test_a_missing_spec_file(tmp_path):
    path = tmp_path / "none.yaml"
    assert one_line_error(sweep(path, tmp_path / "out")) == \
        f"error: {path}: cannot read: No such file or directory"


def test_the_example_spec_is_valid_and_dry_run_runs_nothing(tmp_path):
    spec = load_spec(EXAMPLE)
    assert spec.policies == ("shockwave", "max_min_fairness", "finish_time_fairness")
    run = sweep(EXAMPLE, tmp_path / "out", "--dry-run")
    assert run.exit_code == 0, run.output
    assert run.stderr.splitlines() == [
        "sweep example: 60 runs (3 policies x 2 lam x 2 cluster sizes x 5 seeds); 0 cached, "
        f"60 to run on {min(60, os.cpu_count() or 1)} local processes"]
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_load_spec_raises_input_error_for_python_callers(spec_file):
    with pytest.raises(InputError) as caught:
        load_spec(spec_file("policies: fifo\ngpus: -1\n"))
    assert caught.value.line == 2 and caught.value.field == "gpus"
