"""The tutorial's interatomic model: neighbour lists, batching, O(3) invariance, a training step."""

from types import SimpleNamespace

import pytest
import torch

from geomrep.equivariant.gaunt.interatomic import (
    InteratomicModel,
    collate,
    radius_edges,
    rotation_invariance_error,
    train_qm9,
)


def _molecules(count=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    mols = []
    for i in range(count):
        n = 3 + i % 4
        z = torch.tensor([6, 1, 8, 7, 9, 1, 6][:n])
        pos = 1.4 * torch.randn(n, 3, generator=g)
        mols.append(SimpleNamespace(z=z, pos=pos, y=torch.randn(1, generator=g)))
    return mols


def test_radius_edges_vs_brute_force():
    b = collate(_molecules())
    ei = radius_edges(b["pos"], b["batch"], 2.0)
    expected = {
        (i, j)
        for i in range(len(b["z"]))
        for j in range(len(b["z"]))
        if i != j and b["batch"][i] == b["batch"][j] and float((b["pos"][i] - b["pos"][j]).norm()) < 2.0
    }
    assert set(map(tuple, ei.t().tolist())) == expected
    assert len(expected) > 0


@pytest.mark.parametrize("kind", ["gaunt", "cg"])
def test_model_is_o3_invariant_and_per_molecule(kind):
    mols = _molecules()
    model = InteratomicModel(kind, channels=4, lmax=2, layers=2)
    assert rotation_invariance_error(model, mols) < 1e-12  # float64, improper rotation included
    b = collate(mols)
    with torch.no_grad():
        full = model(b["z"], b["pos"], b["batch"], b["n"])
        b1 = collate(mols[1:2])
        single = model(b1["z"], b1["pos"], b1["batch"], b1["n"])
    torch.testing.assert_close(full[1:2], single)  # molecules do not see each other


def test_not_invariant_without_rotating_the_features_control():
    """The invariance check can fail: a model reading raw coordinates is not rotation invariant."""

    class Leaky(InteratomicModel):
        def forward(self, z, pos, batch, n_graphs):
            return super().forward(z, pos, batch, n_graphs) + pos[:, 0].sum()

    assert rotation_invariance_error(Leaky("gaunt", channels=4, lmax=1, layers=1), _molecules()) > 1e-3


def test_train_qm9_reduces_error_on_a_learnable_target():
    mols = _molecules(8, seed=1)
    for m in mols:  # a smooth invariant target: sum of pair distances
        m.y = torch.pdist(m.pos).sum().reshape(1) / 10
    res = train_qm9("gaunt", mols[:6], mols[6:], epochs=6, batch_size=3, lr=1e-2, channels=4, lmax=1)
    assert len(res["mae_history"]) == 6 and res["step_ms"] > 0
    assert res["mae_history"][-1] < res["mae_history"][0]


@pytest.mark.parametrize("kind", ["gaunt", "cg"])
def test_molecules_without_edges_inside_the_cutoff(kind):
    """Isolated atoms (no neighbour within the cutoff) used to crash the Gaunt messages; now the
    messages are empty and each layer reduces to its self-connection (checked by hand)."""
    torch.manual_seed(0)
    model = InteratomicModel(kind, channels=4, lmax=2, layers=2, cutoff=2.0)
    z = torch.tensor([6, 1, 8, 7])
    pos = 5.0 * torch.arange(12, dtype=torch.float32).reshape(4, 3)  # every pair farther than 2 Å
    batch = torch.tensor([0, 0, 1, 1])
    assert radius_edges(pos, batch, 2.0).shape == (2, 0)
    pred = model(z, pos, batch, 2)
    pred.sum().backward()  # the empty messages keep the graph differentiable
    with torch.no_grad():
        h = pos.new_zeros(4, model.irreps_node.dim)
        h[:, :4] = model.embed(model.species[z])
        for layer in model.layers:
            h = layer.self_connection(h) + layer.linear(torch.zeros_like(h))
        atom = model.readout(h[:, :4]).squeeze(-1)
        expected = torch.stack([atom[:2].mean(), atom[2:].mean()])
    torch.testing.assert_close(pred.detach(), expected, atol=1e-6, rtol=0)


def test_rotation_invariance_error_leaves_the_model_alone():
    """It used to convert the caller's model to float64 and back to float32 (whatever it was before)."""
    model = InteratomicModel("gaunt", channels=2, lmax=1, layers=1).double()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert rotation_invariance_error(model, _molecules(2), dtype=torch.float32) < 1e-4
    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
