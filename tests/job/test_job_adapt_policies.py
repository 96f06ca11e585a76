"""The adaptation policies on scripted inputs (pure: no torch), the learning-rate rules, the
batch-size history and the configuration's checks."""

from __future__ import annotations

import pytest

from shockwave.errors import InputError
from shockwave.job import JobEnv, JobEnvError
from shockwave.job.adapt.accordion import AccordionPolicy
from shockwave.job.adapt.config import AdaptConfig
from shockwave.job.adapt.gns_target import GnsTargetPolicy, allowed_sizes, nearest_size
from shockwave.job.adapt.history import BatchSizeHistory
from shockwave.job.adapt.lr import current_lr, lr_factor, rescale_lr
from shockwave.job.adapt.reference import ReferencePolicy
from shockwave.protocol import BatchSizeChange
from shockwave.workload.adaptation import load_workload_facts, reference_target_batch_size

# -- GNS target -----------------------------------------------------------------------------


@pytest.mark.parametrize(("base", "low", "high", "sizes"), [
    (64, 16, 256, (16, 32, 64, 128, 256)),
    (48, 16, 256, (24, 48, 96, 192)),
    (5, 5, 80, (5, 10, 20, 40, 80)),
    (64, 100, 200, (128,)),
    (3, 4, 5, (4,)),  # no multiple fits: the base clamped to the bounds
])
def test_the_allowed_sizes_are_the_base_times_powers_of_two(base, low, high, sizes):
    assert allowed_sizes(base, low, high) == sizes


def test_the_nearest_size_is_nearest_on_a_log_scale():
    sizes = (16, 32, 64, 128, 256)
    assert nearest_size(sizes, 90) == 64  # 90/64 = 1.406 < 128/90 = 1.422
    assert nearest_size(sizes, 91) == 128  # 91/64 = 1.422 > 128/91 = 1.407
    assert nearest_size(sizes, 5000) == 256 and nearest_size(sizes, 0) == 16


def policy(**knobs) -> GnsTargetPolicy:
    settings = {"factor": 1.0, "hysteresis": 2.0, "patience": 3, "min_measurements": 5,
                "max_change": 2.0, **knobs}
    return GnsTargetPolicy(16, 256, **settings)


def proposals(gns: GnsTargetPolicy, scales: list[float | None], batch_size: int = 64) -> list:
    return [gns.observe(s, batch_size, 64) for s in scales]


def test_gns_stays_inside_the_dead_band():
    """With hysteresis 2 at batch size 64 nothing moves while 32 < B_simple < 128."""
    assert proposals(policy(), [127.0, 33.0, 100.0] * 4) == [None] * 12


def test_gns_waits_for_enough_measurements_and_agreeing_evaluations():
    assert proposals(policy(), [130.0] * 6) == [None] * 4 + [128, 128]  # 5 measurements
    gns = policy()
    # a value in the dead band breaks the streak: three in a row again
    assert proposals(gns, [130.0, 130.0, 130.0, 130.0, 100.0, 130.0, 130.0, 130.0]) == \
        [None] * 7 + [128]


def test_gns_moves_one_rung_per_change_down_as_well_as_up():
    gns = policy(patience=2, min_measurements=1)
    assert proposals(gns, [130.0, 20.0, 20.0]) == [None, None, 32]  # the streak turned
    assert proposals(policy(patience=1, min_measurements=1), [1000.0]) == [128]
    straight = policy(patience=1, min_measurements=1, max_change=None)
    assert proposals(straight, [1000.0]) == [256]
    assert proposals(straight, [1000.0], batch_size=256) == [None]  # already at the top


def test_gns_counts_afresh_after_a_change_and_ignores_an_unknown_scale():
    gns = policy()
    assert proposals(gns, [300.0] * 5) == [None] * 4 + [128]
    gns.reset()
    assert proposals(gns, [600.0] * 5, batch_size=128) == [None] * 4 + [256]
    gns.reset()
    assert proposals(gns, [None] * 6, batch_size=256) == [None] * 6
    assert gns.streak == 0


def test_gns_target_factor_scales_the_target():
    gns = policy(factor=0.25, patience=1, min_measurements=1)
    assert proposals(gns, [600.0, 100.0]) == [128, 32]  # 150 and 25


def test_the_gns_policy_state_round_trips():
    gns = policy()
    proposals(gns, [130.0] * 3)
    copy = policy()
    copy.load_state_dict(gns.state_dict())
    assert proposals(copy, [130.0, 130.0]) == [None, 128]


# -- Accordion ------------------------------------------------------------------------------


def accordion() -> AccordionPolicy:
    return AccordionPolicy(eta=0.5, check_every=3, lr_decay_ratio=0.5)


def feed(policy: AccordionPolicy, norms: list[float], batch_size: int, lr: float = 0.1) -> list:
    return [policy.observe(n, lr, batch_size, 16, 256) for n in norms]


