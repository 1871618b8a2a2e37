"""Fast application of S_n / A_n equivariant linear maps: sums, diagonals and broadcasts.

For a partition diagram π (see :mod:`.basis`) with output positions ``0…l−1`` and input positions
``l…l+k−1``, ``D_π x`` is computed without any ``n^{k+l}`` object:

1. *input side* — indices of ``x`` in the same block are tied (a generalised diagonal), blocks with
   no output position are summed out (``torch.einsum`` does both as views/reductions of ``x``), and
   the channel mixing ``W_π`` is contracted right away, giving ``u`` of shape ``(batch, c_out, n^p)``
   with ``p`` the number of blocks that touch both sides: ``O(nᵏ)`` reads, ``O(n^p)`` ≤ ``O(nˡ)`` writes;
2. *output side* — partitions that share the same output pattern (which output positions are tied,
   which blocks carry values from the input) are summed in that small ``u`` first, then embedded once:
   tied output positions through Kronecker deltas, blocks that only touch the output as broadcasts
   (size-1 dimensions, expanded by the final additions).

Time and memory are ``O(nᵏ + nˡ)`` per basis element (times batch × channels), never
``O(n^{k+l})`` and never a stack of per-basis outputs. The A_n extras (ε diagrams) only exist for
``n ≤ k + l + 1``; they are applied as small dense ``(nˡ, nᵏ)`` matrices.
"""

from __future__ import annotations

import functools
import string
from typing import NamedTuple

import torch

from .basis import _dense_basis64, basis_diagrams
from .partitions import check_group, check_sizes

__all__ = ["permutation_equivariant_linear", "MAX_ORDER"]

#: Largest supported ``k + l`` (Bell(12) ≈ 4.2 million basis maps already).
MAX_ORDER = 12

_LETTERS = string.ascii_lowercase


class _Term(NamedTuple):
    index: int  # position in the weight's basis axis
    reduction: int  # index into _Plan.reductions
    summed: int  # number of blocks summed over (input-only blocks)


class _OutGroup(NamedTuple):
    terms: tuple[_Term, ...]
    indices: tuple[int, ...]  # the terms' basis indices (weight columns mixed in one matmul)
    propagated: int  # number of set axes of the mixed tensor u
    full_size: bool  # every term reads all of x, only permuting its axes (no diagonal, no sum)
    expr: str | None  # einsum embedding u (+ deltas) into the output pattern; None: a reshape
    num_deltas: int
    shape_code: tuple[bool, ...]  # per output position: full size (True) or broadcast (False)


class _Plan(NamedTuple):
    n: int
    k: int
    l: int  # noqa: E741
    group: str
    num_basis: int
    reductions: tuple[tuple, ...]  # input-side programs: ("diag", d1, d2) / ("sum", dims) / ("perm", order)
    groups: tuple[_OutGroup, ...]
    extra_indices: tuple[int, ...]  # ε / jellyfish diagrams, applied densely


def _first_occurrence(labels) -> tuple[int, ...]:
    seen: dict[int, int] = {}
    return tuple(seen.setdefault(b, len(seen)) for b in labels)


def _reduction_program(in_lab: tuple[int, ...], propagated: list[int]) -> tuple:
    """Ops taking ``x (Z, C, n^k)`` to ``(Z, C, n^p)`` indexed by the ``propagated`` blocks, in order."""
    labels, steps = list(in_lab), []
    while len(set(labels)) < len(labels):  # tie two positions of one block: a diagonal
        i = next(i for i, b in enumerate(labels) if labels.index(b) != i)
        j = labels.index(labels[i])
        steps.append(("diag", 2 + j, 2 + i))  # torch.diagonal drops both dims, appends the diagonal
        labels = [b for q, b in enumerate(labels) if q not in (i, j)] + [labels[i]]
    summed = tuple(2 + q for q, b in enumerate(labels) if b not in propagated)
    if summed:
        steps.append(("sum", summed))
        labels = [b for b in labels if b in propagated]
    order = [labels.index(b) for b in propagated]
    if order != sorted(order):
        steps.append(("perm", (0, 1, *(2 + o for o in order))))
    return tuple(steps)


def _run_reduction(x: torch.Tensor, steps: tuple) -> torch.Tensor:
    for op, *args in steps:
        if op == "diag":
            x = torch.diagonal(x, dim1=args[0], dim2=args[1])
        elif op == "sum":
            x = x.sum(dim=args[0])
        else:
            x = x.permute(args[0])
    return x


