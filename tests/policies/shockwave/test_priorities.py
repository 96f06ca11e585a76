"""Shockwave's relaxed priorities against hand-computed values of SPEC 4.1.2 / docs/policies.md:
``rhohat_j = (now + R_j / s) / FTbar_j`` (``now`` is the round's start, not the window's end) and
``pi_j = rhohat_j^lambda`` when ``rhohat_j > rho_max`` (``^100`` if ``R_j < round_s``), else 1."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from sw_views import cluster_view, job_view

from shockwave.policies.shockwave import ShockwavePolicy
from shockwave.policies.shockwave.estimator import projected_rho, relaxed_priority


def test_projected_rho_by_hand():
    # now 1200 s, R 420 s at share 1/2 -> 1200 + 840 = 2040 s ahead; FTbar 1080 s.
    assert projected_rho(1200.0, 420.0, 0.5, 1080.0) == pytest.approx(2040.0 / 1080.0, rel=1e-15)
    assert projected_rho(0.0, 300.0, 1.0, 600.0) == pytest.approx(0.5, rel=1e-15)
    assert projected_rho(0.0, 0.0, 1.0, 0.0) == 1.0  # arrived at 0, nothing left: on track
    assert projected_rho(0.0, 10.0, 1.0, 0.0) == math.inf


def _two_jobs_at_round_10(compat: str) -> tuple[ShockwavePolicy, object]:
    """Two static jobs of 10 epochs x 60 s on 1 GPU (fair share s = 1/2), admitted at 0:
    A has 2 epochs done, B 8. Their first (and only) finish-time estimates are taken at round 10.

    Dirichlet remaining time with one batch size: R = (E - e - 1) * 60 s (the current epoch is
    removed), so R_A = 420 s, R_B = 60 s. FT_j = 0 + (60 e_j + R_j) / s: FT_A = (120 + 420) * 2 =
    1080 s and FT_B = (480 + 60) * 2 = 1080 s, so FTbar = 1080 s for both. At round 10, now =
    1200 s: rhohat_A = (1200 + 840) / 1080 = 1.8889, rhohat_B = (1200 + 120) / 1080 = 1.2222.
    """
    policy = ShockwavePolicy()
    jobs = [job_view(0, epochs=10, epoch_s=60.0, done=2), job_view(1, epochs=10, epoch_s=60.0, done=8)]
    view = cluster_view(jobs, num_gpus=1, round_index=10, compat=compat)
    policy._observe(view)
    return policy, policy._estimate(view)


@pytest.mark.parametrize("compat", ["reference", "fixed"])
def test_policy_priorities_by_hand(compat):
    policy, est = _two_jobs_at_round_10(compat)
    assert list(est.plan.remaining_s) == pytest.approx([420.0, 60.0])
    assert list(est.fair_finish_s) == pytest.approx([1080.0, 1080.0])
    assert est.share == 0.5 and est.now_s == 1200.0
    rho_a, rho_b = 2040.0 / 1080.0, 1320.0 / 1080.0
    priorities = policy._priorities(est)
    # A has more than a round left: lambda = 12; B finishes within a round: power 100.
    # Fixed mode also multiplies by the shortest-remaining-time factor (srpt_power 1.5): R
    # floored at a round (120 s) is 420 and 120 s, mean 270 s: (270/420)^1.5 = 0.51543 and
    # (270/120)^1.5 = 3.375. The reference mode keeps the published priorities.
    srpt = (1.0, 1.0) if compat == "reference" else ((270 / 420) ** 1.5, 3.375)
    assert priorities[0] == pytest.approx(rho_a**12 * srpt[0], rel=1e-12)
    assert priorities[1] == pytest.approx(rho_b**100 * srpt[1], rel=1e-12)
    if compat == "reference":
        assert priorities[0] == pytest.approx(2062.894, rel=1e-6)
        assert priorities[1] == pytest.approx(5.18821e8, rel=1e-6)
    else:
        assert priorities[0] == pytest.approx(1063.282, rel=1e-6)
        assert priorities[1] == pytest.approx(1.751021e9, rel=1e-6)


def test_srpt_power_zero_gives_the_published_priorities_in_fixed_mode():
    policy, est = _two_jobs_at_round_10("fixed")
    plain = ShockwavePolicy(replace(policy.config, srpt_power=0.0))
    plain._jobs = policy._jobs
    est = plain._estimate(cluster_view([job_view(0, epochs=10, epoch_s=60.0, done=2),
                                        job_view(1, epochs=10, epoch_s=60.0, done=8)],
                                       num_gpus=1, round_index=10, compat="fixed"))
    assert est.srpt_power == 0.0
    assert list(plain._priorities(est)) == pytest.approx([2062.894, 5.18821e8], rel=1e-6)


def test_jobs_on_track_have_priority_one():
    policy, est = _two_jobs_at_round_10("reference")
    loose = ShockwavePolicy(policy.config.__class__(rho_max=2.0))
    loose._jobs = policy._jobs
    assert list(loose._priorities(est)) == [1.0, 1.0]  # both rhohat <= 2


def test_relaxed_priority_thresholds():
    assert relaxed_priority(1.0, 1000, 120, 1.0, 12.0) == 1.0  # rhohat == rho_max is on track
    assert relaxed_priority(1.0 + 1e-9, 1000, 120, 1.0, 12.0) == pytest.approx((1 + 1e-9) ** 12)
    assert relaxed_priority(1.5, 119.9, 120, 1.0, 12.0, finishing_power=50.0) == pytest.approx(1.5**50)
    assert relaxed_priority(1.5, 120.0, 120, 1.0, 12.0) == pytest.approx(1.5**12)
