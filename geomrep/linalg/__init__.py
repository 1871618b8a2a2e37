"""Matrix functions of symmetric (positive definite) matrices with correct gradients.

- Eigen-functions with a tie-safe Daleckii–Krein backward: :func:`spectral_map`, :func:`logm`,
  :func:`expm`, :func:`powm` (:mod:`geomrep.linalg.spectral`).
- Square roots and inverse roots :func:`sqrtm`, :func:`invsqrtm`, :func:`sqrtm_invsqrtm` with
  methods ``"eig"``, ``"sns"`` (scaled Newton–Schulz, matmul-only, ours), ``"ns"``, ``"mpa"``,
  ``"mtp"`` (published matmul-only methods) and ``"auto"`` (:mod:`geomrep.linalg.sqrtm`).
- The Lyapunov equation ``A X + X A = C``: :func:`solve_lyapunov` (eigen or matmul-only).
"""

from .lyapunov import lyapunov_sign, solve_lyapunov
from .newton_schulz import sqrtm_newton_schulz
from .pade import sqrtm_pade
from .scaled_newton_schulz import sign_schedule, sqrtm_scaled_ns, upper_scale
from .spectral import expm, invsqrtm_eig, logm, powm, spectral_map, sqrtm_eig, sqrtm_invsqrtm_eig, sym
from .sqrtm import MATMUL_METHODS, METHODS, invsqrtm, select_method, sqrtm, sqrtm_invsqrtm
from .taylor import sqrtm_taylor

__all__ = [
    "sym",
    "spectral_map",
    "sqrtm",
    "invsqrtm",
    "sqrtm_invsqrtm",
    "logm",
    "expm",
    "powm",
    "solve_lyapunov",
    "select_method",
    "METHODS",
    "MATMUL_METHODS",
    "sqrtm_eig",
    "invsqrtm_eig",
    "sqrtm_invsqrtm_eig",
    "sqrtm_scaled_ns",
    "sqrtm_newton_schulz",
    "sqrtm_pade",
    "sqrtm_taylor",
    "lyapunov_sign",
    "sign_schedule",
    "upper_scale",
]
