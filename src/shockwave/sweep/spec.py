"""``load_spec``: a sweep's YAML file read and checked whole before any simulation starts.

Every mistake is one ``InputError`` naming the file, the line and the field
(``sweep.yaml:4: gpus[1]: must be at least 1, got 0``). A value written as a scalar is fixed; a
list is swept (for the probability mixes, which are lists themselves, a list of lists is swept).
Relative paths are relative to the spec file's folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shockwave.config import Compat
from shockwave.errors import InputError, ShockwaveError
from shockwave.jsonfile import error_message, json_path, shown
from shockwave.limits import MAX_GPUS, MAX_NAME_CHARS, MAX_ROUND_S, MAX_SEED, MIN_ROUND_S
from shockwave.traces.generate import GeneratorParams
from shockwave.yamlfile import as_written, line_of, read_yaml

MAX_SEEDS = 10_000
"""``seeds: N`` runs seeds 0..N-1; more than this many is almost certainly a typo."""
MAX_RUNS = 1_000_000
"""Runs in one sweep (each is a simulation and a file in the cache)."""
MAX_CLUSTER_CHARS = 1_000
"""The longest ``cluster:`` text (a cluster of every GPU type there is fits many times)."""

MIXES = ("scale_factor_mix", "mode_mix")
"""Generator settings whose single value is itself a list of probabilities."""
GENERATOR_NAMES: dict[str, str] = {
    "num_jobs": "num_jobs", "lam": "lam_s", "min_hours": "min_hours", "max_hours": "max_hours",
    "num_durations": "num_durations", "duration_logspace": "duration_logspace",
    "multi_gpu": "multi_gpu", "scale_factor_mix": "scale_factor_mix", "dynamic": "dynamic",
    "mode_mix": "mode_mix", "single_mode": "single_mode",
}
"""Spec key (as ``shockwave trace generate`` names the option) -> ``GeneratorParams`` field."""

_DEFAULT_GENERATOR = GeneratorParams()


def _generator_default(key: str) -> Any:
    value = getattr(_DEFAULT_GENERATOR, GENERATOR_NAMES[key])
    return [list(value) if isinstance(value, tuple) else value]


def _listed(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise ValueError(f"lists {shown(value)} twice")
        seen.append(value)
    return values


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


_Probability = Annotated[float, Field(ge=0, le=1)]
_Hours = Annotated[float, Field(gt=0)]


class GeneratorGrid(_Strict):
    """``trace:`` as generator settings (``shockwave trace generate``'s options); each one a value
    or a list of values to sweep. Ranges are checked by ``GeneratorParams.validate``."""

    num_jobs: list[Annotated[int, Field(ge=1)]] = Field(min_length=1, default_factory=lambda: _generator_default("num_jobs"))
    lam: list[Annotated[float, Field(ge=0)]] = Field(min_length=1, default_factory=lambda: _generator_default("lam"))
    min_hours: list[_Hours] = Field(min_length=1, default_factory=lambda: _generator_default("min_hours"))
    max_hours: list[_Hours] = Field(min_length=1, default_factory=lambda: _generator_default("max_hours"))
    num_durations: list[Annotated[int, Field(ge=2)]] = Field(min_length=1, default_factory=lambda: _generator_default("num_durations"))
    duration_logspace: list[bool] = Field(min_length=1, default_factory=lambda: _generator_default("duration_logspace"))
    multi_gpu: list[bool] = Field(min_length=1, default_factory=lambda: _generator_default("multi_gpu"))
    scale_factor_mix: list[list[_Probability]] = Field(min_length=1, default_factory=lambda: _generator_default("scale_factor_mix"))
    dynamic: list[bool] = Field(min_length=1, default_factory=lambda: _generator_default("dynamic"))
    mode_mix: list[list[_Probability]] = Field(min_length=1, default_factory=lambda: _generator_default("mode_mix"))
    single_mode: list[Literal["static", "accordion", "gns"] | None] = Field(min_length=1, default_factory=lambda: _generator_default("single_mode"))

    @field_validator(*GENERATOR_NAMES, mode="before")
    @classmethod
    def _as_list(cls, value: Any, info: Any) -> Any:
        if info.field_name in MIXES:  # a flat list is one mix; a list of lists is swept
            return [value] if not (isinstance(value, list) and value
                                   and all(isinstance(v, list) for v in value)) else value
        return _listed(value)

    @field_validator(*GENERATOR_NAMES)
    @classmethod
    def _no_repeats(cls, value: list[Any]) -> list[Any]:
        return _unique(value)


class SpecFile(_Strict):
    """The file as written (before the checks that need the policy registry and the files)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    policies: list[Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]] = Field(min_length=1)
    seeds: list[Annotated[int, Field(ge=0, le=MAX_SEED)]] = Field(default=[0], min_length=1)
    gpus: list[Annotated[int, Field(ge=1, le=MAX_GPUS)]] = Field(default=[32], min_length=1)
    cluster: list[Annotated[str, Field(min_length=1, max_length=MAX_CLUSTER_CHARS)]] | None = Field(default=None, min_length=1)
    gpus_per_server: int = Field(default=1, ge=1, le=MAX_GPUS)
    round_seconds: list[Annotated[float, Field(ge=MIN_ROUND_S, le=MAX_ROUND_S)]] = Field(default=[120.0], min_length=1)
    compat: Compat = "fixed"
    preemption_penalty_seconds: float | None = Field(default=None, ge=0, le=MAX_ROUND_S)
    throughputs: str | None = Field(default=None, min_length=1)
    workload_facts: str | None = Field(default=None, min_length=1)
    trace: str | dict[str, Any] | None = None
    params: dict[str, dict[str, Any]] = {}

    @field_validator("policies", "gpus", "round_seconds", "cluster", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return _listed(value)

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= MAX_SEEDS:
                raise ValueError(f"a count of seeds must be from 1 to {MAX_SEEDS:,}, got "
                                 f"{shown(value)} (or list the seeds: [0, 1, 2])")
            return list(range(value))
        if not isinstance(value, list):
            raise ValueError("expected a count of seeds (5) or a list of seeds ([0, 1, 2]), "
                             f"got {shown(value)}")
        return value

    @field_validator("policies", "seeds", "gpus", "round_seconds", "cluster")
    @classmethod
    def _no_repeats(cls, value: list[Any] | None) -> list[Any] | None:
        return None if value is None else _unique(value)

    @field_validator("trace", mode="before")
    @classmethod
    def _trace_kind(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str | dict):
            raise ValueError("expected a trace file's path or a mapping of generator settings "
                             f"(num_jobs: ..., lam: ...), got {shown(value)}")
        return value


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: what is swept (tuples of values) and what is fixed. Paths are absolute;
    ``None`` means the bundled data. Exactly one of ``generator`` (swept generator settings,
    spec key -> values) and ``trace_file`` is set."""

    source: str
    name: str
    policies: tuple[str, ...]
    params: Mapping[str, tuple[tuple[str, tuple[Any, ...]], ...]]
    generator: tuple[tuple[str, tuple[Any, ...]], ...] | None
    trace_file: str | None
    seeds: tuple[int, ...]
    gpus: tuple[int, ...]
    gpus_per_server: int
    round_s: tuple[float, ...]
    compat: Compat
    preemption_penalty_s: float | None
    throughputs: str | None
    workload_facts: str | None
    clusters: tuple[str, ...] | None = None
    """``cluster:``, each as ``format_cluster`` writes it (servers spelled out), swept instead of
    ``gpus`` (then unused); ``None``: clusters of ``gpus`` V100s."""


def generator_params(settings: Mapping[str, Any], seed: int) -> GeneratorParams:
    """The generator's arguments for one combination of settings (spec key -> value)."""
    values = {GENERATOR_NAMES[k]: tuple(v) if k in MIXES else v for k, v in settings.items()}
    return GeneratorParams(**values, seed=seed)


def param_files(spec: SweepSpec) -> list[str]:
    """The files policy parameters name (``config``), absolute paths, each once, sorted."""
    return sorted({value for pairs in spec.params.values() for _, values in pairs
                   for value in values if isinstance(value, str) and Path(value).is_absolute()})


class _Located:
    """Turns a problem at a place in the document into an ``InputError`` with file and line."""

    def __init__(self, path: Path, data: Any, node: yaml.Node | None) -> None:
        self.path, self.data, self.node = path, data, node

    def error(self, loc: Sequence[str | int], message: str) -> InputError:
        shown_loc = as_written(self.data, loc)
        return InputError(message, path=self.path, line=line_of(self.node, loc),
                          field=json_path(shown_loc) or None)

    def pydantic(self, exc: ValidationError, prefix: tuple[str | int, ...] = (),
                 known: Sequence[str] = ()) -> InputError:
        first = exc.errors(include_url=False)[0]
        loc = prefix + tuple(first["loc"])
        if first["type"] == "extra_forbidden":
            return self.error(loc, f"unknown key; known: {', '.join(known)}")
        if prefix == ("trace",) and len(loc) > 2 and loc[1] in MIXES and isinstance(loc[2], int):
            raw = self.data.get("trace", {}).get(loc[1])
            if isinstance(raw, list) and not (raw and all(isinstance(v, list) for v in raw)):
                loc = loc[:2] + loc[3:]  # a single mix, checked as the first of a list of mixes
        return self.error(loc, error_message(first))


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check the sweep file at ``path``; raises ``InputError`` on the first mistake."""
    path = Path(path)
    data, node = read_yaml(path)
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise InputError(f"expected a mapping (policies: ..., seeds: ..., gpus: ...), got {kind}",
                         path=path)
    where = _Located(path, data, node)
    try:
        spec = SpecFile.model_validate(data)
    except ValidationError as exc:
        raise where.pydantic(exc, known=list(SpecFile.model_fields)) from None
    return _checked(spec, path, where)


def _checked(spec: SpecFile, path: Path, where: _Located) -> SweepSpec:
    policies = _policies(spec, where)
    generator, trace_file = _trace(spec, path, where)
    if trace_file is not None and "seeds" in where.data:
        raise where.error(("seeds",), "a trace file is the same for every seed and the "
                          "simulation is deterministic; sweep seeds with generated traces "
                          "(trace: {num_jobs: ..., lam: ...}) or leave seeds out")
    clusters = _clusters(spec, where)
    for i, gpus in enumerate(spec.gpus if clusters is None else ()):
        if gpus % spec.gpus_per_server:
            raise where.error(("gpus", i), f"{gpus} GPUs do not make whole servers of "
                              f"{spec.gpus_per_server} (gpus_per_server)")
    checked = SweepSpec(
        source=str(path), name=spec.name or path.stem, policies=policies,
        params=_params(spec, policies, path, where), generator=generator, trace_file=trace_file,
        seeds=tuple(spec.seeds), gpus=tuple(spec.gpus), gpus_per_server=spec.gpus_per_server,
        round_s=tuple(spec.round_seconds), compat=spec.compat,
        preemption_penalty_s=spec.preemption_penalty_seconds,
        throughputs=_file(spec.throughputs, path, where, "throughputs"),
        workload_facts=_file(spec.workload_facts, path, where, "workload_facts"),
        clusters=clusters,
    )
    _check_generator(checked, where)
    _check_size(checked, where)
    return checked


def _clusters(spec: SpecFile, where: _Located) -> tuple[str, ...] | None:
    """``cluster:`` parsed as ``--cluster`` is (``gpus_per_server`` for the groups that do not
    say), each written back in full; two ways of giving the cluster together are an error, as
    on the command line, and so are two texts of one cluster."""
    from shockwave.clusters import format_cluster, parse_cluster

    if spec.cluster is None:
        return None
    if "gpus" in where.data:
        raise where.error(("cluster",), "give the clusters either as gpus: N (V100s) or as "
                          "cluster: TYPE:COUNT,..., not both")
    listed = isinstance(where.data.get("cluster"), list)
    texts: list[str] = []
    for i, text in enumerate(spec.cluster):
        loc: tuple[str | int, ...] = ("cluster", i) if listed else ("cluster",)
        try:
            canonical = format_cluster(parse_cluster(text, spec.gpus_per_server))
        except InputError as exc:  # the command line's option, by its name in a spec
            raise where.error(loc, exc.reason.replace("--gpus-per-server", "gpus_per_server")
                              ) from None
        if canonical in texts:
            raise where.error(loc, f"{text!r} is {canonical}, listed already")
        texts.append(canonical)
    return tuple(texts)


def _policies(spec: SpecFile, where: _Located) -> tuple[str, ...]:
    from shockwave.policies import canonical_name

    names: list[str] = []
    for i, name in enumerate(spec.policies):
        try:
            canonical = canonical_name(name)
        except ShockwaveError as exc:
            raise where.error(("policies", i), str(exc)) from None
        if canonical in names:
            raise where.error(("policies", i), f"'{name}' is {canonical}, listed already")
        names.append(canonical)
    return tuple(names)


def _file(value: str | None, spec_path: Path, where: _Located, key: str | tuple) -> str | None:
    """``value`` as an absolute path (relative to the spec's folder); it must be a file."""
    if value is None:
        return None
    resolved = (spec_path.parent / value).resolve()
    if not resolved.is_file():
        loc = key if isinstance(key, tuple) else (key,)
        raise where.error(loc, f"no such file: {resolved}")
    return str(resolved)


def _trace(spec: SpecFile, path: Path, where: _Located
           ) -> tuple[tuple[tuple[str, tuple[Any, ...]], ...] | None, str | None]:
    if isinstance(spec.trace, str):
        return None, _file(spec.trace, path, where, "trace")
    if "seed" in (spec.trace or {}):
        raise where.error(("trace", "seed"), "give the seeds at the top level (seeds: 5 or "
                          "seeds: [0, 1, 2]): they are swept")
    try:
        grid = GeneratorGrid.model_validate(spec.trace or {})
    except ValidationError as exc:
        raise where.pydantic(exc, ("trace",), known=list(GeneratorGrid.model_fields)) from None
    settings = tuple((key, tuple(tuple(v) if key in MIXES else v for v in getattr(grid, key)))
                     for key in GENERATOR_NAMES)
    return settings, None


def _check_generator(spec: SweepSpec, where: _Located) -> None:
    """Every combination of generator settings is one the generator accepts."""
    from shockwave.sweep.grid import generator_combinations

    if spec.generator is None:
        return
    by_field = {name: key for key, name in GENERATOR_NAMES.items()}
    for settings in generator_combinations(spec):
        try:
            generator_params(settings, spec.seeds[0]).validate()
        except InputError as exc:
            key = by_field.get((exc.field or "").replace("-", "_"), exc.field or "")
            raise where.error(("trace", key), exc.reason) from None


def _params(spec: SpecFile, policies: Sequence[str], path: Path, where: _Located
            ) -> dict[str, tuple[tuple[str, tuple[Any, ...]], ...]]:
    """``params:`` checked against each policy's schema: policy -> ((key, values), ...)."""
    from shockwave.policies import canonical_name
    from shockwave.policies.params import lookup, policy_params

    checked: dict[str, tuple[tuple[str, tuple[Any, ...]], ...]] = {}
    for name, given in spec.params.items():
        try:
            policy = canonical_name(name)
        except ShockwaveError as exc:
            raise where.error(("params", name), str(exc)) from None
        if policy not in policies:
            raise where.error(("params", name), f"{policy} is not one of the policies swept "
                              f"({', '.join(policies)})")
        if policy in checked:
            raise where.error(("params", name), f"parameters of {policy} given twice")
        schema = policy_params(policy)
        keys: list[tuple[str, tuple[Any, ...]]] = []
        for key, raw in given.items():
            info = lookup(schema, str(key))
            if info is None:
                accepted = ", ".join(i.name for i in schema) or "none"
                raise where.error(("params", name, key), f"{policy} accepts: {accepted}")
            if any(info.name == k for k, _ in keys):
                raise where.error(("params", name, key), f"'{info.name}' given twice")
            keys.append((info.name, _param_values(info, raw, ("params", name, key), path, where)))
        checked[policy] = tuple(keys)
    return checked


def _param_values(info: Any, raw: Any, loc: tuple[str | int, ...], path: Path,
                  where: _Located) -> tuple[Any, ...]:
    from shockwave.policies.params import ParamError

    swept = isinstance(raw, list) and (info.kind != "numbers" or
                                       (raw and all(isinstance(v, list) for v in raw)))
    items = raw if swept else [raw]
    if not items:
        raise where.error(loc, "an empty list sweeps nothing; give a value or a list of values")
    values: list[Any] = []
    for i, item in enumerate(items):
        at = loc + (i,) if swept else loc
        try:
            value = info.coerce(item)
        except ParamError as exc:
            raise where.error(at, str(exc)) from None
        if info.kind == "path":
            value = _file(value, path, where, at)
        if value in values:
            raise where.error(at, f"lists {shown(item)} twice")
        values.append(value)
    return tuple(values)


def _check_size(spec: SweepSpec, where: _Located) -> None:
    from shockwave.sweep.grid import count_runs

    total = count_runs(spec)
    if total > MAX_RUNS:
        raise where.error((), f"the grid has {total:,} runs; at most {MAX_RUNS:,}")

