"""shockwave: fair and efficient scheduling of GPU clusters whose training jobs adapt their
batch size while they run.

One scheduling core (``planner``: policy + mechanism) serves two drivers: the trace-driven
simulator (``simulate``) and, later, the real scheduler service. Typical use::

    from shockwave import Cluster, load_trace, simulate, summarize
    result = simulate(load_trace(), Cluster(num_gpus=32), "gavel")
    print(summarize(result).makespan_s)
"""

from shockwave.config import SimConfig, make_sim_config
from shockwave.metrics import Summary, summarize
from shockwave.model import Cluster, JobSpec
from shockwave.policies import POLICIES, make_policy
from shockwave.sim.loop import simulate
from shockwave.sim.result import JobRecord, SimResult, result_from_json, result_to_json
from shockwave.traces import Trace, load_trace
from shockwave.workload.throughput import load_throughputs

__all__ = [
    "POLICIES", "Cluster", "JobRecord", "JobSpec", "SimConfig", "SimResult", "Summary", "Trace",
    "load_throughputs", "load_trace", "make_policy", "make_sim_config", "result_from_json",
    "result_to_json", "simulate", "summarize",
]
