"""The bounds every input is checked against, in one place, with their units in the names.

A value outside these bounds is refused at the edge (CLI option, trace line, JSON field) with a
message that names the bound, so that nothing downstream has to guard against sizes that would
exhaust memory or time, or against numbers that are not numbers.
"""

from __future__ import annotations

MAX_GPUS = 100_000
"""GPUs in a simulated cluster (and per job): far beyond any cluster the traces describe."""

MIN_ROUND_S = 1.0
MAX_ROUND_S = 86_400.0
"""A scheduling round lasts between a second and a day (the paper uses 120 s)."""

MAX_SECONDS = 1e12
"""Any time in an input (arrival, duration), s: about 31,700 years."""

MAX_STEPS = 10**12
"""Iterations of one job at its initial batch size."""

MAX_EPOCHS = 100_000
"""Epochs of one job: the adaptation profile holds one entry per epoch."""

MAX_PRIORITY_WEIGHT = 1e6
"""A job's priority weight is positive and at most this."""

MAX_NUM_JOBS = 1_000_000
"""Jobs in one generated trace."""

MAX_SEED = 2**32 - 1
"""Seeds are unsigned 32-bit integers (what the reference's generator accepts)."""
