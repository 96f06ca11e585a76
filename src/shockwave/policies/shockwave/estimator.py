"""Per-job prediction for Shockwave (docs/policies.md, "Prediction"; the
published ``scheduler/JobMetaData.py``): calibrated epoch durations, the Dirichlet-posterior
remaining run time, the fair-share finish-time estimate, its momentum average and the priorities of
the relaxed program. Pure functions of plain values, so each can be checked by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def rounded_epoch_durations(duration_every_epoch: Sequence[float] | np.ndarray) -> np.ndarray:
    """The reference's ``max(1, round(d))`` seconds per epoch (round half to even, as Python)."""
    return np.maximum(1.0, np.round(np.asarray(duration_every_epoch, dtype=float)))


@dataclass(frozen=True)
class EpochModel:
    """What never changes for a job: its profile reduced to the arrays the estimator needs.

    ``pristine`` holds the profiled epoch durations, rounded to whole seconds as the reference
    does (``rounded=True``, reference mode) or as profiled (the default mode: a real job's epochs
    last fractions of a second, which rounding would turn into 1 s each); the calibrated durations
    are ``pristine * factor``, so every quantity below scales with one calibration factor.
    """

    num_epochs: int
    samples_per_epoch: int
    pristine: np.ndarray
    cum_pristine: np.ndarray  # cum_pristine[i] = sum(pristine[:i]), length E + 1
    mode_of_epoch: np.ndarray  # index into modes of each epoch's profiled batch size
    modes: tuple[int, ...]
    mean_pristine_by_mode: np.ndarray
    cum_mode_counts: np.ndarray  # [i, b] = #epochs < i with mode b, shape (E + 1, B)

    @classmethod
    def from_profile(
        cls, num_epochs: int, samples_per_epoch: int, batch_sizes: Sequence[int],
        durations: Sequence[float] | np.ndarray, *, rounded: bool = True,
    ) -> EpochModel:
        pristine = (rounded_epoch_durations(durations) if rounded
                    else np.asarray(durations, dtype=float).reshape(-1).copy())
        sizes = np.asarray(batch_sizes).astype(np.int64).reshape(-1)
        # The sizes come in runs of epochs: the distinct ones from each run's first, then each
        # epoch's by binary search (np.unique(return_inverse=True) sorts every epoch's).
        firsts = np.flatnonzero(np.concatenate(([True], sizes[1:] != sizes[:-1])))
        unique = np.unique(sizes[firsts])
        modes = tuple(int(b) for b in unique)
        mode_of_epoch = np.searchsorted(unique, sizes).astype(np.int64)
        counts = np.bincount(mode_of_epoch, minlength=len(modes))
        sums = np.bincount(mode_of_epoch, weights=pristine, minlength=len(modes))
        onehot = np.zeros((num_epochs + 1, len(modes)))
        onehot[np.arange(1, num_epochs + 1), mode_of_epoch] = 1.0
        return cls(
            num_epochs=num_epochs,
            samples_per_epoch=samples_per_epoch,
            pristine=pristine,
            cum_pristine=np.concatenate(([0.0], np.cumsum(pristine))),
            mode_of_epoch=mode_of_epoch,
            modes=modes,
            mean_pristine_by_mode=sums / np.maximum(counts, 1),
            cum_mode_counts=np.cumsum(onehot, axis=0),
        )

    def elapsed_s(self, progress: int, factor: float) -> float:
        """Calibrated duration of the first ``progress`` epochs."""
        return float(self.cum_pristine[min(progress, self.num_epochs)]) * factor

    def mean_epoch_s(self, progress: int, factor: float) -> float:
        """``dbar``: mean calibrated duration of the epochs done plus the current one."""
        upto = min(progress + 1, self.num_epochs)
        return float(self.cum_pristine[upto]) / upto * factor


