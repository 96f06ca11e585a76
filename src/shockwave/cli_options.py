"""Checks of command-line option values, as typer callbacks: a bad value is a usage error in the
CLI library's own style (a usage line, then ``Error: Invalid value for '--x': ...``), exit 2.

Typer's ``min``/``max`` let NaN through and say nothing of units, so every number goes through
``finite_range`` or ``int_range`` here, and names its bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import typer

from shockwave.errors import ShockwaveError

T = TypeVar("T")


def finite_range(low: float, high: float, unit: str = "", *, low_open: bool = False,
                 optional: bool = False) -> Callable[[float | None], float | None]:
    """A callback accepting finite numbers in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    suffix = f" {unit}" if unit else ""
    bracket = "(" if low_open else "["

    def check(value: float | None) -> float | None:
        if value is None and optional:
            return value
        if value is None or not math.isfinite(value):
            raise typer.BadParameter(f"must be a finite number, got {value}")
        too_low = value <= low if low_open else value < low
        if too_low or value > high:
            raise typer.BadParameter(
                f"must be in {bracket}{low:g}, {high:g}]{suffix}, got {value:g}")
        return value

    return check


def int_range(low: int, high: int, *, optional: bool = False) -> Callable[[int | None], int | None]:
    """A callback accepting integers in ``[low, high]``."""

    def check(value: int | None) -> int | None:
        if value is None and optional:
            return value
        if value is None or not low <= value <= high:
            raise typer.BadParameter(f"must be an integer in [{low:,}, {high:,}], got {value}")
        return value

    return check


def converted(convert: Callable[[str], T]) -> Callable[[str], T]:
    """A callback applying ``convert``; its ``ShockwaveError`` becomes the option's usage error."""

    def check(value: str) -> T:
        try:
            return convert(value)
        except ShockwaveError as exc:
            raise typer.BadParameter(str(exc)) from None

    return check


def throughputs_source(value: str | None) -> str | None:
    """``--throughputs``: an existing file, or the name of a bundled table (``gavel``, ``tacc``).
    Taken as text, not as a path, so that ``./gavel`` names a file (missing: an error) and only
    the bare name selects the bundled table.

    Anything else is one line naming the option (``error: --throughputs: ...``), raised here so
    that a mistyped table name is not reported as a missing file later.
    """
    from shockwave.workload.throughput import check_throughputs_source

    if value is not None:
        check_throughputs_source(value, field="--throughputs")
    return value
