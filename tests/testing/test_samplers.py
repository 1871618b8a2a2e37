import pytest
import torch

from geomrep.testing import permutation_parity, random_orthogonal, random_permutation, random_rotation


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_random_rotation_is_special_orthogonal(dtype):
    R = random_rotation(dtype=dtype)
    assert R.dtype == dtype and R.shape == (3, 3)
    eye = torch.eye(3, dtype=dtype)
    tol = 1e-6 if dtype == torch.float32 else 1e-14
    assert (R @ R.T - eye).abs().max() < tol
    assert abs(float(torch.linalg.det(R)) - 1.0) < tol


def test_random_orthogonal_hits_both_cosets_and_is_reproducible():
    dets = {round(float(torch.linalg.det(random_orthogonal(4, dtype=torch.float64)))) for _ in range(40)}
    assert dets == {-1, 1}
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(random_orthogonal(5, generator=g1), random_orthogonal(5, generator=g2))


def test_random_orthogonal_haar_mean_is_zero():
    # For Haar O(n), E[Q] = 0; a sampler without the sign fix of diag(R) has E[Q_ii] > 0.
    qs = torch.stack([random_orthogonal(3, dtype=torch.float64) for _ in range(3000)])
    assert qs.mean(0).abs().max() < 0.06


def test_random_permutation_even():
    for n in range(2, 7):
        for _ in range(10):
            g = random_permutation(n, even=True)
            assert sorted(g.tolist()) == list(range(n))
            assert permutation_parity(g) == 0
    assert permutation_parity(torch.tensor([1, 0, 2])) == 1
    assert permutation_parity(torch.tensor([1, 2, 0])) == 0


def test_sampler_errors():
    with pytest.raises(ValueError, match="n must be"):
        random_orthogonal(0)
    with pytest.raises(ValueError, match="n must be"):
        random_permutation(-1)
    with pytest.raises(TypeError, match="dtype"):
        random_orthogonal(3, dtype=torch.int64)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64, "float64"])
def test_samplers_reject_non_floating_dtypes(dtype):
    """random_rotation(dtype=int64) used to return an integer matrix (entries truncated to 0/±1)."""
    with pytest.raises(TypeError, match="dtype must be a real floating"):
        random_rotation(dtype=dtype)
    with pytest.raises(TypeError, match="dtype must be a real floating"):
        random_orthogonal(3, dtype=dtype)


def test_samplers_reject_bool_sizes_and_default_to_the_default_dtype():
    with pytest.raises(ValueError, match="n must be"):
        random_orthogonal(True)
    with pytest.raises(ValueError, match="n must be"):
        random_permutation(False)
    assert random_rotation().dtype == torch.get_default_dtype()
    assert random_rotation(torch.float16).dtype == torch.float16
