"""SPDBatchNorm: reference twin, normalisation, equivariance, conditioning, gradients, state, compile."""

import copy
import io

import geoopt
import numpy as np
import pytest
import scipy.linalg as sla
import torch
from pyriemann.geometry.mean import mean_riemann

from geomrep.manifolds.spd import (
    SPDBatchNorm,
    bw_distance,
    bw_mean,
    gbw_batchnorm_reference,
)
from geomrep.testing import (
    assert_compiles,
    assert_equivariant,
    assert_gradcheck,
    congruence_action,
    random_orthogonal,
)

from ._helpers import np64, random_spd

N, n = 8, 4


def _randomise(bn: SPDBatchNorm, seed: int = 0) -> SPDBatchNorm:
    """Non-trivial parameters with distinct eigenvalues (M, B) and s != 1."""
    g = torch.Generator().manual_seed(seed)
    dt = bn.running_mean.dtype
    with torch.no_grad():
        if bn.metric == "gbw":
            bn.set_metric(random_spd(n=bn.n, cond=5.0, seed=seed + 100, dtype=dt))
        Q, _ = torch.linalg.qr(torch.randn(bn.n, bn.n, dtype=torch.float64, generator=g))
        bn.bias_eigvecs.copy_(Q.to(dt))
        bn.bias_log_eigvals.copy_(torch.linspace(-0.5, 0.7, bn.n, dtype=dt))
        bn.scale.fill_(1.3)
    return bn


# ----------------------------------------------------------------------------- reference twin
@pytest.mark.parametrize("power", [1.0, 0.5])
@pytest.mark.parametrize("variance", ["mean", "identity", "none"])
def test_matches_per_matrix_reference(power, variance):
    bn = _randomise(SPDBatchNorm(n, metric="gbw", power=power, variance=variance, mean_iters=2).double())
    X = random_spd(N, n=n, cond=50.0, seed=1).requires_grad_()
    Y = bn(X)
    Xr = X.detach().clone().requires_grad_()
    params = {k: v.detach().clone().requires_grad_() for k, v in bn.named_parameters()}
    U, b = params["bias_eigvecs"], params["bias_log_eigvals"]
    B = (U * b.exp()) @ U.mT
    V, m = params["metric_eigvecs"], params["metric_log_eigvals"]
    M = (V * m.exp()) @ V.mT
    Yr, G, v = gbw_batchnorm_reference(
        Xr, M, B, params["scale"], power=power, mean_iters=2, variance=variance
    )
    torch.testing.assert_close(Y, Yr, rtol=1e-11, atol=1e-12)
    # gradients of the same loss w.r.t. the input and every parameter
    W = torch.randn(N, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    (Y * W).sum().backward()
    (Yr * W).sum().backward()
    torch.testing.assert_close(X.grad, Xr.grad, rtol=1e-10, atol=1e-11)
    for k, p in bn.named_parameters():
        if p.grad is None:
            assert variance == "none" and k == "scale"
            continue
        g, gr = p.grad, params[k].grad
        if k.endswith("eigvecs"):  # compare Riemannian (Stiefel-tangent) parts: B, M see U only via UΛUᵀ
            E = params[k].detach()
            g, gr = (t - E @ ((E.mT @ t + t.mT @ E) / 2) for t in (g, gr))
        torch.testing.assert_close(g, gr, rtol=1e-10, atol=1e-11, msg=k)
    # running statistics: one step of momentum 0.1 from I / 1: γ_{I→G}(0.1) = (0.9 I + 0.1 G^½)² (scipy)
    R = (0.9 * np.eye(n) + 0.1 * sla.sqrtm(np64(G)).real) ** 1
    R = R @ R
    assert np.abs(R - np.eye(n)).max() > 1e-2
    np.testing.assert_allclose(np64(bn.running_mean), R, rtol=1e-11, atol=1e-13)
    if v is not None:
        torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * v, rtol=1e-13, atol=1e-15)


