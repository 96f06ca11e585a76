"""The mistakes users make on the command line, each with the message it must get (issue 8).

Usage errors (unknown options, bad option values) are in the CLI library's style: the usage line,
then ``Error: ...``, exit 2. Bad input files and values that only make sense in context are one
line ``error: ...``, exit 2. Nothing ends in a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_run import Run, one_line_error, shockwave
from shockwave import experiment
from shockwave.config import SimConfig, make_sim_config
from shockwave.errors import InputError
from shockwave.experiment import Inputs, parse_params, run_many
from shockwave.sim.loop import RoundProgress

DATA = Path(__file__).parents[2] / "src" / "shockwave" / "data"
LINES = (DATA / "canonical-120jobs.trace").read_text().splitlines()


def usage_error(run: Run) -> str:
    """The ``Error:`` line of a usage error; fails unless the output is the library's style."""
    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Usage: shockwave"), run.stderr
    assert lines[-1].startswith("Error: "), run.stderr
    return lines[-1]



@pytest.fixture()
def tiny_trace(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.trace"
    path.write_text("\n".join(LINES[:3]) + "\n")
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--nope"], "Error: No such option: --nope"),
        (["nosuchcommand"], "Error: No such command 'nosuchcommand'."),
        (["simulate", "--gpus", "abc"], "Error: Invalid value for '--gpus': "),
        (["simulate", "--gpus", "1e9"], "Error: Invalid value for '--gpus': "),
        (["simulate", "--gpus", str(10**30)],
         f"Error: Invalid value for '--gpus': must be an integer in [1, 100,000], got {10**30}"),
        (["simulate", "--round-seconds", "nan"],
         "Error: Invalid value for '--round-seconds': must be a finite number, got nan"),
        (["simulate", "--round-seconds", "inf"],
         "Error: Invalid value for '--round-seconds': must be a finite number, got inf"),
        (["simulate", "--round-seconds", "1e-9"],
         "Error: Invalid value for '--round-seconds': must be in [1, 86400] s, got 1e-09"),
        (["simulate", "--compat", "turbo"], "Error: Invalid value for '--compat': "),
        (["simulate", "--seed", "3"], "Error: No such option: --seed"),
        (["simulate", "--gpus-per-server", "5"],
         "Error: Invalid value for '--gpus-per-server': 32 GPUs do not make whole servers of 5"),
        (["compare", "--jobs", "0"],
         "Error: Invalid value for '--jobs' / '-j': must be an integer in [1, 256], got 0"),
        (["compare", "--policies", ","], "Error: Invalid value for '--policies': give at least one policy"),
        (["report", "x.json"], "Error: Invalid value for '--out' / '-o': missing: the folder to write the report into (or --serve to view a result)"),
        (["report", "x.json", "--serve", "--out", "y"], "Error: Invalid value for '--out' / '-o': --serve shows a result instead of writing a report"),
        (["report", "x.json", "--serve", "--port", "0"], "Error: Invalid value for '--port': "),
        (["trace", "generate", "--single-mode", "turbo"], "Error: Invalid value for '--single-mode': "),
        (["trace", "import", "philly", "x"], "Error: Invalid value for 'FORMAT': "),
        (["trace", "generate", "--seed", str(2**32)],
         "Error: Invalid value for '--seed': must be an integer in [0, 4,294,967,295], got 4294967296"),
        (["trace", "generate", "--lam", "1e308"],
         "Error: Invalid value for '--lam': must be in [0, 1e+06] s, got 1e+308"),
        (["trace", "generate", "--num-jobs", "0"], "Error: Invalid value for '--num-jobs': "),
        (["trace", "generate", "--max-hours", "nan"],
         "Error: Invalid value for '--max-hours': must be a finite number, got nan"),
    ],
)
def test_usage_errors_say_what_is_wrong(args: list[str], expected: str) -> None:
    assert usage_error(shockwave(*args)).startswith(expected)


