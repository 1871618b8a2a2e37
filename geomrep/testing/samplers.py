"""Random group elements: rotations, orthogonal matrices, permutations."""

from __future__ import annotations

import torch

__all__ = ["random_orthogonal", "random_rotation", "random_permutation", "permutation_parity"]


def random_orthogonal(
    n: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Haar-distributed orthogonal matrix of O(n).

    QR of a Gaussian matrix with the signs of ``diag(R)`` moved into Q (without that fix the
    distribution is not Haar).

    Args:
        n: matrix size, ``n >= 1``.
        dtype: floating dtype (default: the global default dtype).
        device: device of the result.
        generator: optional ``torch.Generator`` (CPU) for reproducibility.

    Returns:
        Tensor of shape ``(n, n)`` with ``Q Qᵀ = I``; ``det Q`` is ±1 with equal probability.

    Example:
        >>> Q = random_orthogonal(4, dtype=torch.float64)
        >>> torch.allclose(Q @ Q.T, torch.eye(4, dtype=torch.float64))
        True
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    dtype = _floating_dtype(dtype)
    a = torch.randn(n, n, dtype=torch.float64, generator=generator)
    q, r = torch.linalg.qr(a)
    d = torch.sign(torch.diagonal(r))
    d[d == 0] = 1.0
    q = q * d
    return q.to(dtype=dtype, device=device)


def _floating_dtype(dtype) -> torch.dtype:
    """``dtype`` (default: the global default) if it is a real floating dtype, else ``TypeError``."""
    if dtype is None:
        return torch.get_default_dtype()
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a real floating torch.dtype (group elements are real), got {dtype!r}")
    return dtype


def random_rotation(
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Haar-distributed rotation matrix of SO(3), shape ``(3, 3)``, ``det = +1``.

    Sampled in float64 and cast to ``dtype`` (default: the global default dtype); a non-floating
    ``dtype`` raises ``TypeError``.

    Example:
        >>> R = random_rotation(torch.float64)
        >>> round(float(torch.linalg.det(R)), 12)
        1.0
    """
    dtype = _floating_dtype(dtype)
    q = random_orthogonal(3, dtype=torch.float64, generator=generator)
    if torch.linalg.det(q) < 0:
        q = -q  # -Q is Haar on the other coset; for n = 3 this maps O(3) \ SO(3) onto SO(3)
    return q.to(dtype=dtype, device=device)


def permutation_parity(perm: torch.Tensor) -> int:
    """Parity of a permutation given as an index tensor: 0 for even, 1 for odd (via cycle count)."""
    p = perm.tolist()
    n = len(p)
    seen = [False] * n
    cycles = 0
    for i in range(n):
        if not seen[i]:
            cycles += 1
            j = i
            while not seen[j]:
                seen[j] = True
                j = p[j]
    return (n - cycles) % 2


def random_permutation(
    n: int,
    even: bool = False,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Uniform random permutation of ``{0, …, n−1}`` as a LongTensor of shape ``(n,)``.

    Args:
        n: number of points, ``n >= 0``.
        even: sample uniformly from the alternating group A_n instead of S_n (needs ``n >= 2`` to
            matter; an odd sample is composed with the transposition (0 1), a bijection S_n∖A_n → A_n).
        device: device of the result.
        generator: optional ``torch.Generator`` (CPU).

    Example:
        >>> g = random_permutation(5, even=True)
        >>> permutation_parity(g)
        0
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    perm = torch.randperm(n, generator=generator)
    if even and n >= 2 and permutation_parity(perm) == 1:
        perm[[0, 1]] = perm[[1, 0]]
    return perm.to(device=device)
