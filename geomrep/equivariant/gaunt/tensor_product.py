"""Channel-wise Gaunt tensor product of e3nn irreps with learnable weights per (channel, output degree)."""

from __future__ import annotations

import torch
from e3nn import o3
from torch import nn

from .coefficients import gaunt_constant, gaunt_tensor
from .dtypes import ExactTablesModule, check_features, compute_dtype
from .product import default_backend
from .transforms import BACKENDS, analysis, analysis_tables, sample_grid, synthesis, synthesis_tables

__all__ = ["GauntTensorProduct", "parity_class", "split_irreps"]


def parity_class(l: int, p: int) -> int:  # noqa: E741
    """0 for irreps with the parity of spherical harmonics (``p = (-1)^l``), 1 for the opposite parity."""
    return 0 if p == (-1) ** l else 1


def split_irreps(irreps: o3.Irreps, name: str) -> tuple[int, dict[int, list[int]]]:
    """Validate ``irreps`` for channel-wise Gaunt products: every irrep once, one common multiplicity.

    Returns:
        ``(mul, classes)`` with ``classes[k]`` the sorted degrees of parity class ``k``
        (see :func:`parity_class`).

    Raises:
        ValueError: if an irrep repeats, multiplicities differ, or the irreps are empty.
    """
    try:
        irreps = o3.Irreps(irreps)
    except Exception as exc:  # e3nn raises various types for bad strings
        raise ValueError(f"{name} must be e3nn Irreps (e.g. '8x0e+8x1o'), got {irreps!r}") from exc
    if len(irreps) == 0 or irreps.dim == 0:
        raise ValueError(f"{name} must contain at least one irrep with non-zero multiplicity, got {irreps}")
    muls = {mul for mul, _ in irreps}
    if len(muls) != 1:
        raise ValueError(
            f"{name} must use one multiplicity for every irrep (channel-wise product), got {irreps}"
        )
    seen, classes = set(), {0: [], 1: []}
    for _, ir in irreps:
        if (ir.l, ir.p) in seen:
            raise ValueError(f"{name} must list each irrep once, {ir} repeats in {irreps}")
        seen.add((ir.l, ir.p))
        classes[parity_class(ir.l, ir.p)].append(ir.l)
    return muls.pop(), {k: sorted(v) for k, v in classes.items() if v}


def _input_index(irreps: o3.Irreps, cls: int, lmax: int) -> torch.Tensor:
    """Index into ``[x, 0]`` (e3nn layout, zero appended) giving ``(mul, (lmax+1)²)`` SH coefficients."""
    mul = irreps[0].mul
    pad = irreps.dim
    idx = torch.full((mul, (lmax + 1) ** 2), pad, dtype=torch.int64)
    for (m, ir), sl in zip(irreps, irreps.slices()):
        if parity_class(ir.l, ir.p) != cls:
            continue
        d = 2 * ir.l + 1
        for c in range(m):
            idx[c, ir.l**2 : (ir.l + 1) ** 2] = sl.start + c * d + torch.arange(d)
    return idx.reshape(-1)


