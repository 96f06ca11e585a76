"""The real-clock driver (docs/service.md): ``shockwave serve`` grants leases to real training
processes, round by round, with the same ``RoundPlanner`` and policies the simulator uses.

Nothing here imports torch; the job side speaks ``shockwave.protocol`` over HTTP."""
