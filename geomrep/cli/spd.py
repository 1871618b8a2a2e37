"""CLI registrations for :mod:`geomrep.manifolds.spd`: property checks, MAMEM demo, batch-norm benchmark.

- checks ``spd.exp_log``, ``spd.gbw_isometry``, ``spd.bn_congruence``, ``spd.bw_mean_stationary``,
  ``spd.transport_isometry``;
- demo ``spd.mamem_gbwbn``: SPDNet on MAMEM-SSVEP-II (GBWBN's split) without BN vs with GBW-BN;
- benchmark ``spd.batchnorm``: forward+backward of the batched GBW layer vs the AIM layer and vs the
  per-matrix loop twin (:func:`geomrep.manifolds.spd.gbw_batchnorm_reference`).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import geoopt
import numpy as np
import torch
from torch import nn

from ..datasets import filterbank_covariances, load_mamem_ssvep2, mamem_ssvep2_split
from ..manifolds.spd import (
    BiMap,
    LogEig,
    ReEig,
    SPDBatchNorm,
    bw_exp,
    bw_inner,
    bw_log,
    bw_mean,
    bw_transport_to_identity,
    gbw_batchnorm_reference,
    gbw_distance,
)
from .registry import register_benchmark, register_check, register_demo
from .table import round_sig
from .timing import time_fn

__all__ = [
    "random_spd",
    "SPDNet",
    "train_spdnet",
    "time_batchnorm",
]


# ---------------------------------------------------------------------------------------------- data
def random_spd(batch: int, n: int, cond: float, dtype, generator: torch.Generator) -> torch.Tensor:
    """SPD matrices ``(batch, n, n)``, eigenvalues log-uniform in ``[1/cond, 1]``, Haar eigenvectors."""
    A = torch.randn(batch, n, n, dtype=torch.float64, generator=generator)
    Q, R = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))[..., None, :]
    lam = cond ** (-torch.rand(batch, n, dtype=torch.float64, generator=generator))
    return ((Q * lam[..., None, :]) @ Q.mT).to(dtype)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(torch.finfo(b.dtype).tiny))


# ---------------------------------------------------------------------------------------------- checks
_TOL = {torch.float32: 1e-4, torch.float64: 1e-12}  # ~30x / ~150x the measured error


@register_check("spd.exp_log", tol=_TOL, description="Exp_P(Log_P X) == X (BW, κ = 100, n = 6)")
def _check_exp_log(dtype, gen):
    P = random_spd(1, 6, 100.0, dtype, gen)[0]
    X = random_spd(8, 6, 100.0, dtype, gen)
    return _rel(bw_exp(P, bw_log(P, X)), X)


@register_check(
    "spd.gbw_isometry",
    tol=_TOL,
    description="d_M(X,Y) from eig(X M⁻¹ Y M⁻¹) == d_BW(M^-½ X M^-½, M^-½ Y M^-½) (relative)",
)
def _check_gbw_isometry(dtype, gen):
    X = random_spd(8, 5, 50.0, dtype, gen)
    Y = random_spd(8, 5, 50.0, dtype, gen)
    M = random_spd(1, 5, 10.0, dtype, gen)[0]
    Mi = torch.linalg.inv(M.double())
    mu = torch.linalg.eigvals(X.double() @ Mi @ Y.double() @ Mi).real.clamp_min(0)
    tr = lambda A: torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    direct = tr(Mi @ X.double()) + tr(Mi @ Y.double()) - 2 * mu.sqrt().sum(-1)
    return _rel(gbw_distance(X, Y, M, squared=True).double(), direct)


@register_check(
    "spd.bn_congruence",
    tol={torch.float32: 1e-4, torch.float64: 1e-12},
    description="SPDBatchNorm (B = M = I, θ = 0.5) commutes with X ↦ QXQᵀ (relative error)",
)
def _check_bn_congruence(dtype, gen):
    n = 6
    bn = SPDBatchNorm(n, metric="gbw", power=0.5, dtype=dtype)
    X = random_spd(10, n, 1e3, dtype, gen)
    Q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=gen))
    Q = Q.to(dtype)
    with torch.no_grad():
        return _rel(bn(Q @ X @ Q.mT), Q @ bn(X) @ Q.mT)


@register_check(
    "spd.bw_mean_stationary",
    tol={torch.float32: 5e-5, torch.float64: 1e-12},
    description="‖Σ Log_S X_i‖ / ‖X‖ at the fixed-point BW barycenter S",
)
def _check_bw_mean(dtype, gen):
    X = random_spd(12, 5, 20.0, dtype, gen)
    S = bw_mean(X, iters=100)
    return float(bw_log(S, X).mean(0).abs().max() / X.abs().max())


@register_check(
    "spd.transport_isometry",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="g_I(Γ_{P→I}V, Γ_{P→I}V) == g_P(V, V) (relative)",
)
def _check_transport(dtype, gen):
    P = random_spd(1, 6, 100.0, dtype, gen)[0]
    V = torch.randn(6, 6, 6, dtype=torch.float64, generator=gen).to(dtype)
    V = V + V.mT
    T = bw_transport_to_identity(P, V)
    eye = torch.eye(6, dtype=dtype)
    return _rel(bw_inner(eye, T, T), bw_inner(P, V, V))


# ---------------------------------------------------------------------------------------------- model
class SPDNet(nn.Module):
    """BiMap → [SPDBatchNorm] → ReEig → LogEig → Linear, with an optional batch norm of any metric.

    Args:
        n_in: input matrix size; n_hidden: BiMap output size; n_classes: classes.
        bn: ``None`` (no batch norm) or keyword arguments of :class:`SPDBatchNorm` (e.g.
            ``{"metric": "gbw", "power": 0.5}``).
    """

    def __init__(self, n_in: int, n_hidden: int, n_classes: int, bn: dict | None = None) -> None:
        super().__init__()
        self.bimap = BiMap(n_in, n_hidden)
        self.bn = SPDBatchNorm(n_hidden, **bn) if bn is not None else nn.Identity()
        self.reeig = ReEig(1e-4)
        self.logeig = LogEig()
        self.head = nn.Linear(n_hidden * (n_hidden + 1) // 2, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.head(self.logeig(self.reeig(self.bn(self.bimap(X)))))


def train_spdnet(
    data: dict,
    bn: dict | None,
    *,
    n_hidden: int = 12,
    epochs: int = 20,
    batch_size: int = 30,
    lr: float = 0.02,
    seed: int = 0,
    dtype=torch.float64,
) -> dict:
    """Train :class:`SPDNet` with ``geoopt.optim.RiemannianAdam``; evaluate on val/test every epoch.

    Args:
        data: ``{"train": (X, y), "val": (X, y), "test": (X, y)}`` with SPD ``X (N, n, n)``.
        bn: batch-norm options (see :class:`SPDNet`).

    Returns:
        dict with per-epoch ``train_loss``, ``val_acc``, ``test_acc``, the ``test_acc_at_best_val``
        (model selection on the validation split, as in GBWBN) and ``seconds``.
    """
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    Xtr, ytr = data["train"]
    n_in = Xtr.shape[-1]
    n_classes = int(max(int(v[1].max()) for v in data.values())) + 1
    model = SPDNet(n_in, n_hidden, n_classes, bn).to(dtype)
    opt = geoopt.optim.RiemannianAdam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    hist = {"train_loss": [], "val_acc": [], "test_acc": []}
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total = 0.0
        for i in range(0, len(ytr), batch_size):
            idx = perm[i : i + batch_size]
            if len(idx) < 2:
                continue
            loss = nn.functional.cross_entropy(model(Xtr[idx].to(dtype)), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        hist["train_loss"].append(total / len(ytr))
        model.eval()
        with torch.no_grad():
            for split in ("val", "test"):
                X, y = data[split]
                hist[f"{split}_acc"].append(float((model(X.to(dtype)).argmax(-1) == y).float().mean()))
    best = int(np.argmax(hist["val_acc"]))
    hist["test_acc_at_best_val"] = hist["test_acc"][best]
    hist["seconds"] = time.perf_counter() - t0
    return hist


# ---------------------------------------------------------------------------------------------- demo
@register_demo(
    "spd.mamem_gbwbn",
    description="SPDNet on MAMEM-SSVEP-II (GBWBN split, filter-bank covariances): no BN vs GBW-BN",
)
def _demo(outdir: Path, quick: bool) -> list[dict]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # optional dependency ([tutorials] extra): imported on use

    subjects = [1] if quick else [1, 2, 3]
    epochs = 8 if quick else 20
    rows, curves = [], {}
    for s in subjects:
        x, y, _ = load_mamem_ssvep2(subjects=[s])
        C = filterbank_covariances(x[0].numpy())
        parts = mamem_ssvep2_split(C, y[0])
        data = {k: (v.x, v.y) for k, v in parts.items()}
        for name, bn in (("no BN", None), ("GBW-BN θ=0.5", {"metric": "gbw", "power": 0.5})):
            h = train_spdnet(data, bn, epochs=epochs)
            curves.setdefault(name, []).append(h["test_acc"])
            rows.append(
                {"subject": s, "model": name, "test acc (best val)": round(h["test_acc_at_best_val"], 3),
                 "chance": 0.24, "seconds": round(h["seconds"], 1)}
            )
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, cs in curves.items():
        ax.plot(np.mean(cs, axis=0), label=name)
    ax.axhline(0.24, color="gray", ls=":", label="chance (majority)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("SPDNet on MAMEM-SSVEP-II")
    ax.legend()
    fig.tight_layout()
    fig.savefig(Path(outdir) / "spd_mamem_gbwbn.png", dpi=80)
    plt.close(fig)
    return rows


# ---------------------------------------------------------------------------------------------- benchmark
def time_batchnorm(
    n: int,
    batch: int = 30,
    dtype=torch.float64,
    *,
    repeats: int = 7,
    loop_repeats: int = 3,
    seed: int = 0,
    compile: bool = False,
    device: str | torch.device = "cpu",
) -> dict:
    """Forward+backward milliseconds per batch of the batched GBW/AIM layers and of the per-matrix loop twin.

    The batched GBW, AIM and LEM (LieBN-style) layers and the loop run the same configuration (train
    mode, θ = 1, one fixed-point step, variance to the mean); with ``compile=True`` also the GBW layer
    under ``torch.compile`` (inductor; compilation excluded as warm-up). The loop twin gets the same
    parameters (``B = U diag(e^b) Uᵀ`` passed as a matrix). The
    row also reports the maximal output difference between the GBW layer and the loop, and the time
    of the two batched ``eigh`` calls the GBW layer cannot avoid (``eigh floor``) with the bound
    ``loop / floor`` on the speed-up of any batched implementation that uses ``eigh``. ``device``:
    where everything runs (on CUDA the layers' ``sqrtm_method="auto"`` takes the matmul-only ``"sns"``
    path, the loop keeps one ``eigh`` per matrix; timings synchronise the device).
    """
    gen = torch.Generator().manual_seed(seed)
    X = random_spd(batch, n, 100.0, dtype, gen).to(device)
    W = torch.randn(batch, n, n, dtype=torch.float64, generator=gen).to(device=device, dtype=dtype)
    row: dict = {"n": n, "batch": batch, "dtype": str(dtype).replace("torch.", "")}
    layers = {}
    for metric in ("gbw", "aim", "lem"):
        bn = SPDBatchNorm(n, metric=metric, dtype=dtype, device=device)
        with torch.no_grad():  # generic parameters, distinct eigenvalues (the loop's eigh needs them)
            if metric == "gbw":
                bn.set_metric(random_spd(1, n, 5.0, dtype, gen)[0])
            Q = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=gen))[0]
            bn.bias_eigvecs.copy_(Q.to(dtype))
            bn.bias_log_eigvals.copy_(torch.linspace(-0.5, 0.5, n, dtype=dtype))
        layers[metric] = bn

        def step(bn=bn):
            x = X.clone().requires_grad_()
            (bn(x) * W).sum().backward()

        row[f"{metric} layer ms"] = 1e3 * time_fn(step, warmup=2, repeats=repeats, device=device)
    bn = layers["gbw"]
    if compile:  # the same GBW layer under torch.compile (inductor); compilation is in the warm-up
        compiled = torch.compile(copy.deepcopy(bn))

        def compiled_step():
            x = X.clone().requires_grad_()
            (compiled(x) * W).sum().backward()

        row["gbw compiled ms"] = 1e3 * time_fn(compiled_step, warmup=3, repeats=repeats, device=device)
    params = {k: v.detach().clone().requires_grad_() for k, v in bn.named_parameters()}

    def loop_step():
        x = X.clone().requires_grad_()
        U, b = params["bias_eigvecs"], params["bias_log_eigvals"]
        V, m = params["metric_eigvecs"], params["metric_log_eigvals"]
        B, M = (U * b.exp()) @ U.mT, (V * m.exp()) @ V.mT
        Y, _, _ = gbw_batchnorm_reference(x, M, B, params["scale"])
        (Y * W).sum().backward()

    row["per-matrix loop ms"] = 1e3 * time_fn(loop_step, warmup=1, repeats=loop_repeats, device=device)
    row["loop / gbw"] = row["per-matrix loop ms"] / row["gbw layer ms"]
    if compile:
        row["loop / gbw compiled"] = row["per-matrix loop ms"] / row["gbw compiled ms"]
    # The GBW layer's unavoidable work: two batched eigendecompositions (the fixed-point step's roots
    # and the forward root). A layer doing nothing else would still take this long, so
    # loop / floor bounds the ratio that any eigh-based batched implementation can reach.
    floor = 2e3 * time_fn(lambda: torch.linalg.eigh(X), warmup=2, repeats=repeats, device=device)
    row["eigh floor ms"] = floor
    row["loop / floor (bound)"] = row["per-matrix loop ms"] / floor
    row["aim / gbw"] = row["aim layer ms"] / row["gbw layer ms"]
    with torch.no_grad():
        ref = copy.deepcopy(bn)
        U, b = ref.bias_eigvecs, ref.bias_log_eigvals
        Yl, _, _ = gbw_batchnorm_reference(X, ref.M, (U * b.exp()) @ U.mT, ref.scale)
        row["max abs diff gbw-loop"] = float((ref(X) - Yl).abs().max())
    return row


@register_benchmark(
    "spd.batchnorm",
    description="GBW batch norm fwd+bwd (batch 30) vs AIM layer and vs the per-matrix loop (target ≥ 20×)",
)
def _bench(quick: bool) -> list[dict]:
    sizes = (12, 30) if quick else (12, 30, 93)
    rows = []
    for n in sizes:
        r = time_batchnorm(n, 30, torch.float64, repeats=3 if quick else 7, loop_repeats=1 if quick else 3)
        rows.append({k: round_sig(v) for k, v in r.items()})
    return rows
