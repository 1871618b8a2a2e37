r"""``embed_graph``: embed a graph's shortest-path metric in a product space by minimising distortion.

Gu, Sala, Gunel, Ré (ICLR 2019) fit points :math:`x_i` in a product space :math:`P` (and optionally its
curvatures) to graph distances :math:`d_G`. With a learnable global scale :math:`s > 0` and the ratio
:math:`r_{ij} = d_P(x_i, x_j) / (s\,d_G(i, j))` two losses are offered, averaged over pairs ``i < j``:

- ``loss="paper"`` (default): :math:`|r_{ij}^2 - 1|`, equation (2) of the paper; gave the lower D_avg
  in every comparison we ran (balanced trees in E² and H²);
- ``loss="repo"``: :math:`(r_{ij} - 1)^2`, as in the authors' repository (smooth; gave the higher mAP in
  the same runs).

``neighbour_weight`` ω weights the pairs that are graph neighbours (the smallest distance of the target
metric, as in :meth:`GraphEmbedding.map_score`): the objective becomes :math:`\sum_{ij} w_{ij}\ell_{ij} /
\sum_{ij} w_{ij}` with :math:`w_{ij} = ω` for neighbours and 1 otherwise. The authors' repository trains on
per-node samples made of *every* neighbour plus random other nodes (its ``--subsample``), which weights
neighbours by about ``(n − 1) / subsample``. It does not raise the mean average precision by itself: on CS
PhDs in (H²)⁵ (2,000 steps, ``loss="repo"``) ω = 16 gave mAP 0.69 against 0.81 with ω = 1 (and D_avg 0.041
against 0.039); the choice of loss matters far more (``"repo"`` 0.81, ``"paper"`` 0.48 at the same D_avg).
With sampled pairs the weight is realised by drawing a neighbour pair with probability
:math:`q = (ω-1)E / (P + (ω-1)E)` (``E`` neighbour pairs among ``P``) and a uniform pair otherwise, which
samples every pair with probability proportional to :math:`w_{ij}`: the batch mean stays an unbiased
estimate of the weighted objective.

Reported quality uses the embedding distances :math:`d_P / s` (:meth:`GraphEmbedding.distortion`,
:meth:`GraphEmbedding.map_score`). Points are ``geoopt.ManifoldParameter`` on the :class:`ProductSpace` and
are optimised with ``geoopt.optim.RiemannianAdam`` (or ``RiemannianSGD``); the scale and learnable
curvatures are ordinary parameters of the same optimiser.

Pairs: all pairs in every step while :math:`n(n-1)/2` ≤ ``full_pairs_max`` (graphs up to ≈ 2,000 nodes by
default), otherwise ``batch_pairs`` uniformly sampled pairs per step. Target distances: the all-pairs
``(n, n)`` matrix (``distances="dense"``, the default up to 20,000 nodes), or for graphs beyond that
(``distances="sampled"``) breadth-first searches from ``sources_per_step`` random sources at every step
(:mod:`.sampled_distances`: memory ``O(sources · n)``, so 10⁵–10⁶-node graphs fit), with
:meth:`GraphEmbedding.distortion` and :meth:`GraphEmbedding.map_score` then estimated from sampled
sources. With ``distributed=True`` the pairs are split across ``torch.distributed`` ranks.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import geoopt
import scipy.sparse as sp
import torch
import torch.distributed as dist

from .metrics import (
    _neighbour_cutoff,
    _to_sparse_adjacency,
    adjacency_from_distances,
    average_distortion,
    graph_distances,
    mean_average_precision,
)
from .product import ProductSpace
from .sampled_distances import ShortestPathSampler, sampled_distortion, sampled_map

__all__ = ["GraphEmbedding", "embed_graph"]

_LOSSES = ("paper", "repo")
_DISTANCES = ("auto", "dense", "sampled")
#: ``distances="auto"`` switches from the all-pairs matrix to sampled BFS rows above this many nodes
#: (20,000² float64 distances are 3.2 GB).
_DENSE_MAX_NODES = 20_000
_K_MIN, _K_MAX = 1e-4, 1e4  # learnt |κ| stays in this range and keeps its sign
#: Largest distance from the origin (in units of 1/√|κ|) that a point of a hyperbolic factor may reach during
#: :func:`embed_graph`. float64 resolves distances to ~36 and float32 to ~15, but Riemannian Adam steps break
#: down well before (1 − κ‖x‖² must stay far above eps): without this cap, 1,500 steps of H² on a tree pushed
#: points onto the boundary and the loss turned NaN.
_MAX_RADIUS = {torch.float64: 20.0, torch.float32: 10.0}


def _cap_hyperbolic_radius(space: ProductSpace, points: torch.Tensor) -> None:
    """Pull every hyperbolic factor's points back inside the ball of radius ``_MAX_RADIUS`` (in place)."""
    if "H" not in space.kinds:
        return
    radius = _MAX_RADIUS.get(points.dtype, 10.0)
    tiny = torch.finfo(points.dtype).tiny
    parts = list(space.split(points))
    for i, (m, kind) in enumerate(zip(space.manifolds, space.kinds)):
        if kind == "H":
            sc = (-m.k.detach()).clamp_min(tiny).sqrt().to(points.dtype)
            r_max = torch.tanh(sc * (radius / 2)) / sc
            norm = parts[i].norm(dim=-1, keepdim=True)
            parts[i] = parts[i] * (r_max / norm.clamp_min(tiny)).clamp(max=1.0)
    points.copy_(torch.cat(parts, dim=-1))


