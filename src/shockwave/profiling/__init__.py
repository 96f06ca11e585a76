"""``shockwave profile``: measure the bundled workloads on this machine, as real processes, and
write what the simulator needs to replay a trace of them (docs/profiling.md).

``targets`` says what to measure (the workloads' job specs, batch sizes, gang sizes);
``measure`` runs one configuration as a gang of real processes through the service's local
backend and reads the speed from the job's exit report; ``tables`` turns the measurements into
a throughputs file (Gavel's format) and a workload-facts file. Nothing here imports torch: the
measured processes do.
"""

from shockwave.profiling.measure import Measurement, ProfileError, Runner
from shockwave.profiling.tables import facts_json, throughputs_json
from shockwave.profiling.targets import (
    ProfileTarget,
    bundled_target,
    default_batch_sizes,
    default_gang_sizes,
)

__all__ = [
    "Measurement", "ProfileError", "ProfileTarget", "Runner", "bundled_target",
    "default_batch_sizes", "default_gang_sizes", "facts_json", "throughputs_json",
]