def test_accordion_leaves_the_critical_regime_when_the_norm_settles():
    """Checks every 3 intervals: 10 -> 4 is a change of 60 % (critical: stay small), 4 -> 3
    of 25 % (not critical: go big)."""
    assert feed(accordion(), [10.0, 9.0, 8.0, 4.0, 4.0, 4.0, 3.0], 16) == [None] * 6 + [256]


def test_accordion_starts_critical():
    assert feed(accordion(), [10.0], 256) == [16]


def test_accordion_does_not_react_to_its_own_change():
    """After the change to 256 and ``reset``, large jumps of the norm propose nothing until
    the next check, 3 intervals after the new reference."""
    policy = accordion()
    feed(policy, [10.0, 9.0, 8.0, 7.0], 16)
    assert policy.critical is False
    policy.reset(lr=0.2)
    assert feed(policy, [1.0, 5.0, 0.2], 256, lr=0.2) == [None, None, None]
    assert feed(policy, [0.25], 256, lr=0.2) == [16]  # |1 - 0.25| / 1 >= 0.5: critical


def test_a_learning_rate_decay_starts_a_critical_regime_at_once():
    policy = accordion()
    feed(policy, [10.0, 9.0, 8.0, 7.0], 16)
    policy.reset(lr=0.2)
    assert feed(policy, [5.0], 256, lr=0.2) == [None]
    assert feed(policy, [5.0], 256, lr=0.1) == [16]  # 0.1 <= 0.5 * 0.2
    assert feed(policy, [5.0, 5.0], 256, lr=0.1) == [16, 16]  # the wish stands till a check
    # the check comes 3 intervals after the decay: 5 -> 5 is stable
    assert feed(policy, [5.0], 256, lr=0.1) == [None]
    assert policy.critical is False


def test_a_slow_schedule_is_not_a_decay():
    policy = accordion()
    lrs = [0.1 * 0.9 ** i for i in range(7)]  # 10 % less each interval
    norms = [10.0, 9.0, 8.0, 7.0, 7.0, 7.0, 7.0]
    assert [policy.observe(n, lr, 256 if i >= 4 else 16, 16, 256)
            for i, (n, lr) in enumerate(zip(norms, lrs, strict=True))] == \
        [None, None, None, 256, None, None, None]


def test_a_zero_reference_norm_counts_as_critical():
    assert feed(accordion(), [0.0, 1.0, 1.0, 1.0], 16) == [None] * 4
    assert feed(accordion(), [1.0, 1.0, 1.0, 1.0], 16) == [None] * 3 + [256]


def test_the_accordion_state_round_trips():
    policy = accordion()
    feed(policy, [10.0, 9.0], 16)
    copy = accordion()
    copy.load_state_dict(policy.state_dict())
    assert feed(copy, [8.0, 9.0], 16) == [None, 256]


# -- reference ------------------------------------------------------------------------------


def test_the_reference_gns_rule_doubles_when_the_table_says_so():
    """ResNet-18 from 64 on 1 GPU: the table gives 128 from epoch 11 and 256 from epoch 31;
    the rule doubles when a larger size is due this epoch or the next."""
    ref = ReferencePolicy("gns", "ResNet-18", 1)
    assert ref.observe(9, 64, 64) is None
    assert ref.observe(10, 64, 64) == 128
    assert ref.observe(10, 64, 64) is None  # once per epoch
    assert ref.observe(11, 128, 64) is None
    assert ref.observe(30, 128, 64) == 256
    assert ref.observe(31, 256, 64) is None  # the model's maximum


def test_the_reference_accordion_rule_jumps_to_the_model_maximum_and_back():
    ref = ReferencePolicy("accordion", "ResNet-18", 1)
    assert ref.observe(9, 64, 64) is None  # the first 10 epochs are critical
    assert ref.observe(10, 64, 64) == 256
    assert ref.observe(149, 256, 64) is None
    assert ref.observe(150, 256, 64) == 64  # the LR-decay range 150-159


def test_the_reference_policy_is_the_simulators_rule():
    facts = load_workload_facts()
    for mode, model, bs0 in [("gns", "LM", 5), ("accordion", "Recommendation", 512)]:
        ref = ReferencePolicy(mode, model, 1, facts)
        size = bs0
        for epoch in range(120):
            expected = reference_target_batch_size(facts, mode, model, bs0, 1, size, epoch)
            assert ref.observe(epoch, size, bs0) == expected
            size = expected or size


def test_an_unknown_reference_model_is_refused():
    with pytest.raises(InputError, match="known: LM, Recommendation, ResNet-18"):
        ReferencePolicy("gns", "ResNet-19", 1)


# -- learning-rate rules --------------------------------------------------------------------


def test_the_learning_rate_factors():
    assert lr_factor("linear", 64, 128) == 2.0
    assert lr_factor("sqrt", 64, 256) == 2.0
    assert lr_factor("sqrt", 256, 64) == 0.5
    assert lr_factor("none", 64, 256) == 1.0
    with pytest.raises(ValueError, match="unknown"):
        lr_factor("cubic", 1, 2)


