"""What every backend shares about a gang (pure): the environment a rank inherits, and how its
ranks' exits add up to one attempt exit.

A rank's exit is *orderly* when it does not tear the rest of the gang down: it finished (0),
yielded after a checkpoint (75) or ended by a SIGTERM the service sent (143). Any other exit of
one rank ends the gang, unless rank 0 has already written an orderly exit report: the gang agreed
to stop and checkpointed, and a crash in a rank's teardown after that changes nothing."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from shockwave.protocol import EXIT_FINISHED, EXIT_SIGTERM, EXIT_YIELDED, ExitReport
from shockwave.service.backends.base import AttemptExit, read_report

_STRIPPED_PREFIXES = ("SHOCKWAVE_",)
_STRIPPED = frozenset({"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                       "CUDA_VISIBLE_DEVICES"})


def inherited_env(source: Mapping[str, str]) -> dict[str, str]:
    """What a rank inherits of the environment that starts it: everything but the service's
    secrets (``SHOCKWAVE_*``) and the variables the backend sets per rank."""
    return {k: v for k, v in source.items()
            if k not in _STRIPPED and not k.startswith(_STRIPPED_PREFIXES)}


ORDERLY_CODES = frozenset({EXIT_FINISHED, EXIT_YIELDED, EXIT_SIGTERM})
"""Rank exits that do not tear down the rest of the gang (it is stopping, or done)."""
ORDERLY_REASONS = frozenset({"finished", "yielded", "lease_expired"})
"""Report reasons that say the gang stopped in agreement (after a checkpoint, or done)."""


def orderly_report(report_file: str | Path) -> ExitReport | None:
    """Rank 0's report when it says the gang stopped in order, else ``None``."""
    report = read_report(report_file)
    return report if report is not None and report.reason in ORDERLY_REASONS else None


def failed_ranks(codes: Sequence[int | None]) -> list[int]:
    """Ranks that exited with a code that is not orderly (``None``: still running)."""
    return [r for r, c in enumerate(codes) if c is not None and c not in ORDERLY_CODES]


def gang_exit(codes: Sequence[int], report: ExitReport | None,
              killed: Collection[int] = ()) -> AttemptExit:
    """The exit of a gang whose ranks all ended with these codes (128 + N for signal N): as
    rank 0's orderly report says when a rank's code disagrees with it; else the failure of a
    rank that ended by itself, not one of the ``killed`` ranks the backend then tore down (their
    137 is its doing); else any rank's failure; else rank 0's code."""
    if report is not None and report.reason in ORDERLY_REASONS \
            and any(c != report.exit_code for c in codes):
        return AttemptExit(report.exit_code, None, report)
    failed = failed_ranks(codes)
    own = [r for r in failed if r not in killed]
    code = codes[(own or failed or [0])[0]]
    return AttemptExit(code, code - 128 if code > 128 else None, report)
