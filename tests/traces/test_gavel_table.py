"""Gavel's throughput table, bundled and selected by name (``--throughputs gavel``)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from cli_run import one_line_error, shockwave
from shockwave.errors import InputError
from shockwave.workload.throughput import (
    BUNDLED_THROUGHPUTS,
    bundled_throughputs_file,
    check_throughputs_source,
    load_throughputs,
    throughputs_label,
)

DATA = resources.files("shockwave") / "data"
TINY_TABLE = {"v100": {"('LM (batch size 5)', 1)": {"null": 2.5}}}


def test_the_gavel_table_is_bundled_with_its_three_gpu_types() -> None:
    table = load_throughputs("gavel")
    assert table.source == "gavel_throughputs.json"
    assert {"k80", "p100", "v100"} <= set(table.gpu_types)
    for gpu_type in ("k80", "p100", "v100"):
        assert len(table.table[gpu_type]) == 83
    # Values as Gavel measured them (not the Shockwave paper's tacc table, which differs).
    assert table.lookup("A3C", 4, 1, "v100") == 7.175767179667988
    assert table.lookup("ResNet-18", 16, 1, "v100") == 32.353384328946916
    assert load_throughputs().lookup("ResNet-18", 16, 1, "v100") != 32.353384328946916


def test_every_bundled_name_loads_and_is_attributed() -> None:
    notice = (DATA / "NOTICE.md").read_text()
    for name, file in BUNDLED_THROUGHPUTS.items():
        assert load_throughputs(name).source == file
        assert file in notice
    assert "stanford-futuredata/gavel" in notice and "Stanford Future Data Systems" in notice


def test_a_real_file_wins_over_a_bundled_name(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert bundled_throughputs_file("gavel") == "gavel_throughputs.json"
    assert throughputs_label("gavel") == "bundled:gavel_throughputs.json"
    (tmp_path / "gavel").write_text(json.dumps(TINY_TABLE))
    assert bundled_throughputs_file("gavel") is None
    assert throughputs_label("gavel") == "gavel"
    table = load_throughputs("gavel")
    assert table.source == "gavel" and table.lookup("LM", 5, 1) == 2.5
    check_throughputs_source("gavel")  # an existing file: fine


def test_a_folder_of_that_name_wins_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tacc").mkdir()
    with pytest.raises(InputError, match="^tacc: cannot read"):
        load_throughputs("tacc")


def test_the_default_is_still_the_tacc_table() -> None:
    assert bundled_throughputs_file(None) == "tacc_throughputs.json"
    assert throughputs_label(None) == "bundled:tacc_throughputs.json"


def test_an_unknown_name_is_neither_file_nor_table(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        check_throughputs_source("gavl", field="--throughputs")
    assert str(err.value) == ("--throughputs: 'gavl' is neither a file nor a bundled table "
                              "(bundled: gavel, tacc)")


@pytest.mark.parametrize("command", [["trace", "info"], ["simulate", "--policy", "fifo"],
                                     ["trace", "generate"]])
def test_cli_refuses_an_unknown_table_name_in_one_line(command: list[str]) -> None:
    error = one_line_error(shockwave(*command, "--throughputs", "gavl"))
    assert error.startswith("error: --throughputs: 'gavl' is neither a file nor a bundled table")


def test_cli_reads_the_gavel_table_by_name() -> None:
    result = shockwave("trace", "info", "--throughputs", "gavel", "--json")
    assert result.exit_code == 0, result.output
    with_tacc = shockwave("trace", "info", "--json")
    # Same trace, other speeds: the canonical trace's run times differ between the two tables.
    assert json.loads(result.stdout)["gpu_seconds"] != json.loads(with_tacc.stdout)["gpu_seconds"]


@pytest.mark.parametrize("command", [["trace", "info"], ["simulate", "--policy", "fifo"]])
def test_a_path_to_a_missing_file_is_not_the_bundled_name(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``./gavel`` names a file (here missing): only the bare name selects the bundled table."""
    monkeypatch.chdir(tmp_path)
    error = one_line_error(shockwave(*command, "--throughputs", "./gavel"))
    assert error == ("error: --throughputs: './gavel' is neither a file nor a bundled table "
                     "(bundled: gavel, tacc)")