def test_eval_matches_reference_with_running_stats():
    """Eval with running statistics tracked independently (reference batch statistics + scipy geodesic)."""
    bn = _randomise(SPDBatchNorm(n, metric="gbw", power=0.5).double())
    U, b = bn.bias_eigvecs.detach(), bn.bias_log_eigvals.detach()
    B = (U * b.exp()) @ U.mT
    R, r = np.eye(n), 1.0
    for seed in range(3):
        Xs = random_spd(N, n=n, cond=20.0, seed=10 + seed)
        bn(Xs)
        _, G, v = gbw_batchnorm_reference(Xs, bn.M.detach(), B, bn.scale.detach(), power=0.5)
        C = sla.sqrtm(R @ np64(G)).real
        R = 0.81 * R + 0.01 * np64(G) + 0.09 * (C + C.T)
        r = 0.9 * r + 0.1 * float(v)
    bn.eval()
    X = random_spd(N, n=n, cond=20.0, seed=20)
    Yr, _, _ = gbw_batchnorm_reference(
        X, bn.M.detach(), B, bn.scale.detach(), power=0.5,
        running_mean=torch.from_numpy(R), running_var=torch.tensor(r, dtype=torch.float64),
    )
    torch.testing.assert_close(bn(X).detach(), Yr, rtol=1e-11, atol=1e-12)
    # eval output of one matrix does not depend on the rest of the batch
    torch.testing.assert_close(bn(X[:1]), bn(X)[:1], rtol=1e-13, atol=1e-13)


# ----------------------------------------------------------------------------- normalisation property
@pytest.mark.parametrize("metric", ["gbw", "bw"])
def test_output_is_normalised(metric):
    """B = I, s = 1, exact mean: the output batch has BW mean I and mean squared distance to I ≈ 1."""
    bn = SPDBatchNorm(n, metric=metric, mean_iters=60, eps=0.0).double()
    if metric == "gbw":
        with torch.no_grad():
            bn.set_metric(random_spd(n=n, cond=3.0, seed=3))
    X = 2.0 * random_spd(N, n=n, cond=4.0, seed=4)
    Y = bn(X).detach()
    eye = torch.eye(n, dtype=torch.float64)
    Mih = torch.from_numpy(np.linalg.inv(sla.sqrtm(np64(bn.M)).real)) if metric == "gbw" else eye
    Yt = Mih @ Y @ Mih  # in the congruenced (BW) frame
    torch.testing.assert_close(bw_mean(Yt, iters=100), eye, rtol=1e-10, atol=1e-10)
    d2 = bw_distance(Yt, eye, squared=True).mean()
    assert abs(float(d2) - 1.0) < 1e-8


def test_aim_brooks_variant_vs_pyriemann():
    """metric="aim", variance="none", B = I: Y = G^{-½} X G^{-½} with G pyriemann's Riemannian mean."""
    bn = SPDBatchNorm(n, metric="aim", variance="none", mean_iters=100).double()
    X = random_spd(N, n=n, cond=100.0, seed=5)
    Y = bn(X).detach()
    G = mean_riemann(np64(X), tol=1e-14, maxiter=500)
    Gih = np.linalg.inv(sla.sqrtm(G).real)
    np.testing.assert_allclose(Y.numpy(), Gih @ np64(X) @ Gih, rtol=1e-11, atol=1e-12)


def test_aim_variance_normalised():
    bn = SPDBatchNorm(n, metric="aim", mean_iters=100, eps=0.0).double()
    Y = bn(random_spd(N, n=n, cond=100.0, seed=6)).detach()
    L = np.stack([sla.logm(y).real for y in Y.numpy()])
    np.testing.assert_allclose(L.mean(0), 0, atol=1e-12)  # Karcher mean of the output is I
    assert abs(float((L**2).sum((1, 2)).mean()) - 1.0) < 1e-8


def test_gbw_is_bw_after_congruence():
    """GBW layer with metric M = BW layer on M^{-½} X M^{-½}, mapped back by M^{½} · M^{½}."""
    M = random_spd(n=n, cond=10.0, seed=7)
    gbw = SPDBatchNorm(n, metric="gbw", learn_metric=False).double()
    gbw.set_metric(M)
    bw = SPDBatchNorm(n, metric="bw").double()
    X = random_spd(N, n=n, cond=30.0, seed=8)
    Mh = torch.from_numpy(sla.sqrtm(np64(M)).real)
    Mih = torch.linalg.inv(Mh)
    torch.testing.assert_close(gbw(X).detach(), Mh @ bw(Mih @ X @ Mih).detach() @ Mh, rtol=1e-11, atol=1e-12)


