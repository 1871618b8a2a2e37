"""Gaunt vs Clebsch–Gordan tensor products in a MACE-style interatomic model on QM9 (Luo et al., ICLR 2024).

The paper (Luo, Chen, He, Wang, "Enabling efficient equivariant operations in the Fourier basis via Gaunt
tensor products", ICLR 2024) replaces the Clebsch–Gordan (CG) products of MACE by Gaunt products
(O(L³) instead of O(L⁶) per channel) and reports nearly the same accuracy for a faster model (3BPA,
300 K: energy MAE 3.0 meV for MACE vs 2.9 meV for MACE-Gaunt, ~1.3× faster). This script runs the same
kind of trade-off on QM9 (``qm9pack``) with geomrep's
:class:`~geomrep.equivariant.gaunt.interatomic.InteratomicModel`; the two arms differ only in the product.

Model (per arm, same irreps ``C×(0e+1o+…+Le)``, same radial MLP, same readout):

* interaction ``t``: ``A_i = (1/n̄) Σ_{j∈N(i)} TP(h_j, Y(r̂_ij); w(|r_ij|))`` (messages),
  then the many-body product basis ``B_i = SI(A_i)`` (correlation ν = 3) and the update
  ``h_i ← W_self h_i + W_lin B_i`` (MACE's structure: product basis, linear, residual);
* readout: an MLP on the invariant channels, two outputs per atom: the HOMO–LUMO gap is the *mean* of the
  first over the atoms (intensive), U0 is the *sum* of the second (extensive, after an atom-reference fit).

Arms:

* ``gaunt``: messages :class:`~geomrep.equivariant.gaunt.GauntTensorProduct` (weights per channel and
  output degree), many-body :class:`~geomrep.equivariant.gaunt.GauntSelfInteraction`:
  ``B_{c,lm} = Σ_{k=1}^{ν} w_{kcl} ⟨f_c^k, Y_lm⟩`` with ``f_c = Σ_lm A_{c,lm} Y_lm`` — powers taken
  pointwise on a sampling grid.
* ``cg``: messages e3nn ``o3.TensorProduct`` with every CG path ``(l1, l2) → l3`` allowed by parity
  (``"uvu"``, one weight per path and channel — the node and edge irreps have parity ``(-1)^l``, so these
  are exactly the parity-even paths the Gaunt product has), many-body :class:`CGSelfInteraction`: the
  channel-wise CG powers ``P_1 = A``, ``P_k = (P_{k-1} ⊗_CG A)`` (``"uuu"``, all paths, intermediate
  degrees up to ``L_out + L`` — enough for the degree ≤ ``L_out`` part of the ν = 3 power to be
  complete), ``B_{c,lm} = Σ_k w_{kcl} P_{k,c,lm}``. It spans the Gaunt powers (each Gaunt power is this
  product with fixed path weights) and has one learnable weight per path and channel more.

Protocol: a random QM9 subset (``--n-train`` / ``--n-val`` / ``--n-test``, fixed data seed), targets
standardised on the training set (U0: residual of a least-squares fit on the element counts, then
scaled), one 2-output model per arm and seed, Adam with a per-step cosine schedule, the same epoch count
for both arms; the test MAE is taken at the epoch of the best validation MAE (gap + U0, standardised).
Reported: test MAE of the gap (meV) and U0 (meV), median time per training step (first ``--warmup``
steps excluded) within the same run, the bytes autograd saves for backward on one fixed batch
(deterministic) and the peak-RSS increase of a training loop in a fresh subprocess (``getrusage``).

Usage::

    python reproductions/gaunt_qm9.py --quick            # smoke run (tests/reproductions)
    python reproductions/gaunt_qm9.py                     # default recipe (hours on one CPU thread)
    python reproductions/gaunt_qm9.py --n-train 20000 --epochs 2 --channels 8 --seeds 0
    python reproductions/gaunt_qm9.py --report            # rebuild the table + plot from the .jsonl

Resumable: one JSON line per finished (arm, seed, config) in ``results/gaunt_qm9.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from e3nn import o3
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geomrep.equivariant.gaunt import GauntSelfInteraction  # noqa: E402
from geomrep.equivariant.gaunt.interatomic import InteratomicModel, collate  # noqa: E402
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

HARTREE_MEV = 27211.386245988
ARMS = ("gaunt", "cg")
ELEMENTS = (1, 6, 7, 8, 9)
#: the paper's numbers (3BPA, 300 K energy MAE; speed-up of MACE-Gaunt over MACE), for the table
PUBLISHED = (
    "3BPA (300 K) energy MAE: MACE 3.0 meV, MACE-Gaunt 2.9 meV; MACE-Gaunt ~1.3× faster (Luo et al. 2024)"
)
#: fields identifying one run of the current configuration (resume key)
KEY = ("arm", "seed", "config")


# ---------------------------------------------------------------------------------------------- model


class CGSelfInteraction(nn.Module):
    """Channel-wise Clebsch–Gordan powers of a feature, weighted per (power, channel, output degree).

    .. math:: P_1 = x,\\quad P_k = P_{k-1} \\otimes_{\\mathrm{CG}} x\\ (\\texttt{"uuu"}),\\qquad
       y_{c,lm} = \\sum_{k=1}^{\\nu} w_{kcl}\\, P_{k,c,lm}

    Every CG path ``(l1, l2) → l3`` allowed by parity is used, each with one learnable weight per channel
    (e3nn internal weights); ``P_2 = x ⊗ x`` keeps only ``l1 ≤ l2`` (the ``(l2, l1)`` path is the same
    function of ``x``). Intermediate powers keep degrees up to ``inter_lmax`` (default ``2·lmax``, which is
    ``L_out + L``: every degree of ``P_{k-1}`` that can reach a degree ≤ ``L_out`` of ``P_k``, so the
    ν = 3 power is not truncated). This is the CG twin of
    :class:`~geomrep.equivariant.gaunt.GauntSelfInteraction`, whose powers are the same products with the
    path weights fixed to Gaunt coefficients.

    Args:
        irreps: uniform irreps ``C×(0e+1o+2e+…)`` (parity ``(-1)^l``, one multiplicity).
        correlation: ν ≥ 1.
        inter_lmax: highest degree of the intermediate powers ``P_2 … P_{ν-1}``.

    Shapes: ``x (B, irreps.dim) → (B, irreps.dim)``.
    """

    def __init__(self, irreps, correlation: int = 3, inter_lmax: int | None = None) -> None:
        super().__init__()
        irreps = o3.Irreps(irreps)
        muls = {mul for mul, _ in irreps}
        if len(muls) != 1 or any(ir.p != (-1) ** ir.l for _, ir in irreps):
            raise ValueError(f"irreps must be uniform with parity (-1)^l, got {irreps}")
        if not isinstance(correlation, int) or correlation < 1:
            raise ValueError(f"correlation must be an int >= 1, got {correlation!r}")
        (mul,) = muls
        lmax = irreps.lmax
        inter_lmax = 2 * lmax if inter_lmax is None else inter_lmax
        self.irreps, self.correlation, self.channels, self.lmax = irreps, correlation, mul, lmax
        inter = o3.Irreps([(mul, (l, (-1) ** l)) for l in range(inter_lmax + 1)])
        self.products = nn.ModuleList()
        left = irreps
        for k in range(2, correlation + 1):
            out = irreps if k == correlation else inter
            instr = []
            for i1, (_, ir1) in enumerate(left):
                for i2, (_, ir2) in enumerate(irreps):
                    if k == 2 and ir1.l > ir2.l:
                        continue
                    for i3, (_, ir3) in enumerate(out):
                        if ir3 in ir1 * ir2:
                            instr.append((i1, i2, i3, "uuu", True))
            self.products.append(o3.TensorProduct(left, irreps, out, instr))
            left = out
        self.dims = [p.irreps_out.dim for p in self.products]
        self.weight = nn.Parameter(torch.ones(correlation, mul, lmax + 1))
        deg = torch.cat([torch.full((mul * (2 * l + 1),), l) for l in range(lmax + 1)])
        chan = torch.cat([torch.arange(mul).repeat_interleave(2 * l + 1) for l in range(lmax + 1)])
        self.register_buffer("deg", deg, persistent=False)
        self.register_buffer("chan", chan, persistent=False)
        self.scale = 1.0 / math.sqrt(correlation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        w = self.weight[:, self.chan, self.deg]  # (ν, d): w_{k c l} laid out like the features
        y = w[0] * x
        p = x
        for k, tp in enumerate(self.products, start=1):
            p = tp(p, x)
            y = y + w[k] * p[..., :d]  # the degree ≤ L part (same layout: channel-major within degree)
        return self.scale * y


def model_kwargs(args) -> dict:
    """The architecture flags of the command line, as :func:`build_model` keywords."""
    names = ("channels", "lmax", "layers", "correlation", "cutoff", "n_basis", "hidden", "avg_neighbors")
    return {k: getattr(args, k) for k in names}


def build_model(arm: str, *, channels: int, lmax: int, layers: int, correlation: int, **kw) -> nn.Module:
    """:class:`~geomrep.equivariant.gaunt.interatomic.InteratomicModel` (``kind=arm``) with a many-body
    product basis after each aggregation (:class:`GauntSelfInteraction` or :class:`CGSelfInteraction`)
    and a 2-output readout (gap: mean over atoms; U0: sum over atoms)."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    model = TwoTargetModel(arm, channels=channels, lmax=lmax, layers=layers, **kw)
    if correlation > 1:
        for layer in model.layers:
            si = (
                GauntSelfInteraction(model.irreps_node, correlation=correlation)
                if arm == "gaunt"
                else CGSelfInteraction(model.irreps_node, correlation=correlation)
            )
            layer.linear = nn.Sequential(si, layer.linear)  # h ← W_self h + W_lin SI(A)
    return model


