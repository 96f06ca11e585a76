"""The workload tests reuse the job tests' fake service (tests/job/job_fakes.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "job"))
