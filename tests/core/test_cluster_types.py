"""Clusters of several GPU types: the ``Cluster`` API and the ``--cluster`` text (parsing every
good and bad form, one-line errors naming the item)."""

from __future__ import annotations

import pytest

from shockwave.clusters import check_gpu_types, format_cluster, parse_cluster
from shockwave.errors import InputError
from shockwave.model import Cluster
from shockwave.workload.throughput import load_throughputs


def test_groups_get_contiguous_ids_in_the_order_given() -> None:
    cluster = Cluster.of_types([("v100", 4, 2), ("p100", 2, 1), ("k80", 4, 4)])
    assert cluster.is_heterogeneous
    assert cluster.num_gpus == 10 and cluster.gpu_type == "v100" and cluster.gpus_per_server == 4
    assert cluster.gpu_types == ("v100", "p100", "k80")
    assert [cluster.type_of(g) for g in range(10)] == ["v100"] * 4 + ["p100"] * 2 + ["k80"] * 4
    assert (cluster.count("v100"), cluster.count("p100"), cluster.count("k80")) == (4, 2, 4)
    assert cluster.count("a100") == 0
    assert cluster.servers_of("v100") == [[0, 1], [2, 3]]
    assert cluster.servers_of("p100") == [[4], [5]]
    assert cluster.servers_of("k80") == [[6, 7, 8, 9]]
    assert cluster.servers_of("a100") == []
    assert cluster.servers == [[0, 1], [2, 3], [4], [5], [6, 7, 8, 9]]


def test_a_gpu_id_outside_the_cluster_has_no_type() -> None:
    with pytest.raises(ValueError, match="GPU id 6"):
        Cluster.of_types([("v100", 3, 1), ("k80", 3, 1)]).type_of(6)


def test_one_group_is_the_plain_homogeneous_cluster() -> None:
    assert Cluster.of_types([("v100", 32, 1)]) == Cluster(32)
    one = Cluster.of_types([("p100", 8, 4)])
    assert one == Cluster(8, 4, "p100") and not one.is_heterogeneous and one.types is None
    assert one.groups == (("p100", 8, 4),) and one.gpu_types == ("p100",)
    assert one.type_of(7) == "p100" and one.count("p100") == 8
    assert one.servers_of("p100") == [[0, 1, 2, 3], [4, 5, 6, 7]] == one.servers


@pytest.mark.parametrize(("groups", "message"), [
    ([("v100", 4, 1), ("v100", 4, 1)], "each GPU type once"),
    ([("v100", 4, 3), ("k80", 4, 1)], "v100: 4 GPUs do not make whole servers of 3"),
    ([("v100", 0, 1), ("k80", 4, 1)], "v100: 0 GPUs"),
    ([("", 4, 1), ("k80", 4, 1)], "a GPU type must be a non-empty string"),
    ([("v100", 4, True), ("k80", 4, 1)], "True"),
])
def test_bad_groups_are_refused(groups: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Cluster.of_types(groups)


def test_a_cluster_of_types_must_agree_with_its_totals() -> None:
    with pytest.raises(InputError, match="num_gpus and gpu_type"):
        Cluster(num_gpus=5, gpu_type="v100", types=(("v100", 4, 1), ("k80", 4, 1)))


@pytest.mark.parametrize(("text", "per_server", "groups"), [
    ("v100:32,p100:32,k80:32", 1, (("v100", 32, 1), ("p100", 32, 1), ("k80", 32, 1))),
    ("v100:8/4,k80:6", 2, (("v100", 8, 4), ("k80", 6, 2))),
    (" v100 : 4 , k80:2/2 ", 1, (("v100", 4, 1), ("k80", 2, 2))),
    ("k80_unconsolidated:4,v100:1", 1, (("k80_unconsolidated", 4, 1), ("v100", 1, 1))),
])
def test_the_cluster_text_gives_groups_in_order(text: str, per_server: int, groups: tuple) -> None:
    cluster = parse_cluster(text, per_server)
    assert cluster.groups == groups
    assert parse_cluster(format_cluster(cluster)) == cluster


def test_one_item_is_a_homogeneous_cluster() -> None:
    assert parse_cluster("v100:32") == Cluster(32)
    assert parse_cluster("v100:32", 4) == Cluster(32, 4)
    assert format_cluster(Cluster(32, 4)) == "v100:32/4"


@pytest.mark.parametrize(("text", "expected"), [
    ("", "--cluster: expected TYPE:COUNT[,TYPE:COUNT...], e.g. v100:32,p100:32,k80:32, got nothing"),
    ("  ", "--cluster: expected TYPE:COUNT[,TYPE:COUNT...]"),
    ("v100:4,,k80:4", "--cluster: an empty item in 'v100:4,,k80:4' (two commas, or one at an end)"),
    ("v100:4,", "--cluster: an empty item in 'v100:4,'"),
    ("v100", "--cluster: item 'v100': expected TYPE:COUNT or TYPE:COUNT/PER_SERVER, e.g. v100:32"),
    ("v100:4,k80", "--cluster: item 'k80': expected TYPE:COUNT"),
    (":4", "--cluster: item ':4': a GPU type is letters, digits and . _ + - (at most 64), got ''"),
    ("v 100:4", "--cluster: item 'v 100:4': a GPU type is letters, digits and . _ + -"),
    ("v100:x", "--cluster: item 'v100:x': the GPU count must be an integer in [1, 100,000], got 'x'"),
    ("v100:", "--cluster: item 'v100:': the GPU count must be an integer in [1, 100,000], got ''"),
    ("v100:0", "--cluster: item 'v100:0': the GPU count must be an integer in [1, 100,000], got '0'"),
    ("v100:-4", "got '-4'"),
    ("v100:2.5", "got '2.5'"),
    ("v100:4:2", "got '4:2'"),
    ("v100:100001", "got '100001'"),
    ("v100:4/0", "--cluster: item 'v100:4/0': GPUs per server must be an integer in [1, 100,000], got '0'"),
    ("v100:4/", "GPUs per server must be an integer in [1, 100,000], got ''"),
    ("v100:4/2/2", "GPUs per server must be an integer in [1, 100,000], got '2/2'"),
    ("v100:4/3", "--cluster: item 'v100:4/3': 4 GPUs do not make whole servers of 3"),
    ("k80:4,v100:4,k80:2", "--cluster: item 'k80:2': GPU type 'k80' is given twice"),
    ("v100:60000,k80:60000", "--cluster: 120,000 GPUs in all; a cluster has at most 100,000"),
])
def test_bad_cluster_text_is_one_line_naming_the_item(text: str, expected: str) -> None:
    with pytest.raises(InputError) as error:
        parse_cluster(text)
    assert expected in str(error.value)
    assert "\n" not in str(error.value) and str(error.value).startswith("--cluster: ")


def test_servers_per_type_default_to_gpus_per_server_and_say_so() -> None:
    with pytest.raises(InputError, match=r"item 'k80:6': 6 GPUs do not make whole servers of 4 "
                                         r"\(--gpus-per-server; an item may say"):
        parse_cluster("v100:8,k80:6", 4)


def test_a_type_the_table_does_not_have_is_named() -> None:
    table = load_throughputs()
    check_gpu_types(parse_cluster("v100:4,k80:4"), table)
    with pytest.raises(InputError, match=r"--cluster: GPU type 'a100' is not in "
                                         r"tacc_throughputs.json \(it has k80, p100, v100"):
        check_gpu_types(parse_cluster("v100:4,a100:4"), table)
