"""CLI registrations for :mod:`geomrep.equivariant.gaunt`: checks, a QM9 demo and a quick benchmark.

The small interatomic model used by the demo (and, written out, by the tutorial
``tutorials/gaunt_tensor_products.ipynb``) is :class:`InteratomicModel`: species embedding, two
message-passing layers whose messages are ``TP(h_j, Y(r̂_ij); w(|r_ij|))`` — a
:class:`~geomrep.equivariant.gaunt.GauntTensorProduct` or an e3nn ``TensorProduct`` with all
Clebsch–Gordan paths — and an invariant readout.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from e3nn import o3
from torch import nn

from ..datasets import load_qm9
from ..equivariant.gaunt import GauntTensorProduct, gaunt_product
from .registry import register_benchmark, register_check, register_demo
from .timing import time_fn

__all__ = ["InteratomicModel", "radius_edges", "collate", "train_qm9"]

_SPECIES = {1: 0, 6: 1, 7: 2, 8: 3, 9: 4}


# ----------------------------------------------------------------------------- checks
def _wigner_d64(irreps: o3.Irreps, rot: torch.Tensor) -> torch.Tensor:
    """``irreps.D_from_matrix`` in float64 (e3nn builds D in the default dtype; restored afterwards)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return irreps.D_from_matrix(rot.to(torch.float64))
    finally:
        torch.set_default_dtype(previous)


@register_check(
    "gaunt.vs_dense",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="gaunt_product (default backend) equals the dense c·3j reference, L = 8 (relative)",
)
def _check_vs_dense(dtype: torch.dtype, generator: torch.Generator) -> float:
    lmax = 8
    x1 = torch.randn(16, (lmax + 1) ** 2, generator=generator, dtype=torch.float64)
    x2 = torch.randn(16, (lmax + 1) ** 2, generator=generator, dtype=torch.float64)
    ref = gaunt_product(x1, x2, lmax, lmax, lmax, backend="dense")
    out = gaunt_product(x1.to(dtype), x2.to(dtype), lmax, lmax, lmax)
    return float((out.double() - ref).abs().max() / ref.abs().max())


@register_check(
    "gaunt.rotation_equivariance",
    tol={torch.float32: 1e-5, torch.float64: 1e-10},
    description="GauntTensorProduct(L = 6) commutes with O(3) (Wigner D in float64; relative error)",
)
def _check_equivariance(dtype: torch.dtype, generator: torch.Generator) -> float:
    irreps = o3.Irreps([(4, (l, (-1) ** l)) for l in range(7)])
    tp = GauntTensorProduct(irreps, "1x0e+1x1o+1x2e", irreps).to(dtype)
    x1 = torch.randn(8, irreps.dim, generator=generator, dtype=dtype)
    x2 = torch.randn(8, 9, generator=generator, dtype=dtype)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
    rot = -(q * torch.sign(torch.diagonal(r)))  # det −1: rotation times inversion
    d_in, d_sh = _wigner_d64(irreps, rot), _wigner_d64(o3.Irreps("1x0e+1x1o+1x2e"), rot)
    with torch.no_grad():
        y = tp(x1, x2).double() @ d_in.T
        y_rot = tp((x1.double() @ d_in.T).to(dtype), (x2.double() @ d_sh.T).to(dtype)).double()
    return float((y - y_rot).abs().max() / y.abs().max())


