"""Property tests: the parsers turn any input into jobs or a ``ShockwaveError``, nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shockwave.errors import ShockwaveError
from shockwave.model import JobSpec
from shockwave.traces.gavel import import_gavel
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.pollux import import_pollux
from shockwave.traces.trace import parse_trace_text
from shockwave.traces.tsv import format_tsv, parse_tsv
from shockwave.workload.throughput import load_throughputs

TABLE = load_throughputs()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ATOMS = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "1e400", "nan", "inf", "static", "gns", "accordion",
                     "ResNet-18 (batch size 32)", "LM (batch size 0)", "CycleGAN", "1.5",
                     "cifar10", "ncf", "imagenet", "99999999999999999999", "-1.000000"]),
    st.text(max_size=12),
)
TSV_LINE = st.lists(ATOMS, min_size=5, max_size=13).map("\t".join)
CSV_TEXT = st.lists(st.lists(ATOMS, min_size=3, max_size=6).map(",".join), max_size=5).map(
    lambda rows: "name,time,application,num_replicas,batch_size\n" + "\n".join(rows))
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)
JOB_KEYS = ["id", "model", "batch_size", "gpus", "mode", "total_steps", "duration_s",
            "arrival_s", "priority_weight", "slo", "command", "needs_data_dir"]
JSON_OBJECT = st.dictionaries(st.sampled_from(JOB_KEYS) | st.text(max_size=6), JSON_VALUE,
                              max_size=10)


def _only_shockwave_errors(parse: Callable[[], object]) -> None:
    try:
        parse()
    except ShockwaveError:
        pass


@FUZZ
@given(st.lists(TSV_LINE, max_size=4).map("\n".join))
def test_tsv_parser_only_raises_shockwave_errors(text: str) -> None:
    _only_shockwave_errors(lambda: parse_tsv(text))


@FUZZ
@given(st.text(max_size=200))
def test_any_text_loads_or_fails_cleanly(text: str) -> None:
    _only_shockwave_errors(lambda: parse_trace_text(text, throughputs=TABLE))


@FUZZ
@given(st.lists(JSON_OBJECT.map(lambda o: json.dumps(o)) | st.text(max_size=20), max_size=4))
def test_jsonl_parser_only_raises_shockwave_errors(lines: list[str]) -> None:
    _only_shockwave_errors(lambda: parse_jsonl("\n".join(lines), throughputs=TABLE))


@FUZZ
@given(st.lists(st.lists(ATOMS, min_size=6, max_size=8).map("\t".join), max_size=4))
def test_gavel_importer_only_raises_shockwave_errors(lines: list[str]) -> None:
    _only_shockwave_errors(lambda: import_gavel("\n".join(lines), TABLE))


@FUZZ
@given(CSV_TEXT | st.text(max_size=120))
def test_pollux_importer_only_raises_shockwave_errors(text: str) -> None:
    _only_shockwave_errors(lambda: import_pollux(text, TABLE))


SPECS = st.builds(
    JobSpec,
    job_id=st.just(0),
    model=st.sampled_from(["ResNet-18", "LM", "Transformer", "Recommendation", "ResNet-50"]),
    batch_size=st.integers(1, 10_000),
    gpus=st.sampled_from([1, 2, 4, 8]),
    mode=st.sampled_from(["static", "accordion", "gns"]),
    total_steps=st.integers(1, 10**12),
    arrival_s=st.integers(0, 10**9).map(float),
    duration_s=st.integers(0, 10**9).map(float),
    priority_weight=st.integers(1, 100).map(float),
    slo=st.none() | st.sampled_from([1.2, 2.0, 10.0]),
    command=st.text(st.characters(blacklist_categories=("Cs",),  # not encodable in a UTF-8 file
                                  blacklist_characters="\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                    max_size=30),
    working_directory=st.sampled_from(["", "translation", "image_classification/cifar10"]),
    num_steps_arg=st.sampled_from(["", "-n", "--steps"]),
    needs_data_dir=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(SPECS, min_size=1, max_size=6))
def test_reference_jsonl_reference_is_lossless(specs: list[JobSpec]) -> None:
    specs = sorted(specs, key=lambda s: s.arrival_s)
    reference = format_tsv(specs)
    via_jsonl = format_tsv(parse_jsonl(format_jsonl(parse_tsv(reference).jobs)).jobs)
    assert via_jsonl == reference
