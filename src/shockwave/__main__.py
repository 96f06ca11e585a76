"""``python -m shockwave``: the same command as ``shockwave``."""

from shockwave.cli import run

run()
