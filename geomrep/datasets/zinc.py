"""ZINC-12k molecular regression (benchmarking-GNNs subset) from SMILES, graphs built with RDKit.

Files under ``<data>/zinc12k/`` (see its README): ``smiles_score.csv`` (columns ``SMILES, SA, logp,
score`` with ``score = logp - SA``) and ``indexes_train_val_test.csv`` (10,000 / 1,000 / 1,000).
Note the target is the un-normalised ``logP - SA`` without JT-VAE's ring term, so published
ZINC MAEs (on PyG's normalised target) are not directly comparable.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import torch
from torch_geometric.data import Data
from torch_geometric.utils import from_smiles

from ._root import data_root

__all__ = ["ZINC_SPLITS", "load_zinc12k"]

#: The splits of ZINC-12k, as accepted by ``splits`` of :func:`load_zinc12k`.
ZINC_SPLITS = ("train", "val", "test")
_TARGETS = ("score", "logp", "SA")


def _read_split(path: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {s: [] for s in ZINC_SPLITS}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for s in ZINC_SPLITS:
                if row.get(s, "") not in ("", None):
                    out[s].append(int(float(row[s])))
    return out


def load_zinc12k(
    root: str | os.PathLike | None = None,
    *,
    splits: tuple[str, ...] = ZINC_SPLITS,
    max_per_split: int | None = None,
    target: str = "score",
) -> dict[str, list[Data]]:
    """Load ZINC-12k molecules as PyG graphs (``torch_geometric.utils.from_smiles``, RDKit).

    Each graph has ``x (N, 9)`` long atom features (column 0 = atomic number, then chirality,
    degree, formal charge, #H, radicals, hybridisation, aromatic, in-ring), ``edge_index (2, E)``
    (both directions), ``edge_attr (E, 3)`` long bond features (column 0 = bond type),
    ``y (1,)`` float target and ``smiles``.

    Args:
        root: data folder (default ``$GEOMREP_DATA``), holding ``zinc12k/``.
        splits: which of ``"train"``, ``"val"``, ``"test"`` to build.
        max_per_split: keep only the first this many molecules of each split (for quick runs).
        target: ``"score"`` (``logP - SA``), ``"logp"`` or ``"SA"``.

    Returns:
        ``{split: list[Data]}`` in the order of the split file.

    Raises:
        FileNotFoundError: when the folder is missing. ValueError: unknown split/target.

    Example:
        >>> data = load_zinc12k(splits=("val",), max_per_split=10)  # needs rdkit and $GEOMREP_DATA/zinc12k
        >>> data["val"][0].x.shape[1]
        9
    """
    for s in splits:
        if s not in ZINC_SPLITS:
            raise ValueError(f"splits must be among {ZINC_SPLITS}, got {s!r}")
    if target not in _TARGETS:
        raise ValueError(f"target must be one of {_TARGETS}, got {target!r}")
    if max_per_split is not None and max_per_split < 0:
        raise ValueError(f"max_per_split must be >= 0, got {max_per_split}")
    folder = data_root(root, "zinc12k")
    with open(folder / "smiles_score.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    index = _read_split(folder / "indexes_train_val_test.csv")
    out = {}
    for s in splits:
        ids = index[s] if max_per_split is None else index[s][:max_per_split]
        graphs = []
        for i in ids:
            g = from_smiles(rows[i]["SMILES"])
            g.y = torch.tensor([float(rows[i][target])], dtype=torch.float32)
            graphs.append(g)
        out[s] = graphs
    return out
