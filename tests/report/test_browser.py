"""The report opens from disk in a real browser (headless Chromium, no network, no server):
every image loads and the metrics table has one row per policy. Saves a screenshot to
``tests/report/artifacts/report.png``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_synthetic import synthetic_result

from shockwave.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent / "artifacts"
POLICIES = ("shockwave", "max_min_fairness", "finish_time_fairness", "gandiva_fair")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
)
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const broken = images.filter((i) => !(i.complete && i.naturalWidth > 0))
                       .map((i) => i.getAttribute("src"));
  const rows = document.querySelectorAll("#metrics tbody tr").length;
  const marker = document.createElement("pre");
  marker.id = "probe";
  marker.textContent = "PROBE" + JSON.stringify({images: images.length, broken, rows}) + "END";
  document.body.appendChild(marker);
});
</script>"""

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    results = [synthetic_result(p, num_jobs=24, num_gpus=12, seed=7) for p in POLICIES]
    out = tmp_path_factory.mktemp("browser-report")
    return build_report(results, out, command_line="shockwave compare --report out")


def test_every_image_loads_and_table_has_a_row_per_policy(report: Path, tmp_path: Path) -> None:
    probe = report.with_name("probe.html")
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    done = _chromium(tmp_path / "profile", "--virtual-time-budget=15000", "--dump-dom",
                     probe.as_uri())
    found = re.search(r"<pre id=\"probe\">PROBE(.*?)END</pre>", done.stdout)
    assert found, f"no probe result; chromium said: {done.stderr[-2000:]}"
    state = json.loads(found.group(1))
    assert state["broken"] == []
    expected_images = 3 + 2 * len(POLICIES)
    assert state["images"] == expected_images
    assert state["rows"] == len(POLICIES)


def test_screenshot(report: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    _chromium(tmp_path / "profile", "--virtual-time-budget=15000", "--window-size=1360,5200",
              f"--screenshot={shot}", report.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
