r"""Riemannian batch normalisation of SPD matrices under (generalized) Bures–Wasserstein geometry.

:class:`SPDBatchNorm` implements the GBW batch norm of Wang et al., "Learning to Normalize on the SPD
Manifold under Bures–Wasserstein Geometry" (CVPR 2025) and, as ``metric="aim"``, the affine-invariant
batch norm of Brooks et al. (NeurIPS 2019) as its baseline. Steps for ``metric="gbw"`` (``"bw"`` is
``M = I``), power :math:`\theta`, on a batch :math:`X_1 \dots X_N`:

1. deform: :math:`\tilde X_i = M^{-1/2} X_i^\theta M^{-1/2}` (GBW\ :sub:`M` → BW isometry after the
   power deformation, which scales squared distances by :math:`1/\theta^2`);
2. batch mean :math:`G`: ``mean_iters`` BW fixed-point steps from the arithmetic mean (statistics are
   detached from the graph, as in the reference implementation); variance :math:`v`: mean squared BW
   distance to :math:`G` (``variance="mean"``, default) or to :math:`I` (``"identity"``, the reference
   implementation's choice), divided by :math:`\theta^2`; in eval mode the running statistics;
3. centre: :math:`T_i = \Gamma_{G\to I}(\operatorname{Log}_G \tilde X_i)` (closed-form parallel transport);
4. scale: :math:`T_i \leftarrow s\,T_i / \sqrt{v + \epsilon}`;
5. bias: :math:`Z_i = \operatorname{Exp}_B(\Gamma_{I\to B} T_i)`;
6. undeform: :math:`Y_i = (M^{1/2} Z_i M^{1/2})^{1/\theta}`.

Running mean: BW geodesic step :math:`R \leftarrow \gamma_{R\to G}(\text{momentum})`; running variance:
:math:`r \leftarrow (1-\text{momentum})\,r + \text{momentum}\,v`.

``metric="lem"`` (LieBN-style, Chen et al., "A Lie Group Approach to Riemannian Batch Normalization",
ICLR 2024, on the log-Euclidean Lie group :math:`(\mathcal S_{++}, \odot)`,
:math:`X \odot Y = \exp(\log X + \log Y)`): :math:`L_i = \log X_i^\theta`, mean
:math:`\mu = \frac1N\sum_i L_i` (exact, no iteration), variance :math:`v = \frac1N\sum_i
\|L_i - \mu\|_F^2/\theta^2` (or :math:`\|L_i\|_F^2/\theta^2` with ``"identity"``), output
:math:`\exp\bigl(s (L_i - \mu)/\sqrt{v+\epsilon} + \log B\bigr)`, undeformed by the power
:math:`1/\theta`. Running mean :math:`R \leftarrow \exp((1-m)\log R + m\,\mu)` (the LEM geodesic).

``metric="aim"``: :math:`G` is the Karcher mean of :math:`X_i^\theta`, centre
:math:`G^{-1/2} X^\theta G^{-1/2}`, scale by the power :math:`s/\sqrt{v+\epsilon}` (``variance="none"``
skips it: Brooks et al.'s layer), bias :math:`B^{1/2} \cdot B^{1/2}`, undeform by the power :math:`1/\theta`.
"""

from __future__ import annotations

import math

import geoopt
import torch
import torch.distributed as dist
from torch import nn

from ...linalg import METHODS, expm, invsqrtm, logm, powm, sqrtm, sqrtm_invsqrtm, sym
from ._checks import check_spd, check_square
from .mean import _bw_uniform_mean, _karcher_fixed_point, _uniform_start

__all__ = ["SPDBatchNorm", "convert_sync_spd_batchnorm"]

_METRICS = ("gbw", "bw", "aim", "lem")
_VARIANCES = ("mean", "identity", "none")


class _AllReduce:
    """Sum over the processes of ``group`` (a detached collective used for batch statistics)."""

    def __init__(self, group) -> None:
        self.group = group

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        t = t.detach().clone().contiguous()
        dist.all_reduce(t, op=dist.ReduceOp.SUM, group=self.group)
        return t


