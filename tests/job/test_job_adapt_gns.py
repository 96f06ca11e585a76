"""The gradient noise scale: McCandlish's two-batch formulas by hand, the estimator on synthetic
gradients of known covariance, and the real collector on a linear regression whose per-sample
gradients are computed exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from shockwave.job.adapt.collector import GradientCollector, GradientSum, split_batch
from shockwave.job.adapt.gns import Ema, GnsEstimator, GradientSample, gradient_sq, noise_trace


def expected_sample(grad_sq: float, trace: float, small: float, big: float) -> GradientSample:
    """The squared norms a measurement gives on average: ``|G|^2 + tr(Sigma)/B``."""
    return GradientSample(grad_sq + trace / small, small, grad_sq + trace / big, big)


def test_the_two_batch_formulas_invert_the_expected_norms():
    sample = expected_sample(2.0, 64.0, small=8, big=32)  # small_sq 10, big_sq 4
    assert (sample.small_sq, sample.big_sq) == (10.0, 4.0)
    assert gradient_sq(sample) == pytest.approx(2.0)  # (32*4 - 8*10) / 24
    assert noise_trace(sample) == pytest.approx(64.0)  # (10 - 4) / (1/8 - 1/32)


def test_the_ema_is_bias_corrected():
    ema = Ema(0.5)
    assert ema.value is None
    ema.update(4.0)
    assert ema.value == 4.0  # the first value itself
    ema.update(8.0)
    assert ema.value == pytest.approx(5.0 / 0.75)  # (0.5*2 + 0.5*8) / (1 - 0.25)


def test_the_noise_scale_is_the_ratio_of_the_separately_smoothed_estimates():
    est = GnsEstimator(smoothing=0.5)
    est.update(expected_sample(1.0, 30.0, 16, 64))
    est.update(expected_sample(3.0, 10.0, 16, 64))
    # EMAs (bias-corrected) of |G|^2: (0.25*1 + 0.5*3)/0.75; of tr: (0.25*30 + 0.5*10)/0.75
    assert est.gradient_sq == pytest.approx(1.75 / 0.75)
    assert est.noise_trace == pytest.approx(12.5 / 0.75)
    assert est.noise_scale == pytest.approx(12.5 / 1.75)  # not the mean of 30 and 10/3
    assert est.measurements == 2


def test_unusable_samples_are_skipped_and_a_lost_gradient_has_no_noise_scale():
    est = GnsEstimator()
    assert est.noise_scale is None
    assert not est.update(GradientSample(math.nan, 8, 1.0, 16))
    assert not est.update(GradientSample(2.0, 16, 1.0, 16))  # equal batch sizes
    assert est.skipped == 2 and est.measurements == 0
    est.update(GradientSample(10.0, 8, 10.0, 16))  # |G|^2 estimate 10 > 0, trace 0
    assert est.noise_scale == 0.0
    est = GnsEstimator()
    est.update(GradientSample(10.0, 8, 4.0, 16))  # |G|^2 = (16*4 - 8*10)/8 = -2
    assert est.noise_scale is None


def test_the_estimator_state_round_trips():
    est = GnsEstimator(0.9)
    for i in range(5):
        est.update(expected_sample(1.0 + i, 50.0, 16, 64))
    copy = GnsEstimator(0.9)
    copy.load_state_dict(est.state_dict())
    assert copy.noise_scale == est.noise_scale and copy.measurements == 5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gns_recovers_a_known_noise_scale_within_10_percent(seed):
    """Per-sample gradients ``G + A z`` (z standard normal): Sigma = A A^T, and the noise
    scale is ``tr(Sigma) / |G|^2 = |A|_F^2 / |G|^2 = 100``. Each step draws 128 of them; the
    small gradients are the two halves' means, the big one the whole batch's."""
    rng = np.random.default_rng(seed)
    dim, batch, true_scale = 32, 128, 100.0
    grad = rng.normal(size=dim)
    grad /= np.linalg.norm(grad)  # |G|^2 = 1
    mix = rng.normal(size=(dim, dim))
    mix *= math.sqrt(true_scale / (mix ** 2).sum())  # tr(Sigma) = 100
    est = GnsEstimator(smoothing=0.998)
    half = batch // 2
    for _ in range(3000):
        per_sample = grad + rng.normal(size=(batch, dim)) @ mix.T
        halves = per_sample[:half].mean(0), per_sample[half:].mean(0)
        small_sq = sum(float(h @ h) for h in halves) / 2
        full = per_sample.mean(0)
        est.update(GradientSample(small_sq, half, float(full @ full), batch))
    assert est.noise_scale == pytest.approx(true_scale, rel=0.10)


def regression(seed: int, samples: int = 2048, dim: int = 8):
    """A linear model at a fixed point near the least-squares solution of noisy data, and the
    brute-force noise scale of the loss ``mean 0.5 (w.x + b - y)^2`` over the whole data set:
    per-sample gradients ``r_i (x_i, 1)``, their mean G and covariance Sigma."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, dim, generator=gen, dtype=torch.float64)
    w_true = torch.randn(dim, generator=gen, dtype=torch.float64)
    y = x @ w_true + torch.randn(samples, generator=gen, dtype=torch.float64)
    model = torch.nn.Linear(dim, 1, dtype=torch.float64)
    with torch.no_grad():
        shift = 0.4 * torch.randn(dim, generator=gen, dtype=torch.float64)
        model.weight.copy_((w_true + shift).unsqueeze(0))
        model.bias.fill_(0.3)
        residual = x @ model.weight[0] + model.bias - y
        per_sample = torch.cat([residual[:, None] * x, residual[:, None]], dim=1)
        mean = per_sample.mean(0)
        trace = ((per_sample - mean) ** 2).sum(1).mean()
    return model, x, y, float(trace / (mean @ mean)), gen


