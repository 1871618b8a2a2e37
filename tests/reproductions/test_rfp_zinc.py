"""reproductions/rfp_zinc.py: equal parameter budget, invariance of the GINE arms, and a ``--quick`` run."""

import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reproductions import rfp_zinc  # noqa: E402
from tests._data import needs_data  # noqa: E402

needs_zinc = needs_data("zinc12k")

SMILES = ("CC(=O)Oc1ccccc1C(=O)O", "C1CCNCC1", "c1ccc2ccccc2c1")


def _small_args(**kw):
    args = rfp_zinc.parse_args(["--lap-k", "3", "--rw-steps", "5", "--rfp-k", "3", "--rfp-steps", "2"])
    for k, v in kw.items():
        setattr(args, k, v)
    return args


def _molecules(args):
    """Three molecules with their fixed PEs, built as ``load_data`` builds them (no data folder needed)."""
    from torch_geometric.transforms import AddLaplacianEigenvectorPE, AddRandomWalkPE
    from torch_geometric.utils import from_smiles

    from geomrep.graphs.rfp import AddRandomFeaturePropagationPE

    lap = AddLaplacianEigenvectorPE(args.lap_k, attr_name="lap", is_undirected=True)
    rw = AddRandomWalkPE(args.rw_steps, attr_name="rw")
    rfp = AddRandomFeaturePropagationPE(
        args.rfp_k, args.rfp_steps, normalization="qr", attr_name="rfp", seed=0
    )
    out = []
    for i, s in enumerate(SMILES):
        g = from_smiles(s)
        del g.smiles
        g.y = torch.tensor([float(i)])
        g = rfp(rw(lap(g)))
        g.lap, g.rfp = g.lap.float(), g.rfp.float()
        out.append(g)
    return out


def _permuted(g, perm):
    """The molecule with its nodes relabelled (new node ``i`` = old node ``perm[i]``), PEs permuted too."""
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    h = g.clone()
    for key in ("x", "lap", "rw", "rfp"):
        h[key] = g[key][perm]
    h.edge_index = inv[g.edge_index]
    return h


@pytest.mark.parametrize("arm", rfp_zinc.ARMS + rfp_zinc.EXTRA_ARMS)
def test_width_for_budget_is_the_largest_width_within_budget(arm):
    args = _small_args()
    hidden, params = rfp_zinc.width_for_budget(arm, 2, 30_000, args)
    assert params <= 30_000
    assert rfp_zinc.count_params(rfp_zinc.GINENet(arm, hidden + 1, 2, args)) > 30_000
    assert params == rfp_zinc.count_params(rfp_zinc.GINENet(arm, hidden, 2, args))


def test_width_for_budget_rejects_a_budget_below_the_smallest_model():
    with pytest.raises(ValueError, match="too small"):
        rfp_zinc.width_for_budget("none", 2, 100, _small_args())


@pytest.mark.parametrize("arm", ["none", "lap", "rw", "rfp"])
def test_gine_prediction_is_invariant_to_node_relabelling(arm):
    from torch_geometric.data import Batch

    args = _small_args()
    graphs = _molecules(args)
    torch.manual_seed(0)
    model = rfp_zinc.GINENet(arm, 16, 2, args).eval()
    gen = torch.Generator().manual_seed(1)
    perm = [_permuted(g, torch.randperm(g.num_nodes, generator=gen)) for g in graphs]
    with torch.no_grad():
        y = model(Batch.from_data_list(graphs))
        y_perm = model(Batch.from_data_list(perm))
    assert y.shape == (len(SMILES),)
    torch.testing.assert_close(y_perm, y, atol=1e-4, rtol=1e-4)
    # the PE actually reaches the prediction: zeroing it changes the output
    if arm != "none":
        b = Batch.from_data_list(graphs)
        b[arm] = torch.zeros_like(b[arm])
        with torch.no_grad():
            assert not torch.allclose(model(b), y)


