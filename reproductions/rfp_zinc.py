"""Random Feature Propagation on ZINC-12k: GINE with RFP vs Laplacian PE vs random-walk PE vs no PE.

Eliasof, Frasca, Bevilacqua, Treister, Chechik, Maron, "Graph Positional Encoding via Random Feature
Propagation", ICML 2023 (arXiv:2303.02918). The encoding starts from random node features and iterates
``X_t = 𝒩(P X_{t-1})`` (``𝒩``: per-graph ℓ2 or QR normalisation) and feeds the whole trajectory
``[X_0, …, X_T] ∈ R^{N×(T+1)k}`` to the GNN (:mod:`geomrep.graphs.rfp`).

Arms (one GINE backbone, same parameter budget for every arm — the width is chosen per arm so that the
parameter count is the largest that stays ≤ ``--params``):

=============  =================================================================================
``none``       no positional encoding
``lap``        ``AddLaplacianEigenvectorPE`` (``--lap-k`` eigenvectors of the normalised Laplacian,
               random sign flip per graph and column at every training step)
``rw``         ``AddRandomWalkPE`` (``--rw-steps`` return probabilities ``(P^t)_{ii}``)
``rfp``        fixed-operator RFP, precomputed once on the dataset (``AddRandomFeaturePropagationPE``,
               ``P = D^{-1/2} A D^{-1/2}``, one random start per graph)
``rfp_learned`` learned-operator RFP computed in the forward pass (``RandomFeaturePropagation`` with
               ``operator="attention"``, ``P_ij = softmax_j (W_Q h_i)·(W_K h_j)/√d`` from the atom
               embedding ``h``), ``--rfp-inits`` fresh random starts per call combined by DeepSets
               ``ρ(mean_s φ(traj_s))`` (invariant to the order of the starts)
``rfp_fresh``  ablation, not in the default ``--arms``: the fixed operator ``D^{-1/2} A D^{-1/2}``
               inside the model with ``--rfp-inits`` fresh starts per call and the same DeepSets —
               separates "learned operator" from "fresh, several starts" in ``rfp_learned``
=============  =================================================================================

The PE ``p_i`` enters additively: ``h_i^0 = AtomEmb(x_i) + W p_i`` (learned RFP: ``+ RFP(h^0)_i``), then
``L`` residual GINE layers ``h^{l+1} = h^l + ReLU(BN(GINE(h^l, e)))`` with per-layer bond embeddings,
sum pooling and a 2-layer head. Loss: L1 on the target; metric: test MAE at the epoch of best
validation MAE.

Recipe. The paper's ZINC table and training recipe could not be retrieved for this reproduction (the
stored full text is only reachable through its first page), so the defaults below are **our choices, not
verified against the paper**: the issue's ~500k-parameter budget, 16 GINE layers, Adam (lr 1e-3), batch
128, ReduceLROnPlateau (factor 0.5, patience 10) until lr < 1e-5 (at most 1000 epochs), LapPE with 8
eigenvectors, RWPE with 20 steps, RFP with k = 16 random features and T = 8 steps (QR for the fixed
operator, ℓ2 for the learned one), m = 4 starts for the learned RFP, 4 seeds. The flags of every run are
stored with its record.

The data (``geomrep.datasets.load_zinc12k``) is the benchmarking-GNNs 10k/1k/1k split rebuilt from
SMILES; its default target (``--target score``) is the un-normalised ``logP − SA`` without JT-VAE's
cycle term, so those MAEs are **not** on the same scale as published ZINC MAEs (see ``PUBLISHED`` below
and the report). ``--target penalized_logp`` rebuilds the benchmark's normalised ``logP − SA − cycle``
(JT-VAE's constants, rings from RDKit; see ``load_zinc12k``). The target is part of every record's
``flags`` and of the config tag, so runs on different targets are never resumed into or tabled with
each other (the tag hashes ``target`` only when it is not ``score``, so earlier runs keep their tags).

Usage::

    OMP_NUM_THREADS=1 GEOMREP_DATA=/work/shared/data python reproductions/rfp_zinc.py          # full recipe
    python reproductions/rfp_zinc.py --target penalized_logp      # on the benchmark's normalised target
    python reproductions/rfp_zinc.py --quick                      # smoke run (minutes), used by the tests
    python reproductions/rfp_zinc.py --report                     # rebuild table + plot from the .jsonl

One JSON line per finished (config, arm, seed) is appended to ``results/rfp_zinc.jsonl``; a restart skips
the finished runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geomrep.datasets.zinc import ZINC_TARGETS  # noqa: E402
from reproductions._common import (  # noqa: E402
    RESULTS,
    append_record,
    done_keys,
    machine,
    mean_std,
    plot_curves,
    read_records,
    seed_everything,
    today,
)

ARMS = ("none", "lap", "rw", "rfp", "rfp_learned")
EXTRA_ARMS = ("rfp_fresh",)  # ablations: selectable with --arms, not run by default
ARM_LABELS = {
    "none": "GINE, no PE",
    "lap": "GINE + LapPE",
    "rw": "GINE + RWPE",
    "rfp": "GINE + RFP (fixed operator)",
    "rfp_learned": "GINE + RFP (learned operator, m starts)",
    "rfp_fresh": "GINE + RFP (fixed operator, m fresh starts; ablation)",
}
#: sizes of the categorical atom / bond columns written by ``torch_geometric.utils.from_smiles``
ATOM_VOCAB = (119, 9, 11, 12, 9, 5, 8, 2, 2)
BOND_VOCAB = (22, 6, 2)

#: Published ZINC-12k test MAE (PyG / benchmarking-GNNs normalised target; NOT our target's scale).
#: Filled only with numbers actually found, each with its source; empty means "not found" (the RFP
#: paper's ZINC table could not be retrieved; arXiv:2303.02918).
PUBLISHED: dict[str, tuple[str, str]] = {}

NAME = "rfp_zinc"
RUN_FIELDS = ("config", "arm", "seed")
# flags that change the result of a run (the config tag is a hash of them)
CONFIG_FLAGS = (
    "epochs",
    "params",
    "layers",
    "batch_size",
    "lr",
    "schedule",
    "patience",
    "min_lr",
    "lap_k",
    "rw_steps",
    "rfp_k",
    "rfp_steps",
    "rfp_norm",
    "rfp_inits",
    "lrfp_norm",
    "max_train",
    "max_eval",
    "pe_seed",
    "target",
)
#: flag values left out of the config tag, so that tags of runs recorded before the flag existed still match
TAG_DEFAULTS = {"target": "score"}


# ----------------------------------------------------------------------------------------------- data
def pe_dim(arm: str, args: argparse.Namespace) -> int:
    """Width of the precomputed PE of ``arm`` (0 for no PE and for the learned RFP, computed in-model)."""
    return {
        "none": 0,
        "lap": args.lap_k,
        "rw": args.rw_steps,
        "rfp": args.rfp_k * (args.rfp_steps + 1),
        "rfp_learned": 0,
        "rfp_fresh": 0,
    }[arm]


def load_data(args: argparse.Namespace) -> dict[str, list]:
    """ZINC-12k splits with every fixed PE precomputed once (``lap``, ``rw``, ``rfp`` attributes).

    ``lap``: ``(N, lap_k)`` float32, zero-padded for graphs with ``N <= lap_k`` nodes;
    ``rw``: ``(N, rw_steps)``;
    ``rfp``: ``(N, (T + 1) k)`` — the fixed-operator RFP trajectory, one start per graph, drawn from a
    generator seeded by ``(pe_seed, graph content)`` so it is identical in every run and process.
    """
    from torch_geometric.transforms import AddLaplacianEigenvectorPE, AddRandomWalkPE

    from geomrep.datasets.zinc import load_zinc12k
    from geomrep.graphs.rfp import AddRandomFeaturePropagationPE

    caps = {"train": args.max_train, "val": args.max_eval, "test": args.max_eval}
    capped = all(c is not None for c in caps.values())
    raw = load_zinc12k(max_per_split=max(caps.values()) if capped else None, target=args.target)
    torch.manual_seed(args.pe_seed)  # AddLaplacianEigenvectorPE draws its sign flip from the global RNG
    lap = AddLaplacianEigenvectorPE(args.lap_k, attr_name="lap", is_undirected=True)
    rw = AddRandomWalkPE(args.rw_steps, attr_name="rw")
    rfp = AddRandomFeaturePropagationPE(
        args.rfp_k,
        args.rfp_steps,
        operator="sym",
        normalization=args.rfp_norm,
        attr_name="rfp",
        seed=args.pe_seed,
    )
    out = {}
    for split, graphs in raw.items():
        cap = caps[split]
        keep = []
        for g in graphs[:cap] if cap is not None else graphs:
            del g.smiles
            n = g.num_nodes
            if n > args.lap_k + 1:
                g = lap(g)
            else:  # too few nodes for lap_k non-trivial eigenvectors: PyG's eigsh would fail; take all, pad
                g.lap = _dense_lap_pe(g.edge_index, n, args.lap_k)
            if g.lap.size(1) < args.lap_k:
                g.lap = torch.cat([g.lap, g.lap.new_zeros(n, args.lap_k - g.lap.size(1))], 1)
            g.lap = g.lap.float()
            g = rfp(rw(g))
            g.rfp = g.rfp.float()
            keep.append(g)
        out[split] = keep
    return out


def _dense_lap_pe(edge_index: Tensor, n: int, k: int) -> Tensor:
    """Non-trivial eigenvectors (at most ``k``) of ``I − D^{-1/2} A D^{-1/2}`` of a tiny graph: ``(n, ≤k)``.

    Used for graphs with ``n <= k + 1`` nodes, where PyG's transform cannot take ``k`` eigenvectors.
    """
    a = torch.zeros(n, n, dtype=torch.float64)
    a[edge_index[0], edge_index[1]] = 1.0
    d = a.sum(1).clamp_min(1.0).rsqrt()
    lap = torch.eye(n, dtype=torch.float64) - d[:, None] * a * d[None, :]
    _, vecs = torch.linalg.eigh(lap)
    return vecs[:, 1 : k + 1].float()


# ---------------------------------------------------------------------------------------------- model
class CategoricalEncoder(nn.Module):
    """Sum of one embedding per categorical column: ``x (N, C) long -> (N, hidden)``."""

    def __init__(self, vocab: tuple[int, ...], hidden: int) -> None:
        super().__init__()
        self.register_buffer(
            "offsets", torch.tensor((0,) + tuple(np.cumsum(vocab)[:-1].tolist())), persistent=False
        )
        self.emb = nn.Embedding(int(sum(vocab)), hidden)

    def forward(self, x: Tensor) -> Tensor:
        return self.emb(x + self.offsets).sum(1)


class GINENet(nn.Module):
    """Residual GINE with an additive positional encoding; ``forward(batch) -> (B,)`` predictions.

    ``h^0 = AtomEnc(x) + W p`` (or ``+ RFP_θ(AtomEnc(x))`` for the learned operator),
    ``h^{l+1} = h^l + ReLU(BN(GINE_l(h^l, BondEnc_l(e))))``, ``ŷ = MLP(Σ_i h_i^L)``.
    """

    def __init__(self, arm: str, hidden: int, layers: int, args: argparse.Namespace) -> None:
        super().__init__()
        from torch_geometric.nn import GINEConv

        from geomrep.graphs.learned_rfp import RandomFeaturePropagation

        self.arm = arm
        self.atom = CategoricalEncoder(ATOM_VOCAB, hidden)
        d = pe_dim(arm, args)
        self.pe = nn.Linear(d, hidden) if d else None
        self.rfp = (
            RandomFeaturePropagation(
                args.rfp_k,
                args.rfp_steps,
                hidden,
                in_channels=hidden,
                operator="attention" if arm == "rfp_learned" else "sym",
                normalization=args.lrfp_norm,
                num_inits=args.rfp_inits,
            )
            if arm in ("rfp_learned", "rfp_fresh")
            else None
        )
        self.bonds = nn.ModuleList(CategoricalEncoder(BOND_VOCAB, hidden) for _ in range(layers))
        self.convs = nn.ModuleList(
            GINEConv(
                nn.Sequential(
                    nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, hidden)
                )
            )
            for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(layers))
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, b) -> Tensor:
        from torch_geometric.nn import global_add_pool

        h = self.atom(b.x)
        if self.pe is not None:
            p = b[self.arm]
            if self.arm == "lap" and self.training:  # eigenvector signs are arbitrary: flip per graph, column
                sign = torch.randint(0, 2, (b.num_graphs, p.size(1)), device=p.device) * 2 - 1
                p = p * sign[b.batch]
            h = h + self.pe(p)
        if self.rfp is not None:
            h = h + self.rfp(h, b.edge_index, b.batch, num_graphs=b.num_graphs)
        for bond, conv, norm in zip(self.bonds, self.convs, self.norms):
            h = h + F.relu(norm(conv(h, b.edge_index, bond(b.edge_attr))))
        return self.head(global_add_pool(h, b.batch, size=b.num_graphs)).squeeze(-1)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def width_for_budget(arm: str, layers: int, budget: int, args: argparse.Namespace) -> tuple[int, int]:
    """Largest hidden width whose ``GINENet`` has ``≤ budget`` parameters; returns ``(hidden, params)``."""
    lo, hi = 4, 4096
    if count_params(GINENet(arm, lo, layers, args)) > budget:
        raise ValueError(f"--params {budget} is too small for arm {arm!r} with {layers} layers")
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_params(GINENet(arm, mid, layers, args)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo, count_params(GINENet(arm, lo, layers, args))


# ------------------------------------------------------------------------------------------- training
@torch.no_grad()
def evaluate(model: nn.Module, loader) -> float:
    model.eval()
    err, n = 0.0, 0
    for b in loader:
        err += (model(b) - b.y).abs().sum().item()
        n += b.num_graphs
    return err / max(n, 1)


def run_one(arm: str, seed: int, data: dict[str, list], args: argparse.Namespace) -> dict:
    """Train one (arm, seed); return its record (test MAE at the best-validation epoch, curves, cost)."""
    from torch_geometric.loader import DataLoader

    hidden, params = width_for_budget(arm, args.layers, args.params, args)
    gen = seed_everything(seed)
    model = GINENet(arm, hidden, args.layers, args)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    if args.schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=0.5, patience=args.patience
        )
    else:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    train = DataLoader(data["train"], batch_size=args.batch_size, shuffle=True, generator=gen)
    val = DataLoader(data["val"], batch_size=512)
    test = DataLoader(data["test"], batch_size=512)
    curves = {"train_mae": [], "val_mae": [], "test_mae": []}
    best = (math.inf, math.inf, -1)
    t0 = time.process_time()
    w0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        tot, cnt = 0.0, 0
        for b in train:
            opt.zero_grad()
            loss = F.l1_loss(model(b), b.y)
            loss.backward()
            opt.step()
            tot += loss.item() * b.num_graphs
            cnt += b.num_graphs
        v, te = evaluate(model, val), evaluate(model, test)
        curves["train_mae"].append(tot / cnt)
        curves["val_mae"].append(v)
        curves["test_mae"].append(te)
        if v < best[0]:
            best = (v, te, epoch)
        if args.schedule == "plateau":
            sched.step(v)
            if opt.param_groups[0]["lr"] < args.min_lr:
                break
        else:
            sched.step()
        if args.verbose:
            print(
                f"  {arm} seed {seed} epoch {epoch + 1}: train {tot / cnt:.4f} val {v:.4f} test {te:.4f}",
                flush=True,
            )
    return {
        "arm": arm,
        "seed": seed,
        "hidden": hidden,
        "params": params,
        "layers": args.layers,
        "epochs_run": len(curves["val_mae"]),
        "best_epoch": best[2] + 1,
        "val_mae": best[0],
        "test_mae": best[1],
        "final_test_mae": curves["test_mae"][-1],
        "curves": {k: [round(x, 5) for x in v] for k, v in curves.items()},
        "cpu_s": round(time.process_time() - t0, 1),
        "wall_s": round(time.perf_counter() - w0, 1),
    }


# ---------------------------------------------------------------------------------------------- report
def config_of(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k) for k in CONFIG_FLAGS}


def config_tag(args: argparse.Namespace) -> str:
    """Hash of :func:`config_of`, without the flags that equal their :data:`TAG_DEFAULTS` value."""
    config = {k: v for k, v in config_of(args).items() if TAG_DEFAULTS.get(k, object()) != v}
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]


def report(path: Path, out_dir: Path) -> Path:
    """Rebuild ``<name>.md`` (one table per config found in the records) and ``<name>.png`` from ``path``."""
    records = read_records(path)
    lines = [
        "# RFP on ZINC-12k (Eliasof et al., ICML 2023) — geomrep reproduction",
        "",
        "Test MAE at the best-validation epoch, mean ± sample std over seeds. Target (per config, "
        "`load_zinc12k`): `score` = un-normalised logP − SA (no cycle term; scale differs from published "
        "ZINC MAEs) or `penalized_logp` = the benchmark's normalised logP − SA − cycle.",
        "",
    ]
    if not records:
        lines.append("_No finished runs yet._")
    configs: dict[str, list[dict]] = {}
    for r in records:
        configs.setdefault(r["config"], []).append(r)
    curves = {}
    for tag, recs in configs.items():
        flags = recs[0]["flags"]
        first = recs[0]
        lines += [
            f"## Config `{tag}`",
            "",
            f"Target: `{flags.get('target', 'score')}`. Flags: `{json.dumps(flags, sort_keys=True)}`  ",
            f"Machine: {first['machine']}; date {first['date']}. Same epochs, schedule and parameter budget "
            f"(≤ {flags['params']:,} parameters, {flags['layers']} GINE layers, width set per arm) "
            "for every arm.",
            "",
            "| arm | seeds | test MAE | val MAE | best epoch | width | params | CPU s / run "
            "| published test MAE |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        rows = []
        for arm in ARMS + EXTRA_ARMS:
            rs = [r for r in recs if r["arm"] == arm]
            if not rs:
                continue
            tm, ts = mean_std(r["test_mae"] for r in rs)
            vm, vs = mean_std(r["val_mae"] for r in rs)
            pub = PUBLISHED.get(arm)
            pub_s = f"{pub[0]} ({pub[1]})" if pub else "not found"
            rows.append((tm, arm))
            lines.append(
                f"| {ARM_LABELS[arm]} | {len(rs)} | {tm:.4f} ± {ts:.4f} | {vm:.4f} ± {vs:.4f} | "
                f"{np.mean([r['best_epoch'] for r in rs]):.1f} | {rs[0]['hidden']} | {rs[0]['params']:,} | "
                f"{np.mean([r['cpu_s'] for r in rs]):.0f} | {pub_s} |"
            )
            n_ep = min(len(r["curves"]["val_mae"]) for r in rs)
            curves[f"{arm} [{tag[:4]}]"] = np.array([r["curves"]["val_mae"][:n_ep] for r in rs])
        rows.sort()
        lines += ["", "Ranking (lowest mean test MAE first): " + " < ".join(a for _, a in rows), ""]
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"{path.stem}.md"
    md.write_text("\n".join(lines) + "\n")
    if curves:
        plot_curves(
            curves,
            out_dir / f"{path.stem}.png",
            ylabel="validation MAE",
            title="GINE on ZINC-12k: validation MAE (mean ± std over seeds)",
            logy=True,
        )
    return md


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS + EXTRA_ARMS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    p.add_argument(
        "--epochs", type=int, default=1000, help="maximum epochs (plateau schedule stops at --min-lr)"
    )
    p.add_argument(
        "--params", type=int, default=500_000, help="parameter budget per model (width set per arm)"
    )
    p.add_argument("--layers", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", choices=("plateau", "cosine"), default="plateau")
    p.add_argument("--patience", type=int, default=10, help="ReduceLROnPlateau patience (epochs)")
    p.add_argument("--min-lr", type=float, default=1e-5, help="plateau schedule: stop below this lr")
    p.add_argument("--lap-k", type=int, default=8)
    p.add_argument("--rw-steps", type=int, default=20)
    p.add_argument("--rfp-k", type=int, default=16, help="random features per start (k)")
    p.add_argument("--rfp-steps", type=int, default=8, help="propagation steps (T)")
    p.add_argument("--rfp-norm", choices=("l2", "qr"), default="qr", help="normalisation of the fixed RFP")
    p.add_argument("--rfp-inits", type=int, default=4, help="random starts m of the learned RFP")
    p.add_argument("--lrfp-norm", choices=("l2", "qr"), default="l2", help="normalisation of the learned RFP")
    p.add_argument("--max-train", type=int, default=None, help="use only the first N training graphs")
    p.add_argument("--max-eval", type=int, default=None, help="use only the first N val and N test graphs")
    p.add_argument("--pe-seed", type=int, default=0, help="seed of the precomputed fixed PEs")
    p.add_argument(
        "--target",
        default="score",
        choices=ZINC_TARGETS,
        help="regression target (load_zinc12k): 'score' = un-normalised logP − SA, "
        "'penalized_logp' = the benchmark's normalised target",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    p.add_argument("--name", default=NAME, help="stem of the .jsonl/.md/.png files")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny data, 2 epochs, 1 seed, small width")
    p.add_argument("--report", action="store_true", help="only rebuild the table and plot from the .jsonl")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.params, args.layers = [0], 2, 20_000, 2
        args.max_train, args.max_eval, args.batch_size = 96, 32, 32
        args.rfp_k, args.rfp_steps, args.rfp_inits, args.schedule = 4, 3, 2, "cosine"
    return args


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    path = args.out / f"{args.name}.jsonl"
    if args.report:
        md = report(path, args.out)
        print(md.read_text())
        return md
    tag = config_tag(args)
    done = done_keys(path, RUN_FIELDS)
    todo = [(a, s) for s in args.seeds for a in args.arms if (tag, a, s) not in done]
    print(f"config {tag}: {len(todo)} run(s) to do, {machine()}", flush=True)
    if todo:
        t0 = time.perf_counter()
        data = load_data(args)
        print(
            f"data + fixed PEs: {', '.join(f'{k} {len(v)}' for k, v in data.items())} graphs "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        for arm, seed in todo:
            rec = run_one(arm, seed, data, args)
            rec.update(config=tag, flags=config_of(args), machine=machine(), date=today())
            append_record(path, rec)
            print(
                f"{arm:12s} seed {seed}: test MAE {rec['test_mae']:.4f} (val {rec['val_mae']:.4f}, epoch "
                f"{rec['best_epoch']}/{rec['epochs_run']}), width {rec['hidden']}, {rec['params']:,} params, "
                f"{rec['cpu_s']:.0f} CPU s",
                flush=True,
            )
    md = report(path, args.out)
    print(md.read_text())
    return md


if __name__ == "__main__":
    main()
