"""Sweeps: grids of simulations (policies x trace-generator settings x seeds x cluster sizes x
policy parameters), cached by input hash, run on local processes or a Ray cluster, summarized
across seeds with confidence intervals (docs/sweeps.md).

Why it is built this way: a run is a pure function of its inputs (the simulator draws no
randomness of its own; seeds seed the trace generator), so the SHA-256 of the inputs names its
result; a sweep started again after a crash or Ctrl-C recomputes nothing it has. Only the driver
writes files, so workers (local processes or Ray tasks on other machines) need no shared disk.
The pipeline: ``spec`` (read and check the YAML) -> ``grid`` (expand) -> ``cache`` (keys,
stored results) -> ``driver`` + ``backends`` + ``execute`` (run what is missing) -> ``tables`` +
``summary`` (CSV, confidence intervals) -> ``plots`` + ``report`` (figures, index.html).
"""
