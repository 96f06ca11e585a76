"""The planning program, its exact pre-check, the packing step and every solver path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sw_views import cluster_view, job_view

from shockwave.errors import InputError, ShockwaveError, UnknownNameError
from shockwave.policies import make_policy
from shockwave.policies.shockwave import ShockwavePolicy, load_shockwave_config
from shockwave.policies.shockwave import policy as policy_module
from shockwave.policies.shockwave.backend import MilpSolution, SolverOptions, check_solver, solve
from shockwave.policies.shockwave.config import config_from_mapping
from shockwave.policies.shockwave.packing import construct_schedules, rank_rounds
from shockwave.policies.shockwave.program import (
    PlanInput,
    build_program,
    finish_time_min_progress,
    log_segments,
    per_round_program,
    planned_rounds,
    solve_round_counts,
)


def plan_input(**overrides) -> PlanInput:
    base = dict(gpus=np.array([1, 1, 2]), epochs=np.array([10.0, 10.0, 10.0]),
                progress=np.array([0.0, 5.0, 0.0]), remaining_s=np.array([600.0, 300.0, 600.0]),
                mean_epoch_s=np.array([60.0, 60.0, 60.0]), num_gpus=2, rounds=4, round_s=120.0,
                k=1e-3)
    base.update(overrides)
    return PlanInput(**base)


def test_log_segments_interpolate_ln_and_are_concave():
    slopes, intercepts = log_segments((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), 1e-6)
    assert slopes[0] == pytest.approx((np.log(0.2) - np.log(1e-6)) / 0.2)
    for x in (0.2, 0.4, 0.6, 0.8, 1.0):
        assert np.min(slopes * x + intercepts) == pytest.approx(np.log(x))
    with pytest.raises(ValueError):
        log_segments((0.0, 0.5, 1.0), 0.9)  # ln(0.9) > the chord: not concave


@pytest.mark.parametrize("gpus", [[1, 1, 1], [1, 1, 2]])
def test_aggregated_program_is_an_exact_relaxation(gpus):
    """The aggregated optimum bounds the per-round one, and equals it whenever its round counts
    can be packed round by round (always for single-GPU gangs)."""
    plan = plan_input(gpus=np.array(gpus))
    segs = log_segments((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), 1e-6)
    options = SolverOptions(time_limit_s=10, mip_rel_gap=0.0)
    agg = build_program(plan, np.ones(3), segs)
    x = solve(agg, options).x
    full = per_round_program(agg, plan)
    y = solve(full, options).x
    assert agg.c @ x <= full.c @ y + 1e-9
    counts = planned_rounds(x, 3, plan.rounds)
    placed, complete = rank_rounds(counts, np.ones(3), plan.gpus, plan.num_gpus, plan.rounds)
    assert (plan.gpus @ placed <= plan.num_gpus).all()
    if complete:
        assert agg.c @ x == pytest.approx(full.c @ y, abs=1e-6)
    assert complete or gpus != [1, 1, 1]


def _program_value(plan: PlanInput, priorities: np.ndarray, segs, counts: np.ndarray) -> float:
    """The aggregated program's objective at round counts ``counts`` (best ``p_j`` for them)."""
    epochs = np.minimum(plan.epochs - plan.progress, plan.round_s * counts / plan.mean_epoch_s)
    share = (plan.progress + epochs) / plan.epochs
    utility = np.min(segs[0][None, :] * share[:, None] + segs[1][None, :], axis=1)
    left = np.maximum(0.0, plan.remaining_s - plan.mean_epoch_s * epochs)
    return float(priorities @ utility / (plan.num_jobs * plan.rounds) - plan.k * left.max())


@pytest.mark.parametrize("seed", range(16))
def test_level_search_reaches_the_milp_optimum(seed):
    """``solve_round_counts`` (no MILP solver) against HiGHS with a 1e-9 gap on random programs
    with single and mixed gangs, unit and huge priorities."""
    rng = np.random.default_rng(seed)
    jobs = int(rng.integers(4, 40))
    epochs = rng.integers(3, 300, size=jobs).astype(float)
    done = np.floor(rng.random(jobs) * epochs)
    dbar = rng.uniform(10, 500, size=jobs)
    gpus = (rng.choice([1, 2, 4], p=[0.6, 0.3, 0.1], size=jobs) if seed % 2
            else np.ones(jobs, dtype=np.int64))
    plan = PlanInput(gpus=gpus, epochs=epochs, progress=done,
                     remaining_s=dbar * (epochs - done) * rng.uniform(0.7, 1.3, size=jobs),
                     mean_epoch_s=dbar, num_gpus=int(rng.choice([8, 16, 32])), rounds=20,
                     round_s=120.0, k=1e-3)
    priorities = np.where(rng.random(jobs) < 0.5, 1.0, rng.uniform(1, 1e4, size=jobs))
    segs = log_segments((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), 1e-6)
    counts = solve_round_counts(plan, priorities, segs)
    assert counts is not None and plan.gpus @ counts <= plan.num_gpus * plan.rounds
    program = build_program(plan, priorities, segs)
    optimum = -float(program.c @ solve(program, SolverOptions(time_limit_s=20, mip_rel_gap=1e-9)).x)
    assert _program_value(plan, priorities, segs, counts) >= optimum - 1e-5 * abs(optimum)


