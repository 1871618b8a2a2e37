"""Loaders for the real datasets used by tutorials, demos and benchmarks.

Every loader takes ``root=``; by default the folder comes from ``$GEOMREP_DATA`` (set by the
Makefile to ``../shared/data`` when it exists). See :func:`data_root`.
"""

from ._root import data_root
from .dictionary_lookup import dictionary_lookup_graphs
from .eeg import (
    EEGSplit,
    filterbank_covariances,
    load_mamem_ssvep2,
    load_ssvep_exo_covariances,
    load_ssvep_exo_epochs,
    mamem_ssvep2_split,
)
from .hyperbolic_graphs import HYPERBOLIC_GRAPHS, load_hyperbolic_graph, load_polblogs
from .qm9 import QM9_TARGETS, load_qm9, qm9_csv_files
from .tu import TU_NAMES, default_cache_dir, load_tu_dataset
from .zinc import ZINC_SPLITS, load_zinc12k

__all__ = [
    "data_root",
    "EEGSplit",
    "load_mamem_ssvep2",
    "mamem_ssvep2_split",
    "load_ssvep_exo_covariances",
    "load_ssvep_exo_epochs",
    "filterbank_covariances",
    "load_zinc12k",
    "ZINC_SPLITS",
    "load_tu_dataset",
    "TU_NAMES",
    "default_cache_dir",
    "dictionary_lookup_graphs",
    "load_qm9",
    "qm9_csv_files",
    "QM9_TARGETS",
    "HYPERBOLIC_GRAPHS",
    "load_hyperbolic_graph",
    "load_polblogs",
]
