"""Dynamic per-epoch profiles (SPEC 1.6-1.8) rebuilt from trace lines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shockwave.model import JobSpec
from shockwave.workload.adaptation import (
    accordion_is_critical,
    accordion_profile_batch_sizes,
    batch_size_runs,
    build_profile,
    gns_pattern,
    load_workload_facts,
)

FACTS = load_workload_facts()


def test_canonical_profile_totals_match_spec(canonical_trace, throughputs):
    """SPEC 1.5: dynamic run times sum to 471,542 s and GPU-seconds to 635,795."""
    profiles = [build_profile(job, throughputs) for job in canonical_trace]
    run_times = np.array([p.run_time_s for p in profiles])
    gpu_seconds = sum(p.run_time_s * job.gpus for p, job in zip(profiles, canonical_trace, strict=True))
    assert round(run_times.sum()) == 471_542
    assert round(gpu_seconds) == 635_795
    assert round(run_times.min()) == 673 and round(run_times.max()) == 17_235
    epochs = [p.num_epochs for p in profiles]
    assert (min(epochs), int(np.median(epochs)), max(epochs)) == (2, 99, 8583)


def test_profile_run_times_equal_published_ftf_denominators(canonical_trace, throughputs, published):
    """The published rho_j = JCT_j / (3.75 T_j) pins every job's T_j (to rounding of rho)."""
    gandiva = published["gandiva_fair"]
    for job in canonical_trace:
        profile = build_profile(job, throughputs)
        implied = gandiva["jct_s_by_job"][job.job_id] / (3.75 * gandiva["ftf_rho_by_job"][job.job_id])
        assert profile.run_time_s == pytest.approx(implied, rel=3e-5)


def test_gns_last_epoch_keeps_initial_size_only_from_third_range():
    # LM bs 20 sf 1: [0,10] -> 20, [11,40] -> 40, [41,end] -> 80.
    assert gns_pattern(FACTS, "LM", 20, 17, 1) == [20] * 11 + [40] * 6  # last epoch in range 2
    pattern = gns_pattern(FACTS, "LM", 20, 45, 1)
    assert pattern[40] == 40 and pattern[41:44] == [80, 80, 80] and pattern[44] == 20


def test_gns_without_table_row_is_constant():
    assert gns_pattern(FACTS, "Transformer", 32, 5, 1) == [32] * 5
    assert gns_pattern(FACTS, "ResNet-18", 32, 5, 8) == [32] * 5


def test_accordion_profile_waits_for_thirty_percent_of_epochs():
    # LM: critical for epochs < 10; the first 30 % of 40 epochs (e <= 12) keep bs0.
    sizes = accordion_profile_batch_sizes(FACTS, "LM", 10, 40)
    assert sizes[:13] == [10] * 13 and sizes[13:] == [80] * 27


def test_runtime_accordion_regimes_differ_from_profile_regimes():
    assert accordion_is_critical(FACTS, "Recommendation", 512, 65)
    assert not accordion_is_critical(FACTS, "Recommendation", 512, 65, runtime=True)
    assert not accordion_is_critical(FACTS, "ResNet-50", 64, 605)
    assert accordion_is_critical(FACTS, "ResNet-50", 64, 605, runtime=True)


def test_profile_epoch_duration_uses_samples_over_batch_size(throughputs):
    job = JobSpec(0, "ResNet-18", 32, 1, "static", total_steps=3127, arrival_s=0, duration_s=0)
    profile = build_profile(job, throughputs)
    rate = throughputs.lookup("ResNet-18", 32, 1)
    assert profile.num_epochs == 3  # ceil(3127 / ceil(50000 / 32) = 1563)
    assert profile.run_time_s == pytest.approx(3 * (50000 / 32) / rate)


def _runs_epoch_by_epoch(sizes):
    """``batch_size_runs`` as first written: one epoch at a time."""
    runs = []
    for epoch, size in enumerate(sizes):
        if runs and runs[-1][2] == size:
            runs[-1] = (runs[-1][0], epoch + 1, size)
        else:
            runs.append((epoch, epoch + 1, size))
    return runs


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.sampled_from([16, 32, 64, 128, 256]), max_size=60))
def test_batch_size_runs_match_the_epoch_by_epoch_encoding(sizes):
    runs = batch_size_runs(sizes)
    assert runs == _runs_epoch_by_epoch(sizes)
    assert all(type(value) is int for run in runs for value in run)


def test_profiles_on_several_types_are_each_types_own_profile(canonical_trace, throughputs):
    """``build_profiles`` converts the epochs once for every type: each profile equals, bit for
    bit, ``build_profile`` on that type."""
    from shockwave.workload.adaptation import build_profiles

    types = ("v100", "p100", "k80")
    for job in canonical_trace:
        profiles = build_profiles(job, throughputs, FACTS, types)
        assert profiles, job.job_id
        for gpu_type, profile in profiles.items():
            alone = build_profile(job, throughputs, FACTS, gpu_type)
            assert profile.batch_size_every_epoch == alone.batch_size_every_epoch
            assert profile.duration_every_epoch.tobytes() == alone.duration_every_epoch.tobytes()
