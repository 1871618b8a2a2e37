"""Skip markers for the tests that read the real datasets (``$GEOMREP_DATA``, else ``../shared/data``).

``needs_data("zinc12k", "smiles_score.csv")`` skips a test, with the path in the reason, when that file or
folder is absent; CI has the data, so there the tests run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geomrep.datasets import data_root

__all__ = ["data_path", "needs_data"]


def data_path(dataset: str, *parts: str) -> Path | None:
    """``<data root>/dataset/parts…`` if it exists, else ``None``."""
    try:
        path = data_root(None, dataset).joinpath(*parts)
    except FileNotFoundError:
        return None
    return path if path.exists() else None


def needs_data(dataset: str, *parts: str) -> pytest.MarkDecorator:
    """``skipif`` marker: skip unless ``<data root>/dataset/parts…`` exists."""
    where = "/".join(("shared/data", dataset, *parts))
    missing = data_path(dataset, *parts) is None
    return pytest.mark.skipif(missing, reason=f"{where} not available (GEOMREP_DATA)")