def test_unknown_policy_suggests_the_closest_name() -> None:
    message = usage_error(shockwave("simulate", "--policy", "gavl"))
    assert "unknown policy 'gavl'" in message and "(did you mean 'gavel'?)" in message


def test_no_arguments_shows_the_commands() -> None:
    run = shockwave()
    assert run.exit_code == 2 and "Commands:" in run.output and "simulate" in run.output


def test_version() -> None:
    from importlib.metadata import version

    run = shockwave("--version")
    assert run.exit_code == 0 and run.stdout.strip() == f"shockwave {version('shockwave')}"


def test_python_dash_m_shockwave_is_the_same_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "shockwave", "--nope"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().endswith("Error: No such option: --nope")


def test_usage_errors_do_not_need_the_click_package() -> None:
    """Typer >= 0.29 no longer installs click; a usage error must not reach for it."""
    code = ("import sys; sys.modules['click'] = None; sys.argv = ['shockwave', '--nope']; "
            "from shockwave.cli import run; run()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Error: No such option: --nope" in proc.stderr


def test_an_unexpected_exception_is_one_line_and_exit_1(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(experiment, "check_inputs", broken)
    run = shockwave("simulate", "--policy", "fifo")
    assert run.exit_code == 1
    assert run.stderr.strip() == (
        "internal error: RuntimeError: boom (a bug in shockwave: please report it with the "
        "command line; SHOCKWAVE_DEBUG=1 shows the traceback)")


# Output paths are checked before any simulation runs ---------------------------------------

@pytest.fixture()
def no_simulation(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a simulation ran before the output path was checked")

    monkeypatch.setattr(experiment, "run_many", fail)


def test_json_output_that_is_a_folder(tmp_path: Path, no_simulation) -> None:
    message = one_line_error(shockwave("simulate", "--json", str(tmp_path)))
    assert message == f"error: --json: '{tmp_path}' is a folder; give a file name"


def test_json_output_under_a_file(tmp_path: Path, no_simulation) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    message = one_line_error(shockwave("simulate", "--json", str(blocker / "out.json")))
    assert message == f"error: --json: cannot write '{blocker / 'out.json'}': '{blocker}' is a file, not a folder"


@pytest.mark.parametrize("option", ["--json-dir", "--report"])
def test_compare_output_folders_that_are_files(tmp_path: Path, option: str, no_simulation) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    message = one_line_error(shockwave("compare", option, str(blocker)))
    assert message == f"error: {option}: '{blocker}' exists and is not a folder"


def test_report_out_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    saved = tmp_path / "r.json"
    assert shockwave("simulate", "--policy", "fifo", "--json", str(saved), "-q").exit_code == 0
    message = one_line_error(shockwave("report", str(saved), "--out", str(blocker)))
    assert message == f"error: --out: '{blocker}' exists and is not a folder"


def test_trace_generate_out_checked_first(tmp_path: Path) -> None:
    message = one_line_error(shockwave("trace", "generate", "--out", str(tmp_path)))
    assert message == f"error: --out: '{tmp_path}' is a folder; give a file name"


def test_missing_output_folders_are_created_and_files_overwritten(tmp_path: Path,
                                                                  tiny_trace: Path) -> None:
    out = tmp_path / "a" / "b" / "r.json"
    for policy in ("fifo", "gavel"):
        run = shockwave("simulate", "--trace", str(tiny_trace), "--policy", policy, "--json",
                        str(out))
        assert run.exit_code == 0, run.output
    assert json.loads(out.read_text())["policy"] == "max_min_fairness"


# Policies ------------------------------------------------------------------------------------

def test_duplicate_policies_run_once(tmp_path: Path, tiny_trace: Path) -> None:
    run = shockwave("compare", "--trace", str(tiny_trace), "--policies",
                    "gavel,gavel,max_min_fairness,fifo", "--json-dir", str(tmp_path / "out"), "-j",
                    "1")
    assert run.exit_code == 0, run.output
    assert run.stderr.strip() == "note: running each policy once: max_min_fairness, fifo"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fifo.json", "max_min_fairness.json"]
    assert [line.split()[1] for line in run.stdout.splitlines() if line.startswith("│")] == [
        "Gavel", "FIFO"]


def test_a_param_given_twice_is_refused() -> None:
    with pytest.raises(InputError, match="--param: 'k' given twice"):
        parse_params(["k=1", "k=2"])


# Partial results -----------------------------------------------------------------------------

@pytest.fixture()
def gap_trace(tmp_path: Path) -> Path:
    """Two jobs; the second arrives long after the first finished, so the reference's rule ends
    the run when the cluster empties (SPEC 3.2)."""
    first = LINES[0].split("\t")
    second = list(first)
    second[11] = "900000"
    path = tmp_path / "gap.trace"
    path.write_text("\t".join(first) + "\n" + "\t".join(second) + "\n")
    return path


def test_reference_mode_partial_run_exits_3_and_says_so(gap_trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run = shockwave("simulate", "--trace", str(gap_trace), "--policy", "fifo", "--compat",
                    "reference", "--json", str(out))
    assert run.exit_code == 3
    assert run.stderr.strip() == (
        "error: fifo: 1 of 2 jobs did not finish: in --compat reference a run ends when the "
        "cluster empties before the next arrival (the published simulator's rule, "
        "docs/simulator.md); use the default mode, or --allow-partial to accept partial results")
    assert "1 of 2  (PARTIAL)" in run.stdout
    assert len(json.loads(out.read_text())["jobs"]) == 1  # what did run is still saved


def test_allow_partial_accepts_with_a_warning(gap_trace: Path) -> None:
    run = shockwave("compare", "--trace", str(gap_trace), "--policies", "fifo,gavel",
                    "--compat", "reference", "--allow-partial", "-j", "1")
    assert run.exit_code == 0
    assert run.stderr.count("warning: ") == 2 and "1 of 2  (PARTIAL)" in run.stdout


def test_default_mode_finishes_the_same_trace(gap_trace: Path) -> None:
    run = shockwave("simulate", "--trace", str(gap_trace), "--policy", "fifo")
    assert run.exit_code == 0 and "2 of 2" in run.stdout and run.stderr == ""


# Configuration from Python -------------------------------------------------------------------

def test_sim_config_defaults_follow_the_mode() -> None:
    assert SimConfig().min_reallocation_interval_s == 0.0
    assert SimConfig(compat="fixed").min_reallocation_interval_s == 0.0
    assert SimConfig(compat="reference").min_reallocation_interval_s == 1000.0
    assert SimConfig() == make_sim_config("fixed")
    assert SimConfig(compat="reference") == make_sim_config("reference")
    assert SimConfig(compat="reference", min_reallocation_interval_s=5.0).min_reallocation_interval_s == 5.0
    assert SimConfig().deficit_resolution_s == 1e-6
    assert SimConfig(compat="reference").deficit_resolution_s == 0.0
    assert SimConfig(deficit_resolution_s=0.0).deficit_resolution_s == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"round_s": float("nan")}, "round_s: must be a finite number, got nan"),
        ({"round_s": 1e-9}, "round_s: must be in [1, 86400], got 1e-09"),
        ({"compat": "turbo"}, "compat: expected 'fixed' or 'reference', got 'turbo'"),
        ({"max_rounds": 0}, "max_rounds: must be a positive integer, got 0"),
        ({"preemption_penalty_s": -1.0}, "preemption_penalty_s: must be in [0, 86400], got -1"),
        ({"deficit_resolution_s": -1e-6},
         "deficit_resolution_s: must be in [0, 1], got -1e-06"),
    ],
)
def test_sim_config_refuses_nonsense(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        SimConfig(**kwargs)
    assert str(caught.value) == message


def test_unknown_sim_config_override_is_named() -> None:
    with pytest.raises(InputError, match="unknown field\\(s\\) seed"):
        make_sim_config("fixed", seed=1)


def test_python_and_cli_give_the_same_default_mode_run(tmp_path: Path) -> None:
    """``SimConfig()`` used to keep the reference's 1,000 s re-solve limit in the fixed mode."""
    from shockwave import Cluster, load_trace, simulate, summarize

    api = summarize(simulate(load_trace(), Cluster(32), "gavel", SimConfig()))
    out = tmp_path / "g.json"
    assert shockwave("simulate", "--policy", "gavel", "--json", str(out), "-q").exit_code == 0
    saved = json.loads(out.read_text())
    assert (saved["makespan_s"], saved["avg_jct_s"]) == (api.makespan_s, api.avg_jct_s)


# Progress and interruption -------------------------------------------------------------------

def test_progress_reaches_every_job(tiny_trace: Path) -> None:
    seen: list[RoundProgress] = []
    run_many(["fifo"], Inputs(trace=str(tiny_trace)), 1, lambda name, p: seen.append(p))
    assert seen[-1].jobs_done == seen[-1].jobs_total == 3


def test_progress_arrives_from_worker_processes(tiny_trace: Path) -> None:
    seen: dict[str, RoundProgress] = {}
    results = run_many(["fifo", "gandiva_fair"], Inputs(trace=str(tiny_trace)), 2,
                       lambda name, p: seen.__setitem__(name, p))
    assert [r.policy for r in results] == ["fifo", "gandiva_fair"]
    assert {n: (p.jobs_done, p.jobs_total) for n, p in seen.items()} == {
        "fifo": (3, 3), "gandiva_fair": (3, 3)}


def test_a_failing_run_names_its_policy(monkeypatch, tiny_trace: Path) -> None:
    run = shockwave("compare", "--trace", str(tiny_trace), "--policies", "fifo,isolated",
                    "--round-seconds", "1", "-j", "2", "--gpus", "8")
    assert run.exit_code == 0, run.output  # sanity: valid input runs
    from shockwave.errors import ShockwaveError

    def fails(name, inputs, on_round=None):
        raise ShockwaveError("the solver gave up")

    monkeypatch.setattr(experiment, "run_policy", fails)
    message = one_line_error(shockwave("compare", "--trace", str(tiny_trace), "--policies",
                                       "fifo,isolated", "-j", "2"))
    assert message == "error: fifo: the solver gave up"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _sigint_as_at_a_terminal() -> None:
    """In the child, before the command starts: Ctrl-C's default action. A test run started in
    the background (``pytest &`` in a script) ignores SIGINT and would pass that on."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_compare_and_its_workers(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the terminal's process group) ends a long compare at once, stops every
    worker and names the runs that were lost."""
    trace = tmp_path / "long.trace"
    assert shockwave("trace", "generate", "--num-jobs", "400", "--lam", "10",
                     "--out", str(trace)).exit_code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "shockwave", "compare", "--trace", str(trace), "--gpus", "16",
         "--policies", "shockwave,finish_time_fairness", "--jobs", "2", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    time.sleep(4.0)
    assert proc.poll() is None, "the runs finished before the test could interrupt them"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    # Shockwave on 400 jobs runs for minutes; Themis may or may not have finished by now.
    assert err.strip() in (
        "interrupted: stopped 2 run(s) before they finished: shockwave, finish_time_fairness "
        "(nothing was written)",
        "interrupted: stopped 1 run(s) before they finished: shockwave; finished: "
        "finish_time_fairness (nothing was written)",
    )
    deadline = time.monotonic() + 5
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group_alive(proc.pid), "worker processes outlived the command"


def test_submit_a_bundled_workload_names_the_known_ones(tmp_path: Path) -> None:
    message = usage_error(shockwave("submit", "--workload", "resnet"))
    assert message == ("Error: Invalid value for '--workload': no bundled workload "
                       "'resnet'; known: digits, tinylm, recommend, digits-2rank, digits-gns, "
                       "tinylm-accordion")
    spec = tmp_path / "job.yaml"
    spec.write_text("name: x\n")
    message = usage_error(shockwave("submit", str(spec), "--workload", "digits"))
    assert message.endswith("give a job file or --workload, not both")