class SPDBatchNorm(nn.Module):
    r"""Riemannian batch norm for SPD matrices under GBW / BW / affine-invariant geometry.

    See the module docstring for the exact steps. Statistics are pooled over all leading dimensions
    of the input ``(..., n, n)``.

    Args:
        n: matrix size.
        metric: ``"gbw"`` (learnable SPD metric parameter ``M``), ``"bw"`` (``M = I``), ``"aim"``
            (affine-invariant batch norm, Brooks et al. 2019) or ``"lem"`` (LieBN-style log-Euclidean
            batch norm, Chen et al. 2024; ``mean_iters`` is unused since its mean is exact).
        power: deformation :math:`\theta \ne 0` (``X ↦ X^θ`` before, ``Y ↦ Y^{1/θ}`` after).
        learn_metric: for ``"gbw"``, ``M`` is learned (in the spectral parametrisation below; train with
            ``geoopt.optim.RiemannianAdam``/``SGD``); otherwise it is fixed (buffers) at its initial
            value :math:`I` or what :meth:`set_metric` sets.
        momentum: running-statistics momentum in ``(0, 1]``.
        mean_iters: fixed-point steps of the batch mean from the arithmetic mean (the reference
            implementation uses 1); ``0`` uses the arithmetic mean.
        variance: ``"mean"`` (default: squared distance to the batch mean, so normalised batches have
            unit dispersion), ``"identity"`` (squared distance of the uncentred data to :math:`I`, the
            reference implementation) or ``"none"`` (no scaling; with ``metric="aim"`` this is Brooks
            et al.'s layer).
        eps: added to the variance.
        sync: average the batch statistics over all processes of ``process_group`` when
            ``torch.distributed`` is initialised (training mode only).
        process_group: the group for ``sync`` (default: the world).
        sqrtm_method: how ``"gbw"``/``"bw"`` take matrix square roots (:func:`geomrep.linalg.sqrtm`):
            ``"auto"`` (``eigh`` on CPU, the matmul-only ``"sns"`` on CUDA), ``"eig"``, ``"sns"``, …
            Measured on CPU (float64, relative to ``"eig"``): ``"sns"`` agrees to ~1e-13 for inputs
            with κ ≤ 1e4 but only to ~4e-4 at κ = 1e6 in train mode (the congruenced products exceed
            its design condition number); in float32 ~3e-4 at κ = 1e4. Use ``"eig"`` for
            ill-conditioned data on GPUs.
        dtype, device: of parameters and buffers (the input must match the dtype).

    Parameters and buffers (all in ``state_dict``):
        ``metric_eigvecs`` ``(n, n)`` on ``geoopt.Stiefel`` and ``metric_log_eigvals`` ``(n,)``
        (``"gbw"``): the metric parameter :math:`M = V \operatorname{diag}(e^{m}) V^\top` (property
        :attr:`M`, initialised to :math:`I`, set with :meth:`set_metric`). Why not a point on
        :class:`BuresWasserstein`: that geometry is incomplete, and on MAMEM-SSVEP-II (tutorial setup,
        RiemannianAdam, lr 0.02) a BW-manifold ``M`` was driven to the boundary of the SPD cone and
        training broke down (NaN) in 5 of 22 runs, against 0 of those 5 with this parametrisation, in
        which an optimiser step changes each eigenvalue by a bounded factor and :math:`M^{\pm1/2}` need
        no eigendecomposition.
        ``bias_eigvecs`` ``(n, n)`` on ``geoopt.Stiefel`` and ``bias_log_eigvals`` ``(n,)``: the bias is
        kept in the spectral parametrisation :math:`B = U \operatorname{diag}(e^{b}) U^\top` (initialised
        to :math:`I`), so the transport :math:`\Gamma_{I\to B}`, :math:`\operatorname{Exp}_B` and
        :math:`B^{1/2}` need no eigendecomposition and are smooth at repeated eigenvalues. Use a geoopt
        Riemannian optimiser to keep ``U`` orthogonal.
        ``scale`` (``s``, scalar, 1 at start; unused with ``variance="none"``).
        ``running_mean`` ``(n, n)`` (:math:`I` at start), ``running_var`` (scalar, 1 at start): in the
        deformed (and, for ``"gbw"``, congruenced) space; used in eval mode.

    Shapes: ``(..., n, n)`` → ``(..., n, n)``. An empty batch (no matrices) gives an empty output in
    eval mode and raises ``ValueError`` in training mode (no batch statistics; with ``sync=True`` under
    ``torch.distributed`` an empty local batch takes part in the pooled statistics).

    Validation: ``X`` must be float32/float64 with the layer's dtype (``TypeError``), finite, symmetric
    and SPD (PSD for ``"gbw"``/``"bw"``), checked on each matrix scaled by its largest entry (so float32
    entries up to ~1e38 are accepted); errors name ``X``, the batch index and its smallest eigenvalue.
    These data checks are skipped under ``torch.compile``.

    Default choices and differences from the GBWBN reference code: batch statistics are detached from
    the graph (as there); ``variance="mean"`` instead of the reference's distance to :math:`I`; the bias
    :math:`B` acts directly in the normalised (deformed, congruenced) space, whereas the reference maps
    its bias through :math:`M^{-1/2}(\cdot)^\theta M^{-1/2}` first (a reparametrisation of the same
    family); ties at initialisation are handled by the tie-safe backward of :mod:`geomrep.linalg` and the
    spectral bias parametrisation, not by perturbing :math:`B`. The GBW path is computed fused in the
    eigenbases of :math:`G` and :math:`B` (see ``_forward_bw``); the unfused composition of
    :func:`bw_log`, :func:`bw_transport_to_identity`, :func:`bw_transport_from_identity`, :func:`bw_exp`
    and the per-matrix twin :func:`gbw_batchnorm_reference` are its references in the tests.

    Conditioning: outputs are SPD for inputs with condition numbers up to at least 1e6 (tested in
    float32 and float64). With ``power`` θ < 1 the last step ``Y = Z^{1/θ}`` raises the output's
    condition number to the power 1/θ; when that exceeds ``1/eps`` of the dtype (float32) the stored
    output is positive semidefinite only to working precision — use float64 or θ = 1 there.

    Example:
        >>> bn = SPDBatchNorm(4, metric="gbw", power=0.5).double()
        >>> A = torch.randn(16, 4, 4, dtype=torch.float64)
        >>> Y = bn(A @ A.mT + torch.eye(4, dtype=torch.float64))
        >>> Y.shape
        torch.Size([16, 4, 4])
    """

    def __init__(
        self,
        n: int,
        metric: str = "gbw",
        power: float = 1.0,
        learn_metric: bool = True,
        momentum: float = 0.1,
        mean_iters: int = 1,
        variance: str = "mean",
        eps: float = 1e-5,
        sync: bool = False,
        process_group=None,
        *,
        sqrtm_method: str = "auto",
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if metric not in _METRICS:
            raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
        if variance not in _VARIANCES:
            raise ValueError(f"variance must be one of {_VARIANCES}, got {variance!r}")
        if not _is_real(power) or power == 0 or not math.isfinite(power):
            raise ValueError(f"power must be a finite non-zero float, got {power!r}")
        if not _is_real(momentum) or not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum!r}")
        if isinstance(mean_iters, bool) or not isinstance(mean_iters, int) or mean_iters < 0:
            raise ValueError(f"mean_iters must be a non-negative int, got {mean_iters!r}")
        if not _is_real(eps) or not 0 <= eps < math.inf:
            raise ValueError(f"eps must be a finite float >= 0, got {eps!r}")
        if sqrtm_method not in METHODS:
            raise ValueError(f"sqrtm_method must be one of {METHODS}, got {sqrtm_method!r}")
        self.sqrtm_method = sqrtm_method
        self.n, self.metric, self.power = n, metric, float(power)
        self.learn_metric = bool(learn_metric) and metric == "gbw"
        self.momentum, self.mean_iters = float(momentum), mean_iters
        self.variance, self.eps = variance, float(eps)
        self.sync, self.process_group = bool(sync), process_group
        kw = {"dtype": dtype, "device": device}
        eye = torch.eye(n, **kw)
        if metric == "gbw":
            if self.learn_metric:
                self.metric_eigvecs = geoopt.ManifoldParameter(eye.clone(), manifold=geoopt.Stiefel())
                self.metric_log_eigvals = nn.Parameter(torch.zeros(n, **kw))
            else:
                self.register_buffer("metric_eigvecs", eye.clone())
                self.register_buffer("metric_log_eigvals", torch.zeros(n, **kw))
        self.bias_eigvecs = geoopt.ManifoldParameter(eye.clone(), manifold=geoopt.Stiefel())
        self.bias_log_eigvals = nn.Parameter(torch.zeros(n, **kw))
        self.scale = nn.Parameter(torch.ones((), **kw))
        self.register_buffer("running_mean", eye.clone())
        self.register_buffer("running_var", torch.ones((), **kw))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # state dicts written before M was stored spectrally carry the matrix under "M"
        key = prefix + "M"
        if self.metric == "gbw" and key in state_dict and prefix + "metric_eigvecs" not in state_dict:
            lam, V = torch.linalg.eigh(sym(state_dict.pop(key)))
            state_dict[prefix + "metric_eigvecs"] = V
            state_dict[prefix + "metric_log_eigvals"] = lam.clamp_min(torch.finfo(lam.dtype).tiny).log()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------------ helpers
    @property
    def B(self) -> torch.Tensor:
        """The SPD bias :math:`B = U \\operatorname{diag}(e^{b}) U^\\top` ``(n, n)``."""
        U = self.bias_eigvecs
        return sym((U * self.bias_log_eigvals.exp()) @ U.mT)

    @property
    def M(self) -> torch.Tensor:
        r"""The SPD metric parameter :math:`M = V \operatorname{diag}(e^{m}) V^\top` ``(n, n)``, ``"gbw"``."""
        if self.metric != "gbw":
            raise AttributeError(f"metric={self.metric!r} has no metric parameter M (only 'gbw')")
        V = self.metric_eigvecs
        return sym((V * self.metric_log_eigvals.exp()) @ V.mT)

    @torch.no_grad()
    def set_metric(self, M: torch.Tensor) -> None:
        """Set :math:`M` (SPD ``(n, n)``) through its eigendecomposition (``"gbw"`` only)."""
        if self.metric != "gbw":
            raise ValueError(f"set_metric needs metric='gbw', got {self.metric!r}")
        lam, V = self._spd_eig(M, "M")
        self.metric_eigvecs.copy_(V)
        self.metric_log_eigvals.copy_(lam.log())

    @torch.no_grad()
    def set_bias(self, B: torch.Tensor) -> None:
        """Set the bias :math:`B` (SPD ``(n, n)``) through its eigendecomposition."""
        lam, U = self._spd_eig(B, "B")
        self.bias_eigvecs.copy_(U)
        self.bias_log_eigvals.copy_(lam.log())

    def _spd_eig(self, A: torch.Tensor, name: str):
        if not isinstance(A, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(A).__name__}")
        if not A.is_floating_point():
            raise TypeError(f"{name} must have a floating dtype, got {A.dtype}")
        A = A.to(dtype=self.running_mean.dtype, device=self.running_mean.device)
        if A.shape != (self.n, self.n):
            raise ValueError(f"{name} must be ({self.n}, {self.n}), got {tuple(A.shape)}")
        check_spd(A, name)
        lam, V = torch.linalg.eigh(sym(A))
        if not bool((lam > 0).all()):
            raise ValueError(f"{name} must be positive definite (smallest eigenvalue {float(lam.min()):.3g})")
        return lam, V

    def _reduce(self):
        if self.sync and self.training and dist.is_available() and dist.is_initialized():
            return _AllReduce(self.process_group)
        return None


    @torch.no_grad()
    def _update_running(self, G: torch.Tensor, v: torch.Tensor | None, eig=None) -> None:
        """Running mean: geodesic step towards ``G`` (``eig = (σ, Q)`` of ``G`` for BW); variance: EMA."""
        m = self.momentum
        R = self.running_mean
        if self.metric == "aim":
            Rh, Rih = sqrtm_invsqrtm(R, check=False)
            new = sym(Rh @ powm(sym(Rih @ G @ Rih), m) @ Rh)
        elif self.metric == "lem":  # G is passed as its logarithm μ
            new = sym(expm((1 - m) * logm(sym(R), check=False) + m * G, check=False))
        else:  # BW geodesic γ(m) = (1−m)²R + m²G + m(1−m)[(GR)^½ + (RG)^½], (GR)^½ = G^½ (G^½RG^½)^½ G^{-½}
            sigma, Q = eig
            k = torch.maximum(G.abs().amax(), R.abs().amax()).clamp_min(torch.finfo(G.dtype).tiny)
            R, G, sigma = R / k, G / k, sigma / k  # homogeneous: work in units of k (float32 overflow)
            rho = sigma.clamp_min(torch.finfo(sigma.dtype).tiny).sqrt()
            Gh, Gih = (Q * rho) @ Q.mT, (Q / rho) @ Q.mT
            C = Gh @ sqrtm(Gh @ R @ Gh, self.sqrtm_method, check=False) @ Gih
            new = sym((1 - m) ** 2 * R + m**2 * G + m * (1 - m) * (C + C.mT)) * k
        self.running_mean.copy_(new)
        if v is not None:
            # index assignment, not copy_: torch.compile (2.13) drops copy_ into a 0-dim buffer
            self.running_var[...] = (1 - m) * self.running_var + m * v

    # ------------------------------------------------------------------ forward
    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_square(X, "X")
        if X.shape[-1] != self.n:
            raise ValueError(f"X must be (..., {self.n}, {self.n}), got {tuple(X.shape)}")
        if X.dtype != self.running_mean.dtype:
            raise TypeError(
                f"X has dtype {X.dtype} but the layer has {self.running_mean.dtype}; cast one of them"
            )
        shape = X.shape
        X = X.reshape(-1, self.n, self.n)
        if X.shape[0] == 0:
            if self.training and self._reduce() is None:
                raise ValueError(
                    f"X is an empty batch {tuple(shape)}: batch statistics are undefined in training mode "
                    "(in eval mode an empty batch gives an empty output)"
                )
            if not self.training:
                return X.reshape(shape).clone()
        # data checks once here (skipped under torch.compile); the matrix functions below run unchecked
        check_spd(X, "X", allow_singular=self.metric in ("gbw", "bw"))
        theta = self.power
        Xd = X if theta == 1.0 else powm(X, theta, check=False)
        if self.metric == "aim":
            Y = self._forward_aim(Xd)
        elif self.metric == "lem":
            Y = self._forward_lem(Xd)
        else:
            Y = self._forward_bw(Xd)
        if theta != 1.0:
            Y = powm(Y, 1.0 / theta, check=False)
        return Y.reshape(shape)

    def _forward_bw(self, Xd: torch.Tensor) -> torch.Tensor:
        """Steps 1-5 for ``"gbw"``/``"bw"``, fused: all work happens in the eigenbases of ``G`` and ``B``.

        With ``G = Q diag(σ) Qᵀ`` (detached), ``ρ = √σ`` and ``P = M^{-½} Q diag(ρ)``, the centred
        tangent vector in ``Q``'s basis is ``T = Γ_{G→I}(Log_G X̃) = S ∘ H − 2 diag(ρ)`` with
        ``S = (Pᵀ X P)^½`` and ``H_kl = √(2(σ_k+σ_l))/(ρ_k ρ_l)`` (``(Pᵀ X P)^½ = Qᵀ(G^½ X̃ G^½)^½ Q``,
        and the transport ``∘ √(2/(σ_k+σ_l))`` merges with ``R_kl + R_lk``, ``R_kl = ρ_k/ρ_l``).
        With ``B = U diag(β) Uᵀ`` and ``W = Uᵀ T U``, ``Uᵀ Exp_B(Γ_{I→B} c T) U = E diag(β) Eᵀ`` with
        ``E = I + c W ∘ [2(β_k+β_l)]^{-½}``, so ``Y = F diag(β) Fᵀ``, ``F = M^{½} U E``: one batched
        ``eigh`` and seven batched products for the normalisation itself, plus ``mean_iters`` batched
        ``eigh`` for the detached batch mean in training (one more with ``variance="identity"``).
        The unfused composition (:func:`bw_log`,
        :func:`bw_transport_to_identity`, …) and :func:`gbw_batchnorm_reference` are its test twins.
        """
        gbw = self.metric == "gbw"
        Mh = Mih = None
        if gbw:  # M^{±½} from the spectral parametrisation, no eigendecomposition
            V, m = self.metric_eigvecs, self.metric_log_eigvals
            Mh, Mih = (V * (0.5 * m).exp()) @ V.mT, (V * (-0.5 * m).exp()) @ V.mT
        reduce = self._reduce()
        if self.training:
            with torch.no_grad():
                C = None if Mih is None else Mih.detach()  # statistics of M^{-½} X M^{-½}
                G = _bw_uniform_mean(Xd.detach(), self.mean_iters, reduce, C, self.sqrtm_method)
        else:
            G = self.running_mean
        # in units of k = max|G| (T = √k·T(G/k, X/k)): Pᵀ X P ~ k² would overflow float32 for k ≳ 1e19
        k = G.abs().amax().clamp_min(torch.finfo(G.dtype).tiny)
        sigma, Q = torch.linalg.eigh(G / k)  # G carries no gradient
        rho = sigma.clamp_min(torch.finfo(sigma.dtype).tiny).sqrt()
        P = (Q if Mih is None else Mih @ Q) * (rho / k.sqrt())
        S = sqrtm(P.mT @ Xd @ P, self.sqrtm_method, check=False)  # symmetric PSD by construction
        H = torch.sqrt(2 * (sigma[:, None] + sigma[None, :])) / (rho[:, None] * rho[None, :])
        T = (S * H - torch.diag(2 * rho)) * k.sqrt()
        c = None
        v = None
        if self.variance != "none":
            if self.training:
                with torch.no_grad():
                    if self.variance == "mean":  # d²(X̃, G) = g_I(T, T) = ‖T‖²_F / 4
                        d2 = T.detach().square().sum(dim=(-2, -1)) / 4
                    else:  # d²(X̃, I) = tr X̃ + n − 2 tr X̃^½
                        d2 = self._distance_to_identity_sq(Xd.detach(), Mih)
                    v = _pooled_mean(d2, reduce) / self.power**2
            else:
                v = self.running_var
            c = self.scale / torch.sqrt(v + self.eps)
        if self.training:
            self._update_running(G, v, (sigma * k, Q))
        beta = self.bias_log_eigvals.exp()
        U = self.bias_eigvecs
        Rb = Q.mT @ U  # W = Uᵀ T U = Rbᵀ T' Rb
        Kb = torch.rsqrt(2 * (beta[:, None] + beta[None, :]))
        if c is not None:
            Kb = Kb * c
        E = (Rb.mT @ T @ Rb) * Kb
        E = E + torch.eye(self.n, dtype=E.dtype, device=E.device)
        F = (U if Mh is None else Mh @ U) @ E
        return (F * beta) @ F.mT

    def _distance_to_identity_sq(self, X: torch.Tensor, Mih: torch.Tensor | None) -> torch.Tensor:
        """``d²(X̃_i, I) = tr X̃_i + n − 2 tr X̃_i^½`` per matrix, ``X̃ = M^{-½} X M^{-½}`` (detached)."""
        Xt = X if Mih is None else Mih @ X @ Mih
        return _tr(Xt) + self.n - 2 * _tr(sqrtm(Xt, self.sqrtm_method, check=False))

    def _forward_aim(self, Xd: torch.Tensor) -> torch.Tensor:
        reduce = self._reduce()
        if self.training:
            with torch.no_grad():
                G = _karcher_fixed_point(Xd.detach(), self.mean_iters, reduce)
        else:
            G = self.running_mean
        Gih = invsqrtm(G, check=False)
        Xc = sym(Gih @ Xd @ Gih)
        v = None
        if self.variance != "none":
            T = logm(Xc, check=False)
            if self.training:
                with torch.no_grad():
                    if self.variance == "mean":
                        d2 = (T.detach() ** 2).sum(dim=(-2, -1))
                    else:
                        d2 = (logm(Xd.detach(), check=False) ** 2).sum(dim=(-2, -1))
                    v = _pooled_mean(d2, reduce) / self.power**2
            else:
                v = self.running_var
            Xc = expm(sym(T) * (self.scale / torch.sqrt(v + self.eps)))
        if self.training:
            self._update_running(G, v)
        U = self.bias_eigvecs
        Bh = sym((U * (0.5 * self.bias_log_eigvals).exp()) @ U.mT)
        return sym(Bh @ Xc @ Bh)

    def _forward_lem(self, Xd: torch.Tensor) -> torch.Tensor:
        L = logm(Xd, check=False)
        reduce = self._reduce()
        if self.training:
            with torch.no_grad():
                Ld = L.detach()
                mu = _pooled_mean(Ld, reduce)
        else:
            mu = logm(self.running_mean, check=False)
        T = L - mu
        v = None
        if self.variance != "none":
            if self.training:
                with torch.no_grad():
                    d2 = (Ld - mu if self.variance == "mean" else Ld).square().sum(dim=(-2, -1))
                    v = _pooled_mean(d2, reduce) / self.power**2
            else:
                v = self.running_var
            T = T * (self.scale / torch.sqrt(v + self.eps))
        if self.training:
            self._update_running(mu, v)
        U = self.bias_eigvecs
        log_B = (U * self.bias_log_eigvals) @ U.mT
        return expm(sym(T + log_B), check=False)

    def extra_repr(self) -> str:
        return (
            f"{self.n}, metric={self.metric!r}, power={self.power}, learn_metric={self.learn_metric}, "
            f"momentum={self.momentum}, mean_iters={self.mean_iters}, variance={self.variance!r}, "
            f"eps={self.eps}, sync={self.sync}, sqrtm_method={self.sqrtm_method!r}"
        )


def _is_real(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _tr(A: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)


def convert_sync_spd_batchnorm(module: nn.Module, process_group=None) -> nn.Module:
    """Switch every :class:`SPDBatchNorm` in ``module`` to synchronised statistics (in place).

    The analogue of ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``: afterwards, in training mode
    with an initialised ``torch.distributed`` process group, batch means and variances are computed
    over the union of the processes' batches (all-reduce of the sums in every fixed-point step).

    Args:
        module: a model (or a single :class:`SPDBatchNorm`).
        process_group: the group to synchronise over (default: the world).

    Returns:
        ``module`` itself.

    Example:
        >>> model = torch.nn.Sequential(SPDBatchNorm(3))
        >>> convert_sync_spd_batchnorm(model)[0].sync
        True
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    for m in module.modules():
        if isinstance(m, SPDBatchNorm):
            m.sync = True
            m.process_group = process_group
    return module


def _pooled_mean(values: torch.Tensor, reduce) -> torch.Tensor:
    """Mean over dim 0 of ``values (N, ...)`` across the (possibly distributed) batch."""
    return _uniform_start(values, reduce)[2]
