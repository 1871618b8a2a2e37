"""Smoke test of reproductions/polblogs_products.py: --quick embeds, classifies, tabulates, resumes."""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reproductions import polblogs_products as pb  # noqa: E402
from reproductions._common import read_records  # noqa: E402
from tests._data import needs_data  # noqa: E402


def test_stratified_split_is_a_partition_with_class_ratios():
    y = torch.tensor([0] * 50 + [1] * 30)
    train, test = pb.stratified_split(y, seed=3)
    assert sorted(torch.cat([train, test]).tolist()) == list(range(80))
    assert y[train].bincount().tolist() == [40, 24] and y[test].bincount().tolist() == [10, 6]
    assert not torch.equal(train, pb.stratified_split(y, seed=4)[0])


@needs_data("hyperbolic_graphs", "manify_history")
def test_quick_run_tabulates_and_resumes(tmp_path):
    pb.main(["--quick", "--out", str(tmp_path)])
    (rec,) = read_records(tmp_path / "polblogs_products_quick.jsonl")
    assert rec["signature"] == "H4" and len(rec["accuracies"]) == 2 and len(rec["loss_history"]) == 40
    assert rec["loss_history"][-1] < rec["loss_history"][0]  # the embedding trains
    for acc in rec["accuracies"]:
        assert set(acc) == set(pb.CLASSIFIERS) and all(0 <= a <= 100 for a in acc.values())
    # graph structure alone separates the two blog communities far above chance (52 %) even after 40 steps
    assert max(sum(a[c] for a in rec["accuracies"]) / 2 for c in pb.CLASSIFIERS) > 60
    table = (tmp_path / "polblogs_products_quick.md").read_text()
    assert "| H4 |" in table and "91.5 ± 0.7" in table and (tmp_path / "polblogs_products_quick.png").exists()
    pb.main(["--quick", "--out", str(tmp_path)])  # resume: nothing new is run or appended
    assert len(read_records(tmp_path / "polblogs_products_quick.jsonl")) == 1