class TwoTargetModel(InteratomicModel):
    """The interatomic model with two readouts per atom: ``(gap, U0)`` standardised predictions.

    ``forward(z, pos, batch, n_graphs) → (n_graphs, 2)``: column 0 is the mean over a molecule's atoms of
    the first output (intensive gap), column 1 the sum of the second divided by ``atoms_scale`` (the mean
    atom count, so that unit-variance atom outputs give an O(1) molecular value; extensive U0).
    """

    def __init__(self, kind, *, atoms_scale: float = 18.0, **kw):
        super().__init__(kind, **kw)
        hidden = self.readout[0].out_features
        self.readout = nn.Sequential(nn.Linear(self.channels, hidden), nn.SiLU(), nn.Linear(hidden, 2))
        self.atoms_scale = float(atoms_scale)

    def forward(self, z, pos, batch, n_graphs: int):
        h = self.node_features(z, pos, batch)
        atom = self.readout(h[:, : self.channels])  # (N, 2)
        sums = pos.new_zeros(n_graphs, 2).index_add_(0, batch, atom)
        counts = pos.new_zeros(n_graphs).index_add_(0, batch, torch.ones_like(atom[:, 0]))
        return torch.stack([sums[:, 0] / counts, sums[:, 1] / self.atoms_scale], dim=1)


