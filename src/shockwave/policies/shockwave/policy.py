"""``ShockwavePolicy``: the planner asks it every round which jobs run; it keeps a T-round plan and
re-plans on an arrival or completion, every ``resolve_every_rounds`` rounds, and when the plan runs
out (docs/policies.md, "When it plans"; the published
``Scheduler._update_shockwave_scheduler``). Its state is explicit and per run: build a fresh
policy for each simulation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from shockwave.errors import InputError
from shockwave.model import JobId, job_type_name
from shockwave.policies.base import ClusterView, JobView, Shares, TypedShares
from shockwave.policies.params import ParamInfo
from shockwave.policies.shockwave.backend import SOLVERS, SolverOptions, check_solver, solve
from shockwave.policies.shockwave.config import (
    CONFIG_PARAMS,
    ShockwaveConfig,
    load_shockwave_config,
)
from shockwave.policies.shockwave.estimator import (
    EpochModel,
    FinishTimeSeries,
    fair_share,
    finish_time_estimate_s,
    measured_samples,
    projected_rho,
    relaxed_priority,
    remaining_runtime_s,
    remaining_time_weights,
    stable_calibration_factor,
)
from shockwave.policies.shockwave.packing import (
    construct_schedules,
    fallback_plan,
    order_rounds,
    rank_rounds,
)
from shockwave.policies.shockwave.program import (
    PlanInput,
    build_program,
    finish_time_min_progress,
    log_segments,
    makespan_min_progress,
    per_round_program,
    planned_rounds,
    round_plan,
    solve_round_counts,
    solve_typed_round_counts,
    typed_gains,
)
from shockwave.policies.shockwave.typed import (
    epoch_seconds_by_type,
    home_asks,
    home_types,
    protected_homes,
    rank_typed_rounds,
    reference_samples,
    reference_type,
    slowdowns,
    typed_fair_share,
    typed_fallback_plan,
    typed_schedules,
)

_P = TypeVar("_P")
"""What a plan is: the rounds ``X[j, t]``, with each job's home type on several GPU types."""

REPACK_ATTEMPTS = 3  # level searches per plan when the counts cannot all be packed
HETERO_MODES: tuple[str, ...] = ("aware", "agnostic")


@dataclass
class SolveStats:
    """How each re-plan went. ``precheck_infeasible`` counts finish-time programs proven infeasible
    without a solve; ``packing_incomplete`` counts plans whose round counts could not all be placed
    round by round (the aggregated optimum was then not certified)."""

    replans: int = 0
    precheck_infeasible: int = 0
    feasible: int = 0
    relaxed: int = 0
    fallback: int = 0
    packing_incomplete: int = 0
    solver_time_limit_hits: int = 0


@dataclass
class _JobState:
    """What the policy keeps per job between re-plans. Besides the calibration factor and the
    finish-time series, it memoises the pure per-job computations of the last re-plan, so a job
    whose inputs did not change (most jobs, between two re-plans) costs a few comparisons: the
    samples of the measured timeline (extended by the new entries only), the calibrated factor
    for (factor, samples, span) and the remaining, elapsed and mean epoch times for
    (progress, factor)."""

    model: EpochModel
    factor: float = 1.0
    share_series: FinishTimeSeries = field(default_factory=FinishTimeSeries)
    batch_size: int = 0
    typed: _TypedProfile | None = None
    typed_samples: tuple[int, float] = (0, 0.0)  # timeline entries summed, reference samples
    timeline_samples: tuple[tuple[tuple[int, float, int], ...], float] = ((), 0)
    """The timeline summed so far and its samples (fixed mode, one GPU type)."""
    calibrated: tuple[tuple[float, float, float], float] | None = None
    remaining: tuple[tuple[int, float], float, float, float] | None = None
    """For (progress, factor): the remaining time, the elapsed time and the mean epoch time."""
    slowdown: tuple[float, np.ndarray] | None = None
    """For a progress (aware mode): ``typed.slowdowns``, a sum over the remaining epochs."""

    def slowdown_at(self, progress: float) -> np.ndarray:
        """``typed.slowdowns`` of the job's typed profile at ``progress``, kept until its
        progress changes (most jobs do not run between two re-plans)."""
        assert self.typed is not None
        if self.slowdown is None or self.slowdown[0] != progress:
            self.slowdown = (progress, slowdowns(self.typed.epoch_s, self.typed.ref, progress))
        return self.slowdown[1]