@pytest.mark.parametrize("arm", ["rfp_learned", "rfp_fresh"])
def test_in_model_rfp_arms_are_invariant_given_permuted_starts_and_random_otherwise(arm):
    from torch_geometric.data import Batch

    args = _small_args(rfp_inits=3)
    graphs = _molecules(args)
    torch.manual_seed(0)
    model = rfp_zinc.GINENet(arm, 16, 2, args).eval()
    assert (model.rfp.attention is not None) == (arm == "rfp_learned")
    b = Batch.from_data_list(graphs)
    perm = torch.randperm(b.num_nodes, generator=torch.Generator().manual_seed(2))
    x0 = torch.randn(b.num_nodes, 3, args.rfp_k, generator=torch.Generator().manual_seed(3))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    bp = b.clone()
    bp.x, bp.batch, bp.edge_index = b.x[perm], b.batch[perm], inv[b.edge_index]
    rfp = model.rfp
    with torch.no_grad():
        h = model.atom(b.x)
        pe = rfp(h, b.edge_index, b.batch, x0=x0, num_graphs=b.num_graphs)
        pe_perm = rfp(h[perm], bp.edge_index, bp.batch, x0=x0[perm], num_graphs=b.num_graphs)
        pe_starts = rfp(h, b.edge_index, b.batch, x0=x0[:, [2, 0, 1]], num_graphs=b.num_graphs)
        y1, y2 = model(b), model(b)  # fresh random starts at every call
    torch.testing.assert_close(pe_perm, pe[perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(pe_starts, pe, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(y1, y2)


def test_lap_sign_flip_only_in_training():
    from torch_geometric.data import Batch

    args = _small_args()
    b = Batch.from_data_list(_molecules(args))
    torch.manual_seed(0)
    model = rfp_zinc.GINENet("lap", 16, 2, args)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(b), model(b))
    model.train()
    model.norms.eval()  # keep batch statistics out of the comparison
    for conv in model.convs:
        conv.nn[1].eval()
    with torch.no_grad():
        outs = torch.stack([model(b) for _ in range(8)])
    assert (outs - outs[0]).abs().max() > 0


def test_report_on_empty_records(tmp_path):
    md = rfp_zinc.report(tmp_path / "none.jsonl", tmp_path)
    assert "No finished runs yet" in md.read_text()


@needs_zinc
def test_quick_run_records_every_arm_and_resumes(tmp_path):
    md = rfp_zinc.main(["--quick", "--out", str(tmp_path)])
    recs = rfp_zinc.read_records(tmp_path / "rfp_zinc.jsonl")
    assert sorted(r["arm"] for r in recs) == sorted(rfp_zinc.ARMS)
    budget = recs[0]["flags"]["params"]
    for r in recs:
        assert math.isfinite(r["test_mae"]) and r["test_mae"] > 0
        assert 0.9 * budget < r["params"] <= budget  # same parameter budget for every arm
        assert r["epochs_run"] == 2 and 1 <= r["best_epoch"] <= 2
        best = r["best_epoch"] - 1
        assert r["val_mae"] == pytest.approx(min(r["curves"]["val_mae"]), abs=1e-5)
        assert r["test_mae"] == pytest.approx(r["curves"]["test_mae"][best], abs=1e-5)
    text = md.read_text()
    for arm in rfp_zinc.ARMS:  # the default arms, not the optional ablations
        assert rfp_zinc.ARM_LABELS[arm] in text
    assert (tmp_path / "rfp_zinc.png").stat().st_size > 0
    rfp_zinc.main(["--quick", "--out", str(tmp_path)])  # resume: nothing left to run
    assert len(rfp_zinc.read_records(tmp_path / "rfp_zinc.jsonl")) == len(recs)
    assert all(r["flags"]["target"] == "score" for r in recs)
    # another target is another config: one new record, its own tag and table, not skipped as done
    md = rfp_zinc.main(["--quick", "--out", str(tmp_path), "--arms", "none", "--target", "penalized_logp"])
    new = rfp_zinc.read_records(tmp_path / "rfp_zinc.jsonl")[len(recs) :]
    assert len(new) == 1 and new[0]["flags"]["target"] == "penalized_logp"
    assert new[0]["config"] != recs[0]["config"]
    assert (
        f"## Config `{new[0]['config']}`" in md.read_text() and "Target: `penalized_logp`" in md.read_text()
    )


def test_config_tag_keys_the_target_and_keeps_earlier_tags():
    import hashlib
    import json

    args = rfp_zinc.parse_args([])
    assert args.target == "score" and rfp_zinc.config_of(args)["target"] == "score"
    # the default target is left out of the hash: the tag of a run recorded before --target existed
    before = {k: v for k, v in rfp_zinc.config_of(args).items() if k != "target"}
    assert (
        rfp_zinc.config_tag(args)
        == hashlib.sha1(json.dumps(before, sort_keys=True).encode()).hexdigest()[:10]
    )
    other = rfp_zinc.parse_args(["--target", "penalized_logp"])
    assert rfp_zinc.config_tag(other) != rfp_zinc.config_tag(args)
