"""Reference twins: the dense-basis layer equals the fast layer; Maron et al.'s 15 operations span
exactly our 2→2 basis (an independent construction of the same space)."""

import torch

from geomrep.equivariant.permutation import PermutationEquivariantLinear, equivariant_basis
from geomrep.equivariant.permutation.reference import DenseBasisLinear, MaronLinear2to2, maron_ops_2_to_2
from geomrep.testing import assert_equivariant, permutation_action, random_permutation


def test_dense_twin_equals_fast_layer():
    torch.manual_seed(0)
    for n, k, l, group in [(4, 2, 2, "symmetric"), (3, 2, 1, "alternating"), (5, 1, 2, "alternating")]:  # noqa: E741
        fast = PermutationEquivariantLinear(n, k, l, 3, 2, group=group, bias=False, dtype=torch.float64)
        dense = DenseBasisLinear(n, k, l, 3, 2, group=group).double()
        dense.weight.data.copy_(fast.weight.data)
        x = torch.randn(4, 3, *[n] * k, dtype=torch.float64)
        torch.testing.assert_close(dense(x), fast(x))


def test_maron_operations_span_our_basis():
    for n in (2, 3, 5):
        eye = torch.eye(n * n, dtype=torch.float64).reshape(n * n, 1, n, n)  # unit inputs
        ops = maron_ops_2_to_2(eye, normalize=False)
        mats = torch.stack([op.reshape(n * n, n * n).T for op in ops])  # (15, n², n²) as matrices
        ours = equivariant_basis(n, 2, 2, dtype=torch.float64)
        rank_ours = int(torch.linalg.matrix_rank(ours.reshape(len(ours), -1)))
        rank_both = int(torch.linalg.matrix_rank(torch.cat([ours, mats]).reshape(len(ours) + 15, -1)))
        rank_maron = int(torch.linalg.matrix_rank(mats.reshape(15, -1)))
        assert rank_ours == rank_both == rank_maron == len(ours)  # 15 for n >= 4, fewer for n < 4


def test_maron_layer_is_equivariant():
    torch.manual_seed(0)
    layer = MaronLinear2to2(3, 4).double()
    layer.diag_bias.data.normal_()
    layer.all_bias.data.normal_()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    assert_equivariant(
        layer, x, permutation_action(2), permutation_action(2), group_sampler=lambda: random_permutation(6)
    )
