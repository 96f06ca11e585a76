"""Reports of simulation results: figures (matplotlib, Agg), data files and a self-contained
HTML page. Every number shown comes from ``shockwave.metrics``."""

from shockwave.report.build import build_report

__all__ = ["build_report"]
