"""Random feature propagation (RFP) positional encodings.

Eliasof, Frasca, Bevilacqua, Treister, Chechik, Maron, "Graph Positional Encoding via Random Feature
Propagation", ICML 2023. Start from random node features ``X_0 ∈ R^{N×k}`` (i.i.d. standard normal,
so the encoding is permutation-equivariant in distribution), propagate them with an operator ``P``
and normalise after every step,

.. math::

    X_0 = \\mathcal N(\\tilde X_0), \\qquad X_{t} = \\mathcal N(P X_{t-1}), \\quad t = 1..T,

and use the whole trajectory ``[X_0, X_1, …, X_T] ∈ R^{N×(T+1)k}`` as the encoding. ``𝒩`` is a
per-graph column ℓ2 normalisation or a QR orthonormalisation with ``diag(R) > 0``
(:mod:`geomrep.graphs.normalization`). With QR this is orthogonal (subspace) iteration: ``X_T``
converges to the top-``k`` eigenvectors of ``P`` (dominant by modulus), while the early steps keep
the expressivity of random node features. Several independent starts can be drawn
(``num_inits``); combine them permutation-invariantly (e.g. :class:`RandomFeaturePropagation`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from .normalization import NORMALIZATIONS, l2_normalize, qr_normalize
from .operators import OPERATORS, as_edge_index, propagation_operator
from .validation import check_batch

__all__ = [
    "random_feature_propagation",
    "propagation_trajectory",
    "normalize_features",
    "AddRandomFeaturePropagationPE",
]


def normalize_features(
    x: Tensor, normalization: str, batch: Tensor | None = None, num_graphs: int | None = None
) -> Tensor:
    """Apply the per-graph normalisation ``"l2"`` (:func:`l2_normalize`) or ``"qr"`` (:func:`qr_normalize`).

    Args:
        x: ``(N, k)`` or ``(N, m, k)``.
        normalization: ``"l2"`` or ``"qr"``.
        batch, num_graphs: graph assignment (None: one graph).

    Returns:
        Tensor of ``x``'s shape.

    Example:
        >>> normalize_features(torch.ones(4, 1), "l2").flatten().tolist()
        [0.5, 0.5, 0.5, 0.5]
    """
    if normalization == "l2":
        return l2_normalize(x, batch, num_graphs)
    if normalization == "qr":
        return qr_normalize(x, batch, num_graphs)
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")


def _check_rfp_args(
    num_features: int,
    steps: int,
    num_inits: int,
    operator: str,
    normalization: str,
    operators: tuple[str, ...] = OPERATORS,
) -> None:
    """Validate the arguments shared by the functional, the transform and the learned module."""
    for name, value, low in (
        ("num_features", num_features, 1),
        ("steps", steps, 0),
        ("num_inits", num_inits, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if operator not in operators:
        raise ValueError(f"operator must be one of {operators}, got {operator!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")


def random_feature_propagation(
    edge_index: Tensor,
    num_nodes: int | None = None,
    *,
    num_features: int = 16,
    steps: int = 8,
    operator: str = "sym",
    normalization: str = "l2",
    num_inits: int = 1,
    edge_weight: Tensor | None = None,
    batch: Tensor | None = None,
    num_graphs: int | None = None,
    x0: Tensor | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Random feature propagation trajectory ``[X_0, …, X_T]`` for one graph or a batch of graphs.

    ``X_0 = 𝒩(X̃_0)`` with ``X̃_0`` i.i.d. ``N(0, 1)`` (or ``x0``), ``X_t = 𝒩(P X_{t-1})``; ``P`` is
    built with :func:`~geomrep.graphs.operators.propagation_operator` (sparse CSR) and ``𝒩`` is
    applied per graph of ``batch``. The random starts are independent.

    Permutation equivariance: for a node permutation ``Π`` applied to the graph and to ``x0``,
    the output rows are permuted by ``Π`` (exactly for ``"l2"``; for ``"qr"`` whenever each graph's
    ``P X_{t-1}`` has full column rank, which holds generically for ``k <= rank(P)``).

    Args:
        edge_index: ``(2, E)`` graph or ``torch.sparse`` ``(N, N)`` adjacency (``adj_t`` convention).
        num_nodes: number of nodes (inferred from ``batch``/``x0``/``edge_index`` when None).
        num_features: ``k``, random columns per start.
        steps: ``T``, propagation steps (``T = 0`` returns the normalised start).
        operator: ``"sym"``, ``"rw"`` or ``"laplacian"`` (see :mod:`geomrep.graphs.operators`).
        normalization: ``"l2"`` (per column) or ``"qr"`` (orthonormal columns, ``diag(R) > 0``).
        num_inits: ``m``, independent random starts.
        edge_weight: optional ``(E,)`` edge weights.
        batch: ``(N,)`` graph assignment for per-graph normalisation (None: one graph).
        num_graphs: number of graphs in ``batch`` (inferred when None).
        x0: optional ``(N, k)`` or ``(N, m, k)`` start (replaces the random draw).
        generator: ``torch.Generator`` for the draw (reproducibility).
        dtype: floating dtype of the encoding (default: ``x0``'s, else the default float dtype).

    Returns:
        ``(N, m, (T + 1) · k)`` tensor; columns ``[t·k, (t+1)·k)`` hold ``X_t``.

    Raises:
        TypeError: non-integer ``edge_index``/``batch``, non-floating ``x0`` or ``dtype``.
        ValueError: indices outside ``[0, num_nodes)``, negative or non-finite edge weights, a
            ``num_graphs`` too small for ``batch``, wrong shapes (see ``geomrep.graphs.validation``).

    Example:
        >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        >>> gen = torch.Generator().manual_seed(0)
        >>> random_feature_propagation(ei, num_features=2, steps=3, generator=gen).shape
        torch.Size([3, 1, 8])
    """
    _check_rfp_args(num_features, steps, num_inits, operator, normalization)
    if num_nodes is None:
        if batch is not None:
            num_nodes = batch.numel()
        elif x0 is not None:
            num_nodes = x0.size(0)
    ei, w, n = as_edge_index(edge_index, edge_weight, num_nodes)
    device = ei.device
    if dtype is not None and not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    if x0 is not None:
        if not isinstance(x0, Tensor) or not x0.dtype.is_floating_point:
            raise TypeError(f"x0 must be a floating tensor, got {getattr(x0, 'dtype', type(x0))}")
        if x0.dim() == 2:
            x0 = x0.unsqueeze(1)
        if x0.shape != (n, num_inits, num_features):
            raise ValueError(f"x0 must have shape ({n}, {num_inits}, {num_features}), got {tuple(x0.shape)}")
        dtype = x0.dtype if dtype is None else dtype
        x = x0.to(dtype)
    else:
        dtype = torch.get_default_dtype() if dtype is None else dtype
        x = torch.randn(n, num_inits, num_features, generator=generator, dtype=dtype, device=device)
    batch, num_graphs = check_batch(batch, n, num_graphs)
    if n == 0:
        return normalize_features(x, normalization, batch, num_graphs).repeat(1, 1, steps + 1)
    P = propagation_operator(ei, n, operator, w, dtype=dtype, device=device) if steps > 0 else None

    def step(h: Tensor) -> Tensor:
        return (P @ h.reshape(n, -1)).reshape(n, num_inits, num_features)

    return propagation_trajectory(x, step, steps, normalization, batch, num_graphs)


