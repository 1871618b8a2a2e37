"""Loaders for the real datasets used by tutorials, demos and benchmarks.

Every loader takes ``root=``; by default the folder comes from ``$GEOMREP_DATA`` (set by the
Makefile to ``../shared/data`` when it exists). See :func:`data_root`.
"""

from ._root import data_root
from .eeg import (
    EEGSplit,
    load_mamem_ssvep2,
    load_ssvep_exo_covariances,
    load_ssvep_exo_epochs,
    mamem_ssvep2_split,
)

__all__ = [
    "data_root",
    "EEGSplit",
    "load_mamem_ssvep2",
    "mamem_ssvep2_split",
    "load_ssvep_exo_covariances",
    "load_ssvep_exo_epochs",
]
