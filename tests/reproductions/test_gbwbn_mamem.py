"""Tests of reproductions/gbwbn_mamem.py: the lean conv front end equals the plain layers, the model and
optimiser are wired as the recipe says, the report aggregates seeds within subjects first, and ``--quick``
runs, resumes and rebuilds its report."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import geoopt
import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reproductions import gbwbn_mamem as gm  # noqa: E402
from tests._data import needs_data  # noqa: E402

DATA = Path(os.environ.get("GEOMREP_DATA", ROOT.parent / "shared" / "data"))


@pytest.mark.parametrize("training", [True, False])
def test_lean_front_equals_plain_conv_bn_conv_bn(training):
    front = gm.EEGFront(dtype=torch.float64)
    with torch.no_grad():  # non-trivial BN affine and running statistics
        for bn in (front.bn1, front.bn2):
            bn.weight.uniform_(0.5, 2.0)
            bn.bias.normal_()
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2.0)
    plain = copy.deepcopy(nn.Sequential(front.conv1, front.bn1, front.conv2, front.bn2))
    front.train(training)
    plain.train(training)
    x = torch.randn(7, 1, 8, 125, dtype=torch.float64) * 3 + 1
    R = torch.randn(7, 15, 126, dtype=torch.float64)
    z, zp = front(x), plain(x).squeeze(-2)
    assert z.shape == (7, 15, 126)
    torch.testing.assert_close(z, zp, rtol=1e-10, atol=1e-10)
    g = torch.autograd.grad((z * R).sum(), list(front.parameters()))
    gp = torch.autograd.grad((zp * R).sum(), list(plain.parameters()))
    for a, b in zip(g, gp):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
    for a, b in zip(front.state_dict().values(), plain.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("arm", list(gm.ARMS))
def test_model_shapes_and_riemannian_bimap_step(arm):
    torch.manual_seed(0)
    model = gm.MamemNet(gm.ARMS[arm])
    W = model.bimap.weight
    assert isinstance(W, geoopt.ManifoldParameter) and isinstance(W.manifold, geoopt.Stiefel)
    assert model.linear.in_features == 144
    opt = gm.make_optimizer(model, 0.05, freeze_bimap=False)
    assert opt.param_groups[0]["momentum"] == 0.9 and opt.param_groups[0]["weight_decay"] == 5e-2
    assert any(p is W for p in opt.param_groups[1]["params"])
    x, y = torch.randn(30, 8, 125), torch.arange(30) % 5
    out = model(x)
    assert out.shape == (30, 5) and out.dtype == torch.float64
    W0 = W.detach().clone()
    nn.functional.cross_entropy(out, y).backward()
    opt.step()
    assert not torch.allclose(W, W0)  # BiMap trains
    eye = torch.eye(12, dtype=torch.float64)
    torch.testing.assert_close(W[0].mT @ W[0], eye, atol=1e-10, rtol=0)  # and stays on the Stiefel manifold


def test_freeze_bimap_keeps_the_initial_weight():
    torch.manual_seed(0)
    model = gm.MamemNet(gm.ARMS["GBW-BN θ=1"])
    opt = gm.make_optimizer(model, 0.05, freeze_bimap=True)
    W0 = model.bimap.weight.detach().clone()
    lin0 = model.linear.weight.detach().clone()
    nn.functional.cross_entropy(model(torch.randn(30, 8, 125)), torch.arange(30) % 5).backward()
    opt.step()
    assert torch.equal(model.bimap.weight, W0)
    assert not torch.equal(model.linear.weight, lin0)


def test_report_averages_seeds_within_subjects_first(tmp_path):
    # subject 1: seeds 0.2, 0.4 -> 0.3; subject 2: one seed 0.9 -> mean 0.6, sample std 0.6/sqrt(2) = 42.4 %
    recs = [(1, 0, 0.2), (1, 1, 0.4), (2, 0, 0.9)]
    for s, seed, acc in recs:
        r = {
            "arm": "no BN", "subject": s, "seed": seed, "epochs": 3, "freeze_bimap": False,
            "train_loss": [1.0, 0.9, 0.8], "val_acc": [0.1, 0.5, 0.3], "test_acc": [acc, acc, acc],
            "error": None, "test_last": acc, "val_last": 0.3, "test_at_best_val": acc, "best_epoch": 2,
            "wall_s": 1.0, "machine": "test", "date": "2026-01-01", "flags": "",
        }  # fmt: skip
        gm.append_record(tmp_path / "gbwbn_mamem.jsonl", r)
    failed = dict(
        r, subject=3, error="epoch 2: FloatingPointError", train_loss=[1.0], val_acc=[0.2], test_acc=[0.2]
    )
    for k in ("test_last", "val_last", "test_at_best_val", "best_epoch"):
        failed.pop(k)
    gm.append_record(tmp_path / "gbwbn_mamem.jsonl", failed)
    md = gm.report(tmp_path).read_text()
    row = next(line for line in md.splitlines() if line.startswith("| no BN |"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[2] == "60.0 ± 42.4"  # test@last
    assert cells[3] == "30.0 ± 0.0"  # val@last
    assert cells[5] == "2 × 1–2 (3 runs)"  # subjects × seeds per subject (successful runs)
    assert cells[6] == "1"  # one failed run
    assert "failed: no BN S3 seed 0" in md
    assert (tmp_path / "gbwbn_mamem_e3_test_acc.png").stat().st_size > 0


@needs_data("mamem_ssvep2", "mamem_ssvep2_gbwbn.npz")
def test_quick_run_records_resumes_and_reports(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", GEOMREP_DATA=str(DATA))
    cmd = [sys.executable, str(ROOT / "reproductions" / "gbwbn_mamem.py"), "--quick", "--out", str(tmp_path)]
    subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=True)
    lines = (tmp_path / "gbwbn_mamem.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    assert sorted(r["arm"] for r in recs) == sorted(["no BN", "GBW-BN θ=0.5"])
    for r in recs:
        assert r["error"] is None, r["error"]
        assert r["subject"] == 1 and r["seed"] == 0 and r["epochs"] == 2 and r["freeze_bimap"] is False
        assert len(r["train_loss"]) == len(r["val_acc"]) == len(r["test_acc"]) == 2
        for a in r["val_acc"] + r["test_acc"]:
            assert 0 <= a <= 1 and abs(100 * a - round(100 * a)) < 1e-6  # 100 trials per set
        assert r["test_last"] == r["test_acc"][-1] and r["val_last"] == r["val_acc"][-1]
        assert r["test_at_best_val"] == r["test_acc"][r["best_epoch"] - 1]
        assert r["val_acc"][r["best_epoch"] - 1] == max(r["val_acc"])
    # a rerun skips the finished runs; --report rebuilds the table from the records alone
    subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=True)
    assert len((tmp_path / "gbwbn_mamem.jsonl").read_text().splitlines()) == 2
    (tmp_path / "gbwbn_mamem.md").unlink()
    subprocess.run(cmd + ["--report"], env=env, capture_output=True, text=True, timeout=600, check=True)
    md = (tmp_path / "gbwbn_mamem.md").read_text()
    assert "| no BN |" in md and "| GBW-BN θ=0.5 |" in md