def test_rescaling_moves_the_whole_schedule_chained_or_closed_form():
    torch = pytest.importorskip("torch")
    params = [torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD(params, lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 ** e)  # closed form
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    assert rescale_lr([opt, sched, object()], 2.0) == 1
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    assert opt.param_groups[0]["initial_lr"] == pytest.approx(0.2)
    assert sched.base_lrs == [pytest.approx(0.2)]
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(2 * 0.1 * 0.25)
    chained = torch.optim.SGD(params, lr=0.1)
    decay = torch.optim.lr_scheduler.ExponentialLR(chained, gamma=0.5)
    rescale_lr([chained, decay], 4.0)
    chained.step()
    decay.step()
    assert chained.param_groups[0]["lr"] == pytest.approx(4 * 0.05)
    assert current_lr([object(), chained]) == pytest.approx(0.2)


def test_factors_telescope_and_a_tensor_rate_stays_a_tensor():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=torch.tensor(0.1))
    rate = opt.param_groups[0]["lr"]
    for old, new in [(64, 128), (128, 32)]:
        rescale_lr([opt], lr_factor("linear", old, new))
    assert opt.param_groups[0]["lr"] is rate
    assert float(rate) == pytest.approx(0.1 * 32 / 64)
    assert rescale_lr([opt], 1.0) == 0 and current_lr([]) is None


# -- history and configuration --------------------------------------------------------------


def test_the_history_records_each_change_once():
    history = BatchSizeHistory()
    history.start(64)
    history.start(32)  # already started
    history.record(640, 64)  # not a change
    history.record(640, 128)
    history.record(900, 256)
    history.record(900, 64)  # a second change at the same point replaces the first
    history.record(1000, 64)
    assert history.entries == [(0, 64), (640, 128), (900, 64)]
    assert history.report() == (BatchSizeChange(samples=0, batch_size=64),
                                BatchSizeChange(samples=640, batch_size=128),
                                BatchSizeChange(samples=900, batch_size=64))
    copy = BatchSizeHistory()
    copy.load_state_dict(history.state_dict())
    assert copy.entries == history.entries and copy.initial == 64


@pytest.mark.parametrize(("knobs", "field"), [
    ({"mode": "adaptive"}, "adaptation"),
    ({"lr_scaling": "cubic"}, "lr_scaling"),
    ({"min_batch_size": 64, "max_batch_size": 32}, "min_batch_size"),
    ({"measure_every": -1}, "measure_every"),
    ({"patience": 2.5}, "patience"),
    ({"smoothing": 1.0}, "smoothing"),
    ({"hysteresis": 0.5}, "hysteresis"),
    ({"accordion_norm": "max"}, "accordion_norm"),
    ({"lr_decay_ratio": 0.0}, "lr_decay_ratio"),
])
def test_bad_knobs_are_refused_by_name(knobs, field):
    with pytest.raises(InputError) as refused:
        AdaptConfig(**knobs)
    assert refused.value.field == field


def test_each_mode_has_its_policies():
    assert AdaptConfig().policy_name() is None
    assert AdaptConfig(mode="gns").policy_name() == "target"
    assert AdaptConfig(mode="accordion").policy_name() == "accordion"
    with pytest.raises(InputError, match="does not fit adaptation 'gns'"):
        AdaptConfig(mode="gns", policy="accordion").policy_name()
    with pytest.raises(InputError, match="reference_model"):
        AdaptConfig(mode="gns", policy="reference").policy_name()
    assert AdaptConfig(mode="accordion", policy="reference",
                       reference_model="LM").policy_name() == "reference"


def test_the_environment_gives_the_mode_and_the_bounds():
    env = JobEnv.from_environ({"SHOCKWAVE_ADAPTATION": "gns", "SHOCKWAVE_MIN_BATCH_SIZE": "16",
                               "SHOCKWAVE_MAX_BATCH_SIZE": "256"})
    assert (env.adaptation, env.min_batch_size, env.max_batch_size) == ("gns", 16, 256)
    unset = JobEnv.from_environ({})
    assert (unset.adaptation, unset.min_batch_size, unset.max_batch_size) == (None, None, None)


@pytest.mark.parametrize(("values", "variable"), [
    ({"SHOCKWAVE_ADAPTATION": "pollux"}, "SHOCKWAVE_ADAPTATION"),
    ({"SHOCKWAVE_MIN_BATCH_SIZE": "0"}, "SHOCKWAVE_MIN_BATCH_SIZE"),
    ({"SHOCKWAVE_MIN_BATCH_SIZE": "64", "SHOCKWAVE_MAX_BATCH_SIZE": "32"},
     "SHOCKWAVE_MAX_BATCH_SIZE"),
])
def test_unusable_adaptation_variables_are_named(values, variable):
    with pytest.raises(JobEnvError) as refused:
        JobEnv.from_environ(values)
    assert refused.value.variable == variable