def count_parameters(model: nn.Module) -> dict:
    """Total parameters and the parts that differ between arms (radial MLPs, many-body weights)."""
    total = sum(p.numel() for p in model.parameters())
    radial = sum(p.numel() for layer in model.layers for p in layer.radial.parameters())
    many_body = (
        sum(p.numel() for layer in model.layers for p in layer.linear[0].parameters())
        if isinstance(model.layers[0].linear, nn.Sequential)
        else 0
    )
    return {"params": total, "params_radial": radial, "params_many_body": many_body}


# ----------------------------------------------------------------------------------------------- data


def load_data(n_total: int, data_seed: int):
    """``n_total`` random QM9 molecules with ``y = (gap [Ha], U0 [Ha])`` (two loads of the same subset)."""
    from geomrep.datasets import load_qm9

    gap = load_qm9(n_total, target="HOMO_LUMO_gap_au", seed=data_seed)
    u0 = load_qm9(n_total, target="InternalEnergy_0K_au", seed=data_seed)
    for a, b in zip(gap, u0, strict=True):
        if a.idx != b.idx:
            raise RuntimeError("the two QM9 loads returned different molecules")
        a.y = torch.cat([a.y, b.y]).to(torch.float64).view(1, 2)
    return gap


def split(mols, n_train: int, n_val: int, n_test: int, data_seed: int):
    perm = torch.randperm(len(mols), generator=torch.Generator().manual_seed(data_seed + 1)).tolist()
    pick = [mols[i] for i in perm]
    return pick[:n_train], pick[n_train : n_train + n_val], pick[n_train + n_val : n_train + n_val + n_test]