# ----------------------------------------------------------------------------- equivariance
@pytest.mark.parametrize(
    "metric,power", [("gbw", 1.0), ("gbw", 0.5), ("bw", 1.0), ("aim", 1.0), ("aim", 0.5), ("lem", 0.5)]
)
def test_congruence_equivariance_at_identity_parameters(metric, power):
    """With B = I and M = I the layer commutes with X ↦ QXQᵀ.

    Train mode: batch statistics transform with the batch. Eval mode: only while the running mean is
    invariant itself (I at initialisation); a fresh layer is used for that.
    """
    X = random_spd(N, n=n, cond=100.0, seed=9)

    def sampler():
        return random_orthogonal(n, dtype=torch.float64)

    bn = SPDBatchNorm(n, metric=metric, power=power).double()
    assert_equivariant(bn, (X,), (congruence_action,), congruence_action, group_sampler=sampler)
    bn = SPDBatchNorm(n, metric=metric, power=power).double().eval()
    assert_equivariant(bn, (X,), (congruence_action,), congruence_action, group_sampler=sampler)


def test_not_equivariant_with_generic_bias():
    """The check can fail: with a generic B the layer is not congruence-equivariant."""
    bn = _randomise(SPDBatchNorm(n, metric="gbw").double())
    X = random_spd(N, n=n, seed=10)
    with pytest.raises(AssertionError):
        assert_equivariant(
            bn, (X,), (congruence_action,), congruence_action,
            group_sampler=lambda: random_orthogonal(n, dtype=torch.float64),
        )


# ----------------------------------------------------------------------------- conditioning, dtypes
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("metric,power", [("gbw", 1.0), ("gbw", 0.5), ("aim", 1.0), ("lem", 1.0)])
def test_outputs_spd_for_ill_conditioned_inputs(dtype, metric, power):
    for cond in (1e2, 1e4, 1e6):
        bn = _randomise(SPDBatchNorm(8, metric=metric, power=power, dtype=dtype))
        X = random_spd(16, n=8, cond=cond, seed=11, dtype=dtype)
        for mode in ("train", "eval"):
            bn.train(mode == "train")
            Y = bn(X)
            assert Y.dtype == dtype
            assert bool(torch.isfinite(Y).all()), (cond, mode)
            lam = torch.linalg.eigvalsh(Y.detach().double())
            if dtype == torch.float32 and power != 1.0:
                # Y = Z^{1/θ} raises κ to the power 1/θ: beyond 1/eps(float32) the stored matrix is
                # PSD only to working precision (documented in SPDBatchNorm)
                floor = -10 * torch.finfo(dtype).eps * lam.abs().amax(-1)
                assert bool((lam.amin(-1) > floor).all()), (cond, mode, float(lam.min()))
            else:
                assert bool((lam > 0).all()), (cond, mode, float(lam.min()))
            torch.testing.assert_close(Y, Y.mT)


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("metric,power", [("gbw", 1.0), ("gbw", 0.5), ("aim", 1.0), ("lem", 0.5)])
def test_gradcheck_eval_mode(metric, power):
    """Eval mode is smooth in the input and the parameters: gradcheck at generic and tied points."""
    bn = _randomise(SPDBatchNorm(3, metric=metric, power=power).double())
    bn.train()
    bn(random_spd(6, n=3, seed=12))
    bn.eval()
    X = random_spd(2, n=3, seed=13)
    names = ["scale", "bias_log_eigvals"]
    names += ["metric_eigvecs", "metric_log_eigvals"] if metric == "gbw" else []
    params = tuple(dict(bn.named_parameters())[k].detach() for k in names)

    def fn(x, *ps):
        sd = dict(zip(names, ps))
        return torch.func.functional_call(bn, sd, ((x + x.mT) / 2,))

    eye = torch.eye(3, dtype=torch.float64)
    ties = torch.stack([2 * eye, torch.diag(torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64))])
    assert_gradcheck(fn, (X, *params), points=[(ties, *params)])


@pytest.mark.parametrize(
    "metric,power", [("gbw", 1.0), ("gbw", 0.5), ("bw", 1.0), ("aim", 1.0), ("lem", 1.0)]
)
def test_finite_gradients_at_tied_eigenvalues_train_mode(metric, power):
    """All parameters at I (tied eigenvalues everywhere), inputs with repeated eigenvalues."""
    bn = SPDBatchNorm(3, metric=metric, power=power).double()
    eye = torch.eye(3, dtype=torch.float64)
    X = torch.stack([2 * eye, torch.diag(torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)), 0.5 * eye])
    X.requires_grad_()
    bn(X).pow(2).sum().backward()
    assert torch.isfinite(X.grad).all()
    for k, p in bn.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), k


