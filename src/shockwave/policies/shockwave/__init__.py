"""The Shockwave policy (NSDI '23): remaining-time prediction (``estimator``), the planning program
(``program``), round packing and fallbacks (``packing``), solver access (``backend``), knobs
(``config``) and the stateful policy the planner calls every round (``policy``).

Why a package: the reference spreads this policy over 900 lines of ``shockwave.py`` plus parts of a
4,900-line scheduler; here each step is a pure function with hand-checked tests, and the only state
(the plan, the finish-time series, the calibration factors) lives on one ``ShockwavePolicy``.
"""

from shockwave.policies.shockwave.config import ShockwaveConfig, load_shockwave_config
from shockwave.policies.shockwave.policy import ShockwavePolicy, SolveStats

__all__ = ["ShockwaveConfig", "ShockwavePolicy", "SolveStats", "load_shockwave_config"]