def propagation_trajectory(
    x0: Tensor,
    step: Callable[[Tensor], Tensor],
    steps: int,
    normalization: str,
    batch: Tensor | None = None,
    num_graphs: int | None = None,
) -> Tensor:
    """``[X_0, …, X_T]`` concatenated on the last axis, ``X_0 = 𝒩(x0)``, ``X_t = 𝒩(step(X_{t-1}))``.

    The loop shared by :func:`random_feature_propagation` (sparse-matrix ``step``) and
    :class:`~geomrep.graphs.learned_rfp.RandomFeaturePropagation` (differentiable gather ``step``);
    ``𝒩`` is :func:`~geomrep.graphs.normalize_features` per graph of ``batch``.

    Args:
        x0: ``(N, m, k)`` start.
        step: ``(N, m, k) -> (N, m, k)``, one application of the propagation operator.
        steps: ``T``.
        normalization: ``"l2"`` or ``"qr"``.
        batch, num_graphs: per-graph normalisation.

    Returns:
        ``(N, m, (T + 1) k)``.
    """
    traj = [normalize_features(x0, normalization, batch, num_graphs)]
    for _ in range(steps):
        traj.append(normalize_features(step(traj[-1]), normalization, batch, num_graphs))
    return torch.cat(traj, dim=-1)


