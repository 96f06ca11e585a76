"""Shockwave on several GPU types (docs/policies.md, "Shockwave on heterogeneous clusters"): the
per-type helpers by hand, the typed program on small cases whose optimum is worked out by hand,
and the greedy against a MILP of the full typed program (a job may mix types in the window)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from shockwave import JobSpec, simulate
from shockwave.clusters import parse_cluster
from shockwave.errors import InputError
from shockwave.policies.params import build_policy
from shockwave.policies.shockwave import ShockwavePolicy
from shockwave.policies.shockwave.program import (
    PlanInput,
    log_segments,
    solve_typed_round_counts,
    typed_gains,
)
from shockwave.policies.shockwave.typed import (
    epoch_seconds_by_type,
    home_asks,
    home_types,
    rank_typed_rounds,
    reference_samples,
    reference_type,
    slowdowns,
    typed_fair_share,
    typed_schedules,
)
from shockwave.workload.throughput import load_throughputs

SEGMENTS = log_segments((0.0, 0.2, 0.4, 0.6, 0.8, 1.0), 1e-6)


def plan_of(jobs: int, *, gpus=None, rounds: int = 2, num_gpus: int = 2, k: float = 0.0,
            remaining_s: float = 600.0) -> PlanInput:
    """``jobs`` fresh jobs of 10 epochs of 60 s (reference type), 60 s rounds."""
    return PlanInput(
        gpus=np.ones(jobs, dtype=np.int64) if gpus is None else np.asarray(gpus),
        epochs=np.full(jobs, 10.0), progress=np.zeros(jobs),
        remaining_s=np.full(jobs, remaining_s), mean_epoch_s=np.full(jobs, 60.0),
        num_gpus=num_gpus, rounds=rounds, round_s=60.0, k=k,
    )


def homes_of(plan: PlanInput, slowdown: np.ndarray, counts: np.ndarray,
             priorities: np.ndarray | None = None) -> np.ndarray:
    """The policy's home types: asks, the program's gains per GPU-round, Vogel's method."""
    priorities = np.ones(plan.num_jobs) if priorities is None else priorities
    asks = home_asks(slowdown, plan.remaining_s, plan.rounds, plan.round_s)
    gains = typed_gains(plan, priorities, SEGMENTS, slowdown, asks)
    return home_types(gains, slowdown, asks, plan.gpus, counts, plan.rounds)


def value(plan: PlanInput, counts: np.ndarray, slow: np.ndarray) -> float:
    """The typed objective for ``counts[j]`` rounds on a type ``slow[j]`` times slower."""
    slopes, intercepts = SEGMENTS
    p = np.minimum(plan.epochs - plan.progress, plan.round_s * counts / (plan.mean_epoch_s * slow))
    share = (plan.progress + p) / plan.epochs
    utility = np.min(slopes[None] * share[:, None] + intercepts[None], axis=1)
    left = np.maximum(0.0, plan.remaining_s - plan.mean_epoch_s * p)
    return float(utility.sum() / (plan.num_jobs * plan.rounds) - plan.k * left.max())


# -- the per-type helpers, by hand ---------------------------------------------------------


def test_epoch_seconds_reference_type_and_slowdowns_by_hand():
    # 100 samples per epoch; epochs at batch sizes 10, 10, 20: 10, 10, 5 iterations.
    # Type 0: 5 it/s at 10, 10 it/s at 20 -> 2, 2, 0.5 s. Type 1: 2 it/s at 10, 2.5 at 20
    # -> 5, 5, 2 s. Type 2 has no rate at 20 -> the last epoch cannot run there.
    epoch_s = epoch_seconds_by_type([10, 10, 20], 100, [{10: 5.0, 20: 10.0}, {10: 2.0, 20: 2.5},
                                                        {10: 1.0}])
    np.testing.assert_allclose(epoch_s[:2], [[2.0, 2.0, 0.5], [5.0, 5.0, 2.0]])
    assert epoch_s[2, 0] == 10.0 and math.isinf(epoch_s[2, 2])
    assert reference_type(epoch_s) == 0
    # From epoch 2 on only the batch-20 epoch is left: 2 / 0.5 = 4; from 0: 12 / 4.5.
    np.testing.assert_allclose(slowdowns(epoch_s, 0, 0)[:2], [1.0, 12.0 / 4.5])
    np.testing.assert_allclose(slowdowns(epoch_s, 0, 2)[:2], [1.0, 4.0])
    assert math.isinf(slowdowns(epoch_s, 0, 0)[2])
    np.testing.assert_allclose(slowdowns(epoch_s, 0, 7)[:2], [1.0, 4.0])  # past the end


