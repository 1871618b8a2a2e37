"""Independent float64 references for the Grassmann tests (numpy/scipy, written from the formulas)."""

import numpy as np
import scipy.linalg as sl
import torch


def random_bases(*size, seed=0, dtype=torch.float64):
    """Orthonormal bases via numpy QR (independent of the library's QR code path)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal(size)
    Q = np.linalg.qr(A)[0]
    return torch.from_numpy(np.ascontiguousarray(Q)).to(dtype)


def horizontal(X, seed=0, scale=1.0):
    """A random horizontal vector at X: (I − XXᵀ)G scaled to Frobenius norm ``scale`` per matrix."""
    rng = np.random.default_rng(seed)
    Xn = X.double().numpy()
    G = rng.standard_normal(Xn.shape)
    H = G - Xn @ (np.swapaxes(Xn, -1, -2) @ G)
    H = H / np.linalg.norm(H, axis=(-2, -1), keepdims=True) * scale
    return torch.from_numpy(H).to(X.dtype)


def exp_svd_ref(X, U):
    """Exp_X(U) = X V cos Σ Vᵀ + P sin Σ Vᵀ from numpy's thin SVD U = P Σ Vᵀ (float64, per matrix)."""
    Xn, Un = X.double().numpy(), U.double().numpy()
    P, s, Vt = np.linalg.svd(Un, full_matrices=False)
    V = np.swapaxes(Vt, -1, -2)
    return torch.from_numpy(Xn @ V @ (np.cos(s)[..., :, None] * Vt) + P @ (np.sin(s)[..., :, None] * Vt))


def log_tan_ref(X, Y):
    """Log_X(Y) = P arctan(Σ) Vᵀ with P Σ Vᵀ = SVD of (I − XXᵀ) Y (XᵀY)⁻¹ (valid below π/2)."""
    Xn, Yn = X.double().numpy(), Y.double().numpy()
    M = (Yn - Xn @ (Xn.T @ Yn)) @ np.linalg.inv(Xn.T @ Yn)
    P, s, Vt = np.linalg.svd(M, full_matrices=False)
    return torch.from_numpy(P @ np.diag(np.arctan(s)) @ Vt)


def exp_lift_ref(X, U, t=1.0):
    """Geodesic by the matrix exponential of the horizontal lift (one d×k matrix pair).

    With Q = [X, X⊥] orthogonal and U = X⊥ B, the geodesic is Q expm(t [[0, −Bᵀ], [B, 0]]) [I; 0].
    """
    Xn, Un = X.double().numpy(), U.double().numpy()
    d, k = Xn.shape
    Q = np.linalg.qr(np.concatenate([Xn, np.random.default_rng(1).standard_normal((d, d - k))], 1))[0]
    Q[:, :k] = Xn  # keep X's own basis (QR may flip signs of its first k columns)
    Xp = Q[:, k:]
    B = Xp.T @ Un
    A = np.zeros((d, d))
    A[k:, :k] = B
    A[:k, k:] = -B.T
    return torch.from_numpy(Q @ sl.expm(t * A)[:, :k])


def projector(X):
    return X @ X.mT