# ----------------------------------------------------------------------------- model
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
    """

    def __init__(self, kind="gaunt", channels=8, lmax=2, layers=2, cutoff=4.0, n_basis=8, hidden=32):
        super().__init__()
        self.irreps_node = o3.Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.cutoff, self.n_basis = cutoff, n_basis
        self.embed = nn.Embedding(len(_SPECIES), channels)
        self.layers = nn.ModuleList(
            _Interaction(self.irreps_node, self.irreps_sh, kind, n_basis, hidden) for _ in range(layers)
        )
        self.readout = nn.Sequential(nn.Linear(channels, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.channels = channels
        self.register_buffer(
            "species", torch.tensor([_SPECIES.get(k, 0) for k in range(10)]), persistent=False
        )

    def forward(self, z, pos, batch, n_graphs: int):
        edge_index = radius_edges(pos, batch, self.cutoff)
        vec = pos[edge_index[1]] - pos[edge_index[0]]
        r = vec.norm(dim=-1, keepdim=True)
        sh = o3.spherical_harmonics(self.irreps_sh, vec, normalize=True, normalization="component")
        k = torch.arange(1, self.n_basis + 1, dtype=pos.dtype, device=pos.device)
        envelope = 0.5 * (torch.cos(math.pi * r / self.cutoff) + 1.0)
        radial = torch.sin(k * math.pi * r / self.cutoff) / r * envelope  # Bessel basis × cosine cutoff
        h = pos.new_zeros(len(z), self.irreps_node.dim)
        h[:, : self.channels] = self.embed(self.species[z])
        avg = max(edge_index.shape[1] / max(len(z), 1), 1.0)
        for layer in self.layers:
            h = layer(h, sh, radial, edge_index, avg)
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
    """``max |f(R·x) − f(x)|`` over molecules for a random orthogonal ``R`` (det −1 included)."""
    gen = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    rot = (q * torch.sign(torch.diagonal(r))).to(dtype)
    m = model.to(dtype)
    b = collate(mols)
    with torch.no_grad():
        y = m(b["z"], b["pos"].to(dtype), b["batch"], b["n"])
        y_rot = m(b["z"], b["pos"].to(dtype) @ rot.T, b["batch"], b["n"])
    model.float()
    return float((y - y_rot).abs().max())


# ----------------------------------------------------------------------------- demo
@register_demo("gaunt.qm9", description="QM9 HOMO–LUMO gap: interatomic model with Gaunt vs e3nn CG messages")
def _demo(outdir: Path, quick: bool) -> list[dict]:
    n_train, n_test, epochs = (120, 60, 4) if quick else (300, 100, 15)
    mols = load_qm9(n_train + n_test, parts=(1,), seed=0)
    train, test = mols[:n_train], mols[n_train:]
    rows, histories = [], {}
    for kind in ("gaunt", "cg"):
        t0 = time.perf_counter()
        res = train_qm9(kind, train, test, epochs=epochs, lmax=3)
        seconds = time.perf_counter() - t0
        histories[kind] = res["mae_history"]
        rows.append(
            {
                "model": f"{kind} messages",
                "test MAE gap [eV]": res["mae"] * 27.2114,
                "baseline (predict mean) [eV]": res["baseline_mae"] * 27.2114,
                "step ms": res["step_ms"],
                "invariance err f64": rotation_invariance_error(res["model"], test[:20]),
                "seconds": seconds,
            }
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=80)
    for kind, h in histories.items():
        ax.plot(range(1, len(h) + 1), [27.2114 * v for v in h], "o-", label=kind)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test MAE, HOMO–LUMO gap [eV]")
    ax.legend()
    fig.tight_layout()
    outdir.mkdir(parents=True, exist_ok=True)
    fig.savefig(outdir / "gaunt_qm9.png")
    plt.close(fig)
    return rows


# ----------------------------------------------------------------------------- benchmark
@register_benchmark(
    "gaunt.speed", description="gaunt_product vs e3nn TensorProduct on the Gaunt paths, fwd+bwd"
)
def _bench(quick: bool) -> list[dict]:
    from ..equivariant.gaunt import gaunt_constant, gaunt_paths

    rows = []
    for lmax in (2, 4) if quick else (2, 4, 6, 8):
        x1 = torch.randn(2048, (lmax + 1) ** 2, requires_grad=True)
        x2 = torch.randn(2048, (lmax + 1) ** 2, requires_grad=True)

        def ours_fn(x1=x1, x2=x2, lmax=lmax):
            gaunt_product(x1, x2, lmax, lmax, lmax).sum().backward()

        ours = time_fn(ours_fn, warmup=2, repeats=5)
        irreps = o3.Irreps([(32, (l, (-1) ** l)) for l in range(lmax + 1)])
        instr = [
            (a, b, c, "uuu", False, gaunt_constant(a, b, c) ** 2) for a, b, c in gaunt_paths(lmax, lmax, lmax)
        ]
        tp = o3.TensorProduct(
            irreps, irreps, irreps, instr, irrep_normalization="none", path_normalization="none"
        )
        y1 = torch.randn(64, irreps.dim, requires_grad=True)
        y2 = torch.randn(64, irreps.dim, requires_grad=True)

        def base_fn(tp=tp, y1=y1, y2=y2):
            tp(y1, y2).sum().backward()

        base = time_fn(base_fn, warmup=1, repeats=3)
        rows.append(
            {
                "L": lmax,
                "gaunt fwd+bwd ms": 1e3 * ours,
                "e3nn TP (Gaunt paths) ms": 1e3 * base,
                "speed-up": base / ours,
            }
        )
    return rows