class GauntTensorProduct(ExactTablesModule):
    """Channel-wise Gaunt tensor product ``x1 ⊗ x2 → out`` on e3nn irreps (O(L³) per channel).

    For channel ``c``, each input is read as spherical functions, one per parity class
    (``p = (-1)^l``: class 0, the opposite parity: class 1), ``f = Σ x_{c,lm} Y_lm``. For every pair of
    classes ``(k1, k2)`` the product ``f1 · f2`` is expanded in SH (:func:`gaunt_product`) and its degree
    ``l3`` part is scaled by a learnable weight ``w[k1, k2, c, l3]``; it feeds the output irreps of class
    ``k1 xor k2``, which makes the module O(3)-equivariant:

    .. math:: y_{c, l_3 m_3} = \\sum_{k_1 k_2} w_{k_1 k_2 c l_3}\\, \\nu_{k_1 k_2 l_3}
       \\sum G^{l_1 l_2 l_3}_{m_1 m_2 m_3} x^{(k_1)}_{1, c l_1 m_1} x^{(k_2)}_{2, c l_2 m_2}

    where ``ν`` (a fixed buffer) makes outputs unit-variance for unit-variance inputs at ``w = 1``.
    Only the parity-even Clebsch–Gordan paths (``l1 + l2 + l3`` even) are present.

    Args:
        irreps_in1, irreps_in2: input irreps, each irrep once, one multiplicity each; a multiplicity of 1
            broadcasts over the channels of the other input (e.g. edge spherical harmonics).
        irreps_out: output irreps with the channel count as multiplicity; every output irrep must be
            reachable (degree ≤ l1 + l2 with matching parity).
        backend: ``"grid"``, ``"fft"``, ``"dense"`` or None (fastest measured, see
            :func:`default_backend`).
        internal_weights: learnable ``weight`` parameter (default). If False, ``forward`` takes
            ``weight`` of shape ``(..., n_pairs, channels, lmax_out+1)`` (e.g. from a radial network).

    Shapes:
        ``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)`` (broadcastable leading dims, empty
        batches included), output ``(..., irreps_out.dim)``; dtype/device follow the inputs.

    dtypes:
        inputs must be real floating (``TypeError`` otherwise); mixed float32/float64 inputs are promoted;
        float16/bfloat16 are computed in float32. The constant tables are float64 buffers that
        ``.to(device)`` moves and ``.float()``/``.double()``/``.half()`` leave exact
        (:class:`~geomrep.equivariant.gaunt.dtypes.ExactTablesModule`); they are cast on use.

    Example:
        >>> tp = GauntTensorProduct("8x0e+8x1o+8x2e", "1x0e+1x1o+1x2e", "8x0e+8x1o+8x2e+8x3o")
        >>> tp(torch.randn(5, tp.irreps_in1.dim), torch.randn(5, 9)).shape
        torch.Size([5, 128])
    """

    def __init__(
        self,
        irreps_in1,
        irreps_in2,
        irreps_out,
        *,
        backend: str | None = None,
        internal_weights: bool = True,
    ) -> None:
        super().__init__()
        mul1, cls1 = split_irreps(irreps_in1, "irreps_in1")
        mul2, cls2 = split_irreps(irreps_in2, "irreps_in2")
        mul_out, cls_out = split_irreps(irreps_out, "irreps_out")
        channels = max(mul1, mul2)
        if mul1 not in (1, channels) or mul2 not in (1, channels) or mul_out != channels:
            raise ValueError(
                f"multiplicities must agree (or be 1 on one input): irreps_in1 x{mul1}, irreps_in2 x{mul2}, "
                f"irreps_out x{mul_out}"
            )
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
        self.irreps_in1, self.irreps_in2, self.irreps_out = (
            o3.Irreps(irreps_in1),
            o3.Irreps(irreps_in2),
            o3.Irreps(irreps_out),
        )
        self.channels, self.mul1, self.mul2 = channels, mul1, mul2
        self._dims = (self.irreps_in1.dim, self.irreps_in2.dim, self.irreps_out.dim)
        self.lmax_out = max(ir.l for _, ir in self.irreps_out)
        self.internal_weights = internal_weights

        pairs = []
        reach = {0: -1, 1: -1}
        for k1, ls1 in cls1.items():
            for k2, ls2 in cls2.items():
                k3 = k1 ^ k2
                if k3 in cls_out and min(cls_out[k3]) <= max(ls1) + max(ls2):
                    pairs.append((k1, k2, k3, max(ls1), max(ls2), min(max(cls_out[k3]), max(ls1) + max(ls2))))
                    reach[k3] = max(reach[k3], max(ls1) + max(ls2))
        for k3, ls3 in cls_out.items():
            bad = [l for l in ls3 if l > reach[k3]]  # noqa: E741
            if bad:
                raise ValueError(
                    f"irreps_out has degrees {bad} of parity class {k3} that no Gaunt product of "
                    f"{self.irreps_in1} and {self.irreps_in2} produces"
                )
        self.pairs = pairs
        self.class_lmax = {k3: max(ls3) for k3, ls3 in cls_out.items()}
        self.backend = backend or default_backend(
            max(p[3] for p in pairs), max(p[4] for p in pairs), self.lmax_out
        )

        self._grids = []
        for i, (k1, k2, k3, l1, l2, l3) in enumerate(pairs):
            self.register_buffer(f"in1_index_{i}", _input_index(self.irreps_in1, k1, l1), persistent=False)
            self.register_buffer(f"in2_index_{i}", _input_index(self.irreps_in2, k2, l2), persistent=False)
            if self.backend == "dense":
                self.register_buffer(f"dense_{i}", gaunt_tensor(l1, l2, l3), persistent=False)
            else:
                grid = sample_grid(self.backend, l1 + l2, l3)
                self._grids.append(grid)
                for name, tables in (
                    ("syn1", synthesis_tables(l1, grid)),
                    ("syn2", synthesis_tables(l2, grid)),
                    ("ana", analysis_tables(l3, grid)),
                ):
                    for j, t in enumerate(tables):
                        self.register_buffer(f"{name}_{i}_{j}", t.clone(), persistent=False)
            # variance normalisation per output degree: E[y²] = Σ_paths c² / (2 l3 + 1)
            var = torch.zeros(l3 + 1, dtype=torch.float64)
            for a in range(l1 + 1):
                for b in range(l2 + 1):
                    for c in range(l3 + 1):
                        var[c] += gaunt_constant(a, b, c) ** 2 / (2 * c + 1)
            n_feed = sum(1 for p in pairs if p[2] == k3)
            norm = torch.where(var > 0, 1.0 / torch.sqrt(var * n_feed), torch.zeros_like(var))
            lidx = torch.repeat_interleave(torch.arange(l3 + 1), 2 * torch.arange(l3 + 1) + 1)
            self.register_buffer(f"norm_{i}", norm[lidx], persistent=False)
            self.register_buffer(f"degree_index_{i}", lidx, persistent=False)

        out_index = []
        offsets, off = {}, 0
        for k3 in sorted(cls_out):
            offsets[k3] = off
            off += (self.class_lmax[k3] + 1) ** 2
        total = off
        for (m, ir), _ in zip(self.irreps_out, self.irreps_out.slices()):
            k3 = parity_class(ir.l, ir.p)
            for c in range(m):
                for mm in range(-ir.l, ir.l + 1):
                    out_index.append(c * total + offsets[k3] + ir.l**2 + ir.l + mm)
        self.register_buffer("out_index", torch.tensor(out_index, dtype=torch.int64), persistent=False)
        self._class_offsets = offsets
        self._class_total = total

        if internal_weights:
            self.weight = nn.Parameter(torch.ones(len(pairs), channels, self.lmax_out + 1))
        else:
            self.register_parameter("weight", None)

    @property
    def weight_shape(self) -> tuple[int, int, int]:
        """Shape ``(n_pairs, channels, lmax_out+1)`` of the weights (internal or passed to forward)."""
        return (len(self.pairs), self.channels, self.lmax_out + 1)

    def _gather(self, x: torch.Tensor, index: torch.Tensor, mul: int) -> torch.Tensor:
        rows = x.shape[0]
        xp = torch.cat([x, x.new_zeros(rows, 1)], dim=1)
        g = xp.index_select(1, index).view(rows, mul, index.shape[0] // mul)
        return g.permute(2, 0, 1).reshape(g.shape[2], rows * mul)  # batch-last (N, rows·mul)

    def _table(self, name: str, dtype: torch.dtype) -> torch.Tensor:
        """A constant table (float64 buffer, moved by ``.to``) in the compute dtype."""
        t = getattr(self, name)
        return t if t.dtype in (dtype, torch.int64) else t.to(dtype)

    def _product(self, i: int, x1t: torch.Tensor, x2t: torch.Tensor, rows: int) -> torch.Tensor:
        c = self.channels
        if self.backend == "dense":
            g = self._table(f"dense_{i}", x1t.dtype)
            a = x1t.t().reshape(rows, self.mul1, x1t.shape[0])
            b = x2t.t().reshape(rows, self.mul2, x2t.shape[0])
            outer = (a.unsqueeze(-1) * b.unsqueeze(-2)).reshape(rows * c, x1t.shape[0] * x2t.shape[0])
            return (outer @ g.reshape(-1, g.shape[-1])).t().reshape(g.shape[-1], rows, c)
        grid = self._grids[i]
        t1 = tuple(self._table(f"syn1_{i}_{j}", x1t.dtype) for j in range(3 if grid.backend == "fft" else 4))
        t2 = tuple(self._table(f"syn2_{i}_{j}", x1t.dtype) for j in range(3 if grid.backend == "fft" else 4))
        ta = tuple(self._table(f"ana_{i}_{j}", x1t.dtype) for j in range(2 if grid.backend == "fft" else 3))
        f1, f2 = synthesis(x1t, grid, t1), synthesis(x2t, grid, t2)
        if grid.backend == "fft":  # (B, Mβ, Mα) with B = rows · mul
            f1 = f1.view(rows, self.mul1, grid.n_beta, grid.n_alpha)
            f2 = f2.view(rows, self.mul2, grid.n_beta, grid.n_alpha)
            p = (f1 * f2).reshape(rows * c, grid.n_beta, grid.n_alpha)
        else:  # (Nα, Nβ, B)
            f1 = f1.view(grid.n_alpha, grid.n_beta, rows, self.mul1)
            f2 = f2.view(grid.n_alpha, grid.n_beta, rows, self.mul2)
            p = (f1 * f2).reshape(grid.n_alpha, grid.n_beta, rows * c)
        y = analysis(p, grid, ta)
        return y.view(y.shape[0], rows, c)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the product. ``weight`` only when ``internal_weights=False``: ``(..., *weight_shape)``."""
        dim1, dim2, dim_out = self._dims
        check_features(x1, "x1")
        check_features(x2, "x2")
        if x1.shape[-1] != dim1:
            raise ValueError(f"x1 must have shape (..., {dim1}), got {tuple(x1.shape)}")
        if x2.shape[-1] != dim2:
            raise ValueError(f"x2 must have shape (..., {dim2}), got {tuple(x2.shape)}")
        if self.internal_weights:
            if weight is not None:
                raise ValueError("weight must be None when internal_weights=True")
            weight = self.weight
            lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1])
        else:
            if weight is None or weight.shape[-3:] != self.weight_shape:
                raise ValueError(
                    f"weight of shape (..., {self.weight_shape}) is required when internal_weights=False"
                )
            check_features(weight, "weight")
            lead = torch.broadcast_shapes(x1.shape[:-1], x2.shape[:-1], weight.shape[:-3])
        out_dtype = torch.promote_types(x1.dtype, x2.dtype)
        dtype = compute_dtype(out_dtype)
        x1 = x1.to(dtype).expand(lead + x1.shape[-1:]).reshape(-1, x1.shape[-1])
        x2 = x2.to(dtype).expand(lead + x2.shape[-1:]).reshape(-1, x2.shape[-1])
        rows = x1.shape[0]
        if not self.internal_weights:
            weight = weight.expand(lead + self.weight_shape).reshape((rows,) + self.weight_shape)
        acc = {}
        for i, (_, _, k3, _, _, _l3) in enumerate(self.pairs):
            x1t = self._gather(x1, getattr(self, f"in1_index_{i}"), self.mul1)
            x2t = self._gather(x2, getattr(self, f"in2_index_{i}"), self.mul2)
            y = self._product(i, x1t, x2t, rows)  # ((l3+1)², rows, C)
            lidx = getattr(self, f"degree_index_{i}")
            scale = self._table(f"norm_{i}", dtype)
            if self.internal_weights:
                w = weight[i].to(dtype).index_select(1, lidx).t().unsqueeze(1)  # (N3, 1, C)
            else:
                w = weight[:, i].to(dtype).index_select(2, lidx).permute(2, 0, 1)  # (N3, rows, C)
            y = y * (w * scale.view(-1, 1, 1))
            n3 = (self.class_lmax[k3] + 1) ** 2
            if y.shape[0] < n3:
                y = torch.cat([y, y.new_zeros(n3 - y.shape[0], rows, self.channels)], dim=0)
            acc[k3] = acc[k3] + y if k3 in acc else y
        for k3 in self._class_offsets:
            if k3 not in acc:
                acc[k3] = x1.new_zeros((self.class_lmax[k3] + 1) ** 2, rows, self.channels)
        y = torch.cat([acc[k3] for k3 in sorted(self._class_offsets)], dim=0)  # (N3tot, rows, C)
        y = y.permute(1, 2, 0).reshape(rows, y.shape[0] * self.channels).index_select(1, self.out_index)
        return y.to(out_dtype).reshape(lead + (dim_out,))

    def extra_repr(self) -> str:
        return (
            f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, backend={self.backend!r}, "
            f"pairs={[(p[0], p[1]) for p in self.pairs]}"
        )