def test_typed_fair_share_is_an_isolated_split_of_every_type():
    slowdown = np.array([[1.0, 1.25, 4.0], [1.0, 2.0, np.inf]])
    # 72 jobs on 12:12:12: 1/6 of each type (1/2 in all), at speeds 1, 0.8, 0.25 -> 2.05 / 6.
    np.testing.assert_allclose(typed_fair_share(slowdown, np.array([12, 12, 12]), 72),
                               [2.05 / 6, 1.5 / 6])
    # 6 jobs: 2 GPUs of each type would be 6 GPUs; scaled to a third of each.
    np.testing.assert_allclose(typed_fair_share(slowdown, np.array([12, 12, 12]), 6),
                               [2.05 / 3, 1.5 / 3])
    # One type: Shockwave's min(1, G / N).
    np.testing.assert_allclose(typed_fair_share(np.ones((1, 1)), np.array([36]), 72), [0.5])
    np.testing.assert_allclose(typed_fair_share(np.ones((1, 1)), np.array([36]), 12), [1.0])


def test_reference_samples_count_a_slow_round_at_the_reference_rate():
    rates = ({10: 4.0}, {10: 2.0})
    # 2 it/s at batch 10 is type 1's rate: 60 s there is worth 60 s at 4 it/s on type 0.
    assert reference_samples([(0, 2.0, 10)], 60.0, rates, 0) == pytest.approx(4.0 * 60 * 10)
    assert reference_samples([(3, 4.0, 10)], 60.0, rates, 0) == pytest.approx(4.0 * 60 * 10)
    # A batch size no type has a rate for is taken as measured.
    assert reference_samples([(0, 2.0, 99)], 60.0, rates, 0) == pytest.approx(2.0 * 60 * 99)


# -- the typed program on cases solved by hand ---------------------------------------------


def test_two_jobs_two_types_the_job_that_loses_more_gets_the_fast_type():
    """Types: fast (1 GPU), slow (1 GPU); T = 2 rounds of 60 s; two 1-GPU jobs of 10 epochs of
    60 s on the fast type. A is 4x slower on the slow type, B 1.25x.

    Two rounds progress 0.2 of a job at most, inside the first segment of the log, so the
    objective is linear in the reference-rounds ``m_j = sum_t n[j, t] / slowdown[j, t]``:
    maximise ``m_A + m_B`` with 2 rounds per type. A fast, B slow: 2 + 2 / 1.25 = 3.6; B fast,
    A slow: 2 + 2 / 4 = 2.5; mixing only trades between these (each type-round is worth
    1 / slowdown). The optimum is A on fast, B on slow, both for all 2 rounds: the max term
    also prefers it (left 504 s vs 570 s). Vogel: a fast round is worth g to either job,
    a slow one g / 4 to A and g / 1.25 to B; A's regret 0.75 g > B's 0.2 g, A picks first."""
    plan = plan_of(2)
    slowdown = np.array([[1.0, 4.0], [1.0, 1.25]])
    homes = homes_of(plan, slowdown, np.array([1, 1]))
    np.testing.assert_array_equal(homes, [0, 1])
    slow = slowdown[[0, 1], homes]
    counts = solve_typed_round_counts(plan, np.ones(2), SEGMENTS, homes, slow, np.array([2, 2]))
    np.testing.assert_array_equal(counts, [2, 2])
    swapped = value(plan, np.array([2, 2]), np.array([4.0, 1.0]))
    assert value(plan, counts, slow) > swapped
    plan_x, unplaced = rank_typed_rounds(counts, homes, np.ones(2), plan.gpus, np.array([1, 1]),
                                         plan.rounds)
    assert plan_x.all() and not unplaced.any()
    schedules = typed_schedules(plan_x, homes, plan.gpus, plan.remaining_s, slowdown,
                                np.array([1, 1]))
    assert schedules == [[(0, 0), (1, 1)], [(0, 0), (1, 1)]]


def test_three_jobs_a_job_that_runs_on_one_type_only_keeps_it():
    """Fast type: 1 GPU; slow type: 2 GPUs; T = 2. A runs on the fast type only; B and C are
    2x slower on the slow type. In the linear regime the value is ``sum_j m_j``: A fast for
    2 rounds (m = 2), B and C slow for 2 rounds each (m = 1 each): 4. Any fast round given to
    B or C is taken from A (its only type) and is worth the same 1 there, while A's slow
    rounds are worth 0: 4 is the optimum."""
    plan = plan_of(3, num_gpus=3)
    slowdown = np.array([[1.0, np.inf], [1.0, 2.0], [1.0, 2.0]])
    homes = homes_of(plan, slowdown, np.array([1, 2]))
    np.testing.assert_array_equal(homes, [0, 1, 1])
    counts = solve_typed_round_counts(plan, np.ones(3), SEGMENTS, homes,
                                      slowdown[np.arange(3), homes], np.array([2, 4]))
    np.testing.assert_array_equal(counts, [2, 2, 2])


