"""``remaining_steps_of`` is ``JobView.remaining_steps`` job by job, as an array: past the end,
exactly at it, NaN, integers and ordinary progress."""

from __future__ import annotations

import dataclasses
import math

from policy_helpers import J, make_view

from shockwave.policies.base import remaining_steps_of


def test_the_array_is_the_property_of_each_job() -> None:
    view = make_view([J(rem=r) for r in (100.0, 0.5, 3.0, 7.25, 1e6)], num_gpus=4)
    jobs = list(view.jobs.values())
    cases = [(100.0, 20.0), (5.0, 5.0), (5.0, 9.0), (0.0, -0.0), (-0.0, 0.0), (10, 3),
             (math.nan, 1.0), (1.0, math.nan), (2**60, 0.5), (1e300, -1e300)]
    views = [dataclasses.replace(jobs[i % len(jobs)], total_steps=total, steps_done=done)
             for i, (total, done) in enumerate(cases)]
    got = remaining_steps_of(views).tolist()
    want = [v.remaining_steps for v in views]
    assert [math.copysign(1.0, g) for g in got] == [math.copysign(1.0, w) for w in want]
    assert got == want
    assert remaining_steps_of([]).tolist() == []
