"""Reading, writing, generating and importing job traces (see docs/traces.md)."""

from shockwave.traces.generate import GeneratorParams, generate_trace
from shockwave.traces.info import TraceInfo, describe_trace
from shockwave.traces.trace import Trace, load_trace, parse_trace_text

__all__ = [
    "GeneratorParams", "Trace", "TraceInfo", "describe_trace", "generate_trace", "load_trace",
    "parse_trace_text",
]
