"""Many-body Gaunt self-interaction: powers of a spherical feature in the sample domain (MACE-style)."""

from __future__ import annotations

import torch
from torch import nn

from .channels import channel_layout
from .dtypes import ExactTablesModule, check_features, compute_dtype
from .product import default_backend
from .transforms import analysis, analysis_tables, sample_grid, synthesis, synthesis_tables

__all__ = ["GauntSelfInteraction"]


class GauntSelfInteraction(ExactTablesModule):
    """Channel-wise powers of a spherical feature, weighted per (power, channel, output degree).

    Channel ``c`` of the input is read as the spherical function ``f_c = Σ_lm x_{c,lm} Y_lm`` (degree
    ≤ L). Its powers ``f_c^k`` (``k = 1 … ν``, the correlation order) are computed once on a sampling grid
    that resolves degree ``νL`` — repeated pointwise products, i.e. Gaunt products in the Fourier / S²
    domain without any ``(L+1)²``-sized intermediate — and projected back up to ``lmax_out``:

    .. math:: y_{c, lm} = \\sum_{k=1}^{\\nu} w_{k c l}\\, \\nu_{k l}\\, \\langle f_c^k, Y_{lm} \\rangle

    with learnable ``w`` (initialised to 1) and fixed ``ν_kl`` making each term unit-variance for
    unit-variance inputs. This is the Gaunt analogue of MACE's symmetric contraction (products of the
    same feature ν times, per-degree weights). Parity: for inputs with ``p = (-1)^l`` every power has
    that parity; for the opposite parity ``f^k`` has parity class ``k mod 2``; each output irrep
    receives the powers of its class only. Mixed inputs (``0e+0o``, ``1o+1e``, …): with ``f0`` the
    class-0 part (a scalar field, ``p = (-1)^l``) and ``f1`` the class-1 part (a pseudo-scalar field),
    the terms are the even and odd parts of ``(f0 + f1)^k`` in ``f1``,
    ``A_k = Σ_{b even} C(k, b) f0^{k-b} f1^b`` (class 0) and ``B_k = Σ_{b odd} …`` (class 1), computed
    on the grid by ``A_{k+1} = f0 A_k + f1 B_k``, ``B_{k+1} = f0 B_k + f1 A_k``; the weight then has
    ``2ν`` rows ``(A_1, B_1, A_2, B_2, …)``. Single-class inputs keep the ``ν`` rows and the fast path.

    Channels of any e3nn irreps (:mod:`~geomrep.equivariant.gaunt.channels`): channel ``c`` of irrep
    ``(l, p)`` exists for ``c < mul`` (``16x0e+8x1o+4x2e``: channels 0–3 have degrees 0–2, 4–7 degrees
    0–1, 8–15 degree 0), repeated irreps take consecutive channels in order of appearance, the order of
    the irreps is free; ``f_c`` has the degrees its channel carries, and output channel ``c`` is
    computed from ``f_c`` only. Uniform irreps run the fast path unchanged.

    Args:
        irreps: input irreps (any multiplicities, repeats, order and parities).
        correlation: ν ≥ 1.
        irreps_out: output irreps (default ``irreps``); multiplicities at most that of ``irreps``,
            degrees reached by the powers of the highest output channel.
        backend: ``"grid"``, ``"fft"`` or None (fastest measured).

    Shapes:
        ``x (..., irreps.dim) → (..., irreps_out.dim)`` (empty batches included); dtype/device follow
        ``x``. ``x`` must be real floating (``TypeError`` otherwise); float16/bfloat16 are computed in
        float32. The float64 constant tables stay exact under ``.float()``/``.double()`` and move with
        ``.to(device)`` (``geomrep.equivariant.gaunt.dtypes.ExactTablesModule``).

    Example:
        >>> si = GauntSelfInteraction("16x0e+16x1o+16x2e", correlation=3)
        >>> si(torch.randn(4, si.irreps_in.dim)).shape
        torch.Size([4, 144])
    """

    def __init__(self, irreps, correlation: int = 3, irreps_out=None, *, backend: str | None = None) -> None:
        super().__init__()
        if isinstance(correlation, bool) or not isinstance(correlation, int) or correlation < 1:
            raise ValueError(f"correlation must be an int >= 1, got {correlation!r}")
        lay = channel_layout(irreps, "irreps")
        cls = lay.classes()
        self.mixed = len(cls) == 2
        lay_out = channel_layout(irreps if irreps_out is None else irreps_out, "irreps_out")
        mul = lay.channels
        if lay_out.channels > mul:
            raise ValueError(
                f"irreps_out may not have a larger multiplicity than irreps (x{mul}), got {lay_out.irreps}"
            )
        if backend not in (None, "grid", "fft"):
            raise ValueError(f"backend must be 'grid', 'fft' or None, got {backend!r}")
        self.irreps_in, self.irreps_out = lay.irreps, lay_out.irreps
        self.channels, self.correlation = mul, correlation
        self.lmax = max(max(ls) for ls in cls.values())
        self.lmax_out = max(ir.l for _, ir in self.irreps_out)
        # the terms (weighted separately) and the output class each feeds: the powers f^k of a single
        # class; for a mixed input the even and odd parts A_k, B_k of (f0 + f1)^k, in that order
        if self.mixed:
            self.power_class = [k3 for _ in range(correlation) for k3 in (0, 1)]
        else:
            ((k_in, _),) = cls.items()
            self.power_class = [(k_in * k) % 2 for k in range(1, correlation + 1)]
        for (l3, k3), offs in sorted(lay_out.offsets.items()):
            top = lay.classes(len(offs))  # degrees present in the highest output channel
            reach = [
                (k - b) * max(top.get(0, [0])) + b * max(top.get(1, [0]))
                for k in range(1, correlation + 1)
                for b in range(k + 1)  # b factors of class 1, k - b of class 0
                if b % 2 == k3 and (b == 0 or 1 in top) and (b == k or 0 in top)
            ]
            if not reach or l3 > max(reach):
                raise ValueError(
                    f"irreps_out degree {l3} of parity class {k3} (x{len(offs)}) is not reached by powers "
                    f"of {self.irreps_in}"
                )
        self.backend = backend or default_backend(self.lmax, (correlation - 1) * self.lmax, self.lmax_out)
        self._grid = sample_grid(self.backend, correlation * self.lmax, self.lmax_out)
        self._dims = (self.irreps_in.dim, self.irreps_out.dim)
        self._n_syn = 3 if self.backend == "fft" else 4
        self._n_ana = 2 if self.backend == "fft" else 3
        for j, t in enumerate(synthesis_tables(self.lmax, self._grid)):
            self.register_buffer(f"syn_{j}", t.clone(), persistent=False)
        for j, t in enumerate(analysis_tables(self.lmax_out, self._grid)):
            self.register_buffer(f"ana_{j}", t.clone(), persistent=False)

        if self.mixed:  # per channel: class-0 coefficients, then class-1 coefficients
            index = torch.stack(
                [lay.gather_index(k, self.lmax, mul).view(mul, -1) for k in (0, 1)], dim=1
            ).reshape(-1)
        else:
            index = lay.gather_index(k_in, self.lmax, mul)
        self.register_buffer("in_index", index, persistent=False)
        n3 = (self.lmax_out + 1) ** 2
        out_index = lay_out.scatter_index(lambda c, k, l, m: (2 * c + k) * n3 + l * l + l + m)
        n_terms = len(self.power_class)
        select = torch.zeros(2, n_terms, dtype=torch.float64)  # term t feeds parity class select[:, t]
        for k, k3 in enumerate(self.power_class):
            select[k3, k] = 1.0
        self.register_buffer("class_select", select, persistent=False)
        self.register_buffer("out_index", out_index, persistent=False)
        lidx = torch.repeat_interleave(
            torch.arange(self.lmax_out + 1), 2 * torch.arange(self.lmax_out + 1) + 1
        )
        self.register_buffer("degree_index", lidx, persistent=False)
        self.register_buffer("norm", self._unit_variance_scale(), persistent=False)
        self.weight = nn.Parameter(torch.ones(n_terms, mul, self.lmax_out + 1))

    def _unit_variance_scale(self) -> torch.Tensor:
        """``1/std`` of each power's degree-l coefficients for N(0, 1) inputs (fixed-seed estimate)."""
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(
            512, (2 if self.mixed else 1) * (self.lmax + 1) ** 2, generator=gen, dtype=torch.float64
        )
        tables = [
            getattr(self, f"syn_{j}").to(torch.float64) if j != 1 else self.syn_1 for j in range(self._n_syn)
        ]
        tables = [t.to(torch.float64) if t.is_floating_point() else t for t in tables]
        ana = [getattr(self, f"ana_{j}") for j in range(self._n_ana)]
        ana = [t.to(torch.float64) if t.is_floating_point() else t for t in ana]
        y = self._terms(x.t(), tables, ana)  # (N3, T, 512)
        var = y.pow(2).mean(dim=-1)  # (N3, T)
        lidx = torch.repeat_interleave(
            torch.arange(self.lmax_out + 1), 2 * torch.arange(self.lmax_out + 1) + 1
        )
        per_l = torch.zeros(self.lmax_out + 1, var.shape[1], dtype=torch.float64).index_add_(0, lidx, var)
        per_l = per_l / (2 * torch.arange(self.lmax_out + 1, dtype=torch.float64) + 1).unsqueeze(1)
        scale = torch.where(per_l > 1e-20, per_l.clamp_min(1e-300).rsqrt(), torch.zeros_like(per_l))
        return scale.t()[:, lidx] / self.correlation**0.5  # (T, N3)

    def _terms(self, xt: torch.Tensor, syn, ana) -> torch.Tensor:
        """``((Lout+1)², T, B)``: :meth:`_powers` of a single class, :meth:`_mixed_powers` of two."""
        return self._mixed_powers(xt, syn, ana) if self.mixed else self._powers(xt, syn, ana)

    def _mixed_powers(self, xt: torch.Tensor, syn, ana) -> torch.Tensor:
        """Even/odd parts ``A_k, B_k`` of ``(f0 + f1)^k`` from ``xt (2(L+1)², B)`` (class 0 rows first).

        ``A_1 = f0``, ``B_1 = f1``, ``A_{k+1} = f0 A_k + f1 B_k``, ``B_{k+1} = f0 B_k + f1 A_k`` on the
        grid (exact: no difference of large powers). Returns ``((Lout+1)², 2ν, B)`` ordered
        ``A_1, B_1, A_2, B_2, …``. ``A_k`` is a true scalar field (class 0), ``B_k`` a pseudo-scalar one.
        """
        grid = self._grid
        n, batch = xt.shape[0] // 2, xt.shape[1]
        f = synthesis(torch.cat([xt[:n], xt[n:]], dim=1), grid, tuple(syn))
        if grid.backend == "fft":  # (2B, Mβ, Mα)
            f0, f1 = f[:batch], f[batch:]
        else:  # (Nα, Nβ, 2B)
            f0, f1 = f[..., :batch], f[..., batch:]
        terms = [f0, f1]
        for _ in range(self.correlation - 1):
            a, b = terms[-2], terms[-1]
            terms += [f0 * a + f1 * b, f0 * b + f1 * a]
        if grid.backend == "fft":
            p = torch.cat(terms, dim=0)
        else:
            p = torch.stack(terms, dim=2).reshape(grid.n_alpha, grid.n_beta, -1)
        y = analysis(p, grid, tuple(ana))
        return y.view(y.shape[0], len(terms), batch)

    def _powers(self, xt: torch.Tensor, syn, ana) -> torch.Tensor:
        """SH coefficients of f, f², …, f^ν: ``((Lout+1)², ν, B)`` from batch-last ``xt ((L+1)², B)``."""
        grid = self._grid
        f = synthesis(xt, grid, tuple(syn))
        powers = [f]
        for _ in range(self.correlation - 1):
            powers.append(powers[-1] * f)
        if grid.backend == "fft":  # (B, Mβ, Mα): stack power-major on the batch axis
            p = torch.cat(powers, dim=0)
        else:  # (Nα, Nβ, B)
            p = torch.stack(powers, dim=2).reshape(grid.n_alpha, grid.n_beta, -1)
        y = analysis(p, grid, tuple(ana))  # (N3, ν·B)
        return y.view(y.shape[0], self.correlation, xt.shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the weighted powers; ``x (..., irreps.dim) → (..., irreps_out.dim)``."""
        dim_in, dim_out = self._dims
        check_features(x, "x")
        if x.shape[-1] != dim_in:
            raise ValueError(f"x must have shape (..., {dim_in}), got {tuple(x.shape)}")
        lead = x.shape[:-1]
        out_dtype = x.dtype
        dtype = compute_dtype(out_dtype)
        x = x.to(dtype).reshape(-1, dim_in)
        rows, c = x.shape[0], self.channels
        xp = torch.cat([x, x.new_zeros(rows, 1)], dim=1)
        g = xp.index_select(1, self.in_index).view(rows, c, self.in_index.shape[0] // c)
        xt = g.permute(2, 0, 1).reshape(g.shape[2], rows * c)  # mixed: 2(L+1)² rows, class 0 first

        def cast(t):
            return t.to(dtype) if t.is_floating_point() and t.dtype != dtype else t

        syn = [cast(getattr(self, f"syn_{j}")) for j in range(self._n_syn)]
        ana = [cast(getattr(self, f"ana_{j}")) for j in range(self._n_ana)]
        y = self._terms(xt, syn, ana)
        y = y.view(y.shape[0], self.weight.shape[0], rows, c)  # (N3, T, rows, C)
        w = self.weight.to(dtype).index_select(2, self.degree_index)  # (T, C, N3)
        w = w * cast(self.norm).unsqueeze(1)
        y = torch.einsum("nkrc,kcn,sk->rcsn", y, w, cast(self.class_select))  # (rows, C, class, N3)
        y = y.reshape(rows, y.shape[1] * y.shape[2] * y.shape[3]).index_select(1, self.out_index)
        return y.to(out_dtype).reshape(lead + (dim_out,))

    def extra_repr(self) -> str:
        return (
            f"{self.irreps_in} -> {self.irreps_out}, correlation={self.correlation}, backend={self.backend!r}"
        )