def test_capacity_of_each_type_binds_on_its_own_jobs():
    """Fast: 1 GPU, slow: 1 GPU, T = 2; three 1-GPU jobs, all 2x slower on the slow type and
    equally urgent. Each type has 2 GPU-rounds: 4 rounds for 6 asked. With equal gains the
    greedy gives whole rounds in job order (the level term is 0 with k = 0); no type is
    over-committed, and the counts per type sum to its capacity."""
    plan = plan_of(3, num_gpus=2)
    slowdown = np.array([[1.0, 2.0]] * 3)
    homes = homes_of(plan, slowdown, np.array([1, 1]))
    counts = solve_typed_round_counts(plan, np.ones(3), SEGMENTS, homes,
                                      slowdown[np.arange(3), homes], np.array([2, 2]))
    for t in (0, 1):
        assert counts[homes == t].sum() <= 2
    assert counts.sum() == 4
    # The finish-time lower bounds: every job needs 3 epochs (3 rounds): infeasible in 2.
    assert solve_typed_round_counts(plan, np.ones(3), SEGMENTS, homes,
                                    slowdown[np.arange(3), homes], np.array([2, 2]),
                                    min_progress=np.full(3, 3.0)) is None


def _typed_milp_value(plan: PlanInput, slowdown: np.ndarray, caps: np.ndarray) -> float:
    """The full typed program by HiGHS: integers ``n[j, t]`` (a job may mix types), ``p_j``,
    the log's hypograph ``U_j``, the max term ``M``; ``sum_j w_j n[j, t] <= caps[t]``,
    ``sum_t n[j, t] <= T``, ``dbar_j p_j <= Delta sum_t n[j, t] / slowdown[j, t]``."""
    jobs, kinds = slowdown.shape
    slopes, intercepts = SEGMENTS
    nvar = jobs * kinds + 2 * jobs + 1
    n_at, p_at, u_at, m_at = 0, jobs * kinds, jobs * kinds + jobs, jobs * kinds + 2 * jobs
    rows, lo, hi = [], [], []

    def row(entries, low, high):
        r = np.zeros(nvar)
        for col, v in entries:
            r[col] += v
        rows.append(r)
        lo.append(low)
        hi.append(high)

    for t in range(kinds):
        row([(n_at + j * kinds + t, plan.gpus[j]) for j in range(jobs)], -np.inf, caps[t])
    for j in range(jobs):
        row([(n_at + j * kinds + t, 1.0) for t in range(kinds)], -np.inf, plan.rounds)
        speed = [(n_at + j * kinds + t, -plan.round_s / slowdown[j, t]) for t in range(kinds)
                 if np.isfinite(slowdown[j, t])]
        row([(p_at + j, plan.mean_epoch_s[j]), *speed], -np.inf, 0.0)
        for a, b in zip(slopes, intercepts, strict=True):
            row([(u_at + j, 1.0), (p_at + j, -a / plan.epochs[j])], -np.inf,
                a * plan.progress[j] / plan.epochs[j] + b)
        row([(m_at, 1.0), (p_at + j, plan.mean_epoch_s[j])], plan.remaining_s[j], np.inf)
    c = np.zeros(nvar)
    c[u_at:u_at + jobs] = -1.0 / (jobs * plan.rounds)
    c[m_at] = plan.k
    ub = np.full(nvar, np.inf)
    ub[:jobs * kinds] = np.where(np.isfinite(slowdown), plan.rounds, 0).ravel()
    ub[p_at:p_at + jobs] = plan.epochs - plan.progress
    ub[u_at:u_at + jobs] = 0.0
    lb = np.zeros(nvar)
    lb[u_at:u_at + jobs] = intercepts[0]
    integrality = np.zeros(nvar)
    integrality[:jobs * kinds] = 1
    result = milp(c, integrality=integrality, bounds=Bounds(lb, ub),
                  constraints=LinearConstraint(np.array(rows), lo, hi),
                  options={"mip_rel_gap": 1e-9, "time_limit": 20})
    return -float(result.fun)


