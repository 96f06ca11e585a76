"""shockwave: fair and efficient scheduling of GPU clusters whose training jobs adapt their
batch size while they run.

One scheduling core (``planner``: policy + mechanism) serves two drivers: the trace-driven
simulator (``simulate``) and, later, the real scheduler service. Typical use::

    from shockwave import Cluster, load_trace, simulate, summarize
    result = simulate(load_trace(), Cluster(num_gpus=32), "gavel")
    print(summarize(result).makespan_s)
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "SimConfig": "shockwave.config", "make_sim_config": "shockwave.config",
    "Summary": "shockwave.metrics", "summarize": "shockwave.metrics",
    "Cluster": "shockwave.model", "JobSpec": "shockwave.model",
    "POLICIES": "shockwave.policies", "make_policy": "shockwave.policies",
    "simulate": "shockwave.sim.loop",
    "JobRecord": "shockwave.sim.result", "SimResult": "shockwave.sim.result",
    "result_from_json": "shockwave.sim.result", "result_to_json": "shockwave.sim.result",
    "Trace": "shockwave.traces", "load_trace": "shockwave.traces",
    "load_throughputs": "shockwave.workload.throughput",
}


def __getattr__(name: str) -> Any:
    """Import the public API on first use, so that light commands (``shockwave trace``) do not
    pay for the solver stack."""
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'shockwave' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