class Standardiser:
    """Train-set statistics: gap ``(y − μ)/σ``; U0 ``(y − Σ_atoms e_Z)/σ_U`` with ``e_Z`` by least squares.

    Shapes: ``y (B, 2)`` in Hartree ↔ standardised ``(B, 2)``; ``counts (B, 5)`` element counts.
    """

    def __init__(self, train):
        y = torch.cat([m.y for m in train]).to(torch.float64)
        counts = torch.stack([element_counts(m.z) for m in train])
        self.gap_mean, self.gap_std = float(y[:, 0].mean()), float(y[:, 0].std())
        self.ref = torch.linalg.lstsq(counts, y[:, 1:2]).solution.squeeze(1)  # (5,) Hartree per element
        res = y[:, 1] - counts @ self.ref
        self.u0_std = float(res.std())

    def forward(self, y, counts):
        y = y.to(torch.float64)
        return torch.stack(
            [(y[:, 0] - self.gap_mean) / self.gap_std, (y[:, 1] - counts @ self.ref) / self.u0_std], 1
        )

    def inverse(self, s, counts):
        s = s.to(torch.float64)
        return torch.stack(
            [s[:, 0] * self.gap_std + self.gap_mean, s[:, 1] * self.u0_std + counts @ self.ref], 1
        )


def element_counts(z: torch.Tensor) -> torch.Tensor:
    return torch.stack([(z == e).sum() for e in ELEMENTS]).to(torch.float64)


def make_batch(mols) -> dict:
    b = collate(mols)
    b["counts"] = torch.stack([element_counts(m.z) for m in mols])
    return b


# -------------------------------------------------------------------------------------------- training


def evaluate(model, mols, std: Standardiser, batch_size: int = 100) -> dict:
    """MAE of gap and U0 in meV and the standardised MAE sum (model selection)."""
    model.eval()
    err, err_s = [], []
    with torch.no_grad():
        for s in range(0, len(mols), batch_size):
            b = make_batch(mols[s : s + batch_size])
            out = model(b["z"], b["pos"], b["batch"], b["n"]).to(torch.float64)
            err.append((std.inverse(out, b["counts"]) - b["y"]).abs())
            err_s.append((out - std.forward(b["y"], b["counts"])).abs())
    model.train()
    e = torch.cat(err).mean(0) * HARTREE_MEV
    return {"gap_mev": float(e[0]), "u0_mev": float(e[1]), "score": float(torch.cat(err_s).mean(0).sum())}


def saved_tensor_bytes(model, batch, std) -> int:
    """Bytes of the tensors autograd saves for backward in one forward pass on ``batch`` (deterministic)."""
    total, seen = 0, set()

    def pack(t):
        nonlocal total
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(batch["z"], batch["pos"], batch["batch"], batch["n"])
        loss = (out - std.forward(batch["y"], batch["counts"]).to(out.dtype)).pow(2).mean()
    loss.backward()
    model.zero_grad(set_to_none=True)
    return total


