"""Importers for Gavel's Philly-derived traces and the Pollux/Sia workload CSVs."""

from __future__ import annotations

import pytest

from shockwave.errors import InputError
from shockwave.traces.gavel import import_gavel
from shockwave.traces.jsonl import format_jsonl, parse_jsonl
from shockwave.traces.pollux import import_pollux, load_applications
from shockwave.workload.throughput import load_throughputs

R18 = ("ResNet-18 (batch size 32)\tcd %s/cifar10 && python3 main.py --batch_size 32 \t"
       "--num_steps\t1\t{steps}\t{arrival}\t{gpus}")
GAVEL = "\n".join([
    R18.format(steps=42975, arrival="0.000000", gpus=1),
    "CycleGAN\tcd %s/cyclegan && python3 cyclegan.py\t--n_steps\t1\t71711\t17.000000\t1",
    R18.format(steps=130062, arrival="30.500000", gpus=4),
    "",
])
POLLUX = """name,time,application,num_replicas,batch_size
cifar10-0,53,cifar10,1,128
imagenet-1,3472,imagenet,8,1600
yolov3-2,9550,yolov3,1,8
bert-3,14708,bert,4,48
ncf-4,18785,ncf,4,1024
deepspeech2-5,21157,deepspeech2,8,160
"""


def test_gavel_jobs_are_static_with_durations_from_throughputs() -> None:
    result = import_gavel(GAVEL, load_throughputs(), "msr.trace")
    jobs = result.trace.jobs
    assert [j.job_id for j in jobs] == [0, 1]
    assert [j.gpus for j in jobs] == [1, 4]
    assert [j.arrival_s for j in jobs] == [0.0, 30.5]
    assert {j.mode for j in jobs} == {"static"}
    assert jobs[0].duration_s == pytest.approx(1000, rel=1e-3)
    assert jobs[1].duration_s == pytest.approx(1000, rel=1e-3)
    assert jobs[0].command.endswith("--batch_size 32 ")
    assert result.trace.lines == (1, 3)
    assert [s.line for s in result.skipped] == [2]


def test_gavel_strict_refuses_jobs_without_throughputs() -> None:
    with pytest.raises(InputError) as err:
        import_gavel(GAVEL, load_throughputs(), "msr.trace", strict=True)
    assert (err.value.line, err.value.field) == (2, "job_type")


def test_gavel_import_round_trips_through_jsonl() -> None:
    trace = import_gavel(GAVEL, load_throughputs()).trace
    assert parse_jsonl(format_jsonl(trace.jobs)).jobs == trace.jobs


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("x\ty\n", 1, "line"),
        (R18.format(steps=0, arrival=0, gpus=1), 1, "total_steps"),
        (R18.format(steps=10, arrival="nan", gpus=1), 1, "arrival_time"),
        (R18.format(steps=10, arrival=0, gpus="two"), 1, "scale_factor"),
        (R18.format(steps=10, arrival=5, gpus=1) + "\n" + R18.format(steps=10, arrival=4, gpus=1),
         2, "arrival_time"),
        ("Bad type\tc\t-n\t1\t10\t0\t1", 1, "job_type"),
        ("LM (batch size 5)\tc\t-n\tyes\t10\t0\t1", 1, "needs_data_dir"),
    ],
)
def test_gavel_errors_are_located(text: str, line: int, field: str) -> None:
    with pytest.raises(InputError) as err:
        import_gavel(text, load_throughputs(), "msr.trace")
    assert (err.value.path, err.value.line, err.value.field) == ("msr.trace", line, field)


def test_gavel_with_nothing_runnable_is_an_error() -> None:
    with pytest.raises(InputError, match="no jobs.*skipped"):
        import_gavel(GAVEL.splitlines()[1], load_throughputs())


def test_pollux_applications_map_to_job_types_with_throughputs() -> None:
    result = import_pollux(POLLUX, load_throughputs(), "w.csv")
    shapes = [(j.model, j.batch_size, j.gpus) for j in result.trace.jobs]
    assert shapes == [
        ("ResNet-18", 128, 1), ("ResNet-50", 128, 8), ("ResNet-50", 16, 1),
        ("Transformer", 16, 4), ("Recommendation", 512, 1), ("LM", 20, 8),
    ]
    assert [j.arrival_s for j in result.trace.jobs] == [53, 3472, 9550, 14708, 18785, 21157]
    assert result.notes and "line 6" in result.notes[0]
    cifar = result.trace.jobs[0]
    assert cifar.duration_s == pytest.approx(load_applications()["cifar10"].run_time_s, rel=1e-3)


def test_pollux_mode_option_applies_to_every_job() -> None:
    trace = import_pollux(POLLUX, load_throughputs(), mode="gns").trace
    assert {j.mode for j in trace.jobs} == {"gns"}


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("name,time,app\n", 1, "header"),
        ("name,time,application,num_replicas,batch_size\nx,1,mnist,1,8\n", 2, "application"),
        ("name,time,application,num_replicas,batch_size\nx,-1,ncf,1,8\n", 2, "time"),
        ("name,time,application,num_replicas,batch_size\nx,1,ncf,0,8\n", 2, "num_replicas"),
        ("name,time,application,num_replicas,batch_size\nx,1,ncf,1,big\n", 2, "batch_size"),
        ("name,time,application,num_replicas,batch_size\nx,1,ncf,1,8,9\n", 2, "line"),
        ("name,time,application,num_replicas,batch_size\nx,5,ncf,1,8\ny,4,ncf,1,8\n", 3, "time"),
    ],
)
def test_pollux_errors_are_located(text: str, line: int, field: str) -> None:
    with pytest.raises(InputError) as err:
        import_pollux(text, load_throughputs(), "w.csv")
    assert (err.value.path, err.value.line, err.value.field) == ("w.csv", line, field)


def test_pollux_header_only_is_an_error() -> None:
    with pytest.raises(InputError, match="no jobs"):
        import_pollux("name,time,application,num_replicas,batch_size\n", load_throughputs())
