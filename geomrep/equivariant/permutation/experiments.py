"""Small experiments shared by the CLI demo and ``tutorials/alternating_layers.ipynb``.

- :func:`vandermonde_sign_dataset` / :func:`train_vandermonde`: classify the sign of the Vandermonde
  product ``∏_{i<j}(x_j − x_i)`` of a set of ``n`` reals. The target is A_n-invariant but flips
  under every odd permutation, so an S_n-invariant model predicts the same for ``x`` and ``τx`` whose
  labels differ: on the paired test set it scores exactly 50 %. An A_n model can use the ε maps.
- :func:`train_graph_classifier`: a 2-IGN built from :class:`PermutationEquivariantLinear` versus
  PyG's GIN on graph classification (e.g. MUTAG), trained with the same recipe.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import global_add_pool
from torch_geometric.nn.models import GIN

from .ign import InvariantGraphNetwork, dense_graph_tensor

__all__ = [
    "vandermonde_sign_dataset",
    "train_vandermonde",
    "GINClassifier",
    "train_graph_classifier",
    "count_parameters",
]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def vandermonde_sign_dataset(
    n: int, num: int, generator: torch.Generator | None = None, dtype: torch.dtype | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sets of ``n`` uniform reals in ``[−1, 1]`` and the label ``1[∏_{i<j}(x_j − x_i) > 0]``.

    The first half of the returned sets are random; the second half are the same sets with the
    first two points swapped (an odd permutation), so every label has its flipped twin.

    Returns:
        ``x`` of shape ``(num, 1, n)`` and ``y`` of shape ``(num,)`` (float 0/1).
    """
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    if not isinstance(num, int) or num < 2 or num % 2:
        raise ValueError(f"num must be an even int >= 2, got {num!r}")
    half = torch.rand(num // 2, n, generator=generator, dtype=dtype) * 2 - 1
    swapped = half.clone()
    swapped[:, [0, 1]] = half[:, [1, 0]]
    x = torch.cat([half, swapped])
    iu = torch.triu_indices(n, n, 1)
    v = (x[:, iu[1]] - x[:, iu[0]]).prod(dim=1)
    return x[:, None, :], (v > 0).to(x.dtype)


def train_vandermonde(
    n: int,
    group: str,
    *,
    seed: int = 0,
    steps: int = 300,
    hidden: int = 16,
    num_train: int = 2000,
    num_test: int = 2000,
    lr: float = 3e-3,
    batch_size: int = 128,
) -> dict:
    """Train an order-``(n−1)`` invariant set network of ``group`` on :func:`vandermonde_sign_dataset`.

    The network lifts the set ``(1, n)`` to order ``n − 1`` (where A_n has ε maps), applies
    ``max(1, 3 − (n − 1))`` equivariant layers with ReLU, an invariant readout and an MLP.

    Returns:
        dict with ``accuracy`` (test), ``params``, ``seconds``, ``model``.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, ytr = vandermonde_sign_dataset(n, num_train, gen)
    xte, yte = vandermonde_sign_dataset(n, num_test, gen)
    order = n - 1
    model = InvariantGraphNetwork(
        n, 1, hidden, 1, num_layers=max(1, 3 - order), order=order, in_order=1, group=group
    )
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(0, num_train, (batch_size,), generator=gen)
        loss = nn.functional.binary_cross_entropy_with_logits(model(xtr[idx])[:, 0], ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = float(((model(xte)[:, 0] > 0).to(yte.dtype) == yte).to(torch.float64).mean())
    return {
        "accuracy": acc,
        "params": count_parameters(model),
        "seconds": time.perf_counter() - t0,
        "model": model,
    }


class GINClassifier(nn.Module):
    """PyG ``GIN`` node encoder, sum pooling and a linear head (the baseline of the 2-IGN)."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 3):
        super().__init__()
        self.gin = GIN(in_channels, hidden_channels, num_layers)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden_channels, out_channels))

    def forward(self, data) -> torch.Tensor:
        h = self.gin(data.x, data.edge_index)
        return self.head(global_add_pool(h, data.batch, size=data.num_graphs))


def _match_gin_width(in_channels: int, out_channels: int, target: int, num_layers: int) -> int:
    best, best_gap = 1, None
    for width in range(1, 1024):  # the count grows with the width: stop once past the target
        count = count_parameters(GINClassifier(in_channels, width, out_channels, num_layers))
        if best_gap is None or abs(count - target) < best_gap:
            best, best_gap = width, abs(count - target)
        if count > target:
            break
    return best


def train_graph_classifier(
    kind: str,
    train_graphs: list,
    test_graphs: list,
    *,
    num_classes: int,
    hidden: int = 16,
    num_layers: int = 2,
    epochs: int = 40,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    param_budget: int | None = None,
) -> dict:
    """Train a 2-IGN (``kind="ign"``) or GIN (``kind="gin"``) on PyG graphs; report test accuracy.

    The 2-IGN sees :func:`dense_graph_tensor` (node labels on the diagonal, adjacency and edge
    labels off it) padded to the largest graph with a node mask. GIN's width is chosen so that its
    parameter count is closest to ``param_budget`` (default: the 2-IGN's with the same arguments).

    Returns:
        dict with ``accuracy``, ``params``, ``seconds`` (training), ``model``.
    """
    if kind not in ("ign", "gin"):
        raise ValueError(f"kind must be 'ign' or 'gin', got {kind!r}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    graphs = list(train_graphs) + list(test_graphs)
    n_max = max(int(g.num_nodes) for g in graphs)
    in_node = graphs[0].x.shape[1]
    edge_dim = graphs[0].edge_attr.shape[1] if graphs[0].edge_attr is not None else 0

    def ign_model():
        return InvariantGraphNetwork(
            n_max, in_node + 1 + edge_dim, hidden, num_classes, num_layers=num_layers
        )

    if kind == "ign":
        model = ign_model()

        def prepare(gs):
            b = Batch.from_data_list(gs)
            attr = b.edge_attr.float() if edge_dim else None
            t, m = dense_graph_tensor(b.x.float(), b.edge_index, b.batch, attr, max_num_nodes=n_max)
            return (t, m), b.y

        def run(m, inputs):
            return m(*inputs)
    else:
        torch.manual_seed(seed)
        budget = param_budget if param_budget is not None else count_parameters(ign_model())
        width = _match_gin_width(in_node, num_classes, budget, num_layers + 1)
        torch.manual_seed(seed)
        model = GINClassifier(in_node, width, num_classes, num_layers + 1)

        def prepare(gs):
            b = Batch.from_data_list(gs)
            b.x = b.x.float()
            return b, b.y

        def run(m, inputs):
            return m(inputs)

    train_inputs, train_y = prepare(list(train_graphs))
    test_inputs, test_y = prepare(list(test_graphs))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    num = len(train_graphs)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(num, generator=gen)
        for start in range(0, num, batch_size):
            idx = perm[start : start + batch_size]
            if kind == "ign":  # slice the padded tensors built once
                inputs, y = (train_inputs[0][idx], train_inputs[1][idx]), train_y[idx]
            else:
                inputs, y = prepare([train_graphs[i] for i in idx.tolist()])
            loss = nn.functional.cross_entropy(run(model, inputs), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = float((run(model, test_inputs).argmax(dim=1) == test_y).to(torch.float64).mean())
    return {"accuracy": acc, "params": count_parameters(model), "seconds": seconds, "model": model}