@dataclass
class GraphEmbedding:
    """Result of :func:`embed_graph`.

    Attributes:
        space: the :class:`ProductSpace` (with the learnt curvatures if they were learnable).
        points: coordinates ``(n, D)`` (detached).
        scale: the learnt global scale ``s`` (embedding distances are ``d_P / s``).
        graph_distances: target distances ``(n, n)``, or ``None`` with ``distances="sampled"``.
        loss_history: loss after every step.
        sampler: the BFS sampler of a ``distances="sampled"`` run (``None`` otherwise).
    """

    space: ProductSpace
    points: torch.Tensor
    scale: float
    graph_distances: torch.Tensor | None
    loss_history: list = field(default_factory=list)
    sampler: ShortestPathSampler | None = None

    def embedding_distances(self) -> torch.Tensor:
        """``(n, n)`` distances ``d_P / s`` of the embedded points."""
        n = self.points.shape[0]
        if n > _DENSE_MAX_NODES:
            raise ValueError(
                f"embedding_distances would be a {n} × {n} matrix; use distortion()/map_score() (sampled) or "
                "space.cdist on a subset"
            )
        with torch.no_grad():
            return self.space.pdist(self.points) / self.scale

    def distortion(self, num_sources: int = 1000, seed: int = 0) -> float:
        """Average distortion :math:`D_{avg}` (:func:`average_distortion`); 0 is isometric.

        Exact with dense targets; after a ``distances="sampled"`` run, estimated over all pairs of
        ``num_sources`` random source nodes (exact when ``num_sources ≥ n``).
        """
        if self.graph_distances is None:
            return sampled_distortion(
                self.space, self.points, self.scale, self.sampler, num_sources=num_sources, seed=seed
            )
        return average_distortion(self.embedding_distances(), self.graph_distances)

    def map_score(self, num_nodes: int = 1000, seed: int = 0) -> float:
        """Mean average precision of the graph neighbourhoods (:func:`mean_average_precision`).

        Exact with dense targets; after a ``distances="sampled"`` run, the mean over ``num_nodes`` random
        nodes (exact when ``num_nodes ≥ n``).
        """
        if self.graph_distances is None:
            return sampled_map(self.space, self.points, self.sampler, num_nodes=num_nodes, seed=seed)
        return mean_average_precision(
            self.embedding_distances(), adjacency_from_distances(self.graph_distances)
        )

    def plot(self, factor: int | None = None, ax=None, edges: bool = True):
        """Scatter the points of a 2-D factor (default: the first 2-D hyperbolic one) in its disk/plane.

        Hyperbolic factors are drawn in the Poincaré disk of radius 1/√−κ (boundary circle shown).
        Needs matplotlib (``[tutorials]`` extra). Returns the axes.
        """
        import matplotlib.pyplot as plt  # optional dependency, imported on use

        if factor is None:
            cands = [i for i, f in enumerate(self.space.factors) if f.dim == 2 and f.kind == "H"]
            cands = cands or [i for i, f in enumerate(self.space.factors) if f.dim == 2]
            if not cands:
                raise ValueError(f"plot needs a 2-D factor; {self.space.signature} has none")
            factor = cands[0]
        if self.space.factors[factor].dim != 2:
            raise ValueError(f"factor {factor} of {self.space.signature} is not 2-D")
        xy = self.space.take_submanifold_value(self.points, factor).cpu().double().numpy()
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 5))
        if edges:
            if self.graph_distances is None:
                i, j = (torch.from_numpy(v) for v in sp.triu(self.sampler.adjacency, 1).nonzero())
            else:
                adj = adjacency_from_distances(self.graph_distances).cpu()
                i, j = torch.nonzero(torch.triu(adj, 1), as_tuple=True)
            for a, b in zip(i.tolist(), j.tolist()):
                ax.plot(xy[[a, b], 0], xy[[a, b], 1], color="0.75", lw=0.5, zorder=1)
        ax.scatter(xy[:, 0], xy[:, 1], s=8, zorder=2)
        k = float(self.space.factor(factor).k)
        if k < 0:
            ax.add_patch(plt.Circle((0, 0), (-k) ** -0.5, fill=False, color="k", lw=1))
        ax.set_aspect("equal")
        ax.set_title(f"factor {factor}: {self.space.factors[factor]}")
        return ax


