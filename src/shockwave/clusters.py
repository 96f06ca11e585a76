"""The ``--cluster`` text of a cluster of several GPU types (``v100:32,p100:32/4,k80:32``):
parsing it into a ``Cluster``, writing a cluster back as that text, and checking its types
against a throughput table."""

from __future__ import annotations

import re

from shockwave.errors import InputError
from shockwave.limits import MAX_GPUS
from shockwave.model import Cluster, GpuGroup
from shockwave.workload.throughput import ThroughputTable

OPTION = "--cluster"
GPU_TYPE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}"
"""A GPU type as the throughput tables name them (``v100``, ``k80_unconsolidated``)."""
_ITEM = re.compile(rf"({GPU_TYPE_PATTERN})\s*:([^/]*)(?:/(.*))?")
_INTEGER = re.compile(r"[0-9]{1,9}")


def _error(item: str, why: str) -> InputError:
    return InputError(f"item {item!r}: {why}", field=OPTION)


def _whole_number(item: str, text: str, what: str) -> int:
    """``text`` as an integer in [1, MAX_GPUS], or an error naming the item and ``what``."""
    text = text.strip()
    if not _INTEGER.fullmatch(text) or not 1 <= int(text) <= MAX_GPUS:
        raise _error(item, f"{what} must be an integer in [1, {MAX_GPUS:,}], got {text!r}")
    return int(text)


def parse_group(item: str, gpus_per_server: int = 1) -> GpuGroup:
    """One ``TYPE:COUNT`` or ``TYPE:COUNT/PER_SERVER`` item; ``gpus_per_server`` is the
    per-server size of an item that does not give one (``--gpus-per-server``)."""
    item = item.strip()
    match = _ITEM.fullmatch(item)
    if match is None:
        head = item.partition(":")[0]
        if ":" in item and not re.fullmatch(GPU_TYPE_PATTERN, head.strip()):
            raise _error(item, "a GPU type is letters, digits and . _ + - (at most 64), "
                         f"got {head.strip()!r}")
        raise _error(item, "expected TYPE:COUNT or TYPE:COUNT/PER_SERVER, e.g. v100:32 or "
                     "v100:32/4")
    gpu_type, count_text, per_text = match.groups()
    count = _whole_number(item, count_text, "the GPU count")
    per_server = gpus_per_server if per_text is None else \
        _whole_number(item, per_text, "GPUs per server")
    if count % per_server:
        source = " (--gpus-per-server; an item may say TYPE:COUNT/PER_SERVER)" \
            if per_text is None else ""
        raise _error(item, f"{count} GPUs do not make whole servers of {per_server}{source}")
    return gpu_type, count, per_server


def parse_cluster(text: str, gpus_per_server: int = 1) -> Cluster:
    """The cluster ``--cluster TEXT`` describes: comma-separated ``TYPE:COUNT[/PER_SERVER]``
    groups, GPU ids in the order given. Raises an ``InputError`` naming ``--cluster`` and the
    bad item (a type given twice, a count that is not a positive integer, servers that do not
    divide the count, more than ``MAX_GPUS`` GPUs in all)."""
    items = text.split(",")
    if not text.strip():
        raise InputError("expected TYPE:COUNT[,TYPE:COUNT...], e.g. v100:32,p100:32,k80:32, "
                         "got nothing", field=OPTION)
    groups: list[GpuGroup] = []
    for item in items:
        if not item.strip():
            raise InputError(f"an empty item in {text!r} (two commas, or one at an end)",
                             field=OPTION)
        group = parse_group(item, gpus_per_server)
        if any(group[0] == seen[0] for seen in groups):
            raise _error(item, f"GPU type {group[0]!r} is given twice")
        groups.append(group)
    total = sum(count for _, count, _ in groups)
    if total > MAX_GPUS:
        raise InputError(f"{total:,} GPUs in all; a cluster has at most {MAX_GPUS:,}",
                         field=OPTION)
    return Cluster.of_types(groups)


def format_cluster(cluster: Cluster) -> str:
    """The ``--cluster`` text of ``cluster``: every group with its servers spelled out
    (``v100:12/1,p100:12/4``); ``parse_cluster`` reads it back to an equal cluster."""
    return ",".join(f"{t}:{count}/{per}" for t, count, per in cluster.groups)


def check_gpu_types(cluster: Cluster, throughputs: ThroughputTable) -> None:
    """Raise an ``InputError`` naming ``--cluster`` when a type of ``cluster`` is not one of
    the table's."""
    known = throughputs.gpu_types
    for gpu_type in cluster.gpu_types:
        if gpu_type not in known:
            raise InputError(f"GPU type {gpu_type!r} is not in {throughputs.source} (it has "
                             f"{', '.join(known) or 'no GPU type'})", field=OPTION)