@dataclass(frozen=True)
class _TypedProfile:
    """A job's profile on every type of a heterogeneous cluster (aware mode): ``epoch_s[t, e]``
    (``typed.epoch_seconds_by_type``), its reference type and its rate per batch size per type."""

    epoch_s: np.ndarray
    ref: int
    rates: tuple[dict[int, float], ...]


@dataclass(frozen=True)
class _Estimates:
    """Per-job numbers of one re-plan, in ``job_ids`` order."""

    job_ids: list[JobId]
    plan: PlanInput
    fair_finish_s: np.ndarray
    now_s: float
    share: float
    origin_s: np.ndarray
    """Where each job's finish-time ratio is measured from: its arrival, so that the ratio
    compares JCTs (in reference mode 0, the trace's start, as the published code: months into a
    long trace, waiting then barely moves a ratio of absolute times)."""
    slowdown: np.ndarray | None = None
    """Aware mode on several types: ``(J, K)`` epoch time on each type over the reference's
    (``share`` is then per job, ``typed.typed_fair_share``)."""
    type_counts: np.ndarray | None = None
    makespan_floor: np.ndarray | None = None
    """Makespan protection's lower bounds on planned epochs (``makespan_min_progress``; None when
    off); the protected jobs (a positive bound) are placed first in the window on one type, and
    plan on their fastest type on several (``typed.protected_homes``)."""
    srpt_power: float = 0.0
    """The relaxed priorities' shortest-remaining-time power (``remaining_time_weights``; 0 in
    reference mode)."""


