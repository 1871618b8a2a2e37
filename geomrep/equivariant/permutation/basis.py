"""Partition and jellyfish diagrams, and the dense basis of S_n / A_n equivariant maps.

Index convention. A linear map ``(Rⁿ)^{⊗k} → (Rⁿ)^{⊗l}`` is a tensor ``M[i₁…i_l, j₁…j_k]`` with
``m = k + l`` index *positions*: positions ``0 … l−1`` are the output indices ``i``, positions
``l … m−1`` the input indices ``j``. A set partition of the positions is written as a restricted
growth string ``labels`` (``labels[p]`` = block of position ``p``, blocks numbered by first occurrence).

Basis elements (``basis_diagrams`` lists them in the order of the layer's weights):

- ``"partition"`` (S_n part, one per partition with at most ``n`` blocks): the *diagram* map
  ``D_π[i, j] = 1`` if the indices are equal within every block of π, else 0. The diagram maps of all
  partitions are a basis only when ``n ≥ m``, but those with at most ``n`` blocks always are: ``D_π`` is
  the sum of the orbit-basis elements of the coarsenings of π, a unitriangular change of basis on the
  partitions with ``≤ n`` blocks (whose orbit elements are non-zero).
- ``"epsilon"`` (A_n, one per partition with exactly ``n`` blocks): ``M[i, j] = ε(v₁, …, v_n)`` when the
  indices are equal within blocks, ``v_b`` the common value on block ``b`` and ε the Levi-Civita symbol.
- ``"jellyfish"`` (A_n, one per partition with exactly ``n − 1`` blocks):
  ``M[i, j] = Σ_v ε(v₁, …, v_{n−1}, v)`` (ε with one index contracted against the all-ones vector),
  i.e. ε with the missing value appended.

Only the first kind is built from sums, diagonals and broadcasts (see :mod:`.functional`); the ε kinds
only exist for ``n ≤ k + l + 1`` and are applied as small dense matrices.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch

from .partitions import check_group, check_sizes, set_partitions

__all__ = ["PartitionDiagram", "basis_diagrams", "equivariant_basis", "bias_diagrams"]


class PartitionDiagram(NamedTuple):
    """One basis element: ``labels`` (block of each position, outputs first) and ``kind``.

    ``kind`` is ``"partition"``, ``"epsilon"`` or ``"jellyfish"`` (see the module docstring).
    """

    labels: tuple[int, ...]
    kind: str

    @property
    def num_blocks(self) -> int:
        """Number of blocks of the partition."""
        return 1 + max(self.labels) if self.labels else 0


@functools.cache
def basis_diagrams(n: int, k: int, l: int, group: str = "symmetric") -> tuple[PartitionDiagram, ...]:  # noqa: E741
    """The basis of ``Hom_G((Rⁿ)^{⊗k}, (Rⁿ)^{⊗l})`` as diagrams, in the layer's weight order.

    First the partition diagrams with at most ``n`` blocks (lexicographic restricted growth strings),
    then, for ``group="alternating"`` and ``n ≥ 2``, the ``"epsilon"`` diagrams (partitions with ``n``
    blocks) and the ``"jellyfish"`` diagrams (partitions with ``n − 1`` blocks).

    Args:
        n: number of points (``>= 1``).
        k: input order; l: output order (``>= 0``).
        group: ``"symmetric"`` or ``"alternating"``.

    Returns:
        Tuple of :class:`PartitionDiagram`; its length is :func:`equivariant_basis_size`.

    Example:
        >>> [d.labels for d in basis_diagrams(2, 1, 1)]
        [(0, 0), (0, 1)]
    """
    n, k, l = check_sizes(n, k, l)  # noqa: E741
    check_group(group)
    parts = set_partitions(k + l)
    out = [PartitionDiagram(p, "partition") for p in parts if _blocks(p) <= n]
    if group == "alternating" and n >= 2:
        out += [PartitionDiagram(p, "epsilon") for p in parts if _blocks(p) == n]
        out += [PartitionDiagram(p, "jellyfish") for p in parts if _blocks(p) == n - 1]
    return tuple(out)


def bias_diagrams(n: int, l: int, group: str = "symmetric") -> tuple[PartitionDiagram, ...]:  # noqa: E741
    """The equivariant biases: the maps from the trivial representation, ``basis_diagrams(n, 0, l)``."""
    return basis_diagrams(n, 0, l, group)


def _blocks(labels: tuple[int, ...]) -> int:
    return 1 + max(labels) if labels else 0


def _levi_civita(values: torch.Tensor) -> torch.Tensor:
    """``ε(v₁, …, v_t)`` for rows of ``values`` (t = n): ``∏_{a<b} sign(v_b − v_a)`` (0 on repeats)."""
    t = values.shape[1]
    out = torch.ones(values.shape[0], dtype=torch.float64)
    for a in range(t):
        for b in range(a + 1, t):
            out = out * torch.sign((values[:, b] - values[:, a]).to(torch.float64))
    return out


def _dense_diagram(diagram: PartitionDiagram, n: int, digits: torch.Tensor) -> torch.Tensor:
    """Entries of one basis element at every index tuple (rows of ``digits``), float64."""
    labels = diagram.labels
    first = {}
    for p, b in enumerate(labels):
        first.setdefault(b, p)
    ok = torch.ones(digits.shape[0], dtype=torch.bool)
    for p, b in enumerate(labels):
        ok &= digits[:, p] == digits[:, first[b]]
    entry = ok.to(torch.float64)
    if diagram.kind == "partition":
        return entry
    values = digits[:, [first[b] for b in range(len(first))]]
    if diagram.kind == "jellyfish":  # append the one value the n−1 blocks leave out (junk on repeats, ε = 0)
        missing = n * (n - 1) // 2 - values.sum(dim=1, keepdim=True)
        values = torch.cat([values, missing], dim=1)
    return entry * _levi_civita(values)


@functools.lru_cache(maxsize=32)
def _dense_basis64(n: int, k: int, l: int, group: str) -> torch.Tensor:  # noqa: E741
    m = k + l
    flat = torch.arange(n**m, dtype=torch.long)
    digits = torch.stack([(flat // n ** (m - 1 - p)) % n for p in range(m)], dim=1) if m else flat[:, None]
    diagrams = basis_diagrams(n, k, l, group)
    if not diagrams:
        return torch.zeros(0, n**l, n**k, dtype=torch.float64)
    rows = [_dense_diagram(d, n, digits) for d in diagrams]
    return torch.stack(rows).reshape(len(diagrams), n**l, n**k)


def equivariant_basis(
    n: int,
    k: int,
    l: int,  # noqa: E741
    group: str = "symmetric",
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Dense basis of the S_n / A_n equivariant linear maps ``(Rⁿ)^{⊗k} → (Rⁿ)^{⊗l}``.

    Every element ``B[b]`` satisfies ``P^{⊗l} B[b] = B[b] P^{⊗k}`` for all permutation matrices ``P`` of
    the group, and the elements are linearly independent and span that space (for every ``n``, also
    ``n < k + l``). Built index-by-index in float64 (cached) and cast on return: it holds
    ``num_basis · n^{k+l}`` numbers, meant for inspection and tests, not for the forward pass.

    Args:
        n: number of points (``>= 1``); k, l: input and output orders (``>= 0``).
        group: ``"symmetric"`` or ``"alternating"``.
        dtype: floating dtype of the result (default: the default dtype).
        device: device of the result.

    Returns:
        Tensor of shape ``(num_basis, n**l, n**k)``, rows/columns indexed by the row-major flattened
        multi-indices ``(i₁…i_l)``, ``(j₁…j_k)``, in the order of :func:`basis_diagrams` (= the order of
        :class:`PermutationEquivariantLinear`'s weights).

    Example:
        >>> B = equivariant_basis(3, 1, 1)
        >>> B.shape  # identity and all-ones
        torch.Size([2, 3, 3])
    """
    n, k, l = check_sizes(n, k, l)  # noqa: E741
    check_group(group)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype, got {dtype}")
    return _dense_basis64(n, k, l, group).to(dtype=dtype, device=device, copy=True)