def measured_samples(
    timeline: Sequence[tuple[int, float, int]], round_s: float
) -> tuple[float, float]:
    """``(S_meas, Tm)``: samples implied by the measured timeline as the reference extrapolates it
    (each entry's rate over every round since the previous entry, from round 0) and its span."""
    samples = 0.0
    previous = 0
    last = 0
    for round_index, iterations_per_s, batch_size in sorted(timeline):
        samples += iterations_per_s * round_s * (round_index - previous) * batch_size
        previous = round_index
        last = max(last, round_index)
    return samples, round_s * last


def calibration_factor(
    model: EpochModel, factor: float, samples: float, span_s: float, tolerance: float = 0.4
) -> float:
    """One application of ``calibrate_profiled_epoch_duration``: the new factor on the pristine
    durations. The profiled samples of the span count whole epochs, then a pro-rated part of the
    next one at its *current* calibrated duration (as the reference does)."""
    whole = int(np.searchsorted(model.cum_pristine[1:], span_s, side="right"))
    at = min(whole, model.num_epochs - 1)
    profiled = whole * float(model.samples_per_epoch)
    deficit = span_s - float(model.cum_pristine[whole])
    if deficit > 0:
        profiled += model.samples_per_epoch * deficit / (float(model.pristine[at]) * factor)
    if samples <= 0 or profiled <= 0 or abs(samples - profiled) / profiled <= tolerance:
        return factor
    return profiled / samples


def stable_calibration_factor(
    model: EpochModel, factor: float, samples: float, span_s: float, tolerance: float = 0.4,
    max_steps: int = 8,
) -> float:
    """Apply the calibration until it stops changing (the reference applies it once per call site,
    5-25 times per re-plan, so its factor ends near this fixed point)."""
    for _ in range(max_steps):
        new = calibration_factor(model, factor, samples, span_s, tolerance)
        if new == factor:
            break
        factor = new
    return factor


def remaining_runtime_s(model: EpochModel, progress: int, factor: float = 1.0) -> float:
    """Dirichlet-posterior expected remaining run time after ``progress`` epochs (the
    published ``JobMetaData.dirichlet_posterior_remaining_runtime``)."""
    epochs = model.num_epochs
    left = epochs - progress
    if left <= 0:
        return 1.0
    prior = epochs / len(model.modes)
    observed = model.cum_mode_counts[min(progress + 1, epochs)]
    posterior = prior + observed
    rebased = epochs * posterior / posterior.sum()
    # Each observed epoch removes one expected epoch of its batch size while >= 1 remains.
    # (The reference subtracts one at a time while the value is >= 1: floor(x) times at most.)
    rebased = rebased - np.minimum(observed, np.floor(np.maximum(rebased, 0.0)))
    inflated = max(int(rebased.sum() + 1), left)
    expected = float(np.dot(rebased, model.mean_pristine_by_mode)) * factor
    return expected * left / inflated


def fair_share(num_gpus: int, num_jobs: int) -> float:
    """The reference's uniform share ``min(1, G / n)``, not divided by a job's GPU count."""
    return min(1.0, num_gpus / num_jobs) if num_jobs > 0 else 1.0


def finish_time_estimate_s(
    submit_s: float, elapsed_s: float, remaining_s: float, share: float
) -> float:
    """``FT_est = submit + (done epochs' time + remaining time) / share``."""
    return submit_s + (elapsed_s + remaining_s) / share


def momentum_average(
    series: Sequence[tuple[int, float]], current_round: int, momentum: float = 0.9
) -> float:
    """Round-weighted average of the finish-time estimates, blended with the latest one."""
    if not series:
        raise ValueError("the finish-time series is empty")
    rounds = [r for r, _ in series] + [current_round]
    windows = np.diff(np.asarray(rounds, dtype=float))
    values = np.asarray([v for _, v in series], dtype=float)
    total = windows.sum()
    if windows.max() == 0 or total == 0:
        weighted = float(values[0])  # the reference's weights [1] over the first value
    else:
        weighted = float(np.dot(windows / total, values))
    return momentum * weighted + (1.0 - momentum) * float(values[-1])