def _graph_seed(seed: int, epoch: int, tensors: list[tuple[str, Tensor | None]], num_nodes: int) -> int:
    """A 63-bit seed from ``(seed, epoch)`` and the graph's content (BLAKE2b; stable across processes).

    Python's ``hash`` is salted per process (``PYTHONHASHSEED``), so it cannot be used: DataLoader workers
    and later runs must derive the same seed for the same graph.
    """
    h = hashlib.blake2b(digest_size=8)
    h.update(f"rfp:{seed}:{epoch}:{num_nodes}".encode())
    for name, t in tensors:
        if t is None:
            continue
        t = t.detach()
        if t.layout != torch.strided:
            t = t.to_sparse_coo().coalesce()
            tensors_here = [("i", t.indices()), ("v", t.values())]
        else:
            tensors_here = [("d", t)]
        for tag, u in tensors_here:
            u = u.contiguous().cpu()
            h.update(f"|{name}:{tag}:{u.dtype}:{tuple(u.shape)}|".encode())
            if u.numel() > 0:
                h.update(u.reshape(-1).view(torch.uint8).numpy().tobytes())
    return int.from_bytes(h.digest(), "little") & ((1 << 63) - 1)


class AddRandomFeaturePropagationPE(BaseTransform):
    """Adds a random feature propagation positional encoding to a graph (PyG transform).

    Computes :func:`random_feature_propagation` on ``data.edge_index`` (or ``data.adj_t``), with
    ``data.edge_weight`` when present, and stores it as ``data[attr_name]``: shape
    ``(N, (steps + 1) · num_features)`` for ``num_inits == 1``, else ``(N, num_inits,
    (steps + 1) · num_features)`` (combine the starts permutation-invariantly in the model). With
    ``attr_name=None`` the encoding is concatenated to ``data.x`` (``num_inits == 1`` only), like
    :class:`~torch_geometric.transforms.AddRandomWalkPE`. A floating ``data.x`` keeps its dtype (the
    encoding is cast to it, as PyG does); an integer or bool ``data.x`` (e.g. ZINC atom-type ids) is
    promoted to the encoding's float dtype, since casting the encoding to integers would truncate it to
    zeros. Keep integer ids for an embedding layer by writing the encoding to its own attribute instead.

    The transform works per graph (apply it before batching); it never normalises across graphs.

    Randomness:
        - ``seed=None``: the random start is drawn from torch's global RNG (fresh at every call; in a
          ``DataLoader`` each worker has its own torch seed, so workers draw different starts, but runs
          are reproducible only through ``torch.manual_seed`` with ``num_workers=0``).
        - ``seed=s``: the start of a graph is drawn from a private generator seeded with a hash
          (BLAKE2b, identical in every process) of ``(s, epoch, the graph's content)``, where the content
          is ``num_nodes``, ``edge_index`` (or ``adj_t``), ``edge_weight`` and ``x``. The encoding is then a
          deterministic function of the graph: the same in every run, whatever the dataset order, the
          ``DataLoader``'s ``num_workers`` or which worker loads the graph, and different graphs get
          independent starts. Graphs with identical content get identical starts. Call
          :meth:`set_epoch` (like ``DistributedSampler.set_epoch``) to draw new starts per epoch; with
          workers, set it before iterating the loader (workers copy the transform when they start,
          i.e. at every epoch unless ``persistent_workers=True``).

    Args:
        num_features: ``k``, random columns per start.
        steps: ``T``, propagation steps.
        operator: ``"sym"``, ``"rw"`` or ``"laplacian"``.
        normalization: ``"l2"`` or ``"qr"``.
        num_inits: number of independent random starts.
        attr_name: attribute to write (None: concatenate to ``data.x``).
        seed: base seed of the per-graph generators (None: global RNG).

    Example:
        >>> from torch_geometric.data import Data
        >>> data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
        >>> AddRandomFeaturePropagationPE(4, steps=2, seed=0)(data).rfp_pe.shape
        torch.Size([3, 12])
    """

    def __init__(
        self,
        num_features: int,
        steps: int,
        operator: str = "sym",
        normalization: str = "l2",
        num_inits: int = 1,
        attr_name: str | None = "rfp_pe",
        seed: int | None = None,
    ) -> None:
        _check_rfp_args(num_features, steps, num_inits, operator, normalization)
        if attr_name is None and num_inits != 1:
            raise ValueError("attr_name=None (concatenate to data.x) requires num_inits == 1")
        if attr_name is not None and not isinstance(attr_name, str):
            raise TypeError(f"attr_name must be a string or None, got {attr_name!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an integer or None, got {seed!r}")
        self.num_features = num_features
        self.steps = steps
        self.operator = operator
        self.normalization = normalization
        self.num_inits = num_inits
        self.attr_name = attr_name
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the random starts of epoch ``epoch`` (only meaningful with ``seed``)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise TypeError(f"epoch must be an integer, got {epoch!r}")
        self.epoch = epoch

    def _start(self, data: Data, graph: Tensor, num_nodes: int) -> Tensor:
        shape = (num_nodes, self.num_inits, self.num_features)
        if self.seed is None:
            return torch.randn(shape)
        content = [("g", graph), ("w", data.get("edge_weight")), ("x", data.x)]
        gen = torch.Generator().manual_seed(_graph_seed(self.seed, self.epoch, content, num_nodes))
        return torch.randn(shape, generator=gen)

    def forward(self, data: Data) -> Data:
        """Return ``data`` with the encoding added (the object is modified in place, as in PyG)."""
        graph = data.edge_index if data.edge_index is not None else data.get("adj_t")
        if graph is None:
            raise ValueError("data must have an edge_index (or a torch.sparse adj_t)")
        num_nodes = data.num_nodes
        if num_nodes is None:
            raise ValueError("data.num_nodes is unknown (set data.num_nodes or data.x)")
        device = graph.device
        x0 = self._start(data, graph, num_nodes)
        pe = random_feature_propagation(
            graph,
            num_nodes,
            num_features=self.num_features,
            steps=self.steps,
            operator=self.operator,
            normalization=self.normalization,
            num_inits=self.num_inits,
            edge_weight=data.get("edge_weight") if data.edge_index is not None else None,
            x0=x0.to(device),
        )
        if self.num_inits == 1:
            pe = pe.squeeze(1)
        if self.attr_name is None:
            x = data.x
            if x is None:
                data.x = pe
            else:
                x = x.view(-1, 1) if x.dim() == 1 else x
                if x.dtype.is_floating_point:
                    pe = pe.to(x.device, x.dtype)
                else:  # integer/bool features: promote them, never truncate the encoding
                    x, pe = x.to(pe.dtype), pe.to(x.device)
                data.x = torch.cat([x, pe], dim=-1)
        else:
            data[self.attr_name] = pe
        return data

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(num_features={self.num_features}, steps={self.steps}, "
            f"operator={self.operator!r}, normalization={self.normalization!r}, num_inits={self.num_inits})"
        )
