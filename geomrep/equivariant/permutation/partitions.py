"""Set partitions, Stirling numbers and the dimension of S_n / A_n equivariant maps.

The linear maps ``(Rⁿ)^{⊗k} → (Rⁿ)^{⊗l}`` that commute with a permutation group acting on every
index form a vector space. With ``m = k + l`` and ``S(m, t)`` the Stirling numbers of the second kind
(the number of partitions of ``m`` labelled positions into ``t`` non-empty blocks):

- ``dim Hom_{S_n} = Σ_{t=0}^{n} S(m, t)`` (one map per set partition with at most ``n`` blocks);
- ``dim Hom_{A_n} = dim Hom_{S_n} + S(m, n) + S(m, n − 1)`` for ``n ≥ 2`` (the "jellyfish" maps of
  Pearce-Crump, ICML 2023); ``A_1 = S_1`` and ``A_2`` is the trivial group, where the formula gives
  ``2^m = dim`` of all maps.
"""

from __future__ import annotations

import functools

__all__ = ["stirling2", "bell_number", "set_partitions", "equivariant_basis_size", "GROUPS"]

#: Groups accepted by the permutation layers.
GROUPS = ("symmetric", "alternating")


def _check_nonneg_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_group(group) -> str:
    """Validate a ``group`` argument (``"symmetric"`` or ``"alternating"``)."""
    if not isinstance(group, str):
        raise TypeError(f"group must be a str ('symmetric' or 'alternating'), got {type(group).__name__}")
    if group not in GROUPS:
        raise ValueError(f"group must be 'symmetric' or 'alternating', got {group!r}")
    return group


def check_sizes(n, k, l) -> tuple[int, int, int]:  # noqa: E741  (l is the paper's name)
    """Validate ``n >= 1`` and ``k, l >= 0`` (ints); return them."""
    _check_nonneg_int(n, "n")
    if n < 1:
        raise ValueError(f"n must be >= 1 (the number of points permuted), got {n}")
    return n, _check_nonneg_int(k, "k"), _check_nonneg_int(l, "l")


@functools.cache
def stirling2(m: int, t: int) -> int:
    """Stirling number of the second kind ``S(m, t)`` (exact integer).

    ``S(0, 0) = 1``, ``S(m, 0) = S(0, t) = 0`` otherwise, ``S(m, t) = t S(m−1, t) + S(m−1, t−1)``.

    Example:
        >>> stirling2(4, 2)
        7
    """
    _check_nonneg_int(m, "m")
    _check_nonneg_int(t, "t")
    if m == 0 or t == 0:
        return 1 if m == t else 0
    if t > m:
        return 0
    return t * stirling2(m - 1, t) + stirling2(m - 1, t - 1)


def bell_number(m: int) -> int:
    """Bell number ``B(m) = Σ_t S(m, t)``, the number of set partitions of ``m`` positions.

    Example:
        >>> bell_number(4)
        15
    """
    return sum(stirling2(m, t) for t in range(m + 1))


@functools.cache
def set_partitions(m: int) -> tuple[tuple[int, ...], ...]:
    """All set partitions of ``{0, …, m−1}`` as restricted growth strings, in lexicographic order.

    A partition is the tuple ``labels`` with ``labels[i]`` the block of position ``i``; blocks are
    numbered by first occurrence (``labels[0] = 0`` and ``labels[i] <= 1 + max(labels[:i])``), so
    blocks are ordered by their smallest position.

    Example:
        >>> set_partitions(3)
        ((0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, 2))
    """
    _check_nonneg_int(m, "m")
    out: list[tuple[int, ...]] = []

    def grow(prefix: list[int], top: int) -> None:
        if len(prefix) == m:
            out.append(tuple(prefix))
            return
        for b in range(top + 2):
            prefix.append(b)
            grow(prefix, max(top, b))
            prefix.pop()

    grow([], -1)
    return tuple(out)


def equivariant_basis_size(n: int, k: int, l: int, group: str = "symmetric") -> int:  # noqa: E741
    """Dimension of the space of linear maps ``(Rⁿ)^{⊗k} → (Rⁿ)^{⊗l}`` commuting with S_n or A_n.

    ``Σ_{t=0}^{n} S(k+l, t)`` for ``group="symmetric"``; for ``"alternating"`` add
    ``S(k+l, n) + S(k+l, n−1)`` when ``n ≥ 2`` (A_n then has extra maps exactly when ``k + l ≥ n − 1``).

    Args:
        n: number of points (``n >= 1``).
        k: input tensor order (``k >= 0``).
        l: output tensor order (``l >= 0``).
        group: ``"symmetric"`` or ``"alternating"``.

    Returns:
        The dimension (a Python int).

    Example:
        >>> equivariant_basis_size(5, 2, 2)  # the 15 maps of a 2-IGN layer
        15
        >>> equivariant_basis_size(3, 1, 1, "alternating")  # A_3 = C_3: 3 orbits on pairs
        3
    """
    n, k, l = check_sizes(n, k, l)  # noqa: E741
    check_group(group)
    m = k + l
    size = sum(stirling2(m, t) for t in range(n + 1))
    if group == "alternating" and n >= 2:
        size += stirling2(m, n) + stirling2(m, n - 1)
    return size
