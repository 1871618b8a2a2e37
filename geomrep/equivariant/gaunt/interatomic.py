"""A small invariant interatomic model with Gaunt or Clebsch–Gordan messages, and its QM9 helpers.

:class:`InteratomicModel`: species embedding, message-passing layers whose messages are
``TP(h_j, Y(r̂_ij); w(|r_ij|))`` — a :class:`~geomrep.equivariant.gaunt.GauntTensorProduct`
(``kind="gaunt"``) or an e3nn ``TensorProduct`` with all Clebsch–Gordan paths (``kind="cg"``) — a
Bessel radial basis with a cosine cutoff, and an invariant per-atom readout averaged over the atoms
of each molecule. It is the model of ``tutorials/gaunt_tensor_products.ipynb`` and of the
``gaunt.qm9`` demo; :func:`train_qm9` and :func:`rotation_invariance_error` train and check it.
Pure torch (no torch-scatter): neighbours by :func:`radius_edges`, sums by ``index_add_``.
"""

from __future__ import annotations

import copy
import math
import time

import torch
from e3nn import o3
from torch import nn

from .tensor_product import GauntTensorProduct

__all__ = ["InteratomicModel", "radius_edges", "collate", "train_qm9", "rotation_invariance_error"]

_SPECIES = {1: 0, 6: 1, 7: 2, 8: 3, 9: 4}


def radius_edges(pos: torch.Tensor, batch: torch.Tensor, cutoff: float) -> torch.Tensor:
    """All ordered pairs ``(i, j)``, ``i ≠ j``, of the same molecule closer than ``cutoff``: ``(2, E)``."""
    same = batch[:, None] == batch[None, :]
    dist = torch.cdist(pos, pos)
    mask = same & (dist < cutoff) & ~torch.eye(len(pos), dtype=torch.bool, device=pos.device)
    return mask.nonzero().t()


def collate(mols) -> dict:
    """Concatenate molecules into one graph batch (``z``, ``pos``, ``batch``, ``y``)."""
    z = torch.cat([m.z for m in mols])
    pos = torch.cat([m.pos for m in mols])
    batch = torch.cat([torch.full((len(m.z),), i, dtype=torch.int64) for i, m in enumerate(mols)])
    y = torch.cat([m.y for m in mols])
    return {"z": z, "pos": pos, "batch": batch, "y": y, "n": len(mols)}


class _Interaction(nn.Module):
    def __init__(self, irreps_node, irreps_sh, kind: str, n_basis: int, hidden: int):
        super().__init__()
        if kind == "gaunt":
            self.tp = GauntTensorProduct(irreps_node, irreps_sh, irreps_node, internal_weights=False)
            n_weights = math.prod(self.tp.weight_shape)
        else:
            instr = []
            for i1, (_, ir1) in enumerate(irreps_node):
                for i2, (_, ir2) in enumerate(irreps_sh):
                    for i3, (_, ir3) in enumerate(irreps_node):
                        if ir3 in ir1 * ir2:
                            instr.append((i1, i2, i3, "uvu", True))
            self.tp = o3.TensorProduct(
                irreps_node, irreps_sh, irreps_node, instr, internal_weights=False, shared_weights=False
            )
            n_weights = self.tp.weight_numel
        self.kind = kind
        self.radial = nn.Sequential(nn.Linear(n_basis, hidden), nn.SiLU(), nn.Linear(hidden, n_weights))
        self.linear = o3.Linear(irreps_node, irreps_node)
        self.self_connection = o3.Linear(irreps_node, irreps_node)

    def forward(self, h, sh, radial, edge_index, avg_neighbors: float):
        src, dst = edge_index
        w = self.radial(radial)
        if self.kind == "gaunt":
            w = w.view(-1, *self.tp.weight_shape)
        msg = self.tp(h[src], sh, w)
        agg = torch.zeros_like(h).index_add_(0, dst, msg) / avg_neighbors
        return self.self_connection(h) + self.linear(agg)


