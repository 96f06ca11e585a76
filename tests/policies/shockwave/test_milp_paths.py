"""Shockwave's solver paths by hand: the MILP program (``milp_program``), the exact per-round
program (``exact_rounds``) that replaces counts which cannot be packed, and the knobs that reach
the solver (docs/policies.md, Shockwave's knobs)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sw_views import cluster_view, job_view

from shockwave.policies.shockwave import ShockwavePolicy, load_shockwave_config
from shockwave.policies.shockwave import policy as policy_module
from shockwave.policies.shockwave.backend import SolverOptions
from shockwave.policies.shockwave.program import PlanInput

# Three 1-GPU jobs and a 2-GPU job, equal work, on 4 GPUs and a 2-round window: 8 GPU-rounds of
# demand fit the window's 8 GPU-rounds in total, but no round holds 3 + 2 GPUs.
PLAN = PlanInput(gpus=np.array([1, 1, 1, 2]), epochs=np.full(4, 10.0), progress=np.zeros(4),
                 remaining_s=np.full(4, 1200.0), mean_epoch_s=np.full(4, 120.0), num_gpus=4,
                 rounds=2, round_s=120.0, k=1e-3)


def policy(**knobs) -> ShockwavePolicy:
    return ShockwavePolicy(dataclasses.replace(load_shockwave_config(), **knobs))


def gpu_rounds(placed: np.ndarray) -> list[int]:
    return (PLAN.gpus @ placed).tolist()


def test_milp_counts_that_cannot_be_packed_are_placed_as_far_as_they_go():
    p = policy(milp_program=True)
    placed = p._plan_with(PLAN, np.ones(4), None)
    assert p.stats.packing_incomplete == 1
    # The MILP gives every job both rounds; the three 1-GPU jobs are placed, the gang is not.
    assert placed.sum(axis=1).tolist() == [2, 2, 2, 0]
    assert gpu_rounds(placed) == [3, 3]


def test_exact_rounds_replans_with_the_capacity_of_every_round():
    for knobs in ({"exact_rounds": True}, {"milp_program": True, "exact_rounds": True}):
        p = policy(**knobs)
        placed = p._plan_with(PLAN, np.ones(4), None)
        assert p.stats.packing_incomplete == 1, knobs
        # The per-round program fits the gang in one round beside two 1-GPU jobs: 7 GPU-rounds
        # used instead of 6, no round over capacity.
        assert max(gpu_rounds(placed)) <= 4 and sum(gpu_rounds(placed)) == 7, knobs
        assert placed[3].sum() == 1 and placed[:3].sum() == 5, knobs


def test_the_level_search_repacks_instead_and_needs_no_solver(monkeypatch):
    monkeypatch.setattr(policy_module, "solve", None)  # never called
    p = policy()
    placed = p._plan_with(PLAN, np.ones(4), None)
    assert p.stats.packing_incomplete == 0
    assert sum(gpu_rounds(placed)) == 6 and max(gpu_rounds(placed)) <= 4


def test_heavier_priorities_are_placed_first_on_every_path():
    priorities = np.array([1.0, 5.0, 1.0, 3.0])
    for knobs in ({}, {"milp_program": True}, {"exact_rounds": True}):
        placed = policy(**knobs)._plan_with(PLAN, priorities, None)
        # Jobs 1 (priority 5) and 3 (priority 3, the gang) run in both rounds.
        assert placed[1].all() and placed[3].all(), knobs
        assert max(gpu_rounds(placed)) <= 4, knobs


def test_the_solver_gets_the_configured_limits(monkeypatch):
    seen: list[SolverOptions] = []
    real = policy_module.solve

    def spy(problem, options):
        seen.append(options)
        return real(problem, options)

    monkeypatch.setattr(policy_module, "solve", spy)
    p = policy(milp_program=True, time_limit_s=7.5, mip_rel_gap=0.01, threads=3)
    p.allocate(cluster_view([job_view(0, epochs=4), job_view(1, epochs=6)], num_gpus=1))
    assert seen and set(seen) == {SolverOptions("highs", 7.5, 0.01, 3)}


def test_finish_time_lower_bounds_hold_on_every_path():
    # Without a bound the gang gets no round (above); two epochs of 120 s force both rounds.
    bound = np.array([0.0, 0.0, 0.0, 2.0])
    for knobs in ({}, {"milp_program": True}, {"exact_rounds": True}):
        placed = policy(**knobs)._plan_with(PLAN, np.ones(4), bound)
        assert placed[3].all(), knobs
        assert max(gpu_rounds(placed)) <= 4, knobs
    # One epoch forces one round on the level search (it repacks) and with exact rounds.
    bound = np.array([0.0, 0.0, 0.0, 1.0])
    for knobs in ({}, {"exact_rounds": True}):
        placed = policy(**knobs)._plan_with(PLAN, np.ones(4), bound)
        assert placed[3].sum() == 1, knobs


@pytest.mark.xfail(strict=True, reason="milp_program without exact_rounds places the MILP's "
                   "counts greedily and drops what does not pack, finish-time bounds included; "
                   "the plan is still counted as feasible (docs/testing.md, bugs found)")
def test_milp_program_keeps_a_finish_time_bound_it_could_not_pack():
    p = policy(milp_program=True)
    placed = p._plan_with(PLAN, np.ones(4), np.array([0.0, 0.0, 0.0, 1.0]))
    assert placed[3].sum() >= 1


def test_every_packing_shortfall_is_counted():
    p = policy(milp_program=True)
    p._plan_with(PLAN, np.ones(4), None)
    p._plan_with(PLAN, np.ones(4), None)
    assert p.stats.packing_incomplete == 2
