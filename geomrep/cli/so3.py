"""CLI registrations for :mod:`geomrep.manifolds.so3`: property checks, QM9 rotation demo, benchmark.

- checks ``so3.sixd_left_equivariance`` (6D map commutes with left multiplication),
  ``so3.geodesic_bi_invariance`` (``d(gR₁h, gR₂h) = d(R₁, R₂)``), ``so3.exp_log`` (``Exp_x Log_x y = y``,
  also at angles within 1e-6 of π), ``so3.small_angle_distance`` (relative error of the distance at 1e-6 rad);
- demo ``so3.qm9_rotation_regression``: a Siamese PointNet regresses the rotation between a QM9 molecule and
  a rotated copy, with each rotation representation (Zhou et al., CVPR 2019);
- benchmark ``so3.maps``: forward+backward time of :func:`rotation_6d_to_matrix`, :func:`special_procrustes`
  and :func:`geodesic_distance` against roma's equivalents, same run.

The model and training loop used by the demo and by ``tutorials/rotations_6d.ipynb`` live here
(:func:`molecule_point_cloud`, :class:`SiamesePointNet`, :func:`train_rotation_regressor`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch import nn

from ..datasets import load_qm9
from ..manifolds.so3 import (
    GeodesicLoss,
    RotationHead,
    SpecialOrthogonal,
    axis_angle_to_matrix,
    geodesic_distance,
    random_rotation,
    rotation_6d_to_matrix,
    special_procrustes,
)
from .registry import register_benchmark, register_check, register_demo
from .timing import time_fn

__all__ = [
    "molecule_point_cloud",
    "SiamesePointNet",
    "train_rotation_regressor",
    "evaluate_rotation_regressor",
    "time_rotation_maps",
]

_ELEMENTS = (1, 6, 7, 8, 9)  # H C N O F


# ---------------------------------------------------------------------------------------------- checks
@register_check(
    "so3.sixd_left_equivariance",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="rotation_6d_to_matrix(g a₁, g a₂) == g · rotation_6d_to_matrix(a₁, a₂)",
)
def _check_sixd(dtype, gen):
    x = torch.randn(64, 6, dtype=torch.float64, generator=gen).to(dtype)
    g = random_rotation(dtype=dtype, generator=gen)
    gx = torch.cat((x[:, :3] @ g.mT, x[:, 3:] @ g.mT), dim=-1)
    return float((rotation_6d_to_matrix(gx) - g @ rotation_6d_to_matrix(x)).abs().max())


@register_check(
    "so3.geodesic_bi_invariance",
    tol={torch.float32: 1e-5, torch.float64: 1e-12},
    description="geodesic_distance(g R₁ h, g R₂ h) == geodesic_distance(R₁, R₂) (radians)",
)
def _check_bi_invariance(dtype, gen):
    R1 = random_rotation(64, dtype=dtype, generator=gen)
    R2 = random_rotation(64, dtype=dtype, generator=gen)
    g, h = random_rotation(dtype=dtype, generator=gen), random_rotation(dtype=dtype, generator=gen)
    return float((geodesic_distance(g @ R1 @ h, g @ R2 @ h) - geodesic_distance(R1, R2)).abs().max())


@register_check(
    "so3.exp_log",
    tol={torch.float32: 5e-6, torch.float64: 1e-13},
    description="SpecialOrthogonal: Exp_x(Log_x y) == y, random pairs and pairs at π − 1e-6",
)
def _check_exp_log(dtype, gen):
    man = SpecialOrthogonal()
    x = random_rotation(64, dtype=dtype, generator=gen)
    y = random_rotation(64, dtype=dtype, generator=gen)
    axis = torch.randn(64, 3, dtype=torch.float64, generator=gen)
    axis = axis / axis.norm(dim=-1, keepdim=True)
    y_far = x @ axis_angle_to_matrix((math.pi - 1e-6) * axis).to(dtype)
    y = torch.cat((y, y_far))
    x = torch.cat((x, x))
    return float((man.expmap(x, man.logmap(x, y)) - y).abs().max())


@register_check(
    "so3.small_angle_distance",
    tol={torch.float32: 1e-6, torch.float64: 1e-14},
    description="relative error of geodesic_distance(I, R_z(1e-6)) (acos loses every digit in float32)",
)
def _check_small_angle(dtype, gen):
    t = torch.tensor(1e-6, dtype=dtype)
    c, s = torch.cos(t), torch.sin(t)
    R = torch.eye(3, dtype=dtype)
    R[0, 0], R[0, 1], R[1, 0], R[1, 1] = c, -s, s, c
    exact = math.atan2(float(s), float(c))
    return abs(float(geodesic_distance(torch.eye(3, dtype=dtype), R)) - exact) / exact


# ---------------------------------------------------------------------------------------------- data
def _has_rotational_symmetry(pos: torch.Tensor, z: torch.Tensor, tol: float = 0.05) -> bool:
    """Whether a C2 about a principal axis (the only candidates when the moments differ) maps the cloud onto
    itself, atom types included; also True when two principal moments (nearly) coincide."""
    centered = pos - pos.mean(0)
    inertia = (centered**2).sum() * torch.eye(3, dtype=pos.dtype) - centered.T @ centered
    lam, vec = torch.linalg.eigh(inertia)
    if float((lam[1:] - lam[:-1]).min()) < 1e-2 * float(lam[-1]):
        return True
    for k in range(3):
        axis = vec[:, k]
        R = 2 * torch.outer(axis, axis) - torch.eye(3, dtype=pos.dtype)  # rotation by π about the axis
        moved = centered @ R.T
        d = torch.cdist(moved, centered) + 1e3 * (z[:, None] != z[None, :])
        if float(d.min(dim=1).values.max()) < tol:
            return True
    return False


def molecule_point_cloud(min_atoms: int = 15, max_atoms: int = 20, seed: int = 0, num_candidates: int = 60):
    """A QM9 molecule without rotational symmetry as a centred point cloud with one-hot atom types.

    Reads ``num_candidates`` random molecules of QM9 part 1 (``qm9pack``) and returns the first (in QM9 index
    order) with ``min_atoms ≤ N ≤ max_atoms`` atoms and no proper rotational symmetry, so that the rotation
    between the molecule and a rotated copy is unique.

    Returns:
        ``(pos, features, smiles)``: ``pos (N, 3)`` float32 Å centred at the centroid, ``features (N, 5)``
        one-hot H, C, N, O, F, and the SMILES string.
    """
    for mol in load_qm9(num_candidates, parts=(1,), seed=seed, max_atoms=max_atoms):
        if mol.z.numel() < min_atoms or _has_rotational_symmetry(mol.pos.double(), mol.z):
            continue
        pos = mol.pos - mol.pos.mean(0)
        feats = (mol.z[:, None] == torch.tensor(_ELEMENTS)[None, :]).float()
        return pos.float(), feats, mol.smiles
    raise RuntimeError("no asymmetric molecule among the candidates; raise num_candidates")


# ---------------------------------------------------------------------------------------------- model
class SiamesePointNet(nn.Module):
    """Siamese PointNet-style network regressing the rotation that maps a reference cloud onto a rotated copy.

    Both clouds go through the same per-point MLP (Zhou et al., CVPR 2019, Sec. 5.2 use a Siamese PointNet);
    the per-cloud features are then either max-pooled (``pool="max"``, PointNet: order-invariant, needs long
    training) or concatenated in point order (``pool="concat"``, for labelled points such as a molecule's
    atoms, whose correspondences are known; trains in a few hundred steps). The two cloud features are
    concatenated and mapped by an MLP and a :class:`RotationHead` to a rotation matrix.

    Args:
        representation: the head's representation (``"6d"``, ``"9d"``, ``"quat"``, ``"euler"``,
            ``"axis_angle"``).
        in_features: per-point features besides the coordinates (e.g. 5 one-hot atom types).
        width: width of the point features (``pool="max"``) or of the global MLP.
        pool: ``"max"`` or ``"concat"``.
        num_points: number of points (required for ``pool="concat"``).

    Shapes:
        ``ref (N, 3)`` (shared by the batch), ``rotated (B, N, 3)``, ``feats (N, F)`` → ``(B, 3, 3)``.
    """

    def __init__(
        self,
        representation: str = "6d",
        in_features: int = 5,
        width: int = 128,
        pool: str = "max",
        num_points: int | None = None,
    ) -> None:
        super().__init__()
        if pool not in ("max", "concat"):
            raise ValueError(f"pool must be 'max' or 'concat', got {pool!r}")
        if pool == "concat" and not (isinstance(num_points, int) and num_points >= 1):
            raise ValueError(f"pool='concat' needs num_points, a positive int, got {num_points!r}")
        self.pool = pool
        point_width = width if pool == "max" else 16
        self.point_mlp = nn.Sequential(
            nn.Linear(3 + in_features, 64),
            nn.ReLU(),
            nn.Linear(64, point_width),
            nn.ReLU(),
            nn.Linear(point_width, point_width),
        )
        cloud = point_width if pool == "max" else point_width * num_points
        self.mlp = nn.Sequential(nn.Linear(2 * cloud, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        self.head = RotationHead(width, representation)

    def embed(self, pos: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        f = feats.expand(*pos.shape[:-1], feats.shape[-1])
        h = self.point_mlp(torch.cat((pos, f), dim=-1))
        return h.amax(dim=-2) if self.pool == "max" else h.flatten(-2)

    def forward(self, ref: torch.Tensor, rotated: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        a = self.embed(ref, feats).expand(rotated.shape[0], -1)
        b = self.embed(rotated, feats)
        return self.head(self.mlp(torch.cat((a, b), dim=-1)))


def evaluate_rotation_regressor(model, pos, feats, R_test: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Geodesic errors in degrees, shape ``(len(R_test),)``, of ``model`` on the rotations ``R_test``."""
    errs = []
    with torch.no_grad():
        for i in range(0, len(R_test), batch):
            R = R_test[i : i + batch]
            errs.append(geodesic_distance(model(pos, pos @ R.mT, feats), R))
    return torch.cat(errs) * (180 / math.pi)


