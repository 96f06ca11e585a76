"""The trace-driven simulator: a virtual clock and the throughput model drive the scheduling core."""
