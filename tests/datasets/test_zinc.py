"""ZINC-12k loader: graphs from SMILES (RDKit), split file, targets."""

import csv
import importlib.util

import pytest
import torch

from geomrep.datasets import data_root, load_zinc12k

try:
    _HAVE_ZINC = (data_root(None, "zinc12k") / "smiles_score.csv").exists()
except FileNotFoundError:
    _HAVE_ZINC = False
_HAVE_RDKIT = importlib.util.find_spec("rdkit") is not None


@pytest.mark.skipif(not _HAVE_ZINC, reason="shared/data/zinc12k not available (set GEOMREP_DATA)")
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
    with pytest.raises(ValueError, match="target"):
        load_zinc12k(target="qed")
    with pytest.raises(FileNotFoundError):
        load_zinc12k(root="/nonexistent/folder")
