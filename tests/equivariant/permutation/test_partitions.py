"""Set partitions, Stirling numbers and the closed-form basis size vs independent counts."""

import itertools
import math

import pytest
from scipy.special import stirling2 as scipy_stirling2

from geomrep.equivariant.permutation import bell_number, equivariant_basis_size, set_partitions, stirling2


def _burnside_orbits(n: int, m: int, even_only: bool) -> int:
    """Orbits of S_n (or A_n) on [n]^m by Burnside: mean over g of (#fixed points of g)^m."""
    total, count = 0, 0
    for perm in itertools.permutations(range(n)):
        inversions = sum(perm[a] > perm[b] for a in range(n) for b in range(a + 1, n))
        if even_only and inversions % 2:
            continue
        fixed = sum(perm[i] == i for i in range(n))
        total += fixed**m
        count += 1
    assert total % count == 0
    return total // count


@pytest.mark.parametrize("m", range(9))
def test_stirling_matches_scipy(m):
    for t in range(m + 2):
        assert stirling2(m, t) == int(scipy_stirling2(m, t, exact=True)), (m, t)


def test_set_partitions_are_all_partitions():
    for m in range(7):
        parts = set_partitions(m)
        assert len(parts) == bell_number(m) == len(set(parts))
        # independent enumeration: canonical form of every labelling of m positions with <= m labels
        brute = set()
        for lab in itertools.product(range(max(m, 1)), repeat=m):
            seen = {}
            brute.add(tuple(seen.setdefault(b, len(seen)) for b in lab))
        assert set(parts) == brute
        assert list(parts) == sorted(parts)


@pytest.mark.parametrize("group", ["symmetric", "alternating"])
def test_basis_size_equals_orbit_count(group):
    """dim Hom_G = number of G-orbits on [n]^{k+l} (Burnside), for n <= 6 and k + l <= 6."""
    for n in range(1, 7):
        for m in range(7):
            expected = _burnside_orbits(n, m, even_only=group == "alternating")
            for k in range(m + 1):
                assert equivariant_basis_size(n, k, m - k, group) == expected, (n, k, m - k)


def test_small_cases_and_trivial_groups():
    # A_1 = S_1 and A_2 are trivial: every map (R^n)^k -> (R^n)^l is equivariant
    for k, l in itertools.product(range(4), repeat=2):
        assert equivariant_basis_size(1, k, l, "alternating") == 1 == equivariant_basis_size(1, k, l)
        assert equivariant_basis_size(2, k, l, "alternating") == 2 ** (k + l)
    assert equivariant_basis_size(5, 2, 2) == 15  # the 2-IGN layer
    assert equivariant_basis_size(2, 2, 2) == 8  # n < k + l: only partitions with <= 2 blocks
    assert equivariant_basis_size(10, 2, 2, "alternating") == 15  # no extras when k + l < n - 1
    assert equivariant_basis_size(5, 2, 2, "alternating") == 15 + 0 + 1
    assert equivariant_basis_size(4, 0, 0) == 1
    assert equivariant_basis_size(3, 2, 1, "alternating") == sum(stirling2(3, t) for t in range(4)) + 1 + 3
    assert bell_number(5) == 52 and math.comb(4, 2) == stirling2(4, 3)


@pytest.mark.parametrize(
    ("args", "exc"),
    [
        ((0, 1, 1), ValueError),
        ((-1, 1, 1), ValueError),
        ((3, -1, 1), ValueError),
        ((3, 1, -2), ValueError),
        ((3.0, 1, 1), TypeError),
        ((3, 1, True), TypeError),
        ((3, 1, 1, "cyclic"), ValueError),
        ((3, 1, 1, 3), TypeError),
    ],
)
def test_invalid_arguments(args, exc):
    with pytest.raises(exc, match=r"n|k|l|group"):
        equivariant_basis_size(*args)
