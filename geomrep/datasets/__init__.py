"""Loaders for the real datasets used by tutorials, demos and benchmarks.

Every loader takes ``root=``; by default the folder comes from ``$GEOMREP_DATA`` (set by the
Makefile to ``../shared/data`` when it exists). See :func:`data_root`.
"""

from ._root import data_root

__all__ = ["data_root"]
