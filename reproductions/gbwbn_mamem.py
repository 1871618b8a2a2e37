r"""Reproduce GBW batch norm (Wang et al., CVPR 2025) on MAMEM-SSVEP-II with geomrep's SPD layers.

The paper's MAMEM pipeline (its ``experiments/mamem.py``), per subject, on trials ``x`` of shape
``(N, 1, 8, 125)`` (8 EEG channels × 125 samples):

.. code-block:: text

    Conv2d(1→125, (8,1)) → BatchNorm2d → Conv2d(125→15, (1,36), pad (0,18)) → BatchNorm2d   (N, 15, 1, 126)
    → covariance C = (Z − Z̄)(Z − Z̄)ᵀ/(T − 1) + 1e-5 I                                          (N, 15, 15)
    → BiMap Wᵀ C W, W ∈ St(15, 12)                                                             (N, 12, 12)
    → SPD batch norm (one of the arms)  → ReEig (max(λ, 1e-4))  → LogEig (full 12×12 log)      (N, 144)
    → Linear(144 → 5)

200 epochs, batch 30 (shuffled), cross-entropy; SGD with momentum 0.9 and weight decay 5e-2 (lr 2.5e-3)
on the Euclidean parameters of the front end and the classifier; plain Riemannian SGD steps (lr 2.5e-3,
no momentum, no weight decay, as the reference's Stiefel/SPD optimisers) for the Stiefel weight of BiMap
and the batch norm's bias (and GBW metric) parameters. Split per subject: trials 0:300 train, 300:400
validation, 400:500 test.

Arms (``ARMS``): no BN; AIM-BN as SPDNetBN (Brooks et al. 2019: Karcher-mean centring, SPD bias, no
variance scaling, ``metric="aim", variance="none"``); LieBN on the log-Euclidean group
(``metric="lem"``); GBW-BN with power θ = 1 and θ = 0.5 (``metric="gbw"``, learned metric ``M``).

Three accuracies are recorded per run (a run = arm × subject × seed), all in eval mode with running
statistics:

* ``test_last``: test (400:500) accuracy after the last epoch — the paper's protocol as written;
* ``val_last``: validation (300:400) accuracy after the last epoch — what the released script
  literally prints as "test accuracy" (its validation and test loaders are swapped);
* ``test_at_best_val``: test accuracy at the first epoch with the best validation accuracy — the
  correct protocol.

Differences from the released script, on purpose: BiMap is trained (its Stiefel step is commented out
there; ``--freeze-bimap`` reproduces that as a secondary arm); validation and test are not swapped.

Usage::

    OMP_NUM_THREADS=1 python reproductions/gbwbn_mamem.py             # full recipe (resumable)
    python reproductions/gbwbn_mamem.py --quick --out /tmp/q          # smoke run (tests)
    python reproductions/gbwbn_mamem.py --report                      # table + plots from the .jsonl

Records: one JSON line per run in ``results/gbwbn_mamem.jsonl`` (key: arm, subject, seed, epochs,
freeze_bimap); ``--report`` rebuilds ``results/gbwbn_mamem.md`` and the curve plots from it alone.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import geoopt
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geomrep.datasets.eeg import load_mamem_ssvep2, mamem_ssvep2_split  # noqa: E402
from geomrep.manifolds.spd.batchnorm import SPDBatchNorm  # noqa: E402
from geomrep.manifolds.spd.layers import BiMap, CovPool, LogEig, ReEig  # noqa: E402
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

NAME = "gbwbn_mamem"
#: arm name → keyword arguments of SPDBatchNorm (None: no batch norm)
ARMS: dict[str, dict | None] = {
    "no BN": None,
    "AIM-BN (SPDNetBN)": {"metric": "aim", "variance": "none"},
    "LieBN (LEM)": {"metric": "lem"},
    "GBW-BN θ=1": {"metric": "gbw", "power": 1.0},
    "GBW-BN θ=0.5": {"metric": "gbw", "power": 0.5},
}
KEY = ("arm", "subject", "seed", "epochs", "freeze_bimap")

#: Published accuracies on this data found so far, with where they were found (none for the five arms).
PUBLISHED_NOTES = (
    "MAtt (Pan et al., NeurIPS 2022) on MAMEM-SSVEP-II: 65.5 % accuracy, as listed under 'Related "
    "benchmarks' on https://www.wizwand.com/paper/68fa5f381e209131ce9e853c (a secondary listing; the "
    "paper's own table was not read). MAtt is a different model (manifold attention), not one of the arms.",
    "GBWBN (Wang et al., CVPR 2025, arXiv 2504.00660): its MAMEM-SSVEP-II table could not be retrieved "
    "from the stored material (only the abstract and introduction of "
    "https://ar5iv.labs.arxiv.org/html/2504.00660 came back); the README of jjscc/GBWBN states no numbers. "
    "So no published number is quoted for the five arms.",
)


class EEGFront(nn.Module):
    r"""The conv front end ``Conv2d(1→125,(c,1)) → BN → Conv2d(125→15,(1,36),pad 18) → BN``, computed lean.

    Same parameters (``conv1``, ``bn1``, ``conv2``, ``bn2``, as ``nn.Conv2d``/``nn.BatchNorm2d``), same
    function, same gradients and running statistics as the plain ``nn.Sequential`` (tested), but the
    125-channel temporal convolution is never formed. Both convolutions are linear and BN1 is an affine
    map per channel :math:`u_k = a_k h_k + c_k` (:math:`a = \gamma/\sqrt{\sigma^2+\epsilon}`,
    :math:`c = \beta - a\mu`, batch or running statistics), so with :math:`h = W_1 x + b_1`

    .. math::
        \mathrm{conv}_2(u) = x \star K + \mathbf 1_T \star k_d + b_2,\quad
        K_{o c \tau} = \sum_k W_{2,o k \tau}\, a_k W_{1,k c},\quad
        k_{d,o\tau} = \sum_k W_{2,o k \tau}\, (a_k b_{1,k} + c_k),

    where :math:`\star` is the zero-padded 1-D correlation of ``conv2`` (the indicator
    :math:`\mathbf 1_T` carries the zero padding of the constant part). Cost per trial: 15·126·8·36
    multiply-adds instead of 15·126·125·36 (16× fewer), and :math:`h` is never formed (BN1's batch
    statistics follow from the mean and covariance of ``x``, see ``_bn1_affine``).

    Shapes: ``(N, 1, c, T)`` or ``(N, c, T)`` → ``(N, 15, T + 1)``.
    """

    def __init__(
        self, channels: int = 8, hidden: int = 125, out: int = 15, kernel: int = 36, dtype=None
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype}
        self.conv1 = nn.Conv2d(1, hidden, (channels, 1), **kw)
        self.bn1 = nn.BatchNorm2d(hidden, **kw)
        self.conv2 = nn.Conv2d(hidden, out, (1, kernel), padding=(0, kernel // 2), **kw)
        self.bn2 = nn.BatchNorm2d(out, **kw)

    def _bn1_affine(self, x: torch.Tensor, W1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(a, c)`` of BN1 for inputs ``x (N, c, T)``; in training also updates its running statistics.

        The batch statistics of :math:`h = W_1 x + b_1` come from those of ``x`` without forming ``h``:
        :math:`\mu = W_1 \bar x + b_1`, :math:`\sigma^2_k = (W_1 \Sigma_x W_1^\top)_{kk}` with the
        biased covariance :math:`\Sigma_x` over batch and time (gradients flow through both, as in BN).
        """
        bn = self.bn1
        if self.training:
            xm = x.mean(dim=(0, 2))
            xc = x - xm[:, None]
            n = x.shape[0] * x.shape[2]
            cov = torch.einsum("nct,ndt->cd", xc, xc) / n
            mu = W1 @ xm + self.conv1.bias
            var = torch.einsum("kc,cd,kd->k", W1, cov, W1)
            with torch.no_grad():
                m = bn.momentum
                bn.running_mean.mul_(1 - m).add_(m * mu.detach())
                bn.running_var.mul_(1 - m).add_(m * var.detach() * n / max(n - 1, 1))
                bn.num_batches_tracked.add_(1)
        else:
            mu, var = bn.running_mean, bn.running_var
        a = bn.weight * torch.rsqrt(var + bn.eps)
        return a, bn.bias - a * mu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, c, T)`` (or ``(N, 1, c, T)``) → ``(N, out, T')``, ``T' = T + 2p − k + 1``."""
        if x.dim() == 4:
            x = x.squeeze(1)
        W1 = self.conv1.weight[:, 0, :, 0]  # (hidden, c)
        W2 = self.conv2.weight[:, :, 0, :]  # (out, hidden, k)
        a, c = self._bn1_affine(x, W1)
        K = torch.einsum("okt,k,kc->oct", W2, a, W1)  # (out, c, k)
        kd = torch.einsum("okt,k->ot", W2, a * self.conv1.bias + c)  # (out, k)
        z = nn.functional.conv1d(x, K, self.conv2.bias, padding=self.conv2.padding[1])
        z = z + kd @ self._windows(x.shape[-1], x.dtype, x.device)  # (N, out, T')
        return self.bn2(z[:, :, None, :])[:, :, 0, :]

    def _windows(self, T: int, dtype, device) -> torch.Tensor:
        """``(k, T')`` indicator ``[0 ≤ t + τ − p < T]``: which taps of window ``t`` see real samples."""
        k, p = self.conv2.kernel_size[1], self.conv2.padding[1]
        pos = (
            torch.arange(T + 2 * p - k + 1, device=device)[None, :]
            + torch.arange(k, device=device)[:, None]
            - p
        )
        return ((pos >= 0) & (pos < T)).to(dtype)


class MamemNet(nn.Module):
    r"""The GBWBN MAMEM network (see the module docstring).

    As in the released script, the conv front end runs in ``front_dtype`` (float32) and its output is
    cast to float64 before the covariance; the SPD layers and the classifier are float64.

    Args:
        bn: keyword arguments of :class:`SPDBatchNorm` on the 12 × 12 BiMap outputs, or ``None``.
        channels: EEG channels (8).
        n_classes: 5 SSVEP frequencies.
        front_dtype: dtype of the conv front end (its input is cast to it).

    Shapes: ``(N, 8, 125)`` or ``(N, 1, 8, 125)`` → logits ``(N, 5)`` float64.
    """

    def __init__(
        self, bn: dict | None, channels: int = 8, n_classes: int = 5, front_dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        kw = {"dtype": torch.float64}
        self.front_dtype = front_dtype
        self.front = EEGFront(channels, dtype=front_dtype)
        self.cov = CovPool(eps=1e-5)
        self.bimap = BiMap(15, 12, dtype=torch.float64)
        self.bn = SPDBatchNorm(12, **bn, dtype=torch.float64) if bn is not None else nn.Identity()
        self.reeig = ReEig(1e-4)
        self.logeig = LogEig(flatten=False)
        self.linear = nn.Linear(144, n_classes, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.front(x.to(self.front_dtype)).double()  # (N, 15, 126)
        S = self.bn(self.bimap(self.cov(z)))
        return self.linear(self.logeig(self.reeig(S)).flatten(-2))


def make_optimizer(model: MamemNet, lr: float, freeze_bimap: bool) -> geoopt.optim.RiemannianSGD:
    """RiemannianSGD with two groups: Euclidean weights (momentum 0.9, weight decay 5e-2) and the
    manifold / SPD-spectral parameters (plain Riemannian steps: Stiefel ``W``, bias/metric eigenbases,
    their log-eigenvalues and the BN scale)."""
    if freeze_bimap:
        model.bimap.weight.requires_grad_(False)
    euclid = list(model.front.parameters()) + list(model.linear.parameters())
    riem = [p for p in list(model.bimap.parameters()) + list(model.bn.parameters()) if p.requires_grad]
    groups = [{"params": euclid, "momentum": 0.9, "weight_decay": 5e-2}]
    if riem:
        groups.append({"params": riem, "momentum": 0.0, "weight_decay": 0.0})
    return geoopt.optim.RiemannianSGD(groups, lr=lr, stabilize=10)


def train_run(
    data: dict, arm: str, seed: int, epochs: int, lr: float, batch: int, freeze_bimap: bool
) -> dict:
    """Train one arm on one subject; return the curves and the three protocol accuracies.

    ``data``: ``{"train"|"val"|"test": (x (n, 8, 125) float32, y (n,) int64)}``. Val and test are
    evaluated together in one batch per epoch (eval mode, no grad).
    """
    gen = seed_everything(seed)
    model = MamemNet(ARMS[arm])
    opt = make_optimizer(model, lr, freeze_bimap)
    (xtr, ytr) = data["train"]
    xev = torch.cat([data["val"][0], data["test"][0]])
    yev = torch.cat([data["val"][1], data["test"][1]])
    nv = len(data["val"][1])
    loss_c, val_c, test_c = [], [], []
    error = None
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        tot = 0.0
        try:
            for i in range(0, len(ytr), batch):
                idx = perm[i : i + batch]
                loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite loss {float(loss)}")
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot += float(loss.detach()) * len(idx)
            model.eval()
            with torch.no_grad():
                hit = (model(xev).argmax(-1) == yev).double()
        except (FloatingPointError, RuntimeError, ValueError, torch.linalg.LinAlgError) as e:
            error = f"epoch {ep + 1}: {type(e).__name__}: {str(e)[:200]}"
            break
        loss_c.append(round(tot / len(ytr), 5))
        val_c.append(round(float(hit[:nv].mean()), 4))
        test_c.append(round(float(hit[nv:].mean()), 4))
    rec = {"train_loss": loss_c, "val_acc": val_c, "test_acc": test_c, "error": error}
    if error is None:
        best = int(np.argmax(val_c))
        rec.update(
            test_last=test_c[-1], val_last=val_c[-1], test_at_best_val=test_c[best], best_epoch=best + 1
        )
    return rec


def load_subject(x: torch.Tensor, y: torch.Tensor) -> dict:
    parts = mamem_ssvep2_split(x, y)
    return {k: (v.x.contiguous(), v.y.contiguous()) for k, v in parts.items()}


def run(args) -> Path:
    out = Path(args.out)
    path = out / f"{NAME}.jsonl"
    done = done_keys(path, KEY)
    x, y, subj = load_mamem_ssvep2(subjects=args.subjects)
    data = {int(s): load_subject(x[i], y[i]) for i, s in enumerate(subj.tolist())}
    flags = " ".join(sys.argv[1:])
    # seed-major order: a cut-off run leaves complete seeds for every arm and subject
    for seed in args.seeds:
        for s in data:
            for arm in args.arms:
                key = (arm, s, seed, args.epochs, args.freeze_bimap)
                if key in done:
                    continue
                t0, c0 = time.perf_counter(), time.process_time()
                rec = train_run(data[s], arm, seed, args.epochs, args.lr, args.batch, args.freeze_bimap)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                rec.update(dict(zip(KEY, key)))
                rec.update(
                    lr=args.lr,
                    batch=args.batch,
                    wall_s=round(wall, 2),
                    cpu_s=round(cpu, 2),
                    machine=machine(),
                    date=today(),
                    flags=flags,
                )
                append_record(path, rec)
                msg = rec["error"] or (
                    f"test_last {rec['test_last']:.2f} val_last {rec['val_last']:.2f} "
                    f"test@best_val {rec['test_at_best_val']:.2f}"
                )
                print(f"seed {seed} S{s:02d} {arm:18s} {wall:6.1f}s wall {cpu:6.1f}s cpu  {msg}", flush=True)
    return report(out)


def _fmt(m: float, s: float) -> str:
    return "–" if math.isnan(m) else f"{100 * m:.1f} ± {100 * s:.1f}"


def _paired_lines(sel: list[dict]) -> list[str]:
    """Markdown lines: each BN arm minus no BN on the (subject, seed) pairs both have (same init and data)."""
    base = {(r["subject"], r["seed"]): r for r in sel if r["arm"] == "no BN" and r["error"] is None}
    if not base:
        return []
    out = [
        "Paired difference to no BN (same subjects and seeds; mean ± std over subjects, points; "
        "subjects where the arm is better / worse):",
        "",
        "| arm | Δ test@last | Δ test@best val | pairs |",
        "|---|---|---|---|",
    ]
    for arm in list(ARMS)[1:]:
        pairs = [(r, base[(r["subject"], r["seed"])]) for r in sel if r["arm"] == arm and r["error"] is None]
        pairs = [(r, b) for r, b in pairs if (r["subject"], r["seed"]) in base]
        if not pairs:
            continue
        subjects = sorted({r["subject"] for r, _ in pairs})
        cells = []
        for metric in ("test_last", "test_at_best_val"):
            d = [
                float(np.mean([r[metric] - b[metric] for r, b in pairs if r["subject"] == s]))
                for s in subjects
            ]
            m, sd = mean_std(d)
            wins, losses = sum(x > 0 for x in d), sum(x < 0 for x in d)
            cells.append(f"{100 * m:+.1f} ± {100 * sd:.1f} ({wins}/{losses})")
        out.append(f"| {arm} | {cells[0]} | {cells[1]} | {len(pairs)} |")
    return [*out, ""]


def report(out: str | Path) -> Path:
    """Rebuild ``<out>/gbwbn_mamem.md`` and the curve plots from the ``.jsonl`` records alone."""
    out = Path(out)
    recs = read_records(out / f"{NAME}.jsonl")
    lines = [f"# GBW batch norm on MAMEM-SSVEP-II ({NAME}.py)", ""]
    if not recs:
        lines.append("No records yet.")
        md = out / f"{NAME}.md"
        md.write_text("\n".join(lines) + "\n")
        return md
    configs = sorted({(r["epochs"], r["freeze_bimap"]) for r in recs})
    lines += [
        "Per subject the seeds are averaged first; mean ± std (sample std) over subjects, accuracy in %.",
        "`test@last` = test (400:500) after the last epoch (the paper's protocol as written); "
        "`val@last` = trials 300:400 after the last epoch (what the released script prints, its "
        "val/test loaders being swapped); `test@best val` = test at the best-validation epoch (correct).",
        "",
    ]
    for epochs, frozen in configs:
        sel = [r for r in recs if r["epochs"] == epochs and r["freeze_bimap"] == frozen]
        lines += [
            f"## {epochs} epochs, BiMap {'frozen (as the released script)' if frozen else 'trained'}",
            "",
            "| arm | test@last | val@last | test@best val | subjects × seeds | failed runs | mean s/run "
            "(cpu) | published |",
            "|---|---|---|---|---|---|---|---|",
        ]
        full = len(ARMS) * 11
        per_seed = {sd: sum(r["seed"] == sd for r in sel) for sd in sorted({r["seed"] for r in sel})}
        lines[-2:-2] = [
            f"Runs recorded: {len(sel)} of the full recipe's {3 * full} (5 arms × 11 subjects × 3 seeds); "
            "per seed: " + ", ".join(f"seed {sd}: {n}/{full}" for sd, n in per_seed.items()) + ".",
            "",
        ]
        curves = {"train_loss": {}, "val_acc": {}, "test_acc": {}}
        for arm in ARMS:
            rs = [r for r in sel if r["arm"] == arm]
            if not rs:
                continue
            ok = [r for r in rs if r["error"] is None]
            subjects = sorted({r["subject"] for r in ok})
            n_seeds = [sum(r["subject"] == s for r in ok) for s in subjects]
            seeds = f"{min(n_seeds)}" if min(n_seeds) == max(n_seeds) else f"{min(n_seeds)}–{max(n_seeds)}"
            cells = []
            for metric in ("test_last", "val_last", "test_at_best_val"):
                per_subj = [float(np.mean([r[metric] for r in ok if r["subject"] == s])) for s in subjects]
                cells.append(_fmt(*mean_std(per_subj)))
            wall = float(np.mean([r["wall_s"] for r in rs]))
            cpu = float(np.mean([r.get("cpu_s", r["wall_s"]) for r in rs]))
            lines.append(
                f"| {arm} | {' | '.join(cells)} | {len(subjects)} × {seeds} ({len(ok)} runs) | "
                f"{len(rs) - len(ok)} | {wall:.1f} ({cpu:.1f}) | not found (notes) |"
            )
            for c in curves:
                full = [r[c] for r in ok if len(r[c]) == epochs]
                if full:
                    curves[c][arm] = np.asarray(full)
        lines.append("")
        lines += _paired_lines(sel)
        # per-subject table of the correct protocol
        subjects = sorted({r["subject"] for r in sel if r["error"] is None})
        lines += [
            "Per subject, test@best val (mean over seeds, %):",
            "",
            "| arm | " + " | ".join(f"S{s}" for s in subjects) + " |",
            "|---|" + "---|" * len(subjects),
        ]
        for arm in ARMS:
            ok = [r for r in sel if r["arm"] == arm and r["error"] is None]
            if not ok:
                continue
            vals = []
            for s in subjects:
                v = [r["test_at_best_val"] for r in ok if r["subject"] == s]
                vals.append(f"{100 * np.mean(v):.0f}" if v else "–")
            lines.append(f"| {arm} | " + " | ".join(vals) + " |")
        lines.append("")
        failed = [r for r in sel if r["error"] is not None]
        for r in failed:
            lines.append(f"- failed: {r['arm']} S{r['subject']} seed {r['seed']}: {r['error']}")
        tag = f"{NAME}_e{epochs}" + ("_frozen" if frozen else "")
        for c, ylabel in (
            ("test_acc", "test accuracy"),
            ("val_acc", "validation accuracy"),
            ("train_loss", "train loss"),
        ):
            if curves[c]:
                p = plot_curves(
                    curves[c],
                    out / f"{tag}_{c}.png",
                    ylabel=ylabel,
                    title=f"MAMEM-SSVEP-II, mean over runs ({c})",
                )
                lines.append(f"![{c}]({p.name})")
        lines.append("")
    lines += ["Published numbers:", ""] + [f"- {n}" for n in PUBLISHED_NOTES]
    r0 = recs[-1]
    lines += [
        "",
        f"Machine: {r0['machine']}; last record {r0['date']}; flags of the last run: "
        + (f"`{r0['flags']}`." if r0["flags"] else "none (the full recipe)."),
    ]
    md = out / f"{NAME}.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--lr", type=float, default=2.5e-3)
    p.add_argument("--batch", type=int, default=30)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--subjects", type=int, nargs="+", default=list(range(1, 12)))
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--freeze-bimap", action="store_true", help="untrained BiMap, as in the released script")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--quick", action="store_true", help="smoke run: 1 subject, 2 arms, 1 seed, 2 epochs")
    p.add_argument("--report", action="store_true", help="only rebuild the table and plots")
    a = p.parse_args(argv)
    if a.quick:
        a.epochs, a.seeds, a.subjects = 2, [0], [1]
        a.arms = ["no BN", "GBW-BN θ=0.5"]
    return a


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.report:
        print(report(args.out))
        return
    print(run(args))


if __name__ == "__main__":
    main()