def test_eval_equals_train_when_running_stats_are_batch_stats():
    """Momentum 1: running statistics = the twin's batch statistics, and eval == the twin's train output."""
    bn = _randomise(SPDBatchNorm(n, metric="gbw", power=0.5, momentum=1.0).double())
    bn(random_spd(N, n=n, seed=13))  # running statistics away from (I, 1) first
    X = random_spd(N, n=n, cond=30.0, seed=14)
    bn(X)
    U, b = bn.bias_eigvecs.detach(), bn.bias_log_eigvals.detach()
    Yr, G, v = gbw_batchnorm_reference(X, bn.M.detach(), (U * b.exp()) @ U.mT, bn.scale.detach(), power=0.5)
    torch.testing.assert_close(bn.running_mean, G, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(bn.running_var, v, rtol=1e-13, atol=0)
    bn.eval()
    torch.testing.assert_close(bn(X).detach(), Yr.detach(), rtol=1e-11, atol=1e-13)


# ----------------------------------------------------------------------------- state, optimiser, compile
def test_state_dict_round_trip():
    bn = _randomise(SPDBatchNorm(n, metric="gbw", power=0.5).double())
    for seed in range(3):
        bn(random_spd(N, n=n, seed=30 + seed))
    sd = bn.state_dict()
    keys = {"metric_eigvecs", "metric_log_eigvals", "bias_eigvecs", "bias_log_eigvals", "scale"}
    assert keys | {"running_mean", "running_var"} <= set(sd)
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    bn2 = SPDBatchNorm(n, metric="gbw", power=0.5).double()
    bn2.load_state_dict(torch.load(buf))
    bn.eval()
    bn2.eval()
    X = random_spd(N, n=n, seed=40)
    torch.testing.assert_close(bn2(X), bn(X), rtol=0, atol=0)
    V = bn2.metric_eigvecs
    assert isinstance(V, geoopt.ManifoldParameter) and isinstance(V.manifold, geoopt.Stiefel)
    torch.testing.assert_close(bn2.M, bn.M, rtol=0, atol=0)


def test_training_with_riemannian_adam_keeps_parameters_valid():
    torch.manual_seed(0)
    bn = SPDBatchNorm(n, metric="gbw", power=0.5).double()
    opt = geoopt.optim.RiemannianAdam(bn.parameters(), lr=0.05)
    target = random_spd(n=n, cond=5.0, seed=50)
    losses = []
    for step in range(30):
        X = random_spd(N, n=n, cond=20.0, seed=60 + step)
        loss = bw_distance(bn(X), target, squared=True).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    assert float(bn.metric_log_eigvals.detach().abs().max()) > 1e-3  # M was trained
    for U in (bn.bias_eigvecs.detach(), bn.metric_eigvecs.detach()):
        torch.testing.assert_close(U.mT @ U, torch.eye(n, dtype=torch.float64), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("metric", ["gbw", "aim", "lem"])
def test_compiles_aot_eager(metric):
    bn = _randomise(SPDBatchNorm(n, metric=metric, power=0.5, momentum=0.5).double())
    X = random_spd(N, n=n, seed=70)
    assert_compiles(bn, X, backend="aot_eager")  # train mode (batch statistics), buffers compared
    for seed in range(3):  # non-trivial running statistics for the eval-mode check
        bn(random_spd(N, n=n, cond=30.0, seed=73 + seed))
    assert float(bw_distance(bn.running_mean, torch.eye(n, dtype=torch.float64))) > 0.05
    bn.eval()
    assert_compiles(bn, X, backend="aot_eager")


def test_running_mean_over_several_steps_vs_scipy_geodesic():
    """BW running mean: R ← γ_{R→G}(m) from R ≠ I, against scipy's sqrtm (G from the reference twin)."""
    bn = _randomise(SPDBatchNorm(n, metric="gbw", momentum=0.3).double())
    R, r = np.eye(n), 1.0
    U, b = bn.bias_eigvecs.detach(), bn.bias_log_eigvals.detach()
    for seed in range(4):
        X = random_spd(N, n=n, cond=40.0, seed=120 + seed) * (1.0 + seed)
        bn(X)
        _, G, v = gbw_batchnorm_reference(X, bn.M.detach(), (U * b.exp()) @ U.mT, bn.scale.detach())
        G = np64(G)
        C = sla.sqrtm(R @ G).real
        R = 0.49 * R + 0.09 * G + 0.21 * (C + C.T)
        r = 0.7 * r + 0.3 * float(v)
    assert np.linalg.norm(R - np.eye(n)) > 0.5  # the test starts far from I after the first step
    np.testing.assert_allclose(np64(bn.running_mean), R, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(float(bn.running_var), r, rtol=1e-12)


def test_compiles_inductor_without_graph_breaks_forward_and_backward():
    """The fused GBW path under inductor: 0 graph breaks, same outputs, input and parameter gradients."""
    X = random_spd(N, n=n, seed=71)
    W = torch.randn(N, n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(72))
    eager = _randomise(SPDBatchNorm(n, metric="gbw").double())
    assert_compiles(copy.deepcopy(eager), X, backend="inductor", max_graph_breaks=0)
    compiled_bn = copy.deepcopy(eager)
    compiled = torch.compile(compiled_bn, backend="inductor")
    for mode in (True, False):  # train (batch statistics), then eval (running statistics)
        eager.train(mode)
        compiled_bn.train(mode)
        grads = []
        for module, m in ((eager, eager), (compiled, compiled_bn)):
            x = X.clone().requires_grad_()
            m.zero_grad()
            (module(x) * W).sum().backward()
            grads.append([x.grad] + [p.grad for p in m.parameters()])
        for a, b in zip(*grads):
            torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(compiled_bn.running_mean, eager.running_mean, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("metric", ["gbw", "bw", "aim", "lem"])
def test_bad_inputs_raise_clear_errors(metric):
    bn = SPDBatchNorm(n, metric=metric).double()
    X = random_spd(N, n=n, seed=95)
    with pytest.raises(ValueError, match="X must be symmetric"):
        bn(X + torch.triu(torch.ones(n, n, dtype=torch.float64), 1))
    with pytest.raises(ValueError, match="X must be symmetric positive (semi)?definite"):
        bn(torch.cat([X, -X[:1]]))
    bn.eval()
    with pytest.raises(ValueError, match="X must be symmetric positive (semi)?definite"):
        bn(-X)


def test_set_metric_and_bias_round_trip_and_validate():
    bn = SPDBatchNorm(n, metric="gbw").double()
    M, B = random_spd(n=n, cond=30.0, seed=90), random_spd(n=n, cond=7.0, seed=91)
    bn.set_metric(M)
    bn.set_bias(B)
    torch.testing.assert_close(bn.M, M, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(bn.B, B, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="positive definite"):
        bn.set_metric(-M)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        bn.set_bias(torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="gbw"):
        SPDBatchNorm(n, metric="bw").set_metric(M)


def test_old_state_dict_with_matrix_M_loads():
    bn = _randomise(SPDBatchNorm(n, metric="gbw").double())
    sd = {k: v for k, v in bn.state_dict().items() if not k.startswith("metric_")}
    sd["M"] = bn.M.detach().clone()
    bn2 = SPDBatchNorm(n, metric="gbw").double()
    bn2.load_state_dict(sd)
    torch.testing.assert_close(bn2.M, bn.M, rtol=1e-13, atol=1e-13)


def test_bad_arguments():
    with pytest.raises(ValueError, match="metric"):
        SPDBatchNorm(3, metric="le")
    with pytest.raises(ValueError, match="sqrtm_method"):
        SPDBatchNorm(3, sqrtm_method="svd")
    with pytest.raises(ValueError, match="variance"):
        SPDBatchNorm(3, variance="median")
    with pytest.raises(ValueError, match="power"):
        SPDBatchNorm(3, power=0.0)
    with pytest.raises(ValueError, match="momentum"):
        SPDBatchNorm(3, momentum=0.0)
    with pytest.raises(ValueError, match="mean_iters"):
        SPDBatchNorm(3, mean_iters=-1)
    bn = SPDBatchNorm(3)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 3\)"):
        bn(torch.eye(4).expand(2, 4, 4))
    with pytest.raises(TypeError, match="dtype"):
        bn(torch.eye(3, dtype=torch.float64).expand(2, 3, 3))


def test_leading_dims_pooled():
    bn = SPDBatchNorm(3).double()
    X = random_spd(2, 4, n=3, seed=80)
    Y = bn(X)
    bn2 = SPDBatchNorm(3).double()
    torch.testing.assert_close(Y, bn2(X.reshape(8, 3, 3)).reshape(2, 4, 3, 3))


# ------------------------------------------------------------------------ matmul-only path (CUDA default)
@pytest.mark.parametrize("metric", ["gbw", "bw"])
def test_matmul_only_square_roots_match_eigh(metric):
    """``sqrtm_method="sns"`` (what ``"auto"`` picks on CUDA) = the eigh path: outputs and gradients."""
    X = random_spd(12, n=6, cond=1e4, seed=80)
    W = torch.randn(12, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(81))
    ref = SPDBatchNorm(6, metric=metric, sqrtm_method="eig").double()
    if metric == "gbw":
        with torch.no_grad():
            ref.set_metric(random_spd(n=6, cond=5.0, seed=82))
    sns = copy.deepcopy(ref)
    sns.sqrtm_method = "sns"
    for mode in (True, False):
        outs = []
        for bn in (ref, sns):
            bn.train(mode)
            bn.zero_grad()
            x = X.clone().requires_grad_()
            y = bn(x)
            (y * W).sum().backward()
            outs.append([y.detach(), x.grad] + [p.grad for p in bn.parameters()])
        for a, b in zip(*outs):
            torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-10)
    X6 = random_spd(16, n=8, cond=1e6, seed=83)  # beyond the design condition of sns: still SPD
    Y = SPDBatchNorm(8, metric=metric, sqrtm_method="sns").double()(X6).detach()
    assert bool((torch.linalg.eigvalsh(Y) > 0).all())


# ----------------------------------------------------------------------------- issue #17: bad input, scale
def test_bad_constructor_arguments_and_bias_values():
    for power in (float("nan"), float("inf"), 0.0, True):
        with pytest.raises(ValueError, match="power"):
            SPDBatchNorm(n, power=power)
    for eps in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="eps"):
            SPDBatchNorm(n, eps=eps)
    bn = SPDBatchNorm(n, metric="gbw").double()
    with pytest.raises(ValueError, match="^B must be finite"):
        bn.set_bias(torch.full((n, n), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="^M must be symmetric positive definite; M has smallest eigenvalue"):
        bn.set_metric(-torch.eye(n, dtype=torch.float64))
    with pytest.raises(TypeError, match="B must be a torch.Tensor"):
        bn.set_bias([[1.0]])


@pytest.mark.parametrize("metric", ["gbw", "bw", "aim", "lem"])
def test_empty_batch(metric):
    """Training: a clear ValueError (no batch statistics); eval: an empty output (documented)."""
    bn = SPDBatchNorm(n, metric=metric).double()
    with pytest.raises(ValueError, match="X is an empty batch"):
        bn(torch.empty(0, n, n, dtype=torch.float64))
    bn.eval()
    assert bn(torch.empty(2, 0, n, n, dtype=torch.float64)).shape == (2, 0, n, n)


@pytest.mark.parametrize("metric", ["gbw", "bw", "aim", "lem"])
def test_float32_entries_near_1e30_are_accepted_and_scale_invariant(metric):
    """Large finite float32 entries used to be rejected as non-finite (Frobenius overflow) or to overflow
    in S^½ X S^½; the training output is scale-invariant, the running mean stays in the user's units."""
    c = 1e30
    X = random_spd(N, n=n, cond=10.0, seed=96)
    bn64 = SPDBatchNorm(n, metric=metric, eps=0.0).double()
    bn32 = SPDBatchNorm(n, metric=metric, eps=0.0)
    Y = bn64(X).detach()
    Y_big = bn32((c * X).float()).detach()
    assert torch.isfinite(Y_big).all()
    torch.testing.assert_close(Y_big.double(), Y, rtol=1e-3, atol=1e-4)
    if metric in ("gbw", "bw"):  # (0.9 I + 0.1 G^½)² with G = c·G₆₄
        Gh = (sla.sqrtm(np64(bn64.running_mean)).real - 0.9 * np.eye(n)) / 0.1  # G₆₄^½ from the float64 layer
        R = 0.9 / np.sqrt(c) * np.eye(n) + 0.1 * Gh
        np.testing.assert_allclose(np64(bn32.running_mean) / c, R @ R, rtol=1e-3, atol=1e-6)
