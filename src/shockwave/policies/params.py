"""Policy parameters: each policy declares its own (``PARAMS``, a tuple of :class:`ParamInfo`), and
:func:`build_policy` checks what a user passed against that schema before building the policy.

Values may arrive typed (from Python or JSON) or as text (``--param alpha=0.3`` when the CLI could
not decode it); the schema coerces both and refuses everything outside the declared range with a
message that names the key, the accepted values and what was given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shockwave.errors import InputError
from shockwave.numbers import ascii_float, ascii_int

Kind = Literal["number", "integer", "boolean", "numbers", "path", "name"]

_MAX_SHOWN = 40
_MAX_LIST = 10_000


class ParamError(ValueError):
    """A value outside its parameter's schema; the caller adds where it came from."""


@dataclass(frozen=True)
class ParamInfo:
    """One parameter a policy accepts: its key, type, range (``low``/``high``, open or closed),
    unit, default and meaning. ``aliases`` are other keys accepted for it (the reference's)."""

    name: str
    kind: Kind
    default: Any
    help: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def accepted(self) -> str:
        """What the parameter accepts, in words: ``a number in (0, 1]``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind == "boolean":
            return "true or false"
        if self.kind == "path":
            return "a path to a JSON file"
        if self.kind == "name":
            return f"one of {', '.join(self.choices)}"
        noun = {"number": "a number", "integer": "an integer", "numbers": "a list of numbers"}[self.kind]
        if self.low is None and self.high is None:
            return noun + unit
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        low = "-inf" if self.low is None else _fmt(self.low)
        high = "inf" if self.high is None else _fmt(self.high)
        within = " each" if self.kind == "numbers" else ""
        return f"{noun}{within} in {left}{low}, {high}{right}{unit}"

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's type, or ``ParamError`` naming what is accepted."""
        if self.kind == "boolean":
            return self._boolean(value)
        if self.kind in ("path", "name"):
            return self._text(value)
        if self.kind == "numbers":
            return self._numbers(value)
        return self._in_range(self._number(value, self.kind == "integer"), value)

    def _fail(self, value: Any) -> ParamError:
        return ParamError(f"must be {self.accepted}, got {_show(value)}")

    def _boolean(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self._fail(value)

    def _text(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self._fail(value)
        if self.kind == "name":
            key = value.strip().lower()
            if key not in self.choices:
                raise self._fail(value)
            return key
        return value

    def _number(self, value: Any, integral: bool) -> int | float:
        if isinstance(value, str):  # ASCII only: '१२' is not 12 here
            parsed = ascii_int(value) if integral else None
            if parsed is not None:
                return parsed
            parsed = ascii_float(value)
            if parsed is None:
                raise self._fail(value)
            value = parsed
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise self._fail(value)
        if integral and isinstance(value, float):
            if not value.is_integer():
                raise self._fail(value)
            value = int(value)
        return value

    def _in_range(self, number: int | float, given: Any) -> int | float:
        low_ok = self.low is None or (number > self.low if self.low_open else number >= self.low)
        high_ok = self.high is None or (number < self.high if self.high_open else number <= self.high)
        if not (low_ok and high_ok):
            raise self._fail(given)
        return number if self.kind == "integer" else float(number)

    def _numbers(self, value: Any) -> tuple[float, ...]:
        items = value
        if isinstance(value, str):
            items = [part for part in value.strip().strip("[]").split(",") if part.strip()]
        if not isinstance(items, list | tuple) or not items or len(items) > _MAX_LIST:
            raise self._fail(value)
        try:
            return tuple(float(self._in_range(self._number(v, False), v)) for v in items)
        except ParamError:
            raise self._fail(value) from None


def _fmt(number: float) -> str:
    """``1e6`` rather than ``1e+06``; integers as they are."""
    if not isinstance(number, float):
        return str(number)
    text = f"{number:.12g}"
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else _json_like(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _json_like(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int) and abs(value) >= 10**_MAX_SHOWN:
        return "a number with more than 40 digits"
    if isinstance(value, float):
        return _fmt(value)
    return repr(value)


def lookup(params: tuple[ParamInfo, ...], key: str) -> ParamInfo | None:
    """The parameter ``key`` names (its name or an alias), or ``None``."""
    for info in params:
        if key == info.name or key in info.aliases:
            return info
    return None


def coerce_all(
    params: tuple[ParamInfo, ...], given: Mapping[str, Any], *, owner: str, label: str = "--param "
) -> dict[str, Any]:
    """``given`` checked against ``params``: parameter name -> coerced value. ``InputError`` for
    an unknown key (listing the accepted ones), a bad value, or one parameter given twice."""
    values: dict[str, Any] = {}
    for key, raw in given.items():
        key = str(key).strip()
        info = lookup(params, key)
        if info is None:
            raise InputError(_unknown(owner, params), field=f"{label}{key}")
        if info.name in values:
            raise InputError(f"given twice (as '{info.name}' and an alias)", field=f"{label}{key}")
        try:
            values[info.name] = info.coerce(raw)
        except ParamError as exc:
            raise InputError(str(exc), field=f"{label}{key}") from None
    return values


def _unknown(owner: str, params: tuple[ParamInfo, ...]) -> str:
    if not params:
        return f"policy '{owner}' takes no parameters"
    return f"policy '{owner}' accepts: {', '.join(info.name for info in params)}"


def policy_params(name: str) -> tuple[ParamInfo, ...]:
    """The parameters of policy ``name`` (or one of its aliases)."""
    from shockwave.policies import POLICIES, canonical_name

    return tuple(getattr(POLICIES[canonical_name(name)], "PARAMS", ()))


def describe_params(name: str) -> list[ParamInfo]:
    """What ``--param`` accepts for policy ``name`` (the CLI lists these)."""
    return list(policy_params(name))


def build_policy(
    name: str,
    params: Mapping[str, Any],
    *,
    config_path: str | None = None,
    solver: str | None = None,
) -> Any:
    """A fresh policy ``name`` built from user-given ``params`` (``--param``), a config file
    (``--policy-config``) and a solver name (``--solver``), each checked against the policy's
    schema first. Raises ``InputError`` (or ``UnknownPolicyError``) with a one-line message.

    A policy that takes neither a config file nor a solver refuses them, as it refuses any key it
    does not declare."""
    from shockwave.policies import POLICIES, canonical_name

    key = canonical_name(name)
    cls = POLICIES[key]
    schema = tuple(getattr(cls, "PARAMS", ()))
    values = coerce_all(schema, params, owner=key)
    for option, field, value in (("config", "--policy-config", config_path),
                                 ("solver", "--solver", solver)):
        if value is None:
            continue
        if lookup(schema, option) is None:
            raise InputError(f"policy '{key}' has no {option} option", field=field)
        if option in values:
            raise InputError(f"given both as {field} and as --param {option}", field=field)
        try:
            values[option] = lookup(schema, option).coerce(value)  # type: ignore[union-attr]
        except ParamError as exc:
            raise InputError(str(exc), field=field) from None
    build = getattr(cls, "from_params", None)
    return build(values) if build is not None else cls(**values)
