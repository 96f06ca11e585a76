"""One exception family for everything a user can get wrong; the CLI catches it once (exit 2)."""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches
from pathlib import Path


class ShockwaveError(Exception):
    """Base of every error this package raises on purpose; its message is meant for users."""


class InputError(ShockwaveError):
    """A bad input file or value, located by file, line and field where they are known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.reason}"


class UnknownNameError(ShockwaveError):
    """A name (policy, solver, job type...) that is not one of the valid choices."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        known = sorted(choices)
        hint = get_close_matches(name, known, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        super().__init__(f"unknown {kind} '{name}'; known: {', '.join(known)}{suggestion}")
        self.name = name
        self.choices = known


class UnknownPolicyError(UnknownNameError):
    """A policy name that is not in the registry."""

    def __init__(self, name: str, choices: Iterable[str]) -> None:
        super().__init__("policy", name, choices)


class SolverError(ShockwaveError):
    """A solver failed in a way that has no documented fallback."""
