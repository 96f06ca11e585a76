"""The policy's incremental per-job state against the from-scratch computation it replaces.

``FinishTimeSeries`` keeps the finish-time history as arrays, ``EpochModel`` finds a profile's
batch-size modes in one vector operation; the policy also memoises each job's
timeline samples (extended by the new entries only), its calibrated factor and its remaining time
between re-plans. Every one must give exactly (bit for bit) what recomputing from the whole history
gives, whatever the sequence of re-plans: arrivals, departures, re-arrivals, timelines that grow
or (defensively) are rewritten, progress, and re-plans with and without a job-set change.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sw_views import job_view

from shockwave.model import Cluster
from shockwave.policies.base import ClusterView
from shockwave.policies.shockwave import ShockwavePolicy
from shockwave.policies.shockwave.estimator import (
    EpochModel,
    FinishTimeSeries,
    fair_share,
    finish_time_estimate_s,
    momentum_average,
    remaining_runtime_s,
    stable_calibration_factor,
)
from shockwave.workload.throughput import load_throughputs


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.floats(-1e7, 1e7, allow_nan=False),
                       st.lists(st.integers(0, 6), max_size=3)), min_size=1, max_size=40),
    st.sampled_from([0.0, 0.5, 0.9, 1.0]),
)
def test_finish_time_series_equals_the_momentum_average_of_the_whole_series(steps, momentum):
    """Appends (rounds that never decrease, repeats included) interleaved with queries at later
    rounds: ``average`` is ``momentum_average`` of the list so far, bit for bit."""
    series = FinishTimeSeries()
    history: list[tuple[int, float]] = []
    round_index = 0
    for gap, value, queries in steps:
        round_index += gap
        series.append(round_index, value)
        history.append((round_index, value))
        assert len(series) == len(history)
        for extra in [0, *queries]:
            assert _same(series.average(round_index + extra, momentum),
                         momentum_average(history, round_index + extra, momentum))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([8, 16, 32, 64, 128, 256]), min_size=1, max_size=60),
       st.floats(0.1, 500.0))
def test_epoch_model_equals_the_per_epoch_construction(batch_sizes, seconds):
    """``EpochModel.from_profile`` finds the batch-size modes with ``np.unique``; the former
    construction went epoch by epoch through a dict. Same modes, same arrays."""
    durations = [seconds * (1 + i % 3) for i in range(len(batch_sizes))]
    model = EpochModel.from_profile(len(batch_sizes), 1000, batch_sizes, durations)
    modes = tuple(sorted({int(b) for b in batch_sizes}))
    index = {b: i for i, b in enumerate(modes)}
    mode_of_epoch = np.array([index[int(b)] for b in batch_sizes], dtype=np.int64)
    assert model.modes == modes
    assert model.mode_of_epoch.dtype == np.int64
    assert np.array_equal(model.mode_of_epoch, mode_of_epoch)
    counts = np.bincount(mode_of_epoch, minlength=len(modes))
    sums = np.bincount(mode_of_epoch, weights=model.pristine, minlength=len(modes))
    assert np.array_equal(model.mean_pristine_by_mode, sums / np.maximum(counts, 1))


def test_an_empty_finish_time_series_has_no_average():
    try:
        FinishTimeSeries().average(3)
    except ValueError:
        return
    raise AssertionError("an empty series must refuse an average")


class _Shadow:
    """The former per-job computation: every quantity from the whole history, every re-plan."""

    def __init__(self, model: EpochModel) -> None:
        self.model = model
        self.factor = 1.0
        self.series: list[tuple[int, float]] = []


def _shadow_estimates(shadows: dict, view, reestimate: bool, momentum: float, tolerance: float):
    share = fair_share(view.num_gpus, len(view.jobs))
    remaining, fair, dbar = [], [], []
    for job_id, job in view.jobs.items():
        sh = shadows[job_id]
        progress = min(job.epochs_done, sh.model.num_epochs)
        timeline = job.throughput_timeline
        if timeline:
            samples = sum(thr * view.round_s * bs for _, thr, bs in timeline)
            sh.factor = stable_calibration_factor(sh.model, sh.factor, samples,
                                                  view.round_s * len(timeline), tolerance)
        rem = remaining_runtime_s(sh.model, progress, sh.factor)
        if reestimate:
            sh.series.append((view.round_index, finish_time_estimate_s(
                job.spec.arrival_s, sh.model.elapsed_s(progress, sh.factor), rem, share)))
        remaining.append(rem)
        fair.append(momentum_average(sh.series, view.round_index, momentum))
        dbar.append(sh.model.mean_epoch_s(progress, sh.factor))
    return np.array(remaining), np.array(fair), np.array(dbar)


_JOBS = {  # job id -> (epochs, epoch seconds, samples, batch size): two batch sizes, two shapes
    0: (12, 50.0, 1000, 10), 1: (30, 20.0, 640, 32), 2: (5, 300.0, 2000, 20), 3: (20, 90.0, 800, 16),
}


@st.composite
def replan_sequences(draw: st.DrawFn) -> list[tuple[frozenset, dict, dict, bool]]:
    """Per re-plan: the active jobs, how many timeline entries each gains (with a measured rate
    from a third to three times the profile's, so the calibration both holds and moves), how many
    epochs it advances, and whether one timeline is rewritten instead of extended."""
    steps = []
    for _ in range(draw(st.integers(1, 14))):
        active = frozenset(draw(st.sets(st.sampled_from(sorted(_JOBS)), min_size=1)))
        grow = {j: draw(st.lists(st.sampled_from([0.3, 0.9, 1.0, 1.1, 3.0]), max_size=3))
                for j in sorted(active)}
        advance = {j: draw(st.integers(0, 3)) for j in sorted(active)}
        steps.append((active, grow, advance, draw(st.booleans())))
    return steps


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replan_sequences())
def test_policy_estimates_equal_the_from_scratch_estimates(steps):
    policy = ShockwavePolicy()
    cfg = policy.config
    tables = load_throughputs()
    shadows: dict = {}
    timelines: dict[int, list] = {}
    kept: dict[int, tuple] = {}
    done: dict[int, int] = {}
    previous: frozenset = frozenset()
    for index, (active, grow, advance, rewrite) in enumerate(steps):
        for job_id in previous - active:  # a departed job starts afresh if it comes back
            shadows.pop(job_id, None)
            timelines.pop(job_id, None)
            kept.pop(job_id, None)
            done.pop(job_id, None)
        views = []
        for job_id in sorted(active):
            epochs, epoch_s, samples, batch = _JOBS[job_id]
            rate = samples / batch / epoch_s
            line = timelines.setdefault(job_id, [])
            line.extend((index, rate * scale, batch) for scale in grow[job_id])
            if rewrite and line:
                line[0] = (line[0][0], line[0][1] * 1.5, line[0][2])
            done[job_id] = min(epochs, done.get(job_id, 0) + advance[job_id])
            if kept.get(job_id) != tuple(line):  # else the same tuple, as a kept view passes it
                kept[job_id] = tuple(line)
            views.append(job_view(job_id, epochs=epochs, epoch_s=epoch_s, samples=samples,
                                  batch_size=batch, done=done[job_id], admitted_s=10.0 * job_id,
                                  timeline=kept[job_id]))
        view = ClusterView(now_s=120.0 * (index + 1), round_index=index + 1, round_s=120.0,
                           cluster=Cluster(num_gpus=4), jobs={j.job_id: j for j in views},
                           throughputs=tables, compat="fixed")
        for job in views:
            if job.job_id not in shadows:
                shadows[job.job_id] = _Shadow(EpochModel.from_profile(
                    job.profile.num_epochs, job.profile.samples_per_epoch,
                    job.profile.batch_size_every_epoch, job.profile.duration_every_epoch))
        reestimate = active != previous
        policy._observe(view)
        est = policy._estimate(view)
        remaining, fair, dbar = _shadow_estimates(shadows, view, reestimate, cfg.momentum,
                                                  cfg.calibration_tolerance)
        assert np.array_equal(est.plan.remaining_s, remaining)
        assert np.array_equal(est.fair_finish_s, fair)
        assert np.array_equal(est.plan.mean_epoch_s, dbar)
        previous = active