@functools.cache
def _plan(n: int, k: int, l: int, group: str) -> _Plan:  # noqa: E741
    diagrams = basis_diagrams(n, k, l, group)
    grouped: dict[tuple, list[_Term]] = {}
    reductions: dict[tuple, int] = {}
    extras = []
    for index, d in enumerate(diagrams):
        if d.kind != "partition":
            extras.append(index)
            continue
        out_lab, in_lab = d.labels[:l], d.labels[l:]
        propagated = [b for b in dict.fromkeys(out_lab) if b in in_lab]
        summed = len(set(in_lab) - set(out_lab))
        program = _reduction_program(in_lab, propagated)
        rid = reductions.setdefault(program, len(reductions))
        rel = _first_occurrence(out_lab)
        relabel = dict(zip(out_lab, rel))
        key = (rel, tuple(relabel[b] for b in propagated))
        grouped.setdefault(key, []).append(_Term(index, rid, summed))
    groups = []
    programs = tuple(sorted(reductions, key=reductions.get))
    for (rel, prop), terms in grouped.items():
        blocks: dict[int, list[int]] = {}
        for p, b in enumerate(rel):
            blocks.setdefault(b, []).append(p)
        shape_code = tuple(b in prop or len(blocks[b]) > 1 for b in rel)
        operands = ["ZO" + "".join(_LETTERS[blocks[b][0]] for b in prop)]
        for positions in blocks.values():
            operands += [_LETTERS[positions[0]] + _LETTERS[q] for q in positions[1:]]
        out = "ZO" + "".join(_LETTERS[p] for p in range(l) if shape_code[p])
        expr = None if len(operands) == 1 and operands[0] == out else ",".join(operands) + "->" + out
        indices = tuple(t.index for t in terms)
        full = len(terms) > 1 and all(all(st[0] == "perm" for st in programs[t.reduction]) for t in terms)
        full = full and all(t.summed == 0 for t in terms)
        groups.append(_OutGroup(tuple(terms), indices, len(prop), full, expr, len(operands) - 1, shape_code))
    # add the small (mostly broadcast) contributions first, the full-size ones last
    groups.sort(key=lambda g: sum(g.shape_code))
    return _Plan(n, k, l, group, len(diagrams), programs, tuple(groups), tuple(extras))


def extra_basis(n: int, k: int, l: int, group: str) -> torch.Tensor:  # noqa: E741
    """The dense ε / jellyfish basis maps ``(num_extra, nˡ, nᵏ)`` in float64 (empty for S_n)."""
    plan = _plan(n, k, l, group)
    if not plan.extra_indices:
        return torch.zeros(0, n**l, n**k, dtype=torch.float64)
    return _dense_basis64(n, k, l, group)[list(plan.extra_indices)].clone()


def _check_inputs(x, weight, bias, plan: _Plan, bias_plan: _Plan, mask):
    n, k, l, group = plan.n, plan.k, plan.l, plan.group  # noqa: E741
    for name, t in (("x", x), ("weight", weight)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} must be a floating tensor, got dtype {t.dtype}")
    if weight.dim() == 3 and x.dim() >= 2 and x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} channels (dim 1) but weight expects in_channels={weight.shape[1]}"
        )
    if x.dim() != 2 + k:
        raise ValueError(
            f"x must have shape (batch, channels{', n' * k}) for k={k}, got {tuple(x.shape)} ({x.dim()} dims)"
        )
    size = x.shape[-1] if k else None
    if k and any(s != size for s in x.shape[2:]):
        raise ValueError(f"x: the last {k} dims must all equal the set size, got {tuple(x.shape)}")
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask must be a bool torch.Tensor, got {type(mask).__name__}")
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must have dtype torch.bool (True = real element), got {mask.dtype}")
        if mask.dim() != 2 or mask.shape[0] != x.shape[0] or (size is not None and mask.shape[1] != size):
            expect = f"({x.shape[0]}, {size if size is not None else 'n'})"
            raise ValueError(f"mask must have shape {expect} (batch, set size), got {tuple(mask.shape)}")
        if size is None:
            size = mask.shape[1]
    if size is None:
        size = n
    if size > n:
        raise ValueError(f"x: set size {size} exceeds n={n}, the largest size the weights were built for")
    num_basis = plan.num_basis
    if weight.dim() != 3 or weight.shape[1] != x.shape[1] or weight.shape[2] != num_basis:
        raise ValueError(
            f"weight must have shape (out_channels, {x.shape[1]}, {num_basis}) for n={n}, k={k}, l={l}, "
            f"group={group!r}; got {tuple(weight.shape)}"
        )
    if weight.dtype != x.dtype:
        raise TypeError(f"weight dtype {weight.dtype} differs from x dtype {x.dtype}")
    if bias is not None:
        if not isinstance(bias, torch.Tensor) or not bias.is_floating_point():
            raise TypeError("bias must be a floating torch.Tensor or None")
        num_bias = bias_plan.num_basis
        if bias.shape != (weight.shape[0], num_bias):
            raise ValueError(f"bias must have shape ({weight.shape[0]}, {num_bias}), got {tuple(bias.shape)}")
        if bias.dtype != x.dtype:
            raise TypeError(f"bias dtype {bias.dtype} differs from x dtype {x.dtype}")
    return size