class InteratomicModel(nn.Module):
    """Invariant molecular property model with Gaunt (``kind="gaunt"``) or CG (``"cg"``) messages.

    Args:
        kind: ``"gaunt"`` or ``"cg"``.
        channels: multiplicity of every node irrep.
        lmax: degrees of node features and edge spherical harmonics.
        layers: interaction layers.
        cutoff: neighbour radius in Å.
        n_basis, hidden: radial basis size and width of the radial MLP.
        avg_neighbors: constant the summed messages are divided by (≈ the mean neighbour count of
            the data; QM9 at 4 Å: about 12). A constant, not a per-batch statistic, so a molecule's
            prediction does not depend on the other molecules in its batch.
    """

    def __init__(
        self, kind="gaunt", channels=8, lmax=2, layers=2, cutoff=4.0, n_basis=8, hidden=32, avg_neighbors=12.0
    ):
        super().__init__()
        self.irreps_node = o3.Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.cutoff, self.n_basis, self.avg_neighbors = cutoff, n_basis, float(avg_neighbors)
        self.embed = nn.Embedding(len(_SPECIES), channels)
        self.layers = nn.ModuleList(
            _Interaction(self.irreps_node, self.irreps_sh, kind, n_basis, hidden) for _ in range(layers)
        )
        self.readout = nn.Sequential(nn.Linear(channels, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.channels = channels
        self.register_buffer(
            "species", torch.tensor([_SPECIES.get(k, 0) for k in range(10)]), persistent=False
        )

    def node_features(self, z, pos, batch):
        """Node features ``(N, irreps_node.dim)`` after the interaction layers (before the readout)."""
        edge_index = radius_edges(pos, batch, self.cutoff)
        vec = pos[edge_index[1]] - pos[edge_index[0]]
        r = vec.norm(dim=-1, keepdim=True)
        sh = o3.spherical_harmonics(self.irreps_sh, vec, normalize=True, normalization="component")
        k = torch.arange(1, self.n_basis + 1, dtype=pos.dtype, device=pos.device)
        envelope = 0.5 * (torch.cos(math.pi * r / self.cutoff) + 1.0)
        radial = torch.sin(k * math.pi * r / self.cutoff) / r * envelope  # Bessel basis × cosine cutoff
        h = pos.new_zeros(len(z), self.irreps_node.dim)
        h[:, : self.channels] = self.embed(self.species[z])
        for layer in self.layers:
            h = layer(h, sh, radial, edge_index, self.avg_neighbors)
        return h

    def forward(self, z, pos, batch, n_graphs: int):
        h = self.node_features(z, pos, batch)
        atom = self.readout(h[:, : self.channels]).squeeze(-1)
        counts = torch.zeros(n_graphs, dtype=pos.dtype, device=pos.device).index_add_(
            0, batch, torch.ones_like(atom)
        )
        return torch.zeros(n_graphs, dtype=pos.dtype, device=pos.device).index_add_(0, batch, atom) / counts


def train_qm9(kind, train, test, *, epochs=15, batch_size=25, lr=5e-3, seed=0, **model_kwargs) -> dict:
    """Train :class:`InteratomicModel` on standardised targets; returns test MAE (target units), timings."""
    torch.manual_seed(seed)
    model = InteratomicModel(kind, **model_kwargs)
    y_train = torch.cat([m.y for m in train])
    mean, std = y_train.mean(), y_train.std()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    step_times, history = [], []
    for _ in range(epochs):
        perm = torch.randperm(len(train), generator=gen).tolist()
        for s in range(0, len(train), batch_size):
            b = collate([train[i] for i in perm[s : s + batch_size]])
            t0 = time.perf_counter()
            pred = model(b["z"], b["pos"], b["batch"], b["n"])
            loss = torch.nn.functional.mse_loss(pred, (b["y"] - mean) / std)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step_times.append(time.perf_counter() - t0)
        sched.step()
        history.append(_mae(model, test, mean, std))
    return {
        "model": model,
        "mae": history[-1],
        "mae_history": history,
        "step_ms": 1e3 * sorted(step_times)[len(step_times) // 2],
        "baseline_mae": float((torch.cat([m.y for m in test]) - mean).abs().mean()),
        "mean": mean,
        "std": std,
    }


def _mae(model, mols, mean, std) -> float:
    with torch.no_grad():
        b = collate(mols)
        pred = model(b["z"], b["pos"], b["batch"], b["n"]) * std + mean
    return float((pred - b["y"]).abs().mean())


def rotation_invariance_error(model, mols, dtype=torch.float64, seed=0) -> float:
    """``max |f(R·x) − f(x)|`` over molecules for a random orthogonal ``R`` (det −1 included).

    Evaluated on a copy of ``model`` converted to ``dtype``; ``model`` itself is not modified.
    """
    gen = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    rot = (q * torch.sign(torch.diagonal(r))).to(dtype)
    m = copy.deepcopy(model).to(dtype)  # the caller's model keeps its dtype
    b = collate(mols)
    with torch.no_grad():
        y = m(b["z"], b["pos"].to(dtype), b["batch"], b["n"])
        y_rot = m(b["z"], b["pos"].to(dtype) @ rot.T, b["batch"], b["n"])
    return float((y - y_rot).abs().max())