def test_level_search_honours_finish_time_lower_bounds():
    plan = plan_input()
    segs = log_segments((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), 1e-6)
    counts = solve_round_counts(plan, np.ones(3), segs, np.array([0.0, 0.0, 6.0]))
    assert counts is not None and counts[2] >= 3  # 6 epochs of 60 s need 3 rounds of 120 s
    assert solve_round_counts(plan, np.ones(3), segs, np.array([0.0, 0.0, 9.0])) is None  # 5 > T


def test_repacking_replans_counts_that_cannot_be_packed():
    """Three 1-GPU jobs wanting both rounds and a 2-GPU job wanting one fill 8 of 8 GPU-rounds of a
    4-GPU, 2-round window, but no round holds 3 + 2 GPUs: the counts are re-solved with less
    capacity until they pack."""
    plan = PlanInput(gpus=np.array([1, 1, 1, 2]), epochs=np.full(4, 10.0), progress=np.zeros(4),
                     remaining_s=np.full(4, 1200.0), mean_epoch_s=np.full(4, 120.0), num_gpus=4,
                     rounds=2, round_s=120.0, k=1e-3)
    segs = log_segments((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), 1e-6)
    counts = solve_round_counts(plan, np.ones(4), segs)
    assert counts is not None and plan.gpus @ counts == 8
    policy = ShockwavePolicy()
    placed = policy._plan_by_level_search(plan, np.ones(4), None)
    assert placed is not None and (plan.gpus @ placed <= 4).all()
    assert policy.stats.packing_incomplete == 0 and plan.gpus @ placed.sum(axis=1) == 6


def test_precheck_rejects_a_fair_finish_inside_the_window():
    """window_end > rho_max * FTbar for one job: infeasible without solving."""
    plan = plan_input()
    assert finish_time_min_progress(plan, np.array([1e6, 1e6, 100.0]), 1.0, 480.0, 1.0) is None
    bounds = finish_time_min_progress(plan, np.array([1e6, 1e6, 1e6]), 1.0, 480.0, 1.0)
    assert bounds is not None and (bounds == 0).all()


def test_greedy_ranking_puts_heavy_jobs_first_and_fill_is_work_conserving():
    counts = np.array([1, 2, 1])
    placed, complete = rank_rounds(counts, np.array([1.0, 1.0, 100.0]), np.array([1, 1, 1]), 2, 2)
    assert complete and placed[2, 0] and placed[1].all()
    rounds = construct_schedules(np.zeros((3, 2), dtype=bool), [7, 8, 9], np.array([1, 2, 1]),
                                 np.array([10.0, 30.0, 20.0]), 3)
    assert rounds == [[8, 9], [8, 9]]  # longest remaining first while the gang fits


def test_ranking_keeps_room_for_a_long_wide_job():
    """A light 4-GPU job that needs 3 of 4 rounds must not be stranded by heavier 1-GPU jobs
    taking the early rounds (the reference's re-ranking MILP places every count)."""
    counts = np.array([3, 1, 1, 1, 1])
    gpus = np.array([4, 1, 1, 1, 1])
    priorities = np.array([1.0, 100.0, 90.0, 80.0, 70.0])
    placed, complete = rank_rounds(counts, priorities, gpus, 4, 4)
    assert complete and (gpus @ placed <= 4).all()
    assert placed[0].sum() == 3 and placed[1:].sum() == 4
    assert placed[1:, :2].sum() >= 1  # the heaviest job still runs early


@pytest.mark.parametrize("seed", range(20))
def test_ranking_is_close_to_the_reranking_milp(seed):
    """Single-GPU gangs: every count is placed and the greedy's cost is within 5 % of the MILP
    optimum of min sum_j pi_j (sum_t t Y[j, t]) / n_j, sum_t Y[j, t] = n_j, capacity G a round."""
    rng = np.random.default_rng(seed)
    jobs, rounds, num_gpus = 12, 6, 4
    counts = rng.integers(0, rounds + 1, size=jobs)
    while counts.sum() > num_gpus * rounds:
        counts[rng.integers(jobs)] //= 2
    priorities = rng.random(jobs) * 10 + 0.1
    gpus = np.ones(jobs, dtype=np.int64)
    placed, complete = rank_rounds(counts, priorities, gpus, num_gpus, rounds)
    assert complete and (placed.sum(axis=1) == counts).all() and (placed.sum(axis=0) <= num_gpus).all()
    weight = np.where(counts > 0, priorities / np.maximum(counts, 1), 0.0)
    cost = float(weight @ (placed * np.arange(rounds)).sum(axis=1))
    optimum = _reranking_optimum(counts, weight, gpus, num_gpus, rounds)
    assert optimum - 1e-6 <= cost <= 1.05 * optimum + 1e-6


