"""``serve --backend ray`` refuses what it cannot do with one line and exit 2, before it joins
any Ray cluster; without Ray installed it says how to get it. (The Ray end-to-end tests run the
service on a real Ray cluster: ``test_service_ray_backend.py``.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cli_run import one_line_error, shockwave


def serve(tmp_path: Path, *options: str) -> str:
    return one_line_error(shockwave("serve", "--state-dir", str(tmp_path / "s"), *options))


def test_without_ray_installed_the_ray_backend_says_how_to_get_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shockwave.service.backends as backends

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    monkeypatch.delitem(sys.modules, "shockwave.service.backends.ray", raising=False)
    monkeypatch.delattr(backends, "ray", raising=False)
    line = serve(tmp_path, "--backend", "ray", "--ray-address", "auto")
    assert line == ("error: --backend: needs Ray: install shockwave[ray] "
                    "(pip install 'shockwave[ray]')")


def test_ray_options_need_the_ray_backend(tmp_path: Path) -> None:
    assert serve(tmp_path, "--ray-address", "auto") == \
        "error: --ray-address: only with --backend ray"
    assert serve(tmp_path, "--gpus", "1", "--ray-resource", "slot") == \
        "error: --ray-resource: only with --backend ray"


def test_on_ray_the_slots_are_the_clusters(tmp_path: Path) -> None:
    assert serve(tmp_path, "--backend", "ray", "--gpus", "2").startswith(
        "error: --gpus: with --backend ray the slots are the Ray nodes'")
    assert serve(tmp_path, "--backend", "ray", "--device", "cpu").startswith(
        "error: --device: with --backend ray")


def test_the_ray_backend_checks_the_other_options_before_joining_a_cluster(
        tmp_path: Path) -> None:
    assert "unknown policy 'nope'" in serve(tmp_path, "--backend", "ray", "--policy", "nope")
    assert "without a token" in serve(tmp_path, "--backend", "ray", "--host", "0.0.0.0")
