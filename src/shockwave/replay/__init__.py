"""Replaying a trace for real (``shockwave replay TRACE --real``, docs/service.md): each trace
job runs as a bundled workload on a running service, submitted at its arrival time, and the
service's records become a result in the format of ``shockwave simulate --json``.

``mapping`` turns trace lines into job specs, ``runner`` submits them and waits, ``records``
builds the result from what the service's API reports."""
