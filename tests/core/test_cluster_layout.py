"""Clusters of uneven servers, some gone (the service on Ray): the layout is what the mechanism
places on, and a gang never keeps GPUs that left the cluster."""

from __future__ import annotations

import pytest

from shockwave.errors import InputError
from shockwave.mechanism import place_gangs
from shockwave.model import Cluster


def test_a_layout_names_the_servers_and_their_gpu_ids() -> None:
    cluster = Cluster.from_layout([[0, 1, 2], [5, 6]])
    assert cluster.servers == [[0, 1, 2], [5, 6]]
    assert cluster.num_gpus == 5 and cluster.gpus_per_server == 3


def test_without_a_layout_servers_are_whole_and_contiguous() -> None:
    assert Cluster(num_gpus=4, gpus_per_server=2).servers == [[0, 1], [2, 3]]


@pytest.mark.parametrize("layout", [[[0, 1], [1, 2]], [[0], []], [[-1, 0]]])
def test_a_bad_layout_is_refused(layout: list[list[int]]) -> None:
    with pytest.raises(InputError, match="layout"):
        Cluster.from_layout(layout)


def test_a_layout_must_hold_num_gpus_ids() -> None:
    with pytest.raises(InputError, match="layout"):
        Cluster(num_gpus=3, gpus_per_server=2, layout=((0, 1),))


def test_gangs_go_on_one_server_when_the_servers_allow_it() -> None:
    placed = place_gangs([1, 2], {1: 2, 2: 2}, Cluster.from_layout([[0, 1], [2, 3]]).servers, {})
    assert placed == {1: (0, 1), 2: (2, 3)}


def test_a_gang_does_not_keep_gpus_of_a_server_that_left() -> None:
    # Server [0, 1] is gone: the gang that ran there moves to the one left.
    placed = place_gangs([1], {1: 2}, Cluster.from_layout([[2, 3]]).servers, {1: (0, 1)})
    assert placed == {1: (2, 3)}
    with pytest.raises(ValueError, match="over-committed"):
        place_gangs([1, 2], {1: 2, 2: 2}, [[2, 3]], {1: (0, 1)})