def train_rotation_regressor(
    representation: str,
    pos: torch.Tensor,
    feats: torch.Tensor,
    *,
    steps: int = 1500,
    batch: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    width: int = 128,
    pool: str = "max",
    loss: nn.Module | None = None,
) -> SiamesePointNet:
    """Train a :class:`SiamesePointNet` on fresh Haar-random rotations every step (Adam, cosine decay).

    Args:
        representation: the head's rotation representation.
        pos, feats: the reference cloud ``(N, 3)`` and its per-point features ``(N, F)``.
        steps, batch, lr, seed: optimisation settings; ``seed`` fixes the initialisation and the rotations.
        width, pool: of the :class:`SiamesePointNet`.
        loss: a loss ``(R_pred, R_true) -> scalar`` (default :class:`GeodesicLoss`).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    model = SiamesePointNet(
        representation, in_features=feats.shape[-1], width=width, pool=pool, num_points=pos.shape[0]
    )
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss = loss if loss is not None else GeodesicLoss()
    for _ in range(steps):
        R = random_rotation(batch, dtype=pos.dtype, generator=gen)
        opt.zero_grad()
        loss(model(pos, pos @ R.mT, feats), R).backward()
        opt.step()
        sched.step()
    return model


@register_demo(
    "so3.qm9_rotation_regression",
    description="Siamese PointNet on a QM9 molecule: 6D/9D vs quaternion/axis-angle/Euler heads (°)",
)
def _demo(outdir: Path, quick: bool) -> list[dict]:
    pos, feats, smiles = molecule_point_cloud()
    R_test = random_rotation(500 if quick else 2000, generator=torch.Generator().manual_seed(123))
    reps = ("6d", "9d", "quat") if quick else ("6d", "9d", "quat", "axis_angle", "euler")
    rows, hists = [], {}
    for rep in reps:
        t0 = time.perf_counter()
        model = train_rotation_regressor(rep, pos, feats, steps=150 if quick else 300, seed=0, pool="concat")
        err = evaluate_rotation_regressor(model, pos, feats, R_test)
        hists[rep] = err
        rows.append(
            {
                "molecule": smiles,
                "representation": rep,
                "mean °": round(float(err.mean()), 2),
                "median °": round(float(err.median()), 2),
                "max °": round(float(err.max()), 1),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
    _plot_errors(hists, Path(outdir) / "so3_rotation_errors.png", smiles)
    return rows


def _plot_errors(errors: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # optional dependency ([tutorials] extra): imported on use

    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for rep, err in errors.items():
        ax.hist(err.numpy(), bins=60, range=(0, 180), histtype="step", lw=1.5, label=rep)
    ax.set_yscale("log")
    ax.set_xlabel("geodesic error on held-out rotations (°)")
    ax.set_ylabel("count")
    ax.set_title(f"rotation regression, {title}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- benchmark
def time_rotation_maps(
    n: int, dtype=torch.float32, repeats: int = 5, warmup: int = 1, device: str | torch.device = "cpu"
) -> list[dict]:
    """Forward+backward time (ms) of the 6D map, special Procrustes and the geodesic distance on ``n`` inputs.

    Ours vs roma: ``special_gramschmidt``, ``special_procrustes``, ``rotmat_geodesic_distance``;
    median of ``repeats`` after ``warmup`` calls. roma is imported here, not at module level: it is a
    test/benchmark dependency only, and ``python -m geomrep`` must work without it.
    """
    import roma

    gen = torch.Generator().manual_seed(0)
    x6 = torch.randn(n, 6, dtype=dtype, generator=gen).to(device)
    M = torch.randn(n, 3, 3, dtype=dtype, generator=gen).to(device)
    R1 = random_rotation(n, dtype=dtype, generator=gen, device=device)
    R2 = random_rotation(n, dtype=dtype, generator=gen, device=device)

    def fb(fn, *inputs):
        leaves = [t.clone().requires_grad_(True) for t in inputs]

        def run():
            out = fn(*leaves)
            out.sum().backward()
            for leaf in leaves:
                leaf.grad = None

        return run

    cases = (
        (
            "rotation_6d_to_matrix",
            fb(rotation_6d_to_matrix, x6),
            fb(lambda x: roma.special_gramschmidt(torch.stack((x[..., :3], x[..., 3:]), -1)), x6),
        ),
        ("special_procrustes", fb(special_procrustes, M), fb(roma.special_procrustes, M)),
        ("geodesic_distance", fb(geodesic_distance, R1, R2), fb(roma.rotmat_geodesic_distance, R1, R2)),
    )
    rows = []
    for name, ours, theirs in cases:
        t_ours = time_fn(ours, warmup=warmup, repeats=repeats, device=device)
        t_roma = time_fn(theirs, warmup=warmup, repeats=repeats, device=device)
        rows.append(
            {
                "map": name,
                "n": n,
                "dtype": str(dtype).replace("torch.", ""),
                "geomrep ms": round(1e3 * t_ours, 2),
                "roma ms": round(1e3 * t_roma, 2),
                "roma / geomrep": round(t_roma / t_ours, 2),
            }
        )
    return rows


@register_benchmark(
    "so3.maps", description="forward+backward of 6D map, Procrustes, geodesic distance vs roma"
)
def _bench(quick: bool) -> list[dict]:
    return time_rotation_maps(10_000 if quick else 1_000_000, repeats=3 if quick else 5)
