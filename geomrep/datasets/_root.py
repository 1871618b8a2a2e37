"""Where the real datasets live: ``root=`` argument, else ``$GEOMREP_DATA``, else ``../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_root"]

_ENV = "GEOMREP_DATA"


def data_root(root: str | os.PathLike | None = None, subdir: str | None = None) -> Path:
    """Resolve the data folder.

    Order: the ``root`` argument; the ``GEOMREP_DATA`` environment variable (the Makefile sets it to
    ``../shared/data`` when that folder exists); ``shared/data`` beside the source checkout.

    Args:
        root: explicit folder holding the datasets (or a dataset's own folder when ``subdir`` is None).
        subdir: the dataset's folder name inside the root, e.g. ``"mamem_ssvep2"``.

    Raises:
        FileNotFoundError: naming every place that was tried.
    """
    tried = []
    candidates = []
    if root is not None:
        candidates.append(Path(root))
    elif os.environ.get(_ENV):
        candidates.append(Path(os.environ[_ENV]))
    else:
        candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "data")
    for base in candidates:
        path = base / subdir if subdir else base
        if path.exists():
            return path
        tried.append(str(path))
    raise FileNotFoundError(
        f"dataset folder not found (tried: {', '.join(tried)}). Pass root=... or set ${_ENV} "
        "to the folder holding the datasets (see shared/data/README.md for sources)."
    )