def _outer_mask(mask: torch.Tensor, order: int, dtype: torch.dtype) -> torch.Tensor:
    """``(batch, 1, n, …, n)`` product ``mask[i₁] ⋯ mask[i_order]`` in ``dtype``."""
    m = mask.to(dtype)
    out = None
    for d in range(order):
        shape = [m.shape[0], 1] + [1] * order
        shape[2 + d] = m.shape[1]
        out = m.reshape(shape) if out is None else out * m.reshape(shape)
    return out


def _mix(w: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``(O, C) @ (Z, C, N) -> (Z, O, N)`` as a batched GEMM with a broadcast (stride-0) weight.

    ``torch.matmul`` would fold the batch into a ``(Z·N, C)`` GEMM, which copies (and saves for the
    backward) a transposed copy of ``z``.
    """
    return torch.matmul(w.expand(z.shape[0], -1, -1), z)


def _apply(x, weight, plan: _Plan, extras, size, mask, normalize):
    """Core: ``y = Σ_b W[:, :, b] · B_b x`` with inputs already validated and masked."""
    n, l = plan.n, plan.l  # noqa: E741
    batch = x.shape[0]
    y = None
    if normalize and any(t.summed for g in plan.groups for t in g.terms):
        if mask is None:
            inv_size = x.new_full((1,) + (1,) * (l + 1), 1.0 / max(size, 1))
        else:
            counts = mask.sum(dim=1).clamp(min=1).to(x.dtype)
            inv_size = (1.0 / counts).reshape(batch, *([1] * (l + 1)))
    reduced: dict[int, torch.Tensor] = {}
    channels_out = weight.shape[0]
    for g in plan.groups:
        zs = []
        for t in g.terms if not g.full_size else ():
            if t.reduction not in reduced:
                reduced[t.reduction] = _run_reduction(x, plan.reductions[t.reduction])
            z = reduced[t.reduction]
            if normalize and t.summed:
                z = z * inv_size.reshape(inv_size.shape[0], *([1] * (z.dim() - 1))) ** t.summed
            zs.append(z.reshape(batch, x.shape[1], size**g.propagated))
        if g.full_size:
            # terms reading x itself with permuted axes: mix channels on x, permute the (view of the)
            # product instead of copying permuted inputs; one sum per term, no concatenated copy
            flat = x.reshape(batch, x.shape[1], size**plan.k)
            w = weight[:, :, list(g.indices)].permute(2, 0, 1).reshape(-1, x.shape[1])  # (T·O, C)
            prod = _mix(w, flat).reshape(batch, len(g.terms), channels_out, *([size] * plan.k))
            u = None
            for i, t in enumerate(g.terms):
                steps = plan.reductions[t.reduction]
                v = prod[:, i]
                v = v.permute(steps[0][1]) if steps else v
                u = v if u is None else u + v
        else:
            # one matmul mixes channels for every term of the group: (O, T·C) @ (Z, T·C, n^p)
            z = zs[0] if len(zs) == 1 else torch.cat(zs, dim=1)
            w = weight[:, :, list(g.indices)].permute(0, 2, 1).reshape(channels_out, -1)
            u = _mix(w, z).reshape(batch, channels_out, *([size] * g.propagated))
        if g.expr is not None:
            eye = torch.eye(size, dtype=x.dtype, device=x.device)
            u = torch.einsum(g.expr, u, *([eye] * g.num_deltas))
        u = u.reshape(u.shape[0], u.shape[1], *[size if full else 1 for full in g.shape_code])
        if y is None:
            y = u
        elif u.shape == torch.broadcast_shapes(u.shape, y.shape):
            y = u.add_(y)  # u is a fresh product/sum owned here: accumulate in place (one full tensor less)
        else:
            y = y + u
    if plan.extra_indices and size == n:
        dense = extras.to(dtype=x.dtype, device=x.device)
        w = weight[:, :, list(plan.extra_indices)]
        ye = torch.einsum("ZCJ,eIJ,OCe->ZOI", x.reshape(batch, x.shape[1], size**plan.k), dense, w)
        ye = ye.reshape(batch, weight.shape[0], *([size] * l))
        if mask is not None:  # the ε maps belong to sets of exactly n elements
            full = (mask.sum(dim=1) == n).to(x.dtype).reshape(batch, *([1] * (l + 1)))
            ye = ye * full
        y = ye if y is None else y + ye
    target = (batch, weight.shape[0]) + (size,) * l
    if y is None:
        return x.new_zeros(target)
    if y.shape != target:
        y = y.expand(target)
    return y


def permutation_equivariant_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    n: int,
    k: int,
    l: int,  # noqa: E741
    group: str = "symmetric",
    mask: torch.Tensor | None = None,
    normalize: bool = False,
) -> torch.Tensor:
    """Apply ``y = Σ_b W_b B_b x + Σ_c β_c C_c``: S_n / A_n equivariant bases ``B`` and biases ``C``.

    ``B_b`` are the basis maps of :func:`equivariant_basis` ``(n, k, l, group)`` and ``C_c`` those of
    ``(n, 0, l, group)``; ``W_b`` mixes channels. For every permutation ``g`` of the group,
    ``f(g·x) = g·f(x)`` where ``g`` acts on every set index. Computed with sums, diagonals and broadcasts
    (see the module docstring), never materialising an ``n^{k+l}`` matrix.

    Sets smaller than ``n`` (``x`` of set size ``n' < n``, or a ``mask`` marking padded entries) use the
    same diagram maps evaluated at their own size: padded entries are neither read nor written (they
    are zero in the output), so a padded batch equals the sets processed one by one. The A_n ε maps are
    defined for sets of exactly ``n`` elements; smaller sets only get the S_n part.

    Args:
        x: ``(batch, in_channels, n', …, n')`` with ``k`` set axes, ``n' <= n``.
        weight: ``(out_channels, in_channels, num_basis)``.
        bias: ``(out_channels, num_bias)`` or ``None``
            (``num_bias = equivariant_basis_size(n, 0, l, group)``).
        n: the group's (largest) set size the basis was built for.
        k, l: input and output orders.
        group: ``"symmetric"`` or ``"alternating"``.
        mask: optional bool ``(batch, n')``, True for real elements (needed for ``k = 0`` to give the
            output size of each set; otherwise the output size is ``n``).
        normalize: divide every summed-out block by the set size (means instead of sums: outputs keep
            their scale across ``n``); with a mask, by each set's own size.

    Returns:
        ``(batch, out_channels, n', …, n')`` with ``l`` set axes, dtype and device of ``x``.

    Raises:
        TypeError: non-floating ``x``/``weight``/``bias``, non-bool ``mask``, mismatched dtypes.
        ValueError: wrong shapes, ``n' > n``, invalid ``n``, ``k``, ``l`` or ``group``.

    Example:
        >>> x = torch.randn(4, 3, 5, 5)
        >>> w = torch.randn(8, 3, 15)
        >>> permutation_equivariant_linear(x, w, n=5, k=2, l=2).shape
        torch.Size([4, 8, 5, 5])
    """
    n, k, l = check_sizes(n, k, l)  # noqa: E741
    check_group(group)
    if k + l > MAX_ORDER:
        raise ValueError(f"k + l must be <= {MAX_ORDER} (Bell({k + l}) basis maps), got k={k}, l={l}")
    plan, bias_plan = _plan(n, k, l, group), _plan(n, 0, l, group)
    extras = extra_basis(n, k, l, group) if plan.extra_indices else None
    bias_extras = extra_basis(n, 0, l, group) if bias is not None and bias_plan.extra_indices else None
    return forward_with_plan(x, weight, bias, plan, bias_plan, extras, bias_extras, mask, normalize)


def forward_with_plan(x, weight, bias, plan, bias_plan, extras, bias_extras, mask, normalize):
    """:func:`permutation_equivariant_linear` with precomputed plans and ε tables (for modules:
    no cache look-ups inside ``torch.compile``d code)."""
    size = _check_inputs(x, weight, bias, plan, bias_plan, mask)
    k, l = plan.k, plan.l  # noqa: E741
    if mask is not None and k:
        x = x * _outer_mask(mask, k, x.dtype)
    y = _apply(x, weight, plan, extras, size, mask, normalize)
    if bias is not None:
        ones = x.new_ones(x.shape[0], 1)
        y = y + _apply(ones, bias[:, None, :], bias_plan, bias_extras, size, mask, False)
    if mask is not None and l:
        y = y * _outer_mask(mask, l, x.dtype)
    elif y.stride() != y.contiguous().stride():
        y = y.contiguous()
    return y
