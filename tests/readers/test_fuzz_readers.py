"""Fuzz every input reader with mutated valid files: the outcome is a result or our own error.

Each test starts from a small valid input (``samples.py``) and mutates it the ways files go
wrong: a field replaced by random text, a huge or non-ASCII number, NaN, infinity or nothing;
a separator deleted or doubled; a byte-order mark; a truncated or repeated line; for JSON, any
value of the document replaced by any JSON value or a key deleted. Every outcome must be
success or a ``ShockwaveError`` whose message is one line starting with the file's name
(the CLI prints it after ``error: `` and exits 2). 5,000 cases, about 15 s on 2 cores.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import samples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shockwave.cli_report import load_results
from shockwave.errors import ShockwaveError
from shockwave.sim.result import result_from_json
from shockwave.traces.gavel import import_gavel
from shockwave.traces.jsonl import parse_jsonl
from shockwave.traces.pollux import import_pollux
from shockwave.traces.trace import Trace, parse_trace_text
from shockwave.traces.tsv import parse_tsv
from shockwave.workload.throughput import ThroughputTable, load_throughputs

TABLE = load_throughputs()
GAVEL_TABLE = ThroughputTable(
    {"v100": {**TABLE.table["v100"], ("A3C (batch size 4)", 1): 7.2,
              ("CycleGAN (batch size 1)", 1): 4.4}}, "gavel-like")
FOLDER = Path(tempfile.mkdtemp(prefix="shockwave-fuzz-"))


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


ATOMS = st.sampled_from([
    "", " ", "0", "-1", "-0", "1.5", "1e400", "-1e400", "1.8e308", "1.7e308", "1e-400", "nan",
    "NaN", "inf", "-Infinity", "Infinity", "1_0", "0x10", " 5 ", "+5", "१२", "٣", "１２", "²",
    "\ufeff", "\x00", "\x1b[31m", "true", "false", "null", "9" * 25, "9" * 400, "9" * 5000,
    "1000000000001", "100001", "1e13", "static", "gns", "accordion", "A3C", "CycleGAN",
    "LM (batch size 10)", "LM (batch size 0)", "(batch size 5)", "{", "}", "[", "]", '"', ",",
    ":", "\t", "\n", "\r\n", "\r", "\u2028", "\x85", "\x0b", "cifar10", "ncf", "yolov3",
]) | st.text(max_size=10)
# Field separators of every format here: tabs, commas, line breaks and JSON punctuation.
_TOKENS = re.compile(r"([\t,\n:{}\[\]])")


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """``text`` after one to four edits of the kinds real files suffer."""
    for _ in range(draw(st.integers(1, 4))):
        parts = _TOKENS.split(text)
        edit = draw(st.sampled_from(["field", "field", "field", "separator", "separator",
                                     "bom", "truncate", "line", "insert"]))
        if edit == "field":
            parts[2 * draw(st.integers(0, len(parts) // 2))] = draw(ATOMS)
        elif edit == "separator" and len(parts) > 1:
            index = 2 * draw(st.integers(0, len(parts) // 2 - 1)) + 1
            parts[index] = draw(st.sampled_from(["", parts[index] * 2, "\t", ",", "\n"]))
        text = "".join(parts)
        if edit == "bom":
            text = "\ufeff" + text
        elif edit == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif edit == "line":
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            lines[i: i + 1] = draw(st.sampled_from([[], [lines[i], lines[i]], [lines[i][:-1]]]))
            text = "".join(lines)
        elif edit == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(ATOMS) + text[at:]
    return text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-(10**400), 10**400)
    | st.floats() | st.sampled_from([float("nan"), float("inf"), 1e308, -0.0, 10**12 + 1])
    | st.text(max_size=8) | ATOMS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | ATOMS,
                                                                 inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_json(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three of its values replaced, keys deleted or added."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        node, key = _pick(draw, document)
        if node is None:
            document = draw(JSON_VALUES)
            continue
        edit = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if edit == "replace":
            node[key] = draw(JSON_VALUES)
        elif edit == "delete":
            del node[key]
        elif isinstance(node, dict):
            node[draw(st.text(max_size=6) | ATOMS)] = draw(JSON_VALUES)
        else:
            node.append(draw(JSON_VALUES))
    return document


def _pick(draw: st.DrawFn, document: Any) -> tuple[Any, Any]:
    """A (container, key) somewhere in ``document``, walking down at random; (None, None) for
    the document itself."""
    node, key = None, None
    current = document
    while isinstance(current, dict | list) and current and draw(st.integers(0, 3)):
        keys = list(current) if isinstance(current, dict) else list(range(len(current)))
        node, key = current, draw(st.sampled_from(keys))
        current = current[key]
    return node, key


def one_line_or_success(name: str, read: Callable[[], object]) -> None:
    """``read()`` succeeds or raises a ShockwaveError of one line that starts with ``name``."""
    try:
        outcome = read()
    except ShockwaveError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1, message
        assert message.startswith(name), message
        return
    if isinstance(outcome, Trace):  # what the simulator checks before it starts
        try:
            outcome.check_runnable(GAVEL_TABLE)
        except ShockwaveError as exc:
            assert len(str(exc).splitlines()) == 1 and str(exc).startswith(name), str(exc)


def _written(text: str, name: str) -> Path:
    path = FOLDER / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


@fuzz(1000)
@given(mutated_text(samples.REFERENCE))
def test_reference_reader(text: str) -> None:
    one_line_or_success("t.trace", lambda: parse_tsv(text, source="t.trace"))


@fuzz(600)
@given(mutated_text(samples.JSON_LINES))
def test_json_lines_reader_on_text(text: str) -> None:
    one_line_or_success("t.jsonl", lambda: parse_jsonl(text, "t.jsonl", throughputs=TABLE))


@fuzz(600)
@given(mutated_json([json.loads(line) for line in samples.JSON_LINES.splitlines()]))
def test_json_lines_reader_on_values(rows: Any) -> None:
    lines = rows if isinstance(rows, list) else [rows]
    text = "\n".join(json.dumps(row) for row in lines)
    one_line_or_success("t.jsonl", lambda: parse_jsonl(text, "t.jsonl", throughputs=TABLE))


@fuzz(300)
@given(mutated_text(samples.REFERENCE) | mutated_text(samples.JSON_LINES))
def test_either_format_by_content(text: str) -> None:
    one_line_or_success("t", lambda: parse_trace_text(text, "t", throughputs=TABLE))


@fuzz(600)
@given(mutated_text(samples.GAVEL), st.booleans())
def test_gavel_importer(text: str, strict: bool) -> None:
    one_line_or_success("g.trace", lambda: import_gavel(text, GAVEL_TABLE, "g.trace",
                                                        strict=strict).trace)


@fuzz(600)
@given(mutated_text(samples.POLLUX), st.sampled_from(["static", "accordion", "gns"]))
def test_pollux_importer(text: str, mode: str) -> None:
    one_line_or_success("w.csv", lambda: import_pollux(text, TABLE, "w.csv",
                                                       mode=mode).trace)  # type: ignore[arg-type]


@fuzz(400)
@given(mutated_json(samples.THROUGHPUTS) | mutated_text(samples.THROUGHPUTS_TEXT))
def test_throughputs_reader(document: Any) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    path = _written(text, "throughputs.json")
    one_line_or_success(str(path), lambda: load_throughputs(path))


@fuzz(600)
@given(mutated_json(samples.RESULT))
def test_saved_result_reader_on_values(document: Any) -> None:
    one_line_or_success("r.json", lambda: result_from_json(document, source="r.json"))


@fuzz(300)
@given(mutated_text(json.dumps(samples.REPORT_RESULTS)) | mutated_json(samples.REPORT_RESULTS))
def test_saved_results_file(document: Any) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    path = _written(text, "results.json")
    one_line_or_success(str(path), lambda: load_results(path))