class ShockwavePolicy:
    """Shockwave (NSDI '23): plan T rounds ahead to maximise a Nash social welfare of progress under
    finish-time fairness, relaxed to rho-powered priorities when infeasible (docs/policies.md)."""

    name: ClassVar[str] = "shockwave"
    plans_rounds: ClassVar[bool] = True
    PARAMS: ClassVar[tuple[ParamInfo, ...]] = (
        ParamInfo("config", "path", None, "knobs in the reference's JSON format (--policy-config); "
                  "default: the bundled canonical config"),
        ParamInfo("solver", "name", "highs", "MILP solver of the MILP paths (--solver); gurobi "
                  "switches to the MILP path", choices=SOLVERS),
        ParamInfo("hetero", "name", "aware", "on several GPU types: plan per type with per-type "
                  "throughputs (aware), or as if every GPU were the job's fastest type and let "
                  "the planner pick the fastest type with room (agnostic, the former behaviour)",
                  choices=HETERO_MODES),
        *CONFIG_PARAMS,
    )
    """``config``, ``solver``, and every ``ShockwaveConfig`` knob (overriding the config file)."""

    @classmethod
    def from_params(cls, values: Mapping[str, Any]) -> ShockwavePolicy:
        """The policy for checked parameter values (``params.build_policy``): the config file (or
        the bundled one) with the knobs given as parameters replacing its values."""
        knobs = dict(values)
        path = knobs.pop("config", None)
        solver = knobs.pop("solver", "highs")
        hetero = knobs.pop("hetero", "aware")
        config = replace(load_shockwave_config(path), **knobs)
        config.validate(path, labels={name: f"--param {name}" for name in knobs})
        return cls(config, solver, hetero)

    def __init__(
        self, config: ShockwaveConfig | str | Path | None = None, solver: str = "highs",
        hetero: str = "aware",
    ) -> None:
        """``config``: the knobs, or the path of a JSON config in the reference's format (the
        CLI's ``--policy-config``); ``None`` for the bundled canonical one. ``hetero``: on a
        cluster of several GPU types, ``aware`` plans per type, ``agnostic`` plans as on one
        type (docs/policies.md, "Shockwave on heterogeneous clusters")."""
        if hetero not in HETERO_MODES:
            raise InputError(f"must be one of {', '.join(HETERO_MODES)}, got {hetero!r}",
                             field="hetero")
        self.hetero = hetero
        if config is None or isinstance(config, str | Path):
            config = load_shockwave_config(config)
        self.config = config.validate()
        self.solver = check_solver(solver)
        self._options = SolverOptions(
            self.solver, self.config.time_limit_s, self.config.mip_rel_gap, self.config.threads
        )
        try:
            self._segments = log_segments(self.config.log_bases, self.config.log_origin)
        except ValueError as exc:
            raise InputError(str(exc), field="log_approximation_bases") from None
        self._use_milp = (self.config.milp_program or self.config.exact_rounds
                          or self.solver == "gurobi")
        self._jobs: dict[JobId, _JobState] = {}
        self._plan: dict[int, list[JobId]] = {}
        self._typed_plan: dict[int, list[tuple[JobId, str]]] = {}
        self._resolve = True
        self._reestimate_share = True
        self._last_round: int | None = None
        self.stats = SolveStats()

    # -- the planner's entry point -------------------------------------------------------------

    def allocate(self, view: ClusterView) -> Shares | TypedShares:
        """Shares of 1.0 for exactly the jobs that run in round ``view.round_index``; in aware
        mode on several GPU types, 1.0 on the one type each runs on."""
        self._observe(view)
        if not view.jobs:
            return {}
        index = view.round_index
        if self._aware(view):
            if self._resolve or index not in self._typed_plan:
                self._replan_typed(view)
            return _fit_typed(self._typed_plan.get(index, []), view)
        if self._resolve or index not in self._plan:
            self._replan(view)
        return _fit(self._plan.get(index, []), view)

    def _aware(self, view: ClusterView) -> bool:
        return self.hetero == "aware" and view.cluster.is_heterogeneous

    # -- state transitions ---------------------------------------------------------------------

    def _observe(self, view: ClusterView) -> None:
        """Note arrivals, completions, the periodic re-plan and (fixed mode) batch-size changes."""
        current = set(view.jobs)
        if current != set(self._jobs):
            self._resolve = True
            self._reestimate_share = True
            for job_id in set(self._jobs) - current:
                del self._jobs[job_id]
            for job_id in sorted(current - set(self._jobs)):
                self._jobs[job_id] = _new_job_state(view.jobs[job_id],
                                                    rounded=_compat(view) == "reference")
                if self._aware(view):
                    self._jobs[job_id].typed = _typed_profile(view.jobs[job_id], view)
        index = view.round_index
        every = self.config.resolve_every_rounds
        if index != self._last_round and index > 0 and index % every == 0:
            self._resolve = True
        self._last_round = index
        if _compat(view) != "reference":
            for job_id, job in view.jobs.items():
                state = self._jobs[job_id]
                if job.batch_size != state.batch_size:
                    state.batch_size = job.batch_size
                    self._resolve = True

    def _replan(self, view: ClusterView) -> None:
        self.stats.replans += 1
        estimates = self._estimate(view)
        plan = self._solve(estimates)
        schedules = construct_schedules(
            plan, estimates.job_ids, estimates.plan.gpus, estimates.plan.remaining_s, view.num_gpus
        )
        self._plan = {view.round_index + t: jobs for t, jobs in enumerate(schedules)}
        self._resolve = False

    def _replan_typed(self, view: ClusterView) -> None:
        """The aware re-plan: the typed program's plan and each planned job's home type, then
        per-round (job, type) pairs with the idle GPUs of each type filled."""
        self.stats.replans += 1
        est = self._estimate(view)
        assert est.slowdown is not None and est.type_counts is not None
        plan, homes = self._solve_typed(est)
        schedules = typed_schedules(plan, homes, est.plan.gpus, est.plan.remaining_s,
                                    est.slowdown, est.type_counts)
        types = view.cluster.gpu_types
        self._typed_plan = {
            view.round_index + t: [(est.job_ids[j], types[kind]) for j, kind in pairs]
            for t, pairs in enumerate(schedules)
        }
        self._resolve = False

    # -- prediction ----------------------------------------------------------------------------

    def _estimate(self, view: ClusterView) -> _Estimates:
        reference = _compat(view) == "reference"
        index, round_s = view.round_index, view.round_s
        now_s = index * round_s if reference else view.now_s
        share: float | np.ndarray = fair_share(view.num_gpus, len(view.jobs))
        job_ids = list(view.jobs)
        count = len(job_ids)
        slowdown = type_counts = None
        if self._aware(view):
            type_counts = np.array([view.cluster.count(t) for t in view.cluster.gpu_types])
            slowdown = np.array([
                state.slowdown_at(min(view.jobs[j].epochs_done, state.typed.epoch_s.shape[1]))
                for j in job_ids for state in (self._jobs[j],) if state.typed is not None
            ]).reshape(count, len(type_counts))
            share = typed_fair_share(slowdown, type_counts, count)
        gpus: list[int] = []
        epochs: list[int] = []
        done: list[int] = []
        left: list[float] = []
        dbar: list[float] = []
        fair: list[float] = []
        arrival: list[float] = []
        momentum = self.config.momentum
        shares = [share] * count if np.isscalar(share) else np.asarray(share).tolist()
        for job_id, job_share in zip(job_ids, shares, strict=True):
            job, state = view.jobs[job_id], self._jobs[job_id]
            model = state.model
            progress = min(job.epochs_done, model.num_epochs)
            factor = state.factor = self._calibrate(state, job, round_s, reference)
            if state.remaining is None or state.remaining[0] != (progress, factor):
                state.remaining = ((progress, factor), remaining_runtime_s(model, progress, factor),
                                   model.elapsed_s(progress, factor),
                                   model.mean_epoch_s(progress, factor))
            _, remaining, elapsed, mean_epoch = state.remaining
            if self._reestimate_share:
                submit = job.admitted_s if reference else job.spec.arrival_s
                estimate = finish_time_estimate_s(submit, elapsed, remaining, job_share)
                state.share_series.append(index, estimate)
            fair.append(state.share_series.average(index, momentum))
            arrival.append(0.0 if reference else job.spec.arrival_s)
            gpus.append(job.gpus)
            epochs.append(model.num_epochs)
            done.append(progress)
            left.append(remaining)
            dbar.append(mean_epoch)
        self._reestimate_share = False
        plan = PlanInput(
            gpus=np.array(gpus, dtype=np.float64).astype(np.int64),
            epochs=np.array(epochs, dtype=np.float64), progress=np.array(done, dtype=np.float64),
            remaining_s=np.array(left, dtype=np.float64),
            mean_epoch_s=np.array(dbar, dtype=np.float64), num_gpus=view.num_gpus,
            rounds=self.config.future_rounds, round_s=round_s, k=self.config.k,
        )
        floor = None
        if self.config.makespan_slack > 0 and not reference:
            floor = makespan_min_progress(plan, self.config.makespan_slack,
                                          self.config.makespan_protect)
        srpt = 0.0 if reference else self.config.srpt_power
        return _Estimates(job_ids, plan, np.array(fair, dtype=np.float64), now_s, share,
                          np.array(arrival, dtype=np.float64), slowdown, type_counts, floor, srpt)

    def _calibrate(self, state: _JobState, job: JobView, round_s: float, reference: bool) -> float:
        timeline = job.throughput_timeline
        if not timeline:
            return state.factor
        if reference:  # the reference keys a round's measurement by the rounds completed after it
            shifted = [(r + 1, thr, bs) for r, thr, bs in timeline]
            samples, span_s = measured_samples(shifted, round_s)
        elif state.typed is not None:  # the rounds it ran, as on its reference type
            seen, samples = state.typed_samples  # the timeline only grows: add the new rounds
            samples += reference_samples(timeline[seen:], round_s, state.typed.rates,
                                         state.typed.ref)
            state.typed_samples = (len(timeline), samples)
            span_s = round_s * len(timeline)
        else:  # only the rounds the job actually ran
            summed, samples = state.timeline_samples
            if timeline is not summed:  # the same tuple (a kept view): nothing new to add
                if timeline[: len(summed)] != summed:  # not an extension: sum from the start
                    summed, samples = (), 0
                for _, thr, bs in timeline[len(summed):]:  # the new entries, in order, as sum()
                    samples += thr * round_s * bs
                state.timeline_samples = (timeline, samples)
            span_s = round_s * len(timeline)
        key = (state.factor, samples, span_s)
        if state.calibrated is None or state.calibrated[0] != key:
            state.calibrated = (key, stable_calibration_factor(
                state.model, state.factor, samples, span_s, self.config.calibration_tolerance))
        return state.calibrated[1]

    # -- the program and its fallbacks ---------------------------------------------------------

    def _cascade(self, est: _Estimates, plan_with: Callable[[np.ndarray, np.ndarray | None], _P | None],
                 fallback: Callable[[np.ndarray], _P]) -> _P:
        """The finish-time program if it can be feasible, else the relaxed program, else (no
        incumbent within the time limit) the greedy fallback; ``plan_with(priorities,
        min_progress)`` solves and packs one program, ``fallback(priorities)`` is the last
        resort. One type or several, the cascade and its counters are the same."""
        plan, cfg = est.plan, self.config
        window_end = est.now_s + cfg.future_rounds * plan.round_s
        min_progress = finish_time_min_progress(
            plan, est.fair_finish_s, est.share, window_end, cfg.rho_max, est.origin_s
        )
        floor = est.makespan_floor
        if min_progress is None:
            self.stats.precheck_infeasible += 1
        else:
            both = min_progress if floor is None else np.maximum(min_progress, floor)
            placed = plan_with(np.ones(plan.num_jobs), both)
            if placed is not None:
                self.stats.feasible += 1
                return placed
        priorities = self._priorities(est)
        for lower in ((floor, None) if floor is not None else (None,)):
            placed = plan_with(priorities, lower)
            if placed is not None:
                self.stats.relaxed += 1
                return placed
        self.stats.fallback += 1
        return fallback(priorities)

    def _solve(self, est: _Estimates) -> np.ndarray:
        """The plan ``X[j, t]`` on one GPU type (``_cascade``)."""
        plan = est.plan
        lead = None if est.makespan_floor is None else est.makespan_floor > 0
        return self._cascade(
            est, lambda weights, floor: self._plan_with(plan, weights, floor, lead),
            lambda priorities: fallback_plan(plan.remaining_s, priorities, plan.gpus,
                                             plan.num_gpus, plan.rounds, plan.round_s))

    def _solve_typed(self, est: _Estimates) -> tuple[np.ndarray, np.ndarray]:
        """``_solve`` on several GPU types: the plan ``X[j, t]`` and each job's home type; the
        greedy fallback runs on the home types."""
        plan = est.plan

        def fallback(priorities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            assert est.slowdown is not None and est.type_counts is not None
            homes = self._homes(est, priorities)
            slow = est.slowdown[np.arange(plan.num_jobs), homes]
            return typed_fallback_plan(plan.remaining_s, priorities, plan.gpus, homes, slow,
                                       est.type_counts, plan.rounds, plan.round_s), homes

        return self._cascade(
            est, lambda weights, floor: self._plan_typed_with(est, weights, floor), fallback)

    def _homes(self, est: _Estimates, priorities: np.ndarray) -> np.ndarray:
        assert est.slowdown is not None and est.type_counts is not None
        plan = est.plan
        asks = home_asks(est.slowdown, plan.remaining_s, plan.rounds, plan.round_s)
        gains = typed_gains(plan, priorities, self._segments, est.slowdown, asks)
        return home_types(gains, est.slowdown, asks, plan.gpus, est.type_counts, plan.rounds)

    def _plan_typed_with(
        self, est: _Estimates, priorities: np.ndarray, min_progress: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The typed program by the level search on home types, placed type by type; re-solved
        with a type's capacity lowered by its GPU-rounds that did not fit, as ``REPACK_ATTEMPTS``
        does on one type. ``None``: infeasible."""
        assert est.slowdown is not None and est.type_counts is not None
        plan = est.plan
        homes = self._homes(est, priorities)
        if est.makespan_floor is not None:
            homes = protected_homes(homes, est.slowdown, est.makespan_floor > 0)
        slow = est.slowdown[np.arange(plan.num_jobs), homes]
        full = est.type_counts.astype(np.int64) * plan.rounds
        capacities = full.copy()
        placed = None
        memo: dict[tuple[int, bytes], np.ndarray] = {}
        for _ in range(REPACK_ATTEMPTS):
            counts = solve_typed_round_counts(plan, priorities, self._segments, homes, slow,
                                              capacities, min_progress)
            if counts is None:
                break
            placed, unplaced = rank_typed_rounds(counts, homes, priorities, plan.gpus,
                                                 est.type_counts, plan.rounds, memo)
            if not unplaced.any():
                return placed, homes
            capacities = full - unplaced
        if placed is None:
            return None
        self.stats.packing_incomplete += 1
        return placed, homes

    def _plan_with(
        self, plan: PlanInput, priorities: np.ndarray, min_progress: np.ndarray | None,
        lead: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Solve the aggregated program (level search, or the MILP solver) and place its rounds;
        with ``exact_rounds``, when they cannot all be placed, solve the per-round program (exact
        capacity in every round). ``None``: infeasible or no incumbent."""
        if not self._use_milp:
            return self._plan_by_level_search(plan, priorities, min_progress, lead)
        aggregated = build_program(plan, priorities, self._segments, min_progress)
        x = self._run(aggregated)
        if x is None:
            return None
        counts = planned_rounds(x, plan.num_jobs, plan.rounds)
        placed, complete = rank_rounds(counts, priorities, plan.gpus, plan.num_gpus, plan.rounds,
                                       lead)
        if complete:
            return placed
        self.stats.packing_incomplete += 1
        if not self.config.exact_rounds:
            return placed
        x_rounds = self._run(per_round_program(aggregated, plan))
        if x_rounds is None:
            return placed
        exact = round_plan(x_rounds, plan.num_jobs, plan.rounds)
        counts = exact.sum(axis=1)
        placed, complete = rank_rounds(counts, priorities, plan.gpus, plan.num_gpus, plan.rounds,
                                       lead)
        if complete:
            return placed
        return order_rounds(exact, np.where(counts > 0, priorities / np.maximum(counts, 1), 0.0))

    def _plan_by_level_search(
        self, plan: PlanInput, priorities: np.ndarray, min_progress: np.ndarray | None,
        lead: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Round counts by the level search, placed by the re-ranking. When some rounds cannot be
        packed (mixed gangs), the counts are re-solved with the window's capacity ``G T`` lowered by
        the GPU-rounds that did not fit in the last attempt, up to ``REPACK_ATTEMPTS`` times (the reference's per-round
        program never plans unpackable rounds). ``None``: infeasible."""
        capacity = plan.num_gpus * plan.rounds
        placed = None
        for _ in range(REPACK_ATTEMPTS):
            counts = solve_round_counts(plan, priorities, self._segments, min_progress,
                                        capacity=capacity)
            if counts is None:
                break
            placed, complete = rank_rounds(counts, priorities, plan.gpus, plan.num_gpus,
                                           plan.rounds, lead)
            if complete:
                return placed
            capacity = plan.num_gpus * plan.rounds - int(plan.gpus @ (counts - placed.sum(axis=1)))
        if placed is not None:
            self.stats.packing_incomplete += 1
        return placed

    def _run(self, problem: object) -> np.ndarray | None:
        solution = solve(problem, self._options)  # type: ignore[arg-type]
        if solution.status == "feasible":
            self.stats.solver_time_limit_hits += 1
        return solution.x

    def _priorities(self, est: _Estimates) -> np.ndarray:
        """``rhohat^lambda`` (``relaxed_priority``) times the shortest-remaining-time factor
        (``remaining_time_weights``), capped at ``priority_cap``."""
        cfg, plan = self.config, est.plan
        shares = np.broadcast_to(est.share, (plan.num_jobs,)).tolist()
        rho_hat = [projected_rho(est.now_s - origin, float(rem), share, float(fair) - origin)
                   for rem, fair, origin, share in zip(plan.remaining_s, est.fair_finish_s,
                                                       est.origin_s.tolist(), shares, strict=True)]
        priorities = np.array([
            relaxed_priority(rho, rem, plan.round_s, cfg.rho_max, cfg.lam,
                             cfg.finishing_priority_power, cfg.priority_cap)
            for rho, rem in zip(rho_hat, plan.remaining_s, strict=True)
        ])
        if est.srpt_power == 0:
            return priorities
        weights = remaining_time_weights(plan.remaining_s, plan.round_s, est.srpt_power)
        return np.minimum(priorities * weights, cfg.priority_cap)

def _compat(view: ClusterView) -> str:
    return getattr(view, "compat", "fixed")


def _new_job_state(job: JobView, *, rounded: bool) -> _JobState:
    """A new job's state; its epoch durations rounded to whole seconds in reference mode only."""
    profile = job.profile
    model = EpochModel.from_profile(
        profile.num_epochs, profile.samples_per_epoch, profile.batch_size_every_epoch,
        profile.duration_every_epoch, rounded=rounded,
    )
    return _JobState(model=model, batch_size=job.batch_size)


def _typed_profile(job: JobView, view: ClusterView) -> _TypedProfile:
    """The job's epoch times on every type of the cluster from the throughput table at each
    profiled batch size. Where the table lacks a batch size on a type the view says the job
    can run on (a table other than the simulator's), every epoch is scaled by the ratio of
    the current rates instead (``throughputs_by_type``)."""
    profile, spec = job.profile, job.spec
    types = view.cluster.gpu_types
    sizes = sorted(set(profile.batch_size_every_epoch))
    table = view.throughputs.table
    rates = tuple(
        {b: float(table.get(t, {}).get((job_type_name(spec.model, b), spec.gpus), 0.0))
         if job.throughputs_by_type.get(t, 0.0) > 0 else 0.0 for b in sizes}
        for t in types)
    epoch_s = epoch_seconds_by_type(profile.batch_size_every_epoch, profile.samples_per_epoch,
                                    rates)
    current = np.array([job.throughputs_by_type.get(t, 0.0) for t in types])
    if not np.all(np.isfinite(epoch_s[current > 0])):
        scale = np.where(current > 0, current.max() / np.where(current > 0, current, 1.0), np.inf)
        epoch_s = scale[:, None] * np.asarray(profile.duration_every_epoch, dtype=float)[None, :]
        rates = tuple({b: float(rate) for b in sizes} for rate in current)
    return _TypedProfile(epoch_s=epoch_s, ref=reference_type(epoch_s), rates=rates)


def _fit_typed(pairs: list[tuple[JobId, str]], view: ClusterView) -> TypedShares:
    """This round's (job, type) pairs whose job is still active, never more GPUs of a type than
    the cluster has: a share of 1.0 on that type."""
    free = {t: view.cluster.count(t) for t in view.cluster.gpu_types}
    shares: dict[JobId, dict[str, float]] = {}
    for job_id, gpu_type in pairs:
        job = view.jobs.get(job_id)
        if job is not None and job_id not in shares and job.gpus <= free[gpu_type] \
                and job.throughputs_by_type.get(gpu_type, 0.0) > 0:
            shares[job_id] = {gpu_type: 1.0}
            free[gpu_type] -= job.gpus
    return shares


def _fit(jobs: list[JobId], view: ClusterView) -> dict[JobId, float]:
    """This round's jobs that are still active, never more GPUs than the cluster has."""
    shares: dict[JobId, float] = {}
    free = view.num_gpus
    for job_id in jobs:
        job = view.jobs.get(job_id)
        if job is not None and job.gpus <= free:
            shares[job_id] = 1.0
            free -= job.gpus
    return shares