def test_home_type_greedy_stays_near_the_full_typed_milp():
    """Random 1-GPU jobs with random progress on fast:slow = 2:2 GPUs, T = 4, slowdowns 1.1-6
    on the slow type. The greedy restricts each job to one type per window (its home, by
    Vogel's method) and the MILP may mix types, so the greedy is never better; on these eight
    programs it is 0.3-20.5 % below (mean 8.5 %) on the objective (a sum of logs,
    negative): Vogel's homes are a heuristic, and this bounds how far they may drift."""
    gaps = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        jobs = 6
        progress = rng.integers(0, 8, jobs).astype(float)
        plan = PlanInput(gpus=np.ones(jobs, dtype=np.int64), epochs=np.full(jobs, 10.0),
                         progress=progress, remaining_s=(10 - progress) * 60.0,
                         mean_epoch_s=np.full(jobs, 60.0), num_gpus=4, rounds=4, round_s=60.0,
                         k=1e-3)
        slowdown = np.column_stack((np.ones(jobs), rng.uniform(1.1, 6.0, jobs)))
        caps = np.array([8, 8])
        homes = homes_of(plan, slowdown, np.array([2, 2]))
        slow = slowdown[np.arange(jobs), homes]
        counts = solve_typed_round_counts(plan, np.ones(jobs), SEGMENTS, homes, slow, caps)
        for t in (0, 1):
            assert counts[homes == t].sum() <= caps[t]
        greedy = value(plan, counts, slow)
        best = _typed_milp_value(plan, slowdown, caps)
        assert greedy <= best + 1e-6
        gaps.append((best - greedy) / abs(best))
    assert max(gaps) <= 0.25
    assert np.mean(gaps) <= 0.1


# -- the policy --------------------------------------------------------------------------------


def test_hetero_parameter_is_checked_and_reaches_the_policy():
    assert ShockwavePolicy().hetero == "aware"
    assert build_policy("shockwave", {"hetero": "agnostic"}).hetero == "agnostic"
    with pytest.raises(InputError):
        ShockwavePolicy(hetero="fastest")


def _v100_share(policy: ShockwavePolicy, jobs: list[JobSpec], picky: set[int]) -> float:
    """The fraction of the rounds of the jobs in ``picky`` spent on V100s (every job completes)."""
    cluster = parse_cluster("v100:2,k80:2")
    result = simulate(jobs, cluster, policy, throughputs=load_throughputs("gavel"))
    on_v100 = on_any = 0
    for placements in result.schedule:
        for job_id, ids in placements.items():
            if job_id in picky:
                on_any += 1
                on_v100 += result.gpu_types[ids[0]] == "v100"
    assert {r.job_id for r in result.records} == {j.job_id for j in jobs}
    return on_v100 / on_any


def _two_models(hours: float, resnets_first: bool) -> list[JobSpec]:
    """Four Transformers (batch 32) and four ResNet-18s (batch 128) of ``hours`` on a V100 each,
    all at t = 0, in the given job order."""
    table = load_throughputs("gavel")
    jobs = []
    for i in range(8):
        model, bs = ("ResNet-18", 128) if (i < 4) == resnets_first else ("Transformer", 32)
        rate = table.lookup(model, bs, 1, "v100")
        jobs.append(JobSpec(i, model, bs, 1, "static", total_steps=int(3600 * hours * rate),
                            arrival_s=0.0, duration_s=3600.0 * hours))
    return jobs


def test_aware_shockwave_puts_jobs_on_the_type_they_gain_most_from():
    """Gavel's table: ResNet-18 at batch 128 runs 6.2x faster on a V100 than on a K80, a
    Transformer at batch 32 only 1.24x. On v100:2,k80:2 with four jobs of each, 1 to 4 hours
    long: the agnostic policy sends the jobs its plan lists first to the V100s, so the ResNets'
    share of V100 rounds follows the job order (38 % on average with the Transformers first,
    94 % with the ResNets first). The aware one homes the ResNets on the V100s by their regret,
    whatever the order: the same share in both orders, 46 % on average; not all, because
    Shockwave's objective equalises progress, so a lagging Transformer wins a V100 back later.

    History: one 2-hour case used to be asserted (aware 50 %, agnostic 38 %); when the epoch
    durations stopped being rounded to whole seconds (issue 10) it read 44 % against 38 %, while
    the 1-, 3- and 4-hour cases moved the other way (43 -> 45 %, 44 -> 46 %, 47 -> 48 %). The
    mean over the four, asserted now, was 0.075 above the agnostic share both before and after."""
    gaps = []
    for hours in (1, 2, 3, 4):
        later, first = _two_models(hours, False), _two_models(hours, True)
        aware = _v100_share(ShockwavePolicy(), later, {4, 5, 6, 7})
        assert _v100_share(ShockwavePolicy(), first, {0, 1, 2, 3}) == pytest.approx(aware,
                                                                                   abs=0.01)
        gaps.append(aware - _v100_share(ShockwavePolicy(hetero="agnostic"), later, {4, 5, 6, 7}))
        assert _v100_share(ShockwavePolicy(hetero="agnostic"), first, {0, 1, 2, 3}) > 0.85
    assert np.mean(gaps) > 0.06