def _reranking_optimum(counts, weight, gpus, num_gpus, rounds) -> float:
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    jobs = len(counts)
    c = (weight[:, None] * np.arange(rounds)[None, :]).ravel()
    rows = sparse.vstack((sparse.kron(sparse.eye(jobs), np.ones((1, rounds))),
                          sparse.hstack([sparse.diags(np.full(rounds, float(g))) for g in gpus])))
    lo = np.concatenate((counts, np.full(rounds, -np.inf)))
    hi = np.concatenate((counts, np.full(rounds, float(num_gpus))))
    result = milp(c, integrality=np.ones(jobs * rounds), bounds=Bounds(0, 1),
                  constraints=LinearConstraint(rows.tocsr(), lo, hi), options={"mip_rel_gap": 0})
    return float(result.fun)


def test_packing_never_exceeds_capacity_with_mixed_gangs():
    rng = np.random.default_rng(0)
    for _ in range(50):
        gpus = rng.choice([1, 2, 4, 8], size=30)
        counts = rng.integers(0, 21, size=30)
        placed, _ = rank_rounds(counts, rng.random(30) + 0.1, gpus, 32, 20)
        assert (gpus @ placed <= 32).all()
        assert (placed.sum(axis=1) <= counts).all()


def jobs_for_paths() -> list:
    return [job_view(0, epochs=30, done=0), job_view(1, epochs=5, done=2, gpus=2),
            job_view(2, epochs=12, done=1)]


def test_relaxed_path_when_fair_finish_is_inside_the_window():
    policy = ShockwavePolicy()
    shares = policy.allocate(cluster_view(jobs_for_paths(), num_gpus=2))
    assert sum(jobs_for_paths()[j].gpus for j in shares) <= 2 and shares
    assert policy.stats.precheck_infeasible == 1 and policy.stats.relaxed == 1


def test_feasible_path_with_a_loose_fairness_bound():
    config = dataclasses.replace(load_shockwave_config(), rho_max=1e6)
    policy = ShockwavePolicy(config)
    policy.allocate(cluster_view(jobs_for_paths(), num_gpus=4))
    assert policy.stats.feasible == 1 and policy.stats.relaxed == 0


def test_fallback_when_the_solver_has_no_incumbent(monkeypatch):
    monkeypatch.setattr(policy_module, "solve", lambda problem, options: MilpSolution("no_solution", None))
    policy = ShockwavePolicy(dataclasses.replace(load_shockwave_config(), milp_program=True))
    jobs = jobs_for_paths()
    shares = policy.allocate(cluster_view(jobs, num_gpus=3))
    assert policy.stats.fallback == 1
    assert shares and sum(jobs[j].gpus for j in shares) <= 3


def test_a_tiny_time_limit_never_crashes():
    config = dataclasses.replace(load_shockwave_config(), time_limit_s=1e-9, milp_program=True)
    policy = ShockwavePolicy(config)
    shares = policy.allocate(cluster_view(jobs_for_paths(), num_gpus=3))
    assert shares
    assert policy.stats.relaxed + policy.stats.fallback == 1


def test_config_can_be_a_json_path(tmp_path):
    path = tmp_path / "sw.json"
    path.write_text('{"future_rounds": 10, "k": 0.5, "lambda": 3.0}')
    for config in (str(path), path):
        policy = ShockwavePolicy(config=config, solver="highs")
        assert policy.config.future_rounds == 10 and policy.config.k == 0.5 and policy.config.lam == 3.0
    with pytest.raises(InputError):
        ShockwavePolicy(config=str(tmp_path / "missing.json"))


def test_replans_on_arrival_and_periodically_only():
    policy = ShockwavePolicy()
    jobs = jobs_for_paths()
    policy.allocate(cluster_view(jobs[:2], num_gpus=2, round_index=1))
    policy.allocate(cluster_view(jobs[:2], num_gpus=2, round_index=2))
    assert policy.stats.replans == 1
    policy.allocate(cluster_view(jobs, num_gpus=2, round_index=3))
    assert policy.stats.replans == 2
    policy.allocate(cluster_view(jobs, num_gpus=2, round_index=8))
    assert policy.stats.replans == 3
    assert policy.allocate(cluster_view([], num_gpus=2, round_index=9)) == {}


def test_registry_config_and_solver_errors(tmp_path):
    assert isinstance(make_policy("shockwave"), ShockwavePolicy)
    assert load_shockwave_config().future_rounds == 20
    bad = tmp_path / "c.json"
    bad.write_text('{"future_rounds": 0}')
    with pytest.raises(InputError, match="c.json: future_rounds"):
        load_shockwave_config(bad)
    with pytest.raises(InputError, match="lamda"):
        config_from_mapping({"lamda": 3})
    with pytest.raises(UnknownNameError):
        check_solver("cplex")
    try:
        import gurobipy  # noqa: F401
    except ImportError:
        with pytest.raises(ShockwaveError, match="gurobipy"):
            ShockwavePolicy(solver="gurobi")
