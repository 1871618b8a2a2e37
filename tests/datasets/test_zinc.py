"""ZINC-12k loader: graphs from SMILES (RDKit), split file, targets."""

import csv
import importlib.util

import pytest
import torch

from geomrep.datasets import data_root, load_zinc12k
from geomrep.datasets.zinc import ZINC_TARGETS, largest_ring_size, penalized_logp
from tests._data import needs_data

needs_zinc = needs_data("zinc12k", "smiles_score.csv")
_HAVE_RDKIT = importlib.util.find_spec("rdkit") is not None


@needs_zinc
@pytest.mark.skipif(not _HAVE_RDKIT, reason="rdkit (needed to build graphs from SMILES) is not installed")
def test_zinc_graphs_and_targets():
    data = load_zinc12k(splits=("val", "test"), max_per_split=40)
    assert set(data) == {"val", "test"} and len(data["val"]) == 40
    g = data["val"][0]
    assert g.x.dtype == torch.long and g.x.shape[1] == 9 and g.edge_attr.shape == (g.edge_index.size(1), 3)
    assert g.edge_index.max() < g.num_nodes and g.y.shape == (1,)
    # first val molecule is row 10000; target score = logp - SA read independently from the CSV
    with open(data_root(None, "zinc12k") / "smiles_score.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    row = rows[10000]
    assert g.smiles == row["SMILES"]
    assert abs(float(g.y) - (float(row["logp"]) - float(row["SA"]))) < 1e-4
    # heavy atoms only, undirected: every edge appears in both directions
    ei = g.edge_index
    assert {tuple(e) for e in ei.T.tolist()} == {tuple(e) for e in ei.flip(0).T.tolist()}
    logp = load_zinc12k(splits=("val",), max_per_split=1, target="logp")["val"][0]
    assert abs(float(logp.y) - float(row["logp"])) < 1e-4


def test_zinc_bad_arguments():
    with pytest.raises(ValueError, match="splits"):
        load_zinc12k(splits=("dev",))
    with pytest.raises(ValueError, match="target must be one of .*penalized_logp"):
        load_zinc12k(target="qed")
    assert ZINC_TARGETS == ("score", "logp", "SA", "penalized_logp")
    with pytest.raises(FileNotFoundError):
        load_zinc12k(root="/nonexistent/folder")


# JT-VAE's ZINC-250k constants, written out again so the test does not share them with the module
_MU_LOGP, _SD_LOGP = 2.4570953396190123, 1.434324401111988
_MU_NEG_SA, _SD_NEG_SA = -3.0525811293166134, 0.8335207024513095
_MU_NEG_CYCLE, _SD_NEG_CYCLE = -0.0485696876403053, 0.2860212110245455


def _reference_penalized_logp(smiles, sa):
    """Independent penalised logP: RDKit Crippen logP, the CSV's SA, the ring rule spelled out."""
    from rdkit import Chem
    from rdkit.Chem import Crippen

    mol = Chem.MolFromSmiles(smiles)
    ring_sizes = [len(ring) for ring in mol.GetRingInfo().AtomRings()]
    largest = max(ring_sizes) if ring_sizes else 0
    cycle = largest - 6 if largest > 6 else 0
    logp = Crippen.MolLogP(mol)
    return (
        (logp - _MU_LOGP) / _SD_LOGP
        + (-sa - _MU_NEG_SA) / _SD_NEG_SA
        + (-cycle - _MU_NEG_CYCLE) / _SD_NEG_CYCLE
    ), largest


@pytest.mark.skipif(not _HAVE_RDKIT, reason="rdkit is not installed")
def test_penalized_logp_formula_and_ring_sizes():
    # ring rule: largest ring in atoms, 0 without rings; cycle penalty only above 6 atoms
    assert largest_ring_size("CCO") == 0
    assert largest_ring_size("c1ccc2ccccc2c1") == 6
    assert largest_ring_size("C1CCCCCCC1") == 8
    assert largest_ring_size("C1CCCCCCCCCCC1CC1CC1") == 12
    with pytest.raises(ValueError, match="smiles"):
        largest_ring_size("C1CC")
    # logP and SA at their ZINC-250k means: only the cycle term is left, (-cycle + 0.04857) / 0.28602
    at_mean = (_MU_LOGP, -_MU_NEG_SA)
    assert penalized_logp(*at_mean, 0) == pytest.approx(0.169811, abs=1e-5)
    assert penalized_logp(*at_mean, 6) == penalized_logp(*at_mean, 0)
    assert penalized_logp(*at_mean, 8) == pytest.approx((-2 - _MU_NEG_CYCLE) / _SD_NEG_CYCLE, abs=1e-12)
    assert penalized_logp(*at_mean, 8) == pytest.approx(-6.822677, abs=1e-5)
    # one more unit of logP raises y by 1/σ_logP; one more unit of SA lowers it by 1/σ_SA
    assert penalized_logp(_MU_LOGP + 1, -_MU_NEG_SA, 0) - penalized_logp(*at_mean, 0) == pytest.approx(
        1 / _SD_LOGP
    )
    assert penalized_logp(_MU_LOGP, -_MU_NEG_SA + 1, 0) - penalized_logp(*at_mean, 0) == pytest.approx(
        -1 / _SD_NEG_SA
    )


@needs_zinc
@pytest.mark.skipif(not _HAVE_RDKIT, reason="rdkit (needed to build graphs from SMILES) is not installed")
def test_zinc_penalized_logp_target_matches_an_independent_computation():
    graphs = load_zinc12k(splits=("val",), max_per_split=40, target="penalized_logp")["val"]
    with open(data_root(None, "zinc12k") / "smiles_score.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    largest = []
    for k, g in enumerate(graphs):
        row = rows[10000 + k]  # val molecules are rows 10000.. in order
        assert g.smiles == row["SMILES"]
        expected, ring = _reference_penalized_logp(row["SMILES"], float(row["SA"]))
        largest.append(ring)
        assert float(g.y) == pytest.approx(expected, abs=1e-4)
    # the handful must exercise the ring penalty (rows 10013, 10032, 10033 have 7- and 8-atom rings)
    assert sum(r > 6 for r in largest) >= 2 and max(largest) >= 8


@pytest.mark.slow
@needs_zinc
@pytest.mark.skipif(not _HAVE_RDKIT, reason="rdkit (needed to build graphs from SMILES) is not installed")
def test_zinc_penalized_logp_split_statistics_match_the_benchmark():
    """Benchmark ZINC-12k y: training mean ≈ 0.015, std ≈ 2.0, values within about [-40, 5].

    The bounds separate the target from ``score`` (logP − SA: training mean −0.60, min −10.4) and from a
    sign error on SA (mean ≈ 7.3); measured here: train mean 0.031, std 1.933, range [−22.0, 3.83].
    """
    data = load_zinc12k(target="penalized_logp")
    for split, graphs in data.items():
        y = torch.tensor([float(g.y) for g in graphs], dtype=torch.float64)
        tol = 0.15 if split == "train" else 0.3
        assert abs(float(y.mean()) - 0.015) < tol, (split, float(y.mean()))
        assert 1.7 < float(y.std()) < 2.3, (split, float(y.std()))
        assert -40.0 < float(y.min()) and float(y.max()) < 5.0, (split, float(y.min()), float(y.max()))
    train = torch.tensor([float(g.y) for g in data["train"]])
    assert len(train) == 10_000 and float(train.min()) < -15.0  # the ring penalty reaches large rings
