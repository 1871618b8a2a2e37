"""Channel-wise Gaunt tensor product of e3nn irreps with learnable weights per (channel, output degree)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocked import blocked_available, blocked_grid_product, use_blocked
from .channels import channel_layout, parity_class
from .coefficients import gaunt_constant, gaunt_tensor
from .dtypes import ExactTablesModule, check_features, compute_dtype
from .gather import column_inverse, take
from .product import default_backend, gaunt_product
from .transforms import BACKENDS, analysis, analysis_tables, sample_grid, synthesis, synthesis_tables

__all__ = ["GauntTensorProduct", "parity_class"]

_Y00 = 0.5 / math.pi**0.5  # the constant spherical harmonic (integral normalisation): G^{0 l l}_{0 m m}


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

    Channel pairing (any e3nn irreps, see :mod:`~geomrep.equivariant.gaunt.channels`): channel ``c`` of
    ``x1`` multiplies channel ``c`` of ``x2`` (an input whose multiplicities are all 1 broadcasts over
    the channels, e.g. edge spherical harmonics) and feeds channel ``c`` of the output. With different
    multiplicities per irrep (``64x0e+32x1o+16x2e``) channel ``c`` of irrep ``(l, p)`` exists for
    ``c < mul``: the product is the uniform product with absent channels set to zero (per-irrep channel
    groups: channels 0–15 carry ``0e+1o+2e``, 16–31 ``0e+1o``, 32–63 ``0e``; each group is computed at
    its own degrees, and a group whose input is a constant ``0e`` needs no product); repeated irreps take
    consecutive channels in order of appearance (``2x1o+3x0e+2x1o`` has channels 0–3 of ``1o``) and the
    irreps may be in any order (``ν`` assumes full channels: a channel missing some input degrees has a
    smaller output variance). This is e3nn's ``o3.TensorProduct`` with ``"uvw"`` paths restricted to
    the Gaunt paths with weights ``δ_uw δ_vw w[pair, c, l3] ν c(l1, l2, l3)``. For uniform irreps
    (one multiplicity, each irrep once) it is the fast path unchanged. To mix channels (as e3nn's
    ``FullyConnectedTensorProduct`` does), put an ``o3.Linear`` before/after it
    (:mod:`~geomrep.equivariant.gaunt.drop_in`).

    Args:
        irreps_in1, irreps_in2: input irreps (any e3nn ``Irreps``); the largest multiplicities of the
            two must agree unless one input has every multiplicity 1 (broadcast).
        irreps_out: output irreps, multiplicities at most the channel count; every output channel must
            be reachable (degree ≤ l1 + l2 of the input degrees present in that channel, matching
            parity), otherwise ``ValueError`` (it would be identically zero).
        backend: ``"grid"``, ``"fft"``, ``"dense"`` or None (fastest measured, see
            :func:`default_backend`).
        internal_weights: learnable ``weight`` parameter (default). If False, ``forward`` takes
            ``weight`` of shape ``(..., n_pairs, channels, lmax_out+1)`` (e.g. from a radial network);
            ``channels`` is the largest multiplicity; weights of absent (channel, degree) slots are unused.

    Shapes:
        ``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)`` (broadcastable leading dims, empty
        batches included), output ``(..., irreps_out.dim)``; dtype/device follow the inputs.

    dtypes:
        inputs must be real floating (``TypeError`` otherwise); mixed float32/float64 inputs are promoted;
        float16/bfloat16 are computed in float32. The constant tables are float64 buffers that
        ``.to(device)`` moves and ``.float()``/``.double()``/``.half()`` leave exact
        (``geomrep.equivariant.gaunt.dtypes.ExactTablesModule``); they are cast on use.

    Example:
        >>> tp = GauntTensorProduct("8x0e+8x1o+8x2e", "1x0e+1x1o+1x2e", "8x0e+8x1o+8x2e+8x3o")
        >>> tp(torch.randn(5, tp.irreps_in1.dim), torch.randn(5, 9)).shape
        torch.Size([5, 128])
        >>> mace = GauntTensorProduct("64x0e+32x1o+16x2e", "1x0e+1x1o+1x2e", "64x0e+32x1o+16x2e")
        >>> mace(torch.randn(5, 240), torch.randn(5, 9)).shape
        torch.Size([5, 240])
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
        lay1 = channel_layout(irreps_in1, "irreps_in1")
        lay2 = channel_layout(irreps_in2, "irreps_in2")
        lay_out = channel_layout(irreps_out, "irreps_out")
        mul1, mul2 = lay1.channels, lay2.channels
        channels = max(mul1, mul2)
        if mul1 not in (1, channels) or mul2 not in (1, channels) or lay_out.channels > channels:
            raise ValueError(
                "multiplicities must agree: the largest multiplicity of irreps_in1 and of irreps_in2 must be "
                "equal (or every multiplicity of one input 1, broadcast) and irreps_out may not have more "
                f"channels; got irreps_in1 x{mul1}, irreps_in2 x{mul2}, irreps_out x{lay_out.channels} "
                f"({irreps_in1} | {irreps_in2} | {irreps_out})"
            )
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
        self.irreps_in1, self.irreps_in2, self.irreps_out = lay1.irreps, lay2.irreps, lay_out.irreps
        self.channels, self.mul1, self.mul2 = channels, mul1, mul2
        self._dims = (self.irreps_in1.dim, self.irreps_in2.dim, self.irreps_out.dim)
        self.lmax_out = max(ir.l for _, ir in self.irreps_out)
        self.internal_weights = internal_weights
        cls1, cls2, cls_out = lay1.classes(), lay2.classes(), lay_out.classes()

        pairs = []
        for k1, ls1 in cls1.items():
            for k2, ls2 in cls2.items():
                k3 = k1 ^ k2
                if k3 in cls_out and min(cls_out[k3]) <= max(ls1) + max(ls2):
                    pairs.append((k1, k2, k3, max(ls1), max(ls2), min(max(cls_out[k3]), max(ls1) + max(ls2))))
        unreached, empty_channels = [], []
        for (l3, k3), offs in sorted(lay_out.offsets.items()):
            reach = [-1]  # highest degree of class k3 that channel c of the product reaches
            for c in (0, len(offs) - 1):
                c1 = lay1.classes(1 if mul1 == 1 else c + 1)
                c2 = lay2.classes(1 if mul2 == 1 else c + 1)
                sums = [max(a) + max(b) for k1, a in c1.items() for k2, b in c2.items() if k1 ^ k2 == k3]
                reach.append(max(sums, default=-1))
            if l3 > reach[1]:
                unreached.append((l3, k3))
            elif l3 > reach[2]:
                empty_channels.append(f"{len(offs)}x(l={l3}, class {k3})")
        if unreached:
            raise ValueError(
                f"irreps_out has degrees {[l for l, _ in unreached]} of parity classes "
                f"{[k for _, k in unreached]} that no Gaunt product of {self.irreps_in1} and "
                f"{self.irreps_in2} produces"
            )
        if empty_channels:
            raise ValueError(
                f"irreps_out asks for {empty_channels} but the highest channels of {self.irreps_in1} x "
                f"{self.irreps_in2} do not reach that degree (they would be identically zero); lower that "
                "multiplicity or raise the input multiplicities"
            )
        self.pairs = pairs
        # channel groups per pair: consecutive channels carrying the same degrees (mixed multiplicities)
        self._groups = [
            _channel_groups(lay1, lay2, lay_out, k1, k2, k3, channels) for k1, k2, k3, *_ in pairs
        ]
        self.class_lmax = {k3: max(ls3) for k3, ls3 in cls_out.items()}
        self.backend = backend or default_backend(
            max(p[3] for p in pairs), max(p[4] for p in pairs), self.lmax_out
        )

        self._grids = []
        for i, (k1, k2, k3, l1, l2, l3) in enumerate(pairs):
            for name, lay, k, lmax, mul in (("in1", lay1, k1, l1, mul1), ("in2", lay2, k2, l2, mul2)):
                index = lay.gather_index(k, lmax, mul)
                self.register_buffer(f"{name}_index_{i}", index, persistent=False)
                self.register_buffer(
                    f"{name}_inverse_{i}", column_inverse(index, lay.irreps.dim), persistent=False
                )
                groups = self._groups[i] if len(self._groups[i]) > 1 else []  # one group: the pair's own
                for g, (c0, c1, *degrees) in enumerate(groups):  # per channel group, at its degrees
                    lg = degrees[0 if name == "in1" else 1]
                    rows = slice(c0, c1) if mul > 1 else slice(0, 1)
                    gi = lay.gather_index(k, max(lg, 0), mul).view(mul, -1)[rows].reshape(-1)
                    self.register_buffer(f"{name}_index_{i}_{g}", gi, persistent=False)
                    self.register_buffer(
                        f"{name}_inverse_{i}_{g}", column_inverse(gi, lay.irreps.dim), persistent=False
                    )
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

        offsets, off = {}, 0
        for k3 in sorted(cls_out):
            offsets[k3] = off
            off += (self.class_lmax[k3] + 1) ** 2
        total = off
        out_index = lay_out.scatter_index(lambda c, k, l, m: c * total + offsets[k] + l * l + l + m)
        self.register_buffer("out_index", out_index, persistent=False)
        self.register_buffer("out_inverse", column_inverse(out_index, total * channels), persistent=False)
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

    def _gather(self, x: torch.Tensor, which: str, key: str, mul: int, batch_last: bool = True):
        """Coefficients of ``x`` for pair (``key = "i"``) or channel group (``"i_g"``) of input ``which``:
        ``(rows, mul, N)``, or batch-last ``(N, rows·mul)``."""
        index, inverse = getattr(self, f"{which}_index_{key}"), getattr(self, f"{which}_inverse_{key}")
        g = take(x, index, inverse).view(x.shape[0], mul, index.numel() // mul)
        if not batch_last:
            return g
        return g.permute(2, 0, 1).reshape(g.shape[2], x.shape[0] * mul)  # batch-last (N, rows·mul)

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

    def _grouped_product(
        self, i: int, x1: torch.Tensor, x2: torch.Tensor, rows: int, l3: int
    ) -> torch.Tensor:
        """Pair ``i``'s product channel group by channel group, each at the degrees its channels carry
        (the padded coefficients of a group are zero, so the result equals the uniform product)."""
        n3, parts = (l3 + 1) ** 2, []
        for g, (c0, c1, g1, g2, g3) in enumerate(self._groups[i]):
            if min(g1, g2, g3) < 0:  # no input or no output in these channels
                parts.append(x1.new_zeros(rows, c1 - c0, n3))
                continue
            ag = self._gather(x1, "in1", f"{i}_{g}", c1 - c0 if self.mul1 > 1 else 1, False)
            bg = self._gather(x2, "in2", f"{i}_{g}", c1 - c0 if self.mul2 > 1 else 1, False)
            if min(g1, g2) == 0:  # a constant factor: y_lm = x_00 · x'_lm / √(4π), no product needed
                const, other = (ag, bg) if g1 == 0 else (bg, ag)
                yg = const[..., :1] * other[..., : (min(g1 + g2, g3) + 1) ** 2] * _Y00
            elif self.backend == "grid" and blocked_available(x1):  # at any size: it broadcasts bg
                yg = blocked_grid_product(ag, bg, g1, g2, g3)
            else:
                yg = gaunt_product(ag, bg, g1, g2, g3, backend=self.backend)
            yg = yg.expand(rows, c1 - c0, yg.shape[-1])
            if yg.shape[-1] < n3:
                yg = torch.cat([yg, yg.new_zeros(rows, c1 - c0, n3 - yg.shape[-1])], dim=2)
            parts.append(yg)
        return torch.cat(parts, dim=1).permute(2, 0, 1)  # ((l3+1)², rows, C)

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
        for i, (_, _, k3, l1, l2, l3) in enumerate(self.pairs):
            if len(self._groups[i]) > 1 and not torch.compiler.is_compiling():
                # mixed multiplicities, eager: each channel group at its own degrees (compiled: one
                # padded group from the module's tables, gaunt_product's cached tables break the graph)
                y = self._grouped_product(i, x1, x2, rows, l3)
            elif self.backend == "grid" and use_blocked(x1, rows * self.channels, l1 + l2 + l3):
                # cache-blocked eager CPU path, batch-first (rows, mul, N)
                a = self._gather(x1, "in1", f"{i}", self.mul1, False)
                b = self._gather(x2, "in2", f"{i}", self.mul2, False)
                y = blocked_grid_product(a, b, l1, l2, l3).permute(2, 0, 1)  # ((l3+1)², rows, C)
            else:
                x1t = self._gather(x1, "in1", f"{i}", self.mul1)
                x2t = self._gather(x2, "in2", f"{i}", self.mul2)
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
        y = y.permute(1, 2, 0).reshape(rows, y.shape[0] * self.channels)
        y = take(y, self.out_index, self.out_inverse, pad=False)
        return y.to(out_dtype).reshape(lead + (dim_out,))

    def extra_repr(self) -> str:
        return (
            f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, backend={self.backend!r}, "
            f"pairs={[(p[0], p[1]) for p in self.pairs]}"
        )


def _channel_groups(lay1, lay2, lay_out, k1: int, k2: int, k3: int, channels: int) -> list[tuple]:
    """``(c0, c1, l1, l2, l3)``: runs of channels whose class-``k1``/``k2`` inputs and class-``k3``
    output carry the same highest degrees (``l3`` capped at ``l1 + l2``; -1: absent)."""
    groups: list[tuple] = []
    for c in range(channels):
        d1, d2 = lay1.channel_lmax(k1, c), lay2.channel_lmax(k2, c)
        d3 = min(lay_out.channel_lmax(k3, c), d1 + d2) if min(d1, d2) >= 0 else -1
        if groups and groups[-1][2:] == (d1, d2, d3):
            groups[-1] = (groups[-1][0], c + 1, d1, d2, d3)
        else:
            groups.append((c, c + 1, d1, d2, d3))
    return groups
