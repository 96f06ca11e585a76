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

MAX_EPOCHS = 10_000_000
"""Epochs of one job: its adaptation profile holds one entry per epoch (about 16 bytes each, so
160 MB at the bound). Gavel's Philly-derived traces have A3C jobs of about 2 million epochs
(A3C's "epoch" is 4 samples)."""

MAX_BATCH_SIZE = 2**20
"""A job's batch size (the largest any bundled model uses is 8192)."""

MAX_SLO = 1e6
"""A job's SLO multiplier (negative means none)."""

MAX_NAME_CHARS = 64
"""Characters of a model or policy name (they become file names and figure labels)."""

MAX_THROUGHPUT = 1e9
"""Iterations per second of one job in a throughput table (the bundled tables stay below 1000)."""

MAX_TRACE_JOBS = 100_000_000
"""Jobs in one trace or saved result."""

MAX_RESULT_SECONDS = 1e13
"""Any time in a saved simulation result, s: arrivals reach ``MAX_SECONDS`` and a job may wait
and run after that (ten times the input bound)."""

MAX_PRIORITY_WEIGHT = 1e6
"""A job's priority weight is positive and at most this."""

MAX_NUM_JOBS = 1_000_000
"""Jobs in one generated trace."""

MAX_SEED = 2**32 - 1
"""Seeds are unsigned 32-bit integers (what the reference's generator accepts)."""
