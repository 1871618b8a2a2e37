"""CLI registrations for :mod:`geomrep.manifolds.grassmann`: property checks, digits demo, head benchmark.

- checks ``grassmann.logit_invariance`` (logits under S_i → S_i Q_i), ``grassmann.exp_log`` (exp/log round
  trip), ``grassmann.dist_orthogonal`` (distance invariant under a common orthogonal map);
- demo ``grassmann.digits``: the same small CNN on scikit-learn digits with a softmax head vs a Grassmann
  head;
- benchmark ``grassmann.head``: forward+backward of the head vs its ``nn.Linear(d, k·C)`` floor and vs a
  softmax ``nn.Linear(d, C)``; optimizer steps of ``GrassmannSGD`` / ``RiemannianSGD`` vs SGD.

The data, model and training helpers here are shared by ``tutorials/grassmann_heads.ipynb`` and
``benchmarks/bench_grassmann.py``.
"""

from __future__ import annotations

import gzip
import math
import time
from pathlib import Path

import geoopt
import numpy as np
import torch
from torch import nn

from ..datasets._root import data_root
from ..manifolds.grassmann import (
    Grassmann,
    GrassmannClassifier,
    GrassmannSGD,
    grassmann_distance,
    grassmann_exp,
    grassmann_log,
    random_grassmann,
)
from .registry import register_benchmark, register_check, register_demo
from .table import round_sig
from .timing import time_fn

__all__ = [
    "load_mnist_t10k",
    "load_digits",
    "SmallCNN",
    "make_head",
    "train_classifier",
    "extract_features",
    "feature_statistics",
    "time_head",
    "time_optimizer_steps",
]


