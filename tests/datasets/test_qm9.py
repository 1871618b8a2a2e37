"""QM9 loader: reads qm9pack's CSVs without importing qm9pack; checks shapes, chemistry, determinism."""

import pytest
import torch

from geomrep.datasets import QM9_TARGETS, load_qm9, qm9_csv_files

try:
    qm9_csv_files()
    _QM9_MISSING = None
except FileNotFoundError as err:  # qm9pack is only in the [tutorials] extra
    _QM9_MISSING = str(err)
needs_qm9 = pytest.mark.skipif(_QM9_MISSING is not None, reason=f"QM9 data unavailable: {_QM9_MISSING}")


@needs_qm9
def test_files_found_without_import():
    files = qm9_csv_files()
    assert [f.name for f in files] == ["qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv"]


@needs_qm9
def test_subset_shapes_and_values():
    mols = load_qm9(20, parts=(1,), seed=3, target="HOMO_LUMO_gap_au")
    assert len(mols) == 20
    assert [m.idx for m in mols] == sorted(m.idx for m in mols)
    for m in mols:
        assert m.pos.shape == (m.z.numel(), 3) and m.pos.dtype == torch.float32
        assert set(m.z.tolist()) <= {1, 6, 7, 8, 9}
        assert 0.02 < float(m.y) < 0.7  # HOMO–LUMO gaps in Hartree
        bonds = torch.cdist(m.pos, m.pos) + 10 * torch.eye(len(m.pos))
        assert 0.9 < float(bonds.min()) < 1.2  # shortest bond (X–H) in Å
    again = load_qm9(20, parts=(1,), seed=3)
    assert [m.idx for m in again] == [m.idx for m in mols]
    assert [m.idx for m in load_qm9(20, parts=(1,), seed=4)] != [m.idx for m in mols]


@needs_qm9
def test_first_molecule_is_methane():
    (ch4,) = [m for m in load_qm9(None, parts=(1,), max_atoms=5, target="InternalEnergy_0K_au") if m.idx == 1]
    assert ch4.smiles == "C" and ch4.z.tolist() == [6, 1, 1, 1, 1]
    assert float(ch4.y) == pytest.approx(-40.47893, abs=1e-4)  # U0 of methane in Hartree


def test_bad_arguments():
    assert "HOMO_LUMO_gap_au" in QM9_TARGETS
    with pytest.raises(ValueError, match="target"):
        load_qm9(5, target="gap")
    with pytest.raises(ValueError, match="num_molecules"):
        load_qm9(0)


@needs_qm9
def test_bad_parts():
    with pytest.raises(ValueError, match="parts"):
        qm9_csv_files((4,))
