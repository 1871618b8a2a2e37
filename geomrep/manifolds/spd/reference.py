r"""Per-matrix reference twin of the GBW batch norm (slow, plain ``torch.linalg.eigh`` autograd).

The same math as :class:`geomrep.manifolds.spd.SPDBatchNorm` with ``metric="gbw"`` (or ``"bw"`` with
``M = I``), written the way research code is: a Python loop over the matrices of the batch, one
``torch.linalg.eigh`` per matrix function, the bias given as a plain SPD matrix ``B``. It is the
baseline of ``benchmarks/bench_spd.py`` and an independent twin in the tests. It uses its own matrix
functions on purpose (it must not share code with the fast path); ``torch.linalg.eigh`` autograd
returns NaN at repeated eigenvalues, so give it ``B`` and ``M`` with distinct eigenvalues when
differentiating.
"""

from __future__ import annotations

import torch

__all__ = ["gbw_batchnorm_reference"]


def _funm(A: torch.Tensor, f) -> torch.Tensor:
    lam, U = torch.linalg.eigh(0.5 * (A + A.mT))
    return (U * f(lam)) @ U.mT


def _sqrtm(A):
    return _funm(A, lambda x: x.clamp_min(0).sqrt())


def _invsqrtm(A):
    return _funm(A, torch.rsqrt)


def _powm(A, p):
    return _funm(A, lambda x: x.clamp_min(0) ** p)


def _trace(A):
    return torch.diagonal(A).sum()


def gbw_batchnorm_reference(
    X: torch.Tensor,
    M: torch.Tensor,
    B: torch.Tensor,
    scale: torch.Tensor,
    *,
    power: float = 1.0,
    mean_iters: int = 1,
    variance: str = "mean",
    eps: float = 1e-5,
    running_mean: torch.Tensor | None = None,
    running_var: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    r"""GBW batch norm of a batch ``X (N, n, n)``, one matrix at a time.

    Args:
        X: SPD batch ``(N, n, n)``.
        M: SPD metric parameter ``(n, n)`` (``I`` for plain BW).
        B: SPD bias ``(n, n)``.
        scale: scalar tensor ``s``.
        power: :math:`\theta`.
        mean_iters: BW fixed-point steps from the arithmetic mean (training mode).
        variance: ``"mean"``, ``"identity"`` or ``"none"`` (see :class:`SPDBatchNorm`).
        eps: added to the variance.
        running_mean, running_var: when given, used instead of batch statistics (eval mode).

    Returns:
        ``(Y (N, n, n), G (n, n), v)``: the output, the mean and the variance used (``None`` when
        ``variance="none"``).
    """
    N, n, _ = X.shape
    eye = torch.eye(n, dtype=X.dtype, device=X.device)
    Mh, Mih = _sqrtm(M), _invsqrtm(M)
    Xt = []
    for i in range(N):
        Xi = X[i] if power == 1.0 else _powm(X[i], power)
        Xt.append(Mih @ Xi @ Mih)
    # --- statistics (detached)
    if running_mean is None:
        with torch.no_grad():
            S = sum(x.detach() for x in Xt) / N
            for _ in range(mean_iters):
                Sh, Sih = _sqrtm(S), _invsqrtm(S)
                R = sum(_sqrtm(Sh @ x.detach() @ Sh) for x in Xt) / N
                S = Sih @ R @ R @ Sih
            G = 0.5 * (S + S.mT)
    else:
        G = running_mean
    Gh, Gih = _sqrtm(G), _invsqrtm(G)
    sig, Q = torch.linalg.eigh(G)
    K_to_I = torch.sqrt(2.0 / (sig[:, None] + sig[None, :]))
    T = []
    for x in Xt:
        C = Gh @ _sqrtm(Gh @ x @ Gh) @ Gih
        V = C + C.mT - 2 * G
        T.append(Q @ (K_to_I * (Q.mT @ V @ Q)) @ Q.mT)
    v = None
    if variance != "none":
        if running_var is None:
            with torch.no_grad():
                if variance == "mean":
                    d2 = [(t.detach() ** 2).sum() / 4 for t in T]
                else:
                    d2 = [_trace(x.detach()) + n - 2 * _trace(_sqrtm(x.detach())) for x in Xt]
                v = sum(d2) / N / power**2
        else:
            v = running_var
        T = [t * scale / torch.sqrt(v + eps) for t in T]
    beta, U = torch.linalg.eigh(B)
    K_from_I = torch.sqrt(0.5 * (beta[:, None] + beta[None, :]))
    Y = []
    for t in T:
        TB = U @ (K_from_I * (U.mT @ t @ U)) @ U.mT
        L = U @ ((U.mT @ TB @ U) / (beta[:, None] + beta[None, :])) @ U.mT
        Z = (eye + L) @ B @ (eye + L)
        Z = Mh @ Z @ Mh
        Y.append(Z if power == 1.0 else _powm(Z, 1.0 / power))
    return torch.stack(Y), G, v
