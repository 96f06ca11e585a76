"""Shares -> this round's placement (Narayanan et al., OSDI '20, section 5; the published
``Scheduler._update_priorities`` and ``_schedule_jobs_on_workers``): Gavel's priority
bookkeeping, greedy gang selection and placement on GPUs. It never over-commits a GPU and never
splits a gang.

On a cluster of several GPU types everything is keyed by (job, type), as in Gavel's
heterogeneous round: time received per (job, type), a priority per (job, type), and a gang
always runs on GPUs of one type (``TypedAccounting``, ``selectable_pairs``,
``select_typed_gangs``). On one type these reduce to the single-type functions, operation for
operation, so homogeneous runs are unchanged bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from types import MappingProxyType

from shockwave.model import Cluster, JobId

TypedAllocation = dict[JobId, dict[str, float]]
"""Job id -> GPU type -> share: ``TypedShares`` with every type of the cluster present."""

_NO_RATES: Mapping[str, float] = MappingProxyType({})
"""The rates of a job that ``rates`` does not list (read only)."""


@dataclass
class PriorityAccounting:
    """How much time each job received since the last re-allocation, turned into priorities.

    Every job starts (and restarts at each reset) with half a round of credit, as in Gavel, so
    that fractions are defined before it first runs.

    Deficits only break ties between equal priorities. With ``deficit_resolution_s`` > 0 they
    are kept as whole multiples of it, so that two deficits equal but for floating-point
    rounding (the sums of different round lengths, or a real service's clock) tie, and the
    tie goes to job order, the same in a simulation and a real run. 0 compares them exactly,
    as the published code does.
    """

    round_s: float
    deficit_resolution_s: float = 0.0
    allocation: dict[JobId, float] = field(default_factory=dict)
    job_time_s: dict[JobId, float] = field(default_factory=dict)
    deficits: dict[JobId, float] = field(default_factory=dict)
    worker_time_s: float = 0.0
    last_reset_s: float = 0.0

    def add_job(self, job_id: JobId) -> None:
        self.job_time_s[job_id] = self.round_s / 2
        self.deficits[job_id] = 0.0

    def remove_job(self, job_id: JobId) -> None:
        self.job_time_s.pop(job_id, None)
        self.deficits.pop(job_id, None)

    def record_run(self, job_id: JobId, exec_s: float) -> None:
        if job_id in self.job_time_s:
            self.job_time_s[job_id] += exec_s
        self.worker_time_s += exec_s

    def reset(self, now_s: float, allocation: Mapping[JobId, float]) -> None:
        """Turn time received since the last reset into deficits, then adopt ``allocation``."""
        elapsed = now_s - self.last_reset_s
        half = self.round_s / 2
        self.worker_time_s = 0.0
        for job_id in self.job_time_s:
            if job_id in self.allocation:
                received = self.job_time_s[job_id] - half
                deficit = self.deficits[job_id] + (self.allocation[job_id] * elapsed - received)
                self.deficits[job_id] = self._quantised(deficit)
            self.job_time_s[job_id] = half
            self.worker_time_s += half
        self.last_reset_s = now_s
        self.allocation = dict(allocation)

    def _quantised(self, deficit: float) -> float:
        resolution = self.deficit_resolution_s
        return round(deficit / resolution) * resolution if resolution else deficit

    def priorities(self, throughputs: Mapping[JobId, float]) -> dict[JobId, float]:
        """``x_j / fraction_j`` per job; 0 for jobs without an allocation or throughput."""
        result: dict[JobId, float] = {}
        for job_id, time_s in self.job_time_s.items():
            share = self.allocation.get(job_id)
            if share is None or share == 0.0 or throughputs.get(job_id, 0.0) == 0.0:
                result[job_id] = 0.0
                continue
            fraction = time_s / self.worker_time_s if self.worker_time_s else 0.0
            result[job_id] = share / fraction if fraction > 0 else share * 1e9
        return result


def priority_order(accounting: PriorityAccounting, throughputs: Mapping[JobId, float]) -> list[JobId]:
    """Jobs by (priority, deficit, share), highest first; ties keep job (arrival) order."""
    prio = accounting.priorities(throughputs)
    return sorted(
        prio,
        key=lambda j: (prio[j], accounting.deficits[j], accounting.allocation.get(j, 0.0)),
        reverse=True,
    )


def typed_shares(shares: Mapping[JobId, float | Mapping[str, float]],
                 cluster: Cluster) -> TypedAllocation:
    """A policy's answer as a share per (job, type), every type of ``cluster`` present.

    A typed share (a mapping of type -> share) is taken as it is, missing types being 0; a flat
    share ``x_j`` (a heterogeneity-agnostic policy) is spread over the types in proportion to
    their GPU counts, ``X[j][t] = x_j * (count(t) / num_gpus)``: on one type that is ``x_j * 1.0``,
    exactly ``x_j``. Raises ``ValueError`` for a type the cluster does not have (a policy bug).
    """
    types = cluster.gpu_types
    known = set(types)
    weights = {t: cluster.count(t) / cluster.num_gpus for t in types}
    only, weight = (types[0], weights[types[0]]) if len(types) == 1 else (None, 0.0)
    result: TypedAllocation = {}
    for job_id, share in shares.items():
        # A float is never a mapping, a dict always is: testing for them first spares the slow
        # ABC check per job.
        if type(share) is dict and tuple(share) == types:  # every type, in cluster order
            result[job_id] = {t: float(v) for t, v in share.items()}
        elif type(share) is dict or (not isinstance(share, float) and isinstance(share, Mapping)):
            if not known.issuperset(share):
                unknown = set(share) - known
                raise ValueError(f"job {job_id}: a share on GPU type(s) {sorted(unknown)} that "
                                 f"the cluster ({', '.join(types)}) does not have")
            result[job_id] = {t: float(share.get(t, 0.0)) for t in types}
        elif only is not None:  # one type: a dict display, cheaper than a comprehension per job
            result[job_id] = {only: share * weight}
        else:
            result[job_id] = {t: share * weights[t] for t in types}
    return result


def shares_by_type(shares: Mapping[JobId, float | Mapping[str, float]],
                   cluster: Cluster) -> dict[str, dict[JobId, float]]:
    """:func:`typed_shares` turned around, type -> job -> share: what each type's accounting
    is reset with (``TypedAccounting.reset_by_type``). On one type with flat shares it is
    ``{type: {job: x_j * 1.0}}``, made without a dict per job."""
    types = cluster.gpu_types
    if len(types) == 1:
        weight = cluster.count(types[0]) / cluster.num_gpus
        flat: dict[JobId, float] = {}
        for job_id, share in shares.items():
            if not isinstance(share, float) and isinstance(share, Mapping):
                break  # a typed share: checked and spread by typed_shares
            flat[job_id] = share * weight
        else:
            return {types[0]: flat}
    known = set(types)
    if all(type(share) is dict and share.keys() == known for share in shares.values()):
        # Every share gives every type (the typed policies' answers): turned around directly,
        # without the dict per job that ``typed_shares`` makes.
        return {t: {j: float(share[t]) for j, share in shares.items()} for t in types}
    typed = typed_shares(shares, cluster)
    return {t: {j: by_type[t] for j, by_type in typed.items()} for t in types}


@dataclass
class TypedAccounting:
    """Gavel's bookkeeping per GPU type: one ``PriorityAccounting`` per type of the cluster, so
    that time received, deficits, the time the type's GPUs ran and the share are all per
    (job, type) (the published ``_job_time_so_far[job][type]``, ``_worker_time_so_far[type]``).
    Every type is reset at the same moment."""

    round_s: float
    gpu_types: tuple[str, ...]
    deficit_resolution_s: float = 0.0
    by_type: dict[str, PriorityAccounting] = field(init=False)

    def __post_init__(self) -> None:
        self.by_type = {t: PriorityAccounting(round_s=self.round_s,
                                              deficit_resolution_s=self.deficit_resolution_s)
                        for t in self.gpu_types}

    @property
    def last_reset_s(self) -> float:
        return self.by_type[self.gpu_types[0]].last_reset_s

    def has_allocation(self, job_id: JobId) -> bool:
        """Whether the last reset gave ``job_id`` a share (on any type: they share keys)."""
        return job_id in self.by_type[self.gpu_types[0]].allocation

    def allocated_jobs(self) -> Collection[JobId]:
        """The jobs the last reset gave a share (``has_allocation``), until the next reset."""
        return self.by_type[self.gpu_types[0]].allocation.keys()

    def add_job(self, job_id: JobId) -> None:
        for accounting in self.by_type.values():
            accounting.add_job(job_id)

    def remove_job(self, job_id: JobId) -> None:
        for accounting in self.by_type.values():
            accounting.remove_job(job_id)

    def record_run(self, job_id: JobId, gpu_type: str, exec_s: float) -> None:
        """``exec_s`` of ``job_id`` on GPUs of ``gpu_type``."""
        self.by_type[gpu_type].record_run(job_id, exec_s)

    def reset(self, now_s: float, allocation: Mapping[JobId, Mapping[str, float]]) -> None:
        """``PriorityAccounting.reset`` on every type, with that type's shares."""
        self.reset_by_type(now_s, {t: {j: shares[t] for j, shares in allocation.items()}
                                   for t in self.by_type})

    def reset_by_type(self, now_s: float, by_type: Mapping[str, Mapping[JobId, float]]) -> None:
        """``reset`` with the shares given type by type (``shares_by_type``)."""
        for gpu_type, accounting in self.by_type.items():
            accounting.reset(now_s, by_type[gpu_type])


def selectable_pairs(
    accounting: TypedAccounting,
    rates: Mapping[JobId, Mapping[str, float]],
    *,
    unallocated: bool,
    zero_priority: bool,
) -> list[tuple[JobId, str]]:
    """The (job, type) pairs a round may choose, by (priority, deficit, share), highest first,
    ties keeping type order, then job order (the published sort of
    ``_schedule_jobs_on_workers_helper``); a pair's priority is its type's
    :meth:`PriorityAccounting.priorities` with that type's rates, computed inline. Chosen: those
    with a rate > 0 on the type, of a job with a share (or any job, ``unallocated``), and of
    priority > 0 unless ``zero_priority`` (a work-conserving policy fills idle GPUs).

    The other pairs are dropped before the sort, not skipped after it: the sort is stable, so
    the pairs kept are in the same order. The pairs of priority > 0 come first; most of the
    others (on several types a job's share is on one or two) have a zero share, key
    (0, deficit, 0), and are sorted by their deficit alone, one float instead of a tuple."""
    positive: list[tuple[float, float, float, JobId, str]] = []
    zero: list[tuple[float, float, float, JobId, str]] = []  # key (0, deficit, 0)
    other: list[tuple[float, float, float, JobId, str]] = []  # priority <= 0, share != 0
    get_rates = rates.get
    for gpu_type, acc in accounting.by_type.items():
        worker_s, get_share, deficits = acc.worker_time_s, acc.allocation.get, acc.deficits
        for job_id, time_s in acc.job_time_s.items():
            if not get_rates(job_id, _NO_RATES).get(gpu_type, 0.0) > 0:
                continue
            share = get_share(job_id)
            if share is None or not share:
                if zero_priority and (share is not None or unallocated):
                    zero.append((0.0, deficits[job_id], 0.0, job_id, gpu_type))
                continue
            fraction = time_s / worker_s if worker_s else 0.0
            prio = share / fraction if fraction > 0 else share * 1e9
            if prio > 0:
                positive.append((prio, deficits[job_id], share, job_id, gpu_type))
            elif zero_priority:
                other.append((prio, deficits[job_id], share, job_id, gpu_type))
    positive.sort(key=_KEY, reverse=True)
    if other:  # never ties with a zero-share pair: one sort by the whole key
        zero += other
        zero.sort(key=_KEY, reverse=True)
    else:
        zero.sort(key=_DEFICIT, reverse=True)
    return [(e[3], e[4]) for e in positive] + [(e[3], e[4]) for e in zero]


_KEY = itemgetter(0, 1, 2)
"""(priority, deficit, share) of a ``selectable_pairs`` entry."""
_DEFICIT = itemgetter(1)


def select_typed_gangs(
    pairs: Iterable[tuple[JobId, str]],
    gpus: Mapping[JobId, int],
    capacity: Mapping[str, int],
    eligible: Callable[[JobId, str], bool] | None = None,
) -> dict[str, list[JobId]]:
    """Walk (job, type) ``pairs`` greedily: a job not chosen yet whose whole gang fits in what
    is left of the type runs there (a pair that does not fit is skipped, not a stop). Returns
    the chosen jobs per type, in the order chosen; ``select_gangs`` on one type.

    The walk stops once every GPU is taken (every gang needs at least one): with hundreds of
    queued jobs the rest of the pairs could not be chosen, and ``eligible`` costs a call each."""
    left = dict(capacity)
    chosen: dict[str, list[JobId]] = {t: [] for t in capacity}
    taken: set[JobId] = set()
    free = sum(left.values())
    for job_id, gpu_type in pairs:
        if free <= 0:
            break
        if job_id in taken or (eligible is not None and not eligible(job_id, gpu_type)):
            continue
        need = gpus[job_id]
        if need > left[gpu_type]:
            continue
        chosen[gpu_type].append(job_id)
        taken.add(job_id)
        left[gpu_type] -= need
        free -= need
    return chosen


def fastest_types(
    wanted: Iterable[JobId],
    gpus: Mapping[JobId, int],
    rates: Mapping[JobId, Mapping[str, float]],
    capacity: Mapping[str, int],
    allowed: Mapping[JobId, Sequence[str]] | None = None,
) -> dict[str, list[JobId]]:
    """The type each job a round-planning policy chose runs on: in ``wanted`` order, the type
    with the highest throughput for it (ties: cluster order, the order of ``capacity``) that
    still has room for its gang, among ``allowed[job]`` when given; a job with no such type
    waits. On one type this is ``select_gangs`` over the jobs that can run."""
    left = dict(capacity)
    chosen: dict[str, list[JobId]] = {t: [] for t in capacity}
    for job_id in wanted:
        need, rate = gpus[job_id], rates[job_id]
        types = capacity if allowed is None else allowed.get(job_id, ())
        fits = [t for t in types if left.get(t, 0) >= need and rate.get(t, 0.0) > 0]
        if not fits:
            continue
        best = max(fits, key=lambda t: rate[t])
        chosen[best].append(job_id)
        left[best] -= need
    return chosen


def select_gangs(
    order: Iterable[JobId],
    gpus: Mapping[JobId, int],
    num_gpus: int,
    *,
    eligible: Mapping[JobId, bool] | None = None,
) -> list[JobId]:
    """Walk ``order`` greedily, taking every job whose whole gang still fits (work-conserving:
    a job that does not fit is skipped, not a stop). Jobs marked ineligible are passed over."""
    left = num_gpus
    chosen: list[JobId] = []
    for job_id in order:
        if eligible is not None and not eligible.get(job_id, True):
            continue
        need = gpus[job_id]
        if need > left:
            continue
        chosen.append(job_id)
        left -= need
    return chosen


@dataclass(frozen=True)
class ServerLayout:
    """GPU ids by server, with what placing gangs on them looks up: built once per cluster (or
    per GPU type) and read by every round's ``place_gangs``, which never changes it."""

    servers: tuple[tuple[int, ...], ...]
    server_of: Mapping[int, int]
    order: tuple[int, ...]
    """Every GPU id, in server order."""
    exists: frozenset[int]
    sizes: tuple[int, ...] = field(init=False)
    """Each server's GPU count (what a round starts with free)."""
    largest: int = field(init=False)

    def __post_init__(self) -> None:
        sizes = tuple(len(server) for server in self.servers)
        object.__setattr__(self, "sizes", sizes)  # frozen: set once, here
        object.__setattr__(self, "largest", max(sizes, default=0))

    @classmethod
    def of(cls, servers: Sequence[Sequence[int]]) -> ServerLayout:
        kept = tuple(tuple(server) for server in servers)
        order = tuple(gpu for server in kept for gpu in server)
        return cls(servers=kept, order=order, exists=frozenset(order),
                   server_of={gpu: i for i, server in enumerate(kept) for gpu in server})


class _FreeGpus:
    """The GPUs of ``layout`` not taken yet: a gang's whole server when one has room, else the
    lowest free ids in server order (from a cursor that only moves forward: every GPU before
    it is taken)."""

    def __init__(self, layout: ServerLayout) -> None:
        self.servers = layout.servers
        self.server_of = layout.server_of
        self.free = list(layout.sizes)
        self.largest = layout.largest
        self.order = layout.order
        self.taken: set[int] = set()
        self.cursor = 0
        self.first_server = 0

    def take(self, ids: Iterable[int]) -> None:
        for gpu in ids:
            self.taken.add(gpu)
            self.free[self.server_of[gpu]] -= 1

    def gang(self, width: int) -> list[int]:
        """``width`` free GPUs on the first server that has them, else the lowest free ids."""
        while self.first_server < len(self.free) and not self.free[self.first_server]:
            self.first_server += 1
        if width <= self.largest:
            for i in range(self.first_server, len(self.servers)):
                if self.free[i] >= width:
                    return [gpu for gpu in self.servers[i] if gpu not in self.taken][:width]
        ids: list[int] = []
        while len(ids) < width and self.cursor < len(self.order):
            gpu = self.order[self.cursor]
            if gpu not in self.taken:
                ids.append(gpu)
            self.cursor += 1
        return ids


def place_gangs(
    selected: Sequence[JobId],
    gpus: Mapping[JobId, int],
    servers: Sequence[Sequence[int]] | ServerLayout,
    previous: Mapping[JobId, tuple[int, ...]],
) -> dict[JobId, tuple[int, ...]]:
    """GPU ids for each selected job, gang width by gang width, widest first (Gavel's rule).

    Within a width, jobs first keep last round's GPUs where none was taken yet and all still
    exist (a lease extension; a server may have left the cluster); the others then take the
    lowest free GPUs of the first server with room for the whole gang, or, when no server has,
    the lowest free ids in server order. ``selected`` gives the order within a width. On
    servers of one GPU the first server with room holds the lowest free id: Gavel's placement.
    ``servers`` may come as a ``ServerLayout``, its lookups made once for every round.
    """
    layout = servers if isinstance(servers, ServerLayout) else ServerLayout.of(servers)
    placed: dict[JobId, tuple[int, ...]] = {}
    free = _FreeGpus(layout)
    exists, taken = layout.exists, free.taken
    widths = {gpus[j] for j in selected}
    for width in sorted(widths, reverse=True):
        group = selected if len(widths) == 1 else [j for j in selected if gpus[j] == width]
        others = []
        for job_id in group:
            before = previous.get(job_id)
            if before and len(before) == width and taken.isdisjoint(before) \
                    and exists.issuperset(before):
                placed[job_id] = tuple(before)
                free.take(before)
            else:
                others.append(job_id)
        for job_id in others:
            if job_id in placed:  # listed twice
                continue
            ids = free.gang(width)
            if len(ids) != width:
                raise ValueError(f"job {job_id} needs {width} GPUs; the round is over-committed")
            free.take(ids)
            placed[job_id] = tuple(ids)
    return placed
