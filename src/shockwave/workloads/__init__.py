"""Small real PyTorch training jobs shipped with the package, written against ``shockwave.job``
like any user's script (``docs/job-library.md``, "Bundled workloads"). None downloads anything.

=========== ============================================= ==============================
name        what                                          stands in for
=========== ============================================= ==============================
digits      a small CNN on scikit-learn's bundled digits  ResNet-18 / CIFAR-10
tinylm      a character-level GRU on seeded Markov text   LSTM / WikiText-2
recommend   a denoising autoencoder on synthetic          Recoder / MovieLens-20M
            implicit feedback from a low-rank model
=========== ============================================= ==============================

Each runs as ``python -m shockwave.workloads.NAME [--epochs N] [--batch-size B] [--seed S]
[--params-out PATH] [--checkpoint-dir DIR]``, standalone or under the service; its job spec is
``specs/NAME.yaml`` (``spec_path(NAME)``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

WORKLOADS = ("digits", "tinylm", "recommend")
SPECS = (*WORKLOADS, "digits-2rank", "digits-gns", "tinylm-accordion")


def spec_path(name: str) -> Path:
    """The bundled job spec ``specs/<name>.yaml``."""
    if name not in SPECS:
        raise ValueError(f"no bundled job spec {name!r}; known: {', '.join(SPECS)}")
    return Path(str(resources.files("shockwave.workloads") / "specs" / f"{name}.yaml"))
