"""The workload model: throughput profiles and batch-size adaptation of training jobs."""