# ---------------------------------------------------------------------------------------------- data
def load_mnist_t10k(root: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST's 10k *test* images ``(10000, 1, 28, 28)`` in [0, 1] (float32) and labels ``(10000,)``.

    Reads ``<root>/mnist_test/t10k-*-idx?-ubyte.gz`` (``root`` defaults to ``$GEOMREP_DATA``). Only the
    test set is available offline: tutorials split it into train/test, which is not the standard protocol.
    """
    folder = data_root(root, "mnist_test")
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    x = torch.from_numpy(raw.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 real 8×8 digit images ``(N, 1, 8, 8)`` in [0, 1] and labels."""
    from sklearn.datasets import load_digits as _sk_digits  # optional dependency: imported on use

    d = _sk_digits()
    x = torch.from_numpy((d.images / 16.0).astype(np.float32))[:, None]
    return x, torch.from_numpy(d.target.astype(np.int64))


# ---------------------------------------------------------------------------------------------- model
class SmallCNN(nn.Module):
    """Two 3×3 conv blocks (ReLU, 2×2 max-pool), global 4×4 average pool, a linear layer to ``features``.

    Conv blocks have batch norm. Works for 8×8 and 28×28 single-channel images. Output ``(N, features)``:
    the linear layer's output (``relu_features=True`` adds a ReLU; measured on digits it made the Grassmann
    heads train worse: 0.91 → 0.86 test accuracy at k = 4 in one run). No dropout (GCR turns off the last
    dropout before the head).
    """

    def __init__(self, features: int = 32, width: int = 16, relu_features: bool = False) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(8 * width, features),
            *([nn.ReLU()] if relu_features else []),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def make_head(kind: str | int, features: int, num_classes: int, scale: float = 25.0) -> nn.Module:
    """``"softmax"`` → ``nn.Linear(features, num_classes)``; an int ``k`` → :class:`GrassmannClassifier`."""
    if kind == "softmax":
        return nn.Linear(features, num_classes)
    return GrassmannClassifier(features, num_classes, subspace_dim=int(kind), scale=scale)


def train_classifier(
    head_kind: str | int,
    data: dict,
    *,
    epochs: int = 8,
    features: int = 32,
    lr: float = 0.05,
    basis_lr: float = 0.05,
    scale: float = 10.0,
    batch_size: int = 64,
    seed: int = 0,
    basis_optimizer: str = "grassmann_sgd",
) -> dict:
    """Train ``SmallCNN`` + a head with SGD (momentum 0.9, weight decay 5e-4, cosine schedule).

    A Grassmann head is trained by :class:`GrassmannSGD` at ``basis_lr`` following the body's schedule
    (no weight decay on the bases, as in the paper); a softmax head joins the body's optimizer. Defaults
    chosen by a few runs on digits and on the MNIST split (k = 8, 3 epochs): body lr 0.05, ``basis_lr``
    0.05, γ = 10. γ = 25 (the paper's value at d = 2048) and γ = 16 trained worse at d = 32 (MNIST k = 8:
    0.44 at γ = 16 vs 0.73 at γ = 10, body lr 0.1), as did body lr 0.1 (0.73 vs 0.90 at lr 0.05).

    Args:
        head_kind: ``"softmax"`` or ``k``.
        data: ``{"train": (x, y), "test": (x, y)}``.
        basis_optimizer: for a Grassmann head, ``"grassmann_sgd"`` (default), or geoopt's
            ``"riemannian_sgd"`` (momentum 0.9) / ``"riemannian_adam"``, each at ``basis_lr`` with its own
            cosine schedule.

    Returns:
        dict with ``model`` (``nn.Sequential(body, head)``), ``test_acc``, per-epoch ``train_loss``,
        ``seconds``.
    """
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    xtr, ytr = data["train"]
    num_classes = int(max(int(data["train"][1].max()), int(data["test"][1].max()))) + 1
    body = SmallCNN(features)
    head = make_head(head_kind, features, num_classes, scale)
    model = nn.Sequential(body, head)
    body_params = list(body.parameters()) + ([] if head_kind != "softmax" else list(head.parameters()))
    opt = torch.optim.SGD(body_params, lr=lr, momentum=0.9, weight_decay=5e-4)
    steps = epochs * math.ceil(len(ytr) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    head_opt, head_sched = None, None
    if head_kind != "softmax":
        if basis_optimizer == "grassmann_sgd":
            head_opt = GrassmannSGD(head.parameters(), lr=basis_lr, follow=opt)
        elif basis_optimizer == "riemannian_sgd":
            head_opt = geoopt.optim.RiemannianSGD(head.parameters(), lr=basis_lr, momentum=0.9)
        elif basis_optimizer == "riemannian_adam":
            head_opt = geoopt.optim.RiemannianAdam(head.parameters(), lr=basis_lr)
        else:
            raise ValueError(
                "basis_optimizer must be grassmann_sgd, riemannian_sgd or riemannian_adam, "
                f"got {basis_optimizer!r}"
            )
        if basis_optimizer != "grassmann_sgd":
            head_sched = torch.optim.lr_scheduler.CosineAnnealingLR(head_opt, steps)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total = 0.0
        for i in range(0, len(ytr), batch_size):
            idx = perm[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            if head_opt is not None:
                head_opt.zero_grad()
            loss.backward()
            opt.step()
            if head_opt is not None:
                head_opt.step()
            sched.step()
            if head_sched is not None:
                head_sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(ytr))
    xte, yte = data["test"]
    acc = float((predict(model, xte) == yte).float().mean())
    return {"model": model, "test_acc": acc, "train_loss": losses, "seconds": time.perf_counter() - t0}


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Arg-max class of ``model(x)`` in eval mode, in batches."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]).argmax(-1) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def extract_features(body: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Features ``body(x)`` in eval mode, in batches."""
    body.eval()
    return torch.cat([body(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def feature_statistics(features: torch.Tensor, labels: torch.Tensor) -> dict:
    """Intra-class variability and class separation R² of features (cosine geometry).

    - ``variability``: mean angle in degrees between two L2-normalised features of the same class;
    - ``r2``: class separation ``1 − d̄_within / d̄_total`` with ``d̄`` the mean cosine distance
      ``1 − cos`` over pairs of the same class / over all pairs (Kornblith et al., 2021, the measure the
      GCR paper's Table 3 reports; larger = classes more separated, features less transferable).
    """
    f = nn.functional.normalize(features.double(), dim=-1)
    cos = (f @ f.T).clamp(-1, 1)
    same = labels[:, None] == labels[None, :]
    off = ~torch.eye(len(labels), dtype=torch.bool)
    within = same & off
    angle = torch.rad2deg(torch.arccos(cos[within])).mean()
    d_within = (1 - cos[within]).mean()
    d_total = (1 - cos[off]).mean()
    return {"variability": float(angle), "r2": float(1 - d_within / d_total)}


# ---------------------------------------------------------------------------------------------- checks
_TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


@register_check(
    "grassmann.logit_invariance",
    tol={torch.float32: 2e-5, torch.float64: 1e-12},
    description="GrassmannClassifier logits unchanged under S_i → S_i Q_i (relative, C=10, d=32, k=4)",
)
def _check_logits(dtype, gen):
    head = GrassmannClassifier(32, 10, subspace_dim=4, dtype=dtype)
    with torch.no_grad():
        head.bases.copy_(random_grassmann(10, 32, 4, dtype=torch.float64, generator=gen).to(dtype))
        x = torch.randn(16, 32, dtype=torch.float64, generator=gen).to(dtype)
        Q = torch.linalg.qr(torch.randn(10, 4, 4, dtype=torch.float64, generator=gen))[0].to(dtype)
        before = head(x)
        head.bases.copy_(head.bases @ Q)
        after = head(x)
    return float((after - before).abs().max() / before.abs().max())


@register_check(
    "grassmann.exp_log",
    tol={torch.float32: 2e-5, torch.float64: 1e-12},
    description="Log_X(Exp_X U) == U for ‖U‖₂ < π/2 and Exp_X(Log_X Y) spans Y (d=20, k=5)",
)
def _check_exp_log(dtype, gen):
    X = random_grassmann(8, 20, 5, dtype=torch.float64, generator=gen).to(dtype)
    Y = random_grassmann(8, 20, 5, dtype=torch.float64, generator=gen).to(dtype)
    G = torch.randn(8, 20, 5, dtype=torch.float64, generator=gen).to(dtype)
    U = G - X @ (X.mT @ G)
    U = U / torch.linalg.matrix_norm(U, ord=2)[..., None, None]  # ‖U‖₂ = 1 < π/2
    e1 = (grassmann_log(X, grassmann_exp(X, U)) - U).abs().max()
    Z = grassmann_exp(X, grassmann_log(X, Y))
    e2 = (Z @ Z.mT - Y @ Y.mT).abs().max()
    return float(max(e1, e2))


@register_check(
    "grassmann.dist_orthogonal",
    tol={torch.float32: 2e-5, torch.float64: 1e-12},
    description="d(OX, OY) == d(X, Y) for a common orthogonal O (relative, d=24, k=6)",
)
def _check_dist(dtype, gen):
    X = random_grassmann(8, 24, 6, dtype=torch.float64, generator=gen).to(dtype)
    Y = random_grassmann(8, 24, 6, dtype=torch.float64, generator=gen).to(dtype)
    O = torch.linalg.qr(torch.randn(24, 24, dtype=torch.float64, generator=gen))[0].to(dtype)
    d = grassmann_distance(X, Y)
    return float((grassmann_distance(O @ X, O @ Y) - d).abs().max() / d.abs().max())


# ---------------------------------------------------------------------------------------------- demo
def split(x: torch.Tensor, y: torch.Tensor, n_train: int, seed: int = 0) -> dict:
    """Random train/test split (seeded): the first ``n_train`` of a permutation train, the rest test."""
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    tr, te = perm[:n_train], perm[n_train:]
    return {"train": (x[tr], y[tr]), "test": (x[te], y[te])}


@register_demo(
    "grassmann.digits",
    description="SmallCNN on sklearn digits: softmax head vs Grassmann head (k = 4), test accuracy",
)
def _demo(outdir: Path, quick: bool) -> list[dict]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # optional dependency ([tutorials] extra): imported on use

    x, y = load_digits()
    data = split(x, y, 1200)
    seeds = [0] if quick else [0, 1, 2]
    epochs = 6 if quick else 15
    rows, accs = [], {}
    for kind in ("softmax", 4):
        name = "softmax" if kind == "softmax" else f"Grassmann k={kind}"
        for s in seeds:
            r = train_classifier(kind, data, epochs=epochs, seed=s)
            accs.setdefault(name, []).append(r["test_acc"])
        rows.append(
            {
                "head": name,
                "test acc mean": round(float(np.mean(accs[name])), 4),
                "std": round(float(np.std(accs[name])), 4),
                "seeds": len(seeds),
                "n test": len(data["test"][1]),
            }
        )
    fig, ax = plt.subplots(figsize=(4, 3))
    names = list(accs)
    ax.bar(names, [np.mean(accs[n]) for n in names], yerr=[np.std(accs[n]) for n in names], capsize=4)
    ax.set_ylim(min(min(v) for v in accs.values()) - 0.05, 1.0)
    ax.set_ylabel("test accuracy")
    ax.set_title("digits: softmax vs Grassmann head")
    fig.tight_layout()
    fig.savefig(Path(outdir) / "grassmann_digits.png", dpi=80)
    plt.close(fig)
    return rows


# ---------------------------------------------------------------------------------------------- benchmark
def time_head(
    d: int,
    C: int,
    k: int = 8,
    batch: int = 256,
    *,
    dtype=torch.float32,
    device: str | torch.device = "cpu",
    repeats: int = 10,
) -> dict:
    """Forward+backward milliseconds of ``GrassmannClassifier(d, C, k)`` vs ``nn.Linear(d, k·C)`` (its floor)
    and vs a softmax ``nn.Linear(d, C)``, batch ``batch``, gradients for the input and the weights.
    """
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(batch, d, generator=gen).to(device=device, dtype=dtype)
    heads = {
        "grassmann head ms": GrassmannClassifier(d, C, subspace_dim=k, dtype=dtype, device=device),
        "linear d→kC ms": nn.Linear(d, k * C, bias=False).to(device=device, dtype=dtype),
        "softmax d→C ms": nn.Linear(d, C).to(device=device, dtype=dtype),
    }
    row: dict = {"d": d, "C": C, "k": k, "batch": batch, "dtype": str(dtype).replace("torch.", "")}
    for name, head in heads.items():

        def step(head=head):
            x = x0.clone().requires_grad_()
            head(x).sum().backward()

        row[name] = 1e3 * time_fn(step, warmup=2, repeats=repeats, device=device)
    row["head / linear floor"] = row["grassmann head ms"] / row["linear d→kC ms"]
    row["head / softmax"] = row["grassmann head ms"] / row["softmax d→C ms"]
    return row


def time_optimizer_steps(
    d: int,
    C: int,
    k: int = 8,
    *,
    dtype=torch.float32,
    device: str | torch.device = "cpu",
    repeats: int = 10,
) -> dict:
    """Milliseconds per optimizer step on bases ``(C, d, k)``: ``GrassmannSGD`` (geodesic step; a QR every
    5th step), geoopt ``RiemannianSGD`` (QR retraction) and ``torch.optim.SGD`` (no manifold), all with
    momentum 0.9 on the same tensors and gradient.
    """
    gen = torch.Generator().manual_seed(0)
    X = random_grassmann(C, d, k, dtype=torch.float32, generator=gen).to(device=device, dtype=dtype)
    G = torch.randn(C, d, k, generator=gen).to(device=device, dtype=dtype)
    row: dict = {"d": d, "C": C, "k": k, "dtype": str(dtype).replace("torch.", "")}
    makers = {
        "GrassmannSGD ms": lambda p: GrassmannSGD([p], lr=1e-3, momentum=0.9),
        "RiemannianSGD ms": lambda p: geoopt.optim.RiemannianSGD([p], lr=1e-3, momentum=0.9),
        "SGD ms": lambda p: torch.optim.SGD([p], lr=1e-3, momentum=0.9),
    }
    for name, make in makers.items():
        p = (
            geoopt.ManifoldParameter(X.clone(), manifold=Grassmann())
            if name != "SGD ms"
            else nn.Parameter(X.clone())
        )
        p.grad = G.clone()
        opt = make(p)
        row[name] = 1e3 * time_fn(opt.step, warmup=2, repeats=max(repeats, 5), device=device)
    row["GrassmannSGD / SGD"] = row["GrassmannSGD ms"] / row["SGD ms"]
    row["RiemannianSGD / SGD"] = row["RiemannianSGD ms"] / row["SGD ms"]
    return row


@register_benchmark(
    "grassmann.head",
    description="Grassmann head fwd+bwd vs Linear(d, kC) floor (target ≤ 1.2×); geodesic step vs head (≤ 2×)",
)
def _bench(quick: bool) -> list[dict]:
    configs = [(512, 100)] if quick else [(512, 100), (512, 1000), (2048, 100), (2048, 1000)]
    rows = []
    for d, C in configs:
        h = time_head(d, C, 8, 256, repeats=3 if quick else 10)
        s = time_optimizer_steps(d, C, 8, repeats=3 if quick else 10)
        row = {**h, **{k: v for k, v in s.items() if k.endswith("ms") or "/" in k}}
        row["geodesic step / head"] = row["GrassmannSGD ms"] / row["grassmann head ms"]
        rows.append({k: round_sig(v) for k, v in row.items()})
    return rows