class FinishTimeSeries:
    """A job's finish-time estimates ``(round, FT)``, kept so that each re-plan's momentum average
    costs two vector operations instead of a rebuild of the whole history from Python tuples (the
    history grows by one entry per job-set change, and the average is needed for every active job
    at every re-plan). ``average`` equals ``momentum_average`` bit for bit
    (tests/policies/shockwave/test_estimator_incremental.py): the windows between entries are kept
    as the same float differences ``np.diff`` gives, and their sum, the span since the first
    entry, is exact (integers); the weighted sum is the same ``np.dot`` on the same arrays."""

    def __init__(self) -> None:
        self._rounds = np.zeros(8)
        self._windows = np.zeros(8)  # rounds[i + 1] - rounds[i]; the last one to the query
        self._values = np.zeros(8)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, round_index: int, value: float) -> None:
        """Record the estimate made in ``round_index`` (rounds never decrease)."""
        size = self._size
        if size == len(self._rounds):
            self._rounds, self._windows, self._values = (
                np.concatenate((a, np.zeros(size))) for a in (self._rounds, self._windows,
                                                            self._values))
        self._rounds[size] = round_index
        self._values[size] = value
        if size:
            self._windows[size - 1] = float(round_index) - float(self._rounds[size - 1])
        self._size = size + 1

    def average(self, current_round: int, momentum: float = 0.9) -> float:
        """``momentum_average(series, current_round, momentum)``, for a ``current_round`` no
        earlier than the last entry's."""
        size = self._size
        if size == 0:
            raise ValueError("the finish-time series is empty")
        last = float(self._rounds[size - 1])
        if current_round < last:
            raise ValueError("the current round precedes the series")
        windows = self._windows[:size]
        windows[size - 1] = float(current_round) - last
        values = self._values[:size]
        total = float(current_round) - float(self._rounds[0])  # the windows' sum, exactly
        if total == 0:  # every window is 0 (none is negative)
            weighted = float(values[0])
        else:
            weighted = float(np.dot(windows / total, values))
        return momentum * weighted + (1.0 - momentum) * float(values[-1])


def projected_rho(now_s: float, remaining_s: float, share: float, fair_finish_s: float) -> float:
    """``rhohat = (now + R / s) / FTbar``: the finish-time ratio a job is heading for if it gets
    its fair share ``s`` from now on, both times measured from the same origin (the policy passes
    them from the job's arrival; the reference from the trace's start) (the relaxed program's
    priorities,
    docs/policies.md; ``now`` is the round's start, not the
    window's end). A fair finish time of 0 (a job that arrived at 0 and has no estimated work)
    gives 1 when the job needs no more time either, and infinity otherwise."""
    ahead = now_s + remaining_s / share
    if fair_finish_s > 0:
        return ahead / fair_finish_s
    return 1.0 if ahead <= 0 else math.inf


def relaxed_priority(
    rho_hat: float, remaining_s: float, round_s: float, rho_max: float, lam: float,
    finishing_power: float = 100.0, cap: float = math.inf,
) -> float:
    """``rho^lam`` for a job projected to be unfair (``rho^100`` if it ends within a round), else 1.

    ``cap`` bounds the result so the solver's costs stay finite (``1.27e30`` = 2^100 otherwise).
    """
    if rho_hat <= rho_max:
        return 1.0
    power = finishing_power if remaining_s < round_s else lam
    try:
        value = rho_hat ** power
    except OverflowError:
        value = math.inf
    return min(value, cap)


def remaining_time_weights(remaining_s: np.ndarray, round_s: float, power: float) -> np.ndarray:
    """The relaxed program's shortest-remaining-time factor (``srpt_power``, docs/policies.md):
    ``(Rbar / max(R_j, round_s)) ^ power``, ``Rbar`` the mean remaining time of the jobs being
    planned. Above 1 for jobs with less than the mean left, below 1 for the others; a job is never
    counted as having less than a round left. ``power`` 0 gives ones (the published priorities)."""
    remaining = np.asarray(remaining_s, dtype=np.float64)
    if power == 0 or len(remaining) == 0:
        return np.ones(len(remaining))
    floor = np.maximum(remaining, round_s)
    return (float(floor.mean()) / floor) ** power
