"""GrassmannClassifier: logits vs a per-class loop, invariance S_i → S_i Q_i, mixed k, compile, state."""

import copy
import io

import geoopt
import pytest
import torch

from geomrep.manifolds.grassmann import Grassmann, GrassmannClassifier, subspace_logits
from geomrep.testing import assert_compiles, assert_invariant, random_orthogonal

DTYPES = [torch.float32, torch.float64]


def _loop_logits(x, bases, dims, scale):
    """Per-class float64 loop: γ ‖S_iᵀ x/‖x‖‖ with S_i the first k_i columns."""
    x = x.double()
    xh = x / x.norm(dim=-1, keepdim=True)
    cols = [torch.linalg.vector_norm(xh @ bases[i, :, :k].double(), dim=-1) for i, k in enumerate(dims)]
    return scale * torch.stack(cols, -1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [3, [1, 4, 2, 3, 1]])
def test_logits_match_loop_reference(dtype, k):
    head = GrassmannClassifier(10, 5, subspace_dim=k, scale=7.0, dtype=dtype)
    x = torch.randn(6, 10, dtype=dtype)
    dims = head.subspace_dims
    ref = _loop_logits(x, head.bases.detach(), dims, 7.0)
    out = head(x)
    assert out.shape == (6, 5) and out.dtype == dtype
    torch.testing.assert_close(out.double(), ref, atol=1e-5 if dtype == torch.float32 else 1e-12, rtol=1e-5)
    head.bases.manifold.assert_check_point_on_manifold(head.bases.detach())
    assert isinstance(head.bases, geoopt.ManifoldParameter) and isinstance(head.bases.manifold, Grassmann)
    assert head.bases.shape == (5, 10, max(dims))


def test_logits_scale_invariance_and_range():
    head = GrassmannClassifier(8, 4, subspace_dim=2, scale=25.0)
    x = torch.randn(5, 8)
    torch.testing.assert_close(head(3.0 * x), head(x))
    out = head(x)
    out = out.detach()
    assert float(out.min()) >= 0 and float(out.max()) <= 25.0 + 1e-4
    z = torch.zeros(2, 8, requires_grad=True)
    out0 = head(z)
    assert bool((out0 == 0).all())
    out0.sum().backward()
    assert torch.isfinite(z.grad).all() and torch.isfinite(head.bases.grad).all()


def _per_class_orthogonal(C, k):
    def sample(dtype=torch.float64):
        return torch.stack([random_orthogonal(k, dtype=dtype) for _ in range(C)])

    return sample


def _right_multiply(g, S):
    return S @ g


def test_invariance_under_basis_change():
    """logits(S_i Q_i) = logits(S_i): the logit is a function of the subspace (with a failing control)."""
    head = GrassmannClassifier(9, 4, subspace_dim=3, dtype=torch.float64)
    x = torch.randn(7, 9, dtype=torch.float64)

    def logits(S):
        return torch.func.functional_call(head, {"bases": S}, (x,))

    assert_invariant(
        logits, (head.bases.detach(),), (_right_multiply,), group_sampler=_per_class_orthogonal(4, 3)
    )

    def not_invariant(S):  # a plain linear head on the flattened bases: depends on the basis
        return (x @ S.permute(1, 0, 2).reshape(9, -1)).sum(-1)

    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(
            not_invariant,
            (head.bases.detach(),),
            (_right_multiply,),
            group_sampler=_per_class_orthogonal(4, 3),
        )


def test_mixed_k_invariance_and_zero_padding_gradients():
    dims = [1, 3, 2]
    head = GrassmannClassifier(6, 3, subspace_dim=dims)
    assert head.subspace_dim == (1, 3, 2)
    x = torch.randn(4, 6)
    head(x).logsumexp(-1).sum().backward()
    for i, k in enumerate(dims):
        assert bool((head.bases.grad[i, :, k:] == 0).all())
    # invariance per class within its own k columns
    Q = torch.zeros(3, 3, 3, dtype=torch.float64)
    for i, k in enumerate(dims):
        Q[i, :k, :k] = random_orthogonal(k, dtype=torch.float64)
        Q[i, k:, k:] = torch.eye(3 - k, dtype=torch.float64)
    S = head.bases.detach().double()
    torch.testing.assert_close(subspace_logits(x.double(), S @ Q), subspace_logits(x.double(), S))


def test_single_gemm_without_copy():
    """The bases are stored d-major: the (d, C·k) weight of the one GEMM is a view, not a copy."""
    head = GrassmannClassifier(16, 5, subspace_dim=4)
    W = head.bases.permute(1, 0, 2).reshape(16, 20)
    assert W.data_ptr() == head.bases.data_ptr()
    for moved in (copy.deepcopy(head), head.double()):
        Wm = moved.bases.permute(1, 0, 2).reshape(16, 20)
        assert Wm.data_ptr() == moved.bases.data_ptr()
        assert isinstance(moved.bases.manifold, Grassmann)


def test_compile_no_graph_breaks():
    head = GrassmannClassifier(12, 5, subspace_dim=3)
    x = torch.randn(4, 12)
    assert_compiles(head, x, backend="aot_eager", max_graph_breaks=0)


def test_state_dict_round_trip_and_pickle():
    head = GrassmannClassifier(8, 3, subspace_dim=[2, 1, 3])
    other = GrassmannClassifier(8, 3, subspace_dim=[2, 1, 3])
    x = torch.randn(5, 8)
    assert not torch.allclose(other(x), head(x))
    other.load_state_dict(head.state_dict())
    torch.testing.assert_close(other(x), head(x))
    assert other.bases.stride() == head.bases.stride()
    buf = io.BytesIO()
    torch.save(head, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    torch.testing.assert_close(loaded(x), head(x))
    assert loaded.bases.manifold.subspace_dims == (2, 1, 3)


def test_empty_batch_and_leading_dims():
    head = GrassmannClassifier(8, 3, subspace_dim=2)
    assert head(torch.zeros(0, 8)).shape == (0, 3)
    assert head(torch.randn(2, 5, 8)).shape == (2, 5, 3)


def test_bad_inputs():
    head = GrassmannClassifier(8, 3, subspace_dim=2)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 8\)"):
        head(torch.randn(4, 7))
    with pytest.raises(TypeError, match="floating"):
        head(torch.ones(4, 8, dtype=torch.long))
    with pytest.raises(TypeError, match="same dtype"):
        head(torch.randn(4, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="subspace_dim must be <= in_features"):
        GrassmannClassifier(4, 3, subspace_dim=5)
    with pytest.raises(ValueError, match="one k per class"):
        GrassmannClassifier(8, 3, subspace_dim=[1, 2])
    with pytest.raises(ValueError, match="scale must be > 0"):
        GrassmannClassifier(8, 3, scale=0.0)
    with pytest.raises(ValueError, match="num_classes"):
        GrassmannClassifier(8, 0)
    with pytest.raises(TypeError, match="subspace_dim"):
        GrassmannClassifier(8, 3, subspace_dim=2.5j)
    with pytest.raises(ValueError, match=r"bases must have shape \(C, d, k\)"):
        subspace_logits(torch.randn(2, 4), torch.randn(4, 2))
