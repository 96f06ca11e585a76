"""Batch-size adaptation on the job side (``docs/adaptation.md``): the job proposes, the
service decides, the session applies the agreed size in place.

=============== ==================================================================
module          its one job
=============== ==================================================================
``config``      ``AdaptConfig``: the mode, the bounds and every knob, with defaults
``collector``   squared gradient norms of a step on the device (torch)
``gns``         the two-batch estimator of the gradient noise scale (McCandlish)
``gns_target``  GNS ``target`` policy: the allowed size nearest to k x B_simple
``accordion``   Accordion's critical-regime detector
``reference``   the published Shockwave rules, from the simulator's tables
``lr``          the learning-rate rule on a change (linear, sqrt, none)
``history``     the batch sizes of the whole job (checkpointed, reported)
``adapter``     the session's one object that ties them together
=============== ==================================================================

Only ``collector`` imports torch (when used); the policies are pure and unit-testable.
"""
