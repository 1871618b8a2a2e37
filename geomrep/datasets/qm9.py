"""QM9 molecules (3-D geometries + DFT targets) from the CSV files shipped in the ``qm9pack`` wheel.

``qm9pack``'s own ``import`` is broken (it needs ``pkg_resources``/``pandas`` at import time), so the
package folder is located with :func:`importlib.util.find_spec` and its ``data/qm9_part{1,2,3}.csv``
files are read directly with the standard ``csv`` module. The three parts hold the 130,831 QM9
molecules in index order (part 1: indices 1–44,746, mostly smaller molecules).
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import random
import sys
from pathlib import Path

import torch
from torch_geometric.data import Data

__all__ = ["QM9_TARGETS", "qm9_csv_files", "load_qm9"]

#: numeric target columns of the qm9pack CSVs (units in the name: au = Hartree, bohr, debye, GHz …)
QM9_TARGETS = (
    "RotA_GHz",
    "RotB_GHz",
    "RotC_GHz",
    "Dipole_debye",
    "Polarizability_bohr3",
    "HOMO_au",
    "LUMO_au",
    "HOMO_LUMO_gap_au",
    "R2_bohr2",
    "ZPVE_au",
    "InternalEnergy_0K_au",
    "InternalEnergy_298K_au",
    "Enthalphy_298K_au",
    "GibbsFreeEnergy_298K_au",
    "Heatcapacity_Cv_cal_mol_K",
)

_ATOMIC_NUMBER = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}


def qm9_csv_files(parts=(1, 2, 3)) -> list[Path]:
    """Paths of ``qm9pack``'s ``qm9_part{k}.csv`` files (without importing ``qm9pack``).

    Raises:
        FileNotFoundError: if the wheel is not installed or a part is missing.
        ValueError: for a part outside {1, 2, 3}.
    """
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the 'qm9pack' wheel is not installed (pip install qm9pack)")
    root = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = []
    for k in parts:
        if k not in (1, 2, 3):
            raise ValueError(f"parts must be drawn from (1, 2, 3), got {parts!r}")
        path = root / f"qm9_part{k}.csv"
        if not path.exists():
            raise FileNotFoundError(f"QM9 CSV not found: {path}")
        files.append(path)
    return files


def load_qm9(
    num_molecules: int | None = None,
    *,
    target: str = "HOMO_LUMO_gap_au",
    seed: int = 0,
    parts=(1, 2, 3),
    max_atoms: int | None = None,
) -> list[Data]:
    """Load QM9 molecules as PyG ``Data(z, pos, y, smiles, idx)``.

    Args:
        num_molecules: a uniformly random subset of this size (drawn with ``seed``, returned in QM9
            index order); None loads all molecules of the chosen parts.
        target: one of :data:`QM9_TARGETS` (stored as ``y``, shape ``(1,)``, float32, CSV units).
        seed: subset seed.
        parts: which of the three CSV parts to read (part 1 alone is ~3× faster to scan).
        max_atoms: keep only molecules with at most this many atoms (hydrogens included).

    Returns:
        list of ``Data`` with ``z`` (N,) int64 atomic numbers, ``pos`` (N, 3) float32 Å, ``y`` (1,).

    Example:
        >>> mols = load_qm9(100, parts=(1,))  # doctest: +SKIP
        >>> mols[0].pos.shape[1]  # doctest: +SKIP
        3
    """
    if target not in QM9_TARGETS:
        raise ValueError(f"target must be one of {QM9_TARGETS}, got {target!r}")
    if num_molecules is not None and (not isinstance(num_molecules, int) or num_molecules < 1):
        raise ValueError(f"num_molecules must be a positive int or None, got {num_molecules!r}")
    files = qm9_csv_files(parts)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    lines: list[str] = []
    header = None
    for path in files:  # one molecule per line (no field holds a newline): parse only what is kept
        with open(path) as fh:
            header = next(csv.reader([fh.readline()]))
            lines.extend(fh.readlines())
    columns = {name: i for i, name in enumerate(header)}
    order = list(range(len(lines)))
    if num_molecules is not None:
        random.Random(seed).shuffle(order)
    kept: list[list[str]] = []
    for i in order:
        row = next(csv.reader([lines[i]]))
        if max_atoms is not None and int(row[columns["N_atoms"]]) > max_atoms:
            continue
        kept.append(row)
        if num_molecules is not None and len(kept) == num_molecules:
            break
    kept.sort(key=lambda r: int(r[columns["Index"]]))
    out = []
    for row in kept:
        elements = ast.literal_eval(row[columns["Elements"]])
        # Python literals ("0." appears); a few QM9 numbers use Mathematica exponents ("1.2*^-6")
        pos = torch.tensor(ast.literal_eval(row[columns["XYZ_Ang"]].replace("*^", "e")), dtype=torch.float32)
        z = torch.tensor([_ATOMIC_NUMBER[e] for e in elements], dtype=torch.int64)
        y = torch.tensor([float(row[columns[target]].replace("*^", "e"))], dtype=torch.float32)
        out.append(Data(z=z, pos=pos, y=y, smiles=row[columns["SMILES"]], idx=int(row[columns["Index"]])))
    return out
