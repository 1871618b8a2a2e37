"""TU graph-classification datasets (MUTAG, PROTEINS, ENZYMES) read offline with PyG's ``TUDataset``.

The raw TU files live under ``<data>/tudatasets/<NAME>/raw/``. PyG writes a ``processed/`` folder
next to ``raw/`` on first use, so the raw files are copied into a writable cache folder first
(the shared data folder is never written to).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from torch_geometric.datasets import TUDataset

from ._root import data_root

__all__ = ["TU_NAMES", "load_tu_dataset", "default_cache_dir"]

#: The TU datasets :func:`load_tu_dataset` reads (``name``).
TU_NAMES = ("MUTAG", "PROTEINS", "ENZYMES")


def default_cache_dir() -> Path:
    """``$GEOMREP_CACHE`` if set, else ``~/.cache/geomrep`` (where processed datasets are written)."""
    env = os.environ.get("GEOMREP_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "geomrep"


def load_tu_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    **kwargs,
) -> TUDataset:
    """A :class:`torch_geometric.datasets.TUDataset` built from the offline raw files.

    Args:
        name: ``"MUTAG"``, ``"PROTEINS"`` or ``"ENZYMES"`` (any TU name whose raw files are present).
        root: data folder (default ``$GEOMREP_DATA``), holding ``tudatasets/<name>/raw``.
        cache_dir: writable folder for PyG's copy (default :func:`default_cache_dir` ``/tudatasets``).
        **kwargs: forwarded to ``TUDataset`` (``transform``, ``pre_transform``, ``use_node_attr`` …).

    Returns:
        The dataset (MUTAG: 188 graphs, 7 one-hot node labels, 4 edge labels, 2 classes).

    Raises:
        FileNotFoundError: when ``tudatasets/<name>/raw`` does not exist.

    Example:
        >>> ds = load_tu_dataset("MUTAG")  # reads $GEOMREP_DATA/tudatasets/MUTAG
        >>> len(ds), ds.num_classes
        (188, 2)
    """
    raw = data_root(root, "tudatasets") / name / "raw"
    if not raw.is_dir():
        raise FileNotFoundError(f"no raw TU files for {name!r} at {raw} (available: {TU_NAMES})")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "tudatasets"
    target = cache / name / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for f in raw.iterdir():
        dst = target / f.name
        if f.is_file() and (not dst.exists() or dst.stat().st_size != f.stat().st_size):
            shutil.copyfile(f, dst)
    return TUDataset(str(cache), name, **kwargs)