def loss_of(model: torch.nn.Module):
    return lambda xb, yb: 0.5 * ((model(xb)[:, 0] - yb) ** 2).mean()


@pytest.mark.parametrize("seed", [0, 1])
def test_the_collector_matches_the_brute_force_noise_scale_of_a_linear_regression(seed):
    """Batches of 64 drawn with replacement (so that the per-sample gradients are independent
    draws from the data set), measured by the real collector as two halves of 32."""
    model, x, y, true_scale, gen = regression(seed)
    collector = GradientCollector(1, torch.device("cpu"))
    collector.watch(model.parameters())
    est = GnsEstimator(smoothing=0.995)
    for _ in range(1500):
        rows = torch.randint(len(y), (64,), generator=gen)
        model.zero_grad(set_to_none=True)
        collector.backward(loss_of(model), (x[rows], y[rows]), {}, measure=True)
        assert est.update(collector.take())
    assert 10 < true_scale < 40  # a point where neither term dominates
    assert est.noise_scale == pytest.approx(true_scale, rel=0.15)


def test_a_measured_backward_gives_the_full_batch_gradient_and_the_halves_norms():
    """Five samples (halves of 2 and 3), by hand from the per-sample gradients; a gradient
    accumulated before the call is kept."""
    model, x, y, _, _ = regression(3, samples=5, dim=3)
    with torch.no_grad():
        residual = x @ model.weight[0] + model.bias - y
        per_sample = torch.cat([residual[:, None] * x, residual[:, None]], dim=1)
    first, second, full = per_sample[:2].mean(0), per_sample[2:].mean(0), per_sample.mean(0)
    earlier = [torch.full_like(p, 0.5) for p in model.parameters()]
    for p, g in zip(model.parameters(), earlier, strict=True):
        p.grad = g.clone()
    collector = GradientCollector(1, torch.device("cpu"))
    collector.watch(model.parameters())
    loss = collector.backward(loss_of(model), (x, y), {}, measure=True)
    assert float(loss) == pytest.approx(float(0.5 * (residual ** 2).mean()))
    weight, bias = model.weight.grad[0], model.bias.grad[0]
    torch.testing.assert_close(weight, full[:3] + 0.5)
    assert float(bias) == pytest.approx(float(full[3]) + 0.5)
    sample = collector.take()
    assert sample.small_sq == pytest.approx(float(first @ first + second @ second) / 2,
                                            rel=1e-6)
    assert sample.small_batch == pytest.approx(2 / (1 / 2 + 1 / 3))
    assert sample.big_sq == pytest.approx(float(full @ full), rel=1e-6)
    assert sample.big_batch == 5
    assert collector.take() is None  # taken once


def test_an_unmeasured_backward_is_a_plain_backward():
    model, x, y, _, _ = regression(4, samples=6, dim=2)
    collector = GradientCollector(1, torch.device("cpu"))
    collector.watch(model.parameters())
    collector.backward(loss_of(model), (x, y), {}, measure=False)
    measured = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    loss_of(model)(x, y).backward()
    assert all(torch.equal(a, p.grad) for a, p in zip(measured, model.parameters(), strict=True))
    assert collector.take() is None


def test_a_batch_splits_every_tensor_of_its_size_and_nothing_else():
    batch = (torch.arange(6), {"w": torch.ones(6, 2), "k": torch.zeros(3)}, 7)
    first, second = split_batch(batch, 6, 3)
    assert first[0].tolist() == [0, 1, 2] and second[0].tolist() == [3, 4, 5]
    assert first[1]["w"].shape == (3, 2) and first[1]["k"].shape == (3,)
    assert first[2] == second[2] == 7


def test_the_interval_sum_gives_the_mean_gradient_norms():
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))]
    total = GradientSum()
    for grads in ([[3.0, 0.0], [2.0]], [[1.0, 4.0], [-6.0]]):
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)
        total.add(params)
    # mean gradient: [2, 2] and [-2]: per-tensor norms sqrt(8) and 2
    assert total.mean_norm("layers") == pytest.approx(math.sqrt(8) + 2)
    assert total.mean_norm("global") == pytest.approx(math.sqrt(12))
    restored = GradientSum()
    restored.load_state_dict(total.state_dict(), params)
    assert restored.mean_norm("layers") == pytest.approx(math.sqrt(8) + 2)
    total.reset()
    assert total.steps == 0 and total.mean_norm("layers") is None
