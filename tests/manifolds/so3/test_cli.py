"""The so3 CLI registrations: checks pass (and a broken map fails them), the benchmark's rows, the model."""

import pytest
import torch

from geomrep.cli import run_checks
from geomrep.cli import so3 as cli_so3
from geomrep.cli.registry import REGISTRY
from geomrep.manifolds.so3 import random_rotation


def test_registered_checks_pass():
    rows, ok = run_checks(["so3.*"])
    assert {r["check"] for r in rows} == {
        "so3.sixd_left_equivariance",
        "so3.geodesic_bi_invariance",
        "so3.exp_log",
        "so3.small_angle_distance",
    }
    assert ok, rows
    assert "so3.qm9_rotation_regression" in REGISTRY.demos and "so3.maps" in REGISTRY.benchmarks


def test_small_angle_check_fails_for_acos(monkeypatch):
    """The check can fail: with the textbook acos distance it reports a large relative error in float32."""

    def acos_distance(R1, R2):
        cos = ((R1.mT @ R2).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
        return torch.acos(cos.clamp(-1, 1))

    monkeypatch.setattr(cli_so3, "geodesic_distance", acos_distance)
    check = REGISTRY.checks["so3.small_angle_distance"]
    assert check.fn(torch.float32, torch.Generator().manual_seed(0)) > check.tol[torch.float32]


def test_benchmark_rows_smoke():
    rows = cli_so3.time_rotation_maps(50, repeats=1, warmup=0)
    assert [r["map"] for r in rows] == ["rotation_6d_to_matrix", "special_procrustes", "geodesic_distance"]
    assert all(r["geomrep ms"] > 0 and r["roma ms"] > 0 for r in rows)


def test_siamese_pointnet_shapes_and_invariance_to_point_order():
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(12, 3, generator=gen)
    feats = torch.eye(5)[torch.randint(0, 5, (12,), generator=gen)]
    model = cli_so3.SiamesePointNet("9d", width=16)
    R = random_rotation(4, generator=gen)
    out = model(pos, pos @ R.mT, feats)
    assert out.shape == (4, 3, 3)
    perm = torch.randperm(12, generator=gen)
    torch.testing.assert_close(model(pos[perm], (pos @ R.mT)[:, perm], feats[perm]), out)
    err = cli_so3.evaluate_rotation_regressor(model, pos, feats, R)
    assert err.shape == (4,) and bool(((err >= 0) & (err <= 180)).all())


def test_siamese_concat_pool_and_validation():
    pos = torch.randn(7, 3)
    feats = torch.zeros(7, 5)
    model = cli_so3.SiamesePointNet("6d", width=16, pool="concat", num_points=7)
    assert model(pos, pos[None].expand(3, 7, 3), feats).shape == (3, 3, 3)
    with pytest.raises(ValueError, match="num_points"):
        cli_so3.SiamesePointNet("6d", pool="concat")
    with pytest.raises(ValueError, match="pool must be"):
        cli_so3.SiamesePointNet("6d", pool="mean")