def train_run(arm, seed, train, val, test, args, log=print) -> dict:
    """One arm × seed: train ``args.epochs`` epochs, select the best-validation epoch, test it."""
    g = seed_everything(seed)
    std = Standardiser(train)
    atoms = sum(m.z.numel() for m in train) / len(train)
    model = build_model(arm, **model_kwargs(args), atoms_scale=atoms)
    counts = count_parameters(model)
    probe = make_batch(train[: args.batch_size])
    saved = saved_tensor_bytes(model, probe, std)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps))
    )
    step_times, step_cpu, train_loss, val_curve, best = [], [], [], [], None
    t_start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(train), generator=g).tolist()
        running = 0.0
        for s in range(0, len(train), args.batch_size):
            b = make_batch([train[i] for i in perm[s : s + args.batch_size]])
            target = std.forward(b["y"], b["counts"]).to(torch.float32)
            t0, c0 = time.perf_counter(), time.process_time()
            out = model(b["z"], b["pos"], b["batch"], b["n"])
            loss = nn.functional.mse_loss(out, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            sched.step()
            step_times.append(time.perf_counter() - t0)
            step_cpu.append(time.process_time() - c0)
            running += loss.detach().item() * b["n"]
        train_loss.append(running / len(train))
        v = evaluate(model, val, std)
        val_curve.append(v)
        if best is None or v["score"] < best[0]["score"]:
            best = (v, epoch, {k: t.detach().clone() for k, t in model.state_dict().items()})
        log(
            f"  [{arm} seed {seed}] epoch {epoch + 1}/{args.epochs}: train loss {train_loss[-1]:.4f}, "
            f"val gap {v['gap_mev']:.0f} meV, U0 {v['u0_mev']:.0f} meV, {time.perf_counter() - t_start:.0f} s"
        )
    wall = time.perf_counter() - t_start
    model.load_state_dict(best[2])
    t = evaluate(model, test, std)
    timed = sorted(step_times[args.warmup :] or step_times)
    cpu = sorted(step_cpu[args.warmup :] or step_cpu)
    q = lambda p, t=timed: 1e3 * t[min(len(t) - 1, int(p * len(t)))]  # noqa: E731
    y_test = torch.cat([m.y for m in test])
    y_train = torch.cat([m.y for m in train])
    c_test = torch.stack([element_counts(m.z) for m in test])
    return {
        "gap_mae_mev": t["gap_mev"],
        "u0_mae_mev": t["u0_mev"],
        "best_epoch": best[1] + 1,
        "val_gap_mev": [v["gap_mev"] for v in val_curve],
        "val_u0_mev": [v["u0_mev"] for v in val_curve],
        "train_loss": train_loss,
        "step_ms_median": q(0.5),
        "step_ms_q25": q(0.25),
        "step_ms_q75": q(0.75),
        "step_cpu_ms_median": q(0.5, cpu),  # process CPU time: robust to other jobs on a shared CPU
        "steps": len(step_times),
        "train_wall_s": wall,
        "saved_for_backward_mb": saved / 2**20,
        # predict-the-mean gap / predict-the-atom-reference U0 (the Standardiser's own fits)
        "baseline_gap_mev": float((y_test[:, 0] - y_train[:, 0].mean()).abs().mean() * HARTREE_MEV),
        "baseline_u0_mev": float((y_test[:, 1] - c_test @ std.ref).abs().mean() * HARTREE_MEV),
        **counts,
    }


# ---------------------------------------------------------------------------------------------- memory


def peak_rss_probe(arm: str, mols, args) -> dict:
    """Peak-RSS increase (MiB) of ``args.mem_steps`` training steps in a fresh subprocess.

    The subprocess imports torch/e3nn, builds the model and one batch, runs one warm-up step, resets the
    kernel's peak-RSS mark (``/proc/self/clear_refs`` ← 5, Linux ≥ 4.0) and records its current RSS; after
    the steps, the increase ``VmHWM − RSS_before`` is the memory a training step needs on top of the model
    and optimizer state (activations, gradients, allocator slack).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.pt"
        torch.save([(m.z, m.pos, m.y) for m in mols[: args.batch_size]], path)
        cmd = [sys.executable, __file__, "--_mem-child", arm, str(path)] + _model_flags(args)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _mem_child(arm: str, path: str, args) -> None:
    from types import SimpleNamespace

    torch.set_num_threads(args.threads)
    mols = [SimpleNamespace(z=z, pos=p, y=y) for z, p, y in torch.load(path)]
    b = make_batch(mols)
    model = build_model(arm, **model_kwargs(args))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    target = torch.zeros(b["n"], 2)

    def step():
        out = model(b["z"], b["pos"], b["batch"], b["n"])
        loss = nn.functional.mse_loss(out, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up: Adam states, lazily built tables
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
    rss_before = _status_mib("VmRSS")
    for _ in range(args.mem_steps):
        step()
    peak = _status_mib("VmHWM")
    print(
        json.dumps({"peak_rss_delta_mb": peak - rss_before, "rss_before_mb": rss_before, "peak_rss_mb": peak})
    )


# ---------------------------------------------------------------------------------------------- driver


def _model_flags(args) -> list[str]:
    return [
        f"--channels={args.channels}",
        f"--lmax={args.lmax}",
        f"--layers={args.layers}",
        f"--correlation={args.correlation}",
        f"--cutoff={args.cutoff}",
        f"--n-basis={args.n_basis}",
        f"--hidden={args.hidden}",
        f"--avg-neighbors={args.avg_neighbors}",
        f"--batch-size={args.batch_size}",
        f"--mem-steps={args.mem_steps}",
        f"--threads={args.threads}",
    ]


def config_of(args) -> dict:
    """The flags that define a run (its resume key hashes them; seeds and arms excluded)."""
    keys = (
        "n_train n_val n_test data_seed epochs batch_size lr channels lmax layers correlation cutoff "
        "n_basis hidden avg_neighbors"
    ).split()
    return {k: getattr(args, k) for k in keys}


def config_id(cfg: dict) -> str:
    return hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 200/50/50 molecules, 1 epoch, tiny model")
    p.add_argument("--report", action="store_true", help="only rebuild the table + plot from the .jsonl")
    p.add_argument("--out", type=Path, default=RESULTS / "gaunt_qm9.jsonl", help="records file (.jsonl)")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--n-train", type=int, default=110_000)
    p.add_argument("--n-val", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=10_831)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--lmax", type=int, default=2)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--correlation", type=int, default=3)
    p.add_argument("--cutoff", type=float, default=5.0)
    p.add_argument("--n-basis", type=int, default=8)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--avg-neighbors", type=float, default=15.0, help="≈ mean neighbour count at the cutoff")
    p.add_argument("--warmup", type=int, default=20, help="training steps excluded from the step timing")
    p.add_argument("--mem-steps", type=int, default=3, help="steps of the peak-RSS subprocess probe")
    p.add_argument("--no-mem-probe", action="store_true", help="skip the peak-RSS subprocess")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: stable timings)")
    p.add_argument("--_mem-child", nargs=2, metavar=("ARM", "BATCH"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_val, args.n_test, args.epochs = 200, 50, 50, 1
        args.channels, args.hidden, args.seeds, args.warmup, args.batch_size = 4, 16, [0], 2, 20
        if args.out == RESULTS / "gaunt_qm9.jsonl":
            args.out = RESULTS / "gaunt_qm9_quick.jsonl"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args._mem_child:
        _mem_child(*args._mem_child, args)
        return 0
    if not args.report:
        cfg = config_of(args)
        cid = config_id(cfg)
        todo = [(a, s) for s in args.seeds for a in args.arms]  # arms interleaved: seed 0 of both first
        done = done_keys(args.out, KEY)
        todo = [(a, s) for a, s in todo if (a, s, cid) not in done]
        if todo:
            t0 = time.perf_counter()
            n_total = args.n_train + args.n_val + args.n_test
            mols = load_data(n_total, args.data_seed)
            train, val, test = split(mols, args.n_train, args.n_val, args.n_test, args.data_seed)
            print(
                f"{len(train)}/{len(val)}/{len(test)} molecules loaded in {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
            for arm, seed in todo:
                t1 = time.perf_counter()
                rec = train_run(arm, seed, train, val, test, args, log=lambda s: print(s, flush=True))
                if not args.no_mem_probe:
                    rec.update(peak_rss_probe(arm, train, args))
                rec.update(
                    arm=arm,
                    seed=seed,
                    config=cid,
                    flags=cfg,
                    argv=" ".join(sys.argv[1:] if argv is None else argv),
                    run_wall_s=time.perf_counter() - t1,
                    machine=machine(),
                    date=today(),
                )
                append_record(args.out, rec)
                print(
                    f"{arm} seed {seed}: gap {rec['gap_mae_mev']:.1f} meV, U0 {rec['u0_mae_mev']:.1f} meV, "
                    f"{rec['step_ms_median']:.1f} ms/step, {rec['params']} params",
                    flush=True,
                )
    report(args.out)
    return 0


# ---------------------------------------------------------------------------------------------- report


def _fmt(values, digits=1) -> str:
    m, s = mean_std(values)
    return f"{m:.{digits}f}" if len(values) == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"


def _paired_ratio(by_arm: dict, field: str) -> list[float]:
    """``cg / gaunt`` of ``field`` for every seed both arms have."""
    cg = {r["seed"]: r[field] for r in by_arm["cg"]}
    gaunt = {r["seed"]: r[field] for r in by_arm["gaunt"]}
    return [cg[s] / gaunt[s] for s in sorted(cg.keys() & gaunt.keys())]


def report(path: Path) -> Path:
    """Markdown table (one block per configuration) + validation curves, from the ``.jsonl`` alone."""
    path = Path(path)
    recs = read_records(path)
    md = path.with_suffix(".md")
    lines = [
        "# Gaunt vs Clebsch–Gordan products in a MACE-style model on QM9",
        "",
        "Generated by `reproductions/gaunt_qm9.py` from `"
        + path.name
        + "`. Test MAE at the best-validation epoch;",
        "gap and U0 from one 2-output model per arm and seed; mean ± std over seeds. Time: median",
        "training step (warm-up excluded), one CPU thread, same process for both arms. Memory: bytes",
        "autograd saves for backward on one training batch (deterministic) and peak-RSS increase of",
        "training steps in a fresh subprocess (VmHWM after a reset, minus RSS before).",
        f"Published (not the same task): {PUBLISHED}.",
        "",
    ]
    configs = {}
    for r in recs:
        configs.setdefault(r["config"], []).append(r)
    curves = {}
    for cid, rs in configs.items():
        f = rs[0]["flags"]
        top = f"{f['channels']}x{f['lmax']}{'e' if f['lmax'] % 2 == 0 else 'o'}"
        defaults = config_of(parse_args([]))
        cut = [f"{k} {defaults[k]} → {f[k]}" for k in defaults if k in f and f[k] != defaults[k]]
        seeds_run = sorted({r["seed"] for r in rs})
        lines += [
            f"## config `{cid}`: {f['n_train']}/{f['n_val']}/{f['n_test']} train/val/test molecules, "
            f"{f['epochs']} epoch(s), batch {f['batch_size']}, node irreps {f['channels']}x0e+…+{top}, "
            f"{f['layers']} layers, correlation {f['correlation']}, cutoff {f['cutoff']} Å",
            "",
            f"Flags: `{rs[0]['argv']}` — {rs[0]['machine']}, {rs[0]['date']}.",
            f"Reduced from the script's default recipe: {', '.join(cut) or 'nothing'}; seeds run {seeds_run} "
            f"(default {parse_args([]).seeds}). Same epoch count for both arms.",
            "",
            "| arm | seeds | gap MAE (meV) | U0 MAE (meV) | ms / step (wall) | CPU ms / step "
            "| saved for backward (MiB) "
            "| peak RSS Δ (MiB) | params (radial, many-body) | train wall (s) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        by_arm = {}
        for r in rs:
            by_arm.setdefault(r["arm"], []).append(r)
        for arm in ARMS:
            if arm not in by_arm:
                continue
            a = by_arm[arm]
            gap, u0 = _fmt([r["gap_mae_mev"] for r in a]), _fmt([r["u0_mae_mev"] for r in a])
            cpu = _fmt([r["step_cpu_ms_median"] for r in a])
            ms, saved = (
                _fmt([r["step_ms_median"] for r in a]),
                _fmt([r["saved_for_backward_mb"] for r in a], 2),
            )
            rss = [r["peak_rss_delta_mb"] for r in a if "peak_rss_delta_mb" in r]
            lines.append(
                f"| {arm} | {len(a)} | {gap} | {u0} | {ms} | {cpu} | {saved} "
                f"| {_fmt(rss) if rss else '–'} | {a[0]['params']} ({a[0]['params_radial']}, "
                f"{a[0]['params_many_body']}) | {_fmt([r['train_wall_s'] for r in a], 0)} |"
            )
            curves[f"{arm} [{cid}]"] = [r["val_gap_mev"] for r in a] if len(a) > 1 else a[0]["val_gap_mev"]
        base = rs[0]
        lines.append(
            f"| baseline | – | {base['baseline_gap_mev']:.1f} (predict the mean) "
            f"| {base['baseline_u0_mev']:.1f} (atom-reference fit) | | | | | | |"
        )
        if "gaunt" in by_arm and "cg" in by_arm:
            wall, cpu = _paired_ratio(by_arm, "step_ms_median"), _paired_ratio(by_arm, "step_cpu_ms_median")
            lines += [
                "",
                f"CG / Gaunt time per training step (paired by seed): wall {_fmt(wall, 2)}×, "
                f"CPU {_fmt(cpu, 2)}×.",
            ]
        lines.append("")
    md.write_text("\n".join(lines) + "\n")
    if curves:
        curves = {k: (v if not isinstance(v[0], list) else [list(c) for c in v]) for k, v in curves.items()}
        plot_curves(
            curves,
            path.with_suffix(".png"),
            ylabel="validation gap MAE (meV)",
            title="QM9: Gaunt vs CG products",
        )
    print(md.read_text())
    return md


if __name__ == "__main__":
    sys.exit(main())