def _pair_terms(ratio: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-pair loss terms of the ratio ``d_P / (s d_G)``."""
    return (ratio - 1).pow(2) if loss == "repo" else (ratio.pow(2) - 1).abs()


def _neighbour_pairs(D: torch.Tensor | None, sampler: ShortestPathSampler | None, block: int = 2048):
    """``(i, j)`` of the neighbour pairs ``i < j``: the graph's edges, or the pairs of ``D`` within
    :func:`_neighbour_cutoff` (row blocks: no ``(n, n)`` temporary)."""
    if D is None:
        i, j = sp.triu(sampler.adjacency, 1).nonzero()
        return torch.from_numpy(i).long(), torch.from_numpy(j).long()
    cut = _neighbour_cutoff(D)
    found = []
    for start in range(0, D.shape[0], block):
        r, c = torch.nonzero(D[start : start + block] <= cut, as_tuple=True)
        r = r + start
        keep = c > r
        found.append((r[keep].cpu(), c[keep].cpu()))
    return torch.cat([f[0] for f in found]), torch.cat([f[1] for f in found])


def embed_graph(
    graph_or_distances,
    signature,
    *,
    loss: str = "paper",
    neighbour_weight: float = 1.0,
    steps: int = 1000,
    lr: float = 0.3,
    optimizer: str = "adam",
    learnable_curvature: bool = False,
    curvature_lr: float | None = None,
    learnable_scale: bool = True,
    init_scale: float = 1.0,
    full_pairs_max: int = 2_000_000,
    batch_pairs: int = 65536,
    distances: str = "auto",
    sources_per_step: int = 32,
    init_std: float = 0.1,
    seed: int = 0,
    distributed: bool = False,
    progress: bool = False,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> GraphEmbedding:
    """Embed a graph (or a metric) in a product space by minimising distortion (Gu et al. 2019).

    Args:
        graph_or_distances: a graph (networkx, scipy sparse, ``edge_index``) or a distance matrix ``(n, n)``
            (see :func:`graph_distances`).
        signature: product signature (``"(H2)^5"``, ``"H5xS5"``, ...) or a :class:`ProductSpace` (its
            curvatures are then learnt if they require grad).
        loss: ``"paper"`` or ``"repo"`` (module docstring).
        neighbour_weight: weight ω ≥ 1 of the neighbour pairs in the loss (module docstring); 1 (default)
            is the unweighted objective of the paper.
        steps: optimiser steps. lr: learning rate. optimizer: ``"adam"`` or ``"sgd"`` (Riemannian).
        learnable_curvature: learn every non-Euclidean curvature (ignored for a given ``ProductSpace``);
            a learnt curvature keeps its sign (H stays hyperbolic) with 1e-4 ≤ abs(κ) ≤ 1e4.
        curvature_lr: learning rate of the curvatures (default ``lr / 10``: κ is a sensitive parameter).
        learnable_scale: learn the global scale ``s`` (else ``s`` stays at ``init_scale``). Trees need it
            (their hyperbolic embeddings want long distances); on a dense small-world graph it can settle in a
            worse optimum: PolBlogs in H⁴ reached D_avg 0.169 with a learnt ``s`` and 0.154 with ``s = 1``
            (300 steps, ``reproductions/polblogs_products.py``) — try both.
        init_scale: starting value of ``s`` (positive). It sets the regime of hyperbolic factors, and no
            single value suits every graph: from ``s = 1`` H¹⁰ on the Power network (mean ``d_G`` 19) sends
            the points far out, where it only represents tree-like metrics, and stalls (D_avg 0.42 after 300
            steps), while from ``s = 0.01`` it reaches 0.047 as ``s`` grows; a balanced tree in H² and a
            path or a cycle in H⁴ prefer the default (a path: 0.24 from 1, 0.74 from 0.025; Adam steps of
            size ``lr`` are too coarse for a start that small). Try a few values when D_avg stalls.
        full_pairs_max: use all pairs each step up to this many pairs; otherwise sample ``batch_pairs``.
        distances: ``"dense"`` (all-pairs matrix, ``O(n²)`` memory), ``"sampled"`` (a graph only: BFS from
            ``sources_per_step`` random sources per step, ``O(sources · n)`` memory; always sampled pairs),
            or ``"auto"`` (dense up to 20,000 nodes).
        sources_per_step: BFS sources per step with ``distances="sampled"``.
        init_std: σ of the wrapped-normal initialisation at the origin.
        seed: seed of the initialisation and of the pair sampling (results are reproducible).
        distributed: split the pairs across the ranks of the initialised ``torch.distributed`` group (gloo
            on CPU works): every rank builds the same initial points, takes its share of the pairs (a
            slice of all pairs, or ``batch_pairs / world_size`` pairs sampled with a rank-specific seed),
            gradients are summed with ``all_reduce``, so all ranks take identical optimiser steps and end
            with identical embeddings (with all pairs: the single-process result up to rounding).
        progress: show a tqdm progress bar (needs tqdm).
        dtype, device: of the points (float64 recommended near hyperbolic boundaries). Points of hyperbolic
            factors are kept within distance 20 (float64; 10 in float32) of the origin after every step.

    Returns:
        A :class:`GraphEmbedding`.

    Raises:
        ValueError: unknown ``loss``/``optimizer``, non-positive ``steps``/``lr``/``init_std``,
            ``neighbour_weight < 1``, bad ``init_scale``, bad graph.

    Example:
        >>> import networkx as nx
        >>> emb = embed_graph(nx.balanced_tree(2, 3), "H2", steps=200)
        >>> emb.distortion() < 0.2
        True
    """
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    if distances not in _DISTANCES:
        raise ValueError(f"distances must be one of {_DISTANCES}, got {distances!r}")
    for name, val in (
        ("steps", steps),
        ("lr", lr),
        ("init_std", init_std),
        ("batch_pairs", batch_pairs),
        ("sources_per_step", sources_per_step),
    ):
        if not val > 0:
            raise ValueError(f"{name} must be positive, got {val}")
    if not (isinstance(neighbour_weight, numbers.Real) and 1 <= neighbour_weight < float("inf")):
        raise ValueError(f"neighbour_weight must be a finite number ≥ 1, got {neighbour_weight!r}")
    real = isinstance(init_scale, numbers.Real) and not isinstance(init_scale, bool)
    if not (real and 0 < init_scale < float("inf")):
        raise ValueError(f"init_scale must be a positive finite number, got {init_scale!r}")
    neighbour_weight, init_scale = float(neighbour_weight), float(init_scale)  # numpy scalars too
    A = _to_sparse_adjacency(graph_or_distances)
    if distances == "sampled" and A is None:
        raise ValueError("distances='sampled' needs a graph (networkx, scipy sparse, edge_index), not (n, n)")
    sampler = None
    if A is not None and (distances == "sampled" or (distances == "auto" and A.shape[0] > _DENSE_MAX_NODES)):
        sampler = ShortestPathSampler(A)
        D = None
        n = sampler.n
        dev = torch.device("cpu") if device is None else torch.device(device)
    else:
        D = graph_distances(graph_or_distances, dtype=dtype)
        if device is not None:
            D = D.to(device)
        n = D.shape[0]
        dev = D.device
    space = signature if isinstance(signature, ProductSpace) else ProductSpace(signature, learnable_curvature)
    space = space.to(device) if device is not None else space
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x0 = space.random(n, space.dim, std=init_std, dtype=dtype, generator=gen).to(dev)
    points = geoopt.ManifoldParameter(x0, manifold=space)
    log_s = torch.full((), float(init_scale), dtype=torch.float64).log().to(dtype=dtype, device=dev)
    log_s.requires_grad_(learnable_scale)
    params = [{"params": [points]}]
    if learnable_scale:
        params.append({"params": [log_s]})
    curv = [(m.k, kind) for m, kind in zip(space.manifolds, space.kinds) if m.k.requires_grad]
    if curv:
        params.append(
            {"params": [k for k, _ in curv], "lr": lr / 10 if curvature_lr is None else curvature_lr}
        )
    opt_cls = geoopt.optim.RiemannianAdam if optimizer == "adam" else geoopt.optim.RiemannianSGD
    opt = opt_cls(params, lr=lr, stabilize=10)
    rank, world = 0, 1
    if distributed:
        if not (dist.is_available() and dist.is_initialized()):
            raise ValueError("distributed=True needs an initialised torch.distributed process group")
        rank, world = dist.get_rank(), dist.get_world_size()
    pair_gen = torch.Generator(device="cpu").manual_seed(seed + 7919 * (rank + 1))
    n_pairs = n * (n - 1) // 2
    full = n_pairs <= full_pairs_max and sampler is None
    weighted = neighbour_weight != 1
    if full:
        iu = torch.triu_indices(n, n, 1, device=dev)
        dg_full = D[iu[0], iu[1]]
        w_full = None
        total_weight = float(n_pairs)
        if weighted:
            w_full = torch.ones_like(dg_full)
            w_full[dg_full <= _neighbour_cutoff(D)] = neighbour_weight
            total_weight = float(w_full.sum())
            w_full = w_full[rank::world]
        iu, dg_full = iu[:, rank::world], dg_full[rank::world]
    else:
        batch_pairs = -(-batch_pairs // world)
        share = 1 / world
        if weighted:
            nb_i, nb_j = _neighbour_pairs(D, sampler)
            n_nb = nb_i.numel()
            q = (neighbour_weight - 1) * n_nb / (n_pairs + (neighbour_weight - 1) * n_nb)
    it = range(steps)
    if progress:
        from tqdm.auto import tqdm  # optional dependency ([tutorials] extra), imported on use

        it = tqdm(it, desc=f"embed {space.signature}", leave=False)
    history = []
    for _ in it:
        opt.zero_grad()
        if full:
            dp = space.dist(points[iu[0]], points[iu[1]])
            terms = _pair_terms(dp / (log_s.exp() * dg_full), loss)
            value = (terms if w_full is None else terms * w_full).sum() / total_weight
        else:
            k = 0  # neighbour pairs drawn in this batch (weighted objective only)
            if weighted:
                k = int(torch.binomial(torch.tensor(float(batch_pairs)), torch.tensor(q), generator=pair_gen))
            if sampler is not None:
                i, j, dg = sampler.sample(batch_pairs - k, sources_per_step, pair_gen)
                dg = dg.to(dtype=dtype)
            else:
                i = torch.randint(0, n, (batch_pairs - k,), generator=pair_gen)
                j = (i + torch.randint(1, n, (batch_pairs - k,), generator=pair_gen)) % n  # j ≠ i
                dg = None
            if k:
                pick = torch.randint(0, n_nb, (k,), generator=pair_gen)
                i, j = torch.cat([i, nb_i[pick]]), torch.cat([j, nb_j[pick]])
                if dg is not None:  # BFS targets: neighbours are the graph's edges, at distance 1
                    dg = torch.cat([dg, dg.new_ones(k)])
            i, j = i.to(dev), j.to(dev)
            dg = D[i, j] if dg is None else dg.to(dev)
            dp = space.dist(points[i], points[j])
            value = _pair_terms(dp / (log_s.exp() * dg), loss).mean() * share
        if not torch.isfinite(value):
            raise FloatingPointError(
                f"embed_graph: the loss became {float(value.detach())} at step {len(history)} "
                f"({space.signature}); lower lr (now {lr}) or use float64"
            )
        value.backward()
        if world > 1:
            for group in params:
                for p in group["params"]:
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
            total = value.detach().clone()
            dist.all_reduce(total)
            value = total
        opt.step()
        if curv:  # keep each factor's kind (H stays H), and points inside a ball that may have shrunk
            with torch.no_grad():
                for k, kind in curv:
                    if kind == "H":
                        k.clamp_(-_K_MAX, -_K_MIN)
                    elif kind == "S":
                        k.clamp_(_K_MIN, _K_MAX)
                points.copy_(space.projx(points))
        with torch.no_grad():
            _cap_hyperbolic_radius(space, points)
        history.append(float(value.detach()))
    return GraphEmbedding(
        space=space,
        points=points.detach().clone().as_subclass(torch.Tensor),
        scale=float(log_s.detach().exp()),
        graph_distances=D,
        loss_history=history,
        sampler=sampler,
    )
