"""The report's figures plot exactly what ``shockwave.metrics`` computes (DESIGN: "every number a
report shows comes from metrics.py").

The results come from the real simulator on a small trace whose jobs arrive at different times
(so a job's JCT, completion - arrival, differs from its completion time) and outnumber the GPUs
(so finish-time fairness has a contention factor N/G = 3, not 1, and some jobs are unfair). The expected series are
computed here from ``metrics`` functions, independently of ``report.runs``: a figure that plotted
completion times, or rhos without the contention factor, would fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from shockwave import Cluster, load_trace, make_sim_config, simulate
from shockwave.metrics import ftf_rhos, jcts_s, summarize
from shockwave.report.charts import PANELS, ftf_cdf_figure, jct_cdf_figure, summary_figure
from shockwave.report.runs import make_runs

POLICIES = ("fifo", "max_min_fairness", "gandiva_fair")
NUM_JOBS = 24
NUM_GPUS = 8
"""The canonical trace's first 24 jobs (arrivals from 0 to 1,179 s, gangs up to 4 GPUs) on 8
GPUs: N/G = 3, a sixth to a half of the jobs unfair, all three policies different."""


@pytest.fixture(scope="module")
def runs():
    jobs = load_trace().jobs[:NUM_JOBS]
    results = [simulate(jobs, Cluster(NUM_GPUS), p, make_sim_config("fixed")) for p in POLICIES]
    return make_runs(results)


def _cdf_lines(fig: Figure, runs) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each run's plotted line (x, y), found by its legend label."""
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    return {run.key: (np.asarray(lines[run.label].get_xdata(), dtype=float),
                      np.asarray(lines[run.label].get_ydata(), dtype=float)) for run in runs}


def _cumulative_pct(n: int) -> np.ndarray:
    return 100.0 * np.arange(1, n + 1) / n


def test_the_trace_tells_jcts_from_completion_times(runs):
    for run in runs:
        records = run.result.records
        assert len(records) == NUM_JOBS
        completion = np.sort([r.completion_s for r in records])
        assert not np.allclose(completion, np.sort(jcts_s(records)))
    assert max(run.summary.unfair_fraction_pct for run in runs) > 0


def test_jct_cdf_plots_metrics_jcts(runs):
    """The JCT CDF's x values are ``metrics.jcts_s`` (completion - arrival) in hours, sorted;
    y is the cumulative % of jobs. Kills: the CDF plotting completion times instead of JCTs."""
    plotted = _cdf_lines(jct_cdf_figure(runs), runs)
    for run in runs:
        xs, ys = plotted[run.key]
        expected = np.sort(jcts_s(run.result.records)) / 3600.0
        np.testing.assert_allclose(xs, expected, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ys, _cumulative_pct(NUM_JOBS), rtol=1e-12)


def test_ftf_cdf_plots_metrics_rhos(runs):
    """The FTF CDF's x values are ``metrics.ftf_rhos`` of the run's records, sorted."""
    plotted = _cdf_lines(ftf_cdf_figure(runs), runs)
    for run in runs:
        result = run.result
        xs, ys = plotted[run.key]
        expected = np.sort(ftf_rhos(result.records, result.num_trace_jobs, result.num_gpus))
        np.testing.assert_allclose(xs, expected, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ys, _cumulative_pct(NUM_JOBS), rtol=1e-12)
        # The contention factor is in: rho = JCT / (T_j * N/G) with N/G = 24/8 = 3.
        jct = {r.job_id: r.jct_s for r in result.records}
        rho0 = jct[0] / (result.record(0).run_time_s * 3)
        assert np.isclose(xs, rho0, rtol=1e-12, atol=0).any()


@pytest.mark.parametrize("baseline", [0, 1])
def test_summary_bars_are_metrics_over_the_baseline(runs, baseline):
    """Each panel's bars are ``metrics.summarize`` of each run divided by the baseline's."""
    base = runs[baseline]
    fig = summary_figure(runs, base)
    summaries = [summarize(run.result) for run in runs]
    base_summary = summarize(base.result)
    assert len(fig.axes) == len(PANELS)
    for ax, panel in zip(fig.axes, PANELS, strict=True):
        heights = [bar.get_height() for bar in ax.containers[0].patches]
        base_value = getattr(base_summary, panel.field)
        if base_value == 0:  # drawn as absolute values
            expected = [getattr(s, panel.field) for s in summaries]
        else:
            expected = [getattr(s, panel.field) / base_value for s in summaries]
        np.testing.assert_allclose(heights, expected, rtol=1e-12, err_msg=panel.field)
