"""Reading, writing, generating and importing job traces."""

from shockwave.traces.trace import Trace, load_trace

__all__ = ["Trace", "load_trace"]
