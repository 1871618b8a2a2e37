"""Input validation for :mod:`geomrep.manifolds.so3`: one policy for every public function and module.

- Type (static): a tensor argument must be a ``torch.Tensor`` of dtype float32 or float64, else
  ``TypeError`` naming the argument (half precision cannot hold a rotation to 1e-6; cast to float32).
- Shape (static): the trailing dimensions must be the documented ones (``(..., 3, 3)``, ``(..., 6)``,
  ``(..., 4)``, ``(..., 3)``), else ``ValueError`` naming the argument and the shape received. Any
  number of leading batch dimensions is accepted, zero-size batches included (they return empty results).
- Data (skipped while ``torch.compile`` traces, so compiled code has no graph breaks): every entry finite,
  else ``ValueError`` naming the argument and the first bad batch index.
"""

from __future__ import annotations

import torch

from ...linalg._checks import check_batch_broadcast

__all__ = ["check_tensor", "check_pair", "check_finite", "is_tracing", "safe_sqrt", "safe_norm"]

_DTYPES = (torch.float32, torch.float64)


def is_tracing() -> bool:
    """True while ``torch.compile`` (dynamo) traces the current code."""
    return torch.compiler.is_compiling()


def check_finite(x: torch.Tensor, name: str, event_dims: int) -> None:
    """Raise ``ValueError`` if ``x`` has a NaN or infinite entry (skipped under ``torch.compile``)."""
    if is_tracing() or x.numel() == 0 or bool(torch.isfinite(x).all()):
        return
    finite = torch.isfinite(x)
    if event_dims:
        finite = finite.flatten(-event_dims).all(dim=-1)
    if not bool(finite.all()):
        idx = torch.nonzero(~finite)[0].tolist() if finite.dim() else []
        where = "[" + ", ".join(str(i) for i in idx) + "]" if idx else ""
        raise ValueError(f"{name}{where} contains NaN or infinite entries")


def check_tensor(x, name: str, trailing: tuple[int, ...], *, finite: bool = True) -> None:
    """Type, shape and (optionally) finiteness of ``x`` with trailing shape ``trailing``.

    ``trailing`` entries equal to ``-1`` accept any size (at least 1).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in _DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")
    k = len(trailing)
    ok = x.dim() >= k and all(t in (-1, s) and s >= 1 for t, s in zip(trailing, x.shape[x.dim() - k :]))
    if not ok:
        want = "(..., " + ", ".join("n" if t == -1 else str(t) for t in trailing) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    if finite:
        check_finite(x, name, k)


def check_pair(a, b, name_a: str, name_b: str, trailing: tuple[int, ...]) -> None:
    """Both valid (see :func:`check_tensor`), same dtype, broadcastable batch shapes."""
    check_tensor(a, name_a, trailing)
    check_tensor(b, name_b, trailing)
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} and {name_b} must have the same dtype, got {a.dtype} and {b.dtype}")
    k = len(trailing)
    if a.shape[a.dim() - k :] != b.shape[b.dim() - k :]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape per item, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    check_batch_broadcast(a, b, name_a, name_b, k)


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(x, 0))`` whose value and gradient are 0 (not NaN/inf) at ``x <= 0``."""
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def safe_norm(x: torch.Tensor, dim=-1, keepdim: bool = False) -> torch.Tensor:
    """Euclidean norm over ``dim`` with a zero (finite) gradient at the zero vector."""
    return safe_sqrt((x * x).sum(dim=dim, keepdim=keepdim))
