"""Smoke test of reproductions/gu2019.py: --quick records every run, resumes, tabulates with the published."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reproductions import gu2019  # noqa: E402
from reproductions._common import read_records  # noqa: E402
from tests._data import needs_data  # noqa: E402


@needs_data("hyperbolic_graphs", "hazyresearch_hyperbolics")
def test_quick_run_records_resumes_and_tabulates(tmp_path):
    args = [
        "--quick",
        "--datasets",
        "cities",
        "--signatures",
        "E10",
        "H2",
        "--steps",
        "15",
        "--out",
        str(tmp_path),
    ]
    gu2019.main(args)
    recs = read_records(tmp_path / "gu2019_quick.jsonl")
    assert [r["signature"] for r in recs] == ["E10", "H2"] and all(r["steps"] == 15 for r in recs)
    assert all(isinstance(r["D_avg"], float) and 0 < r["D_avg"] < 1 for r in recs)
    table = (tmp_path / "gu2019_quick.md").read_text()
    assert "| cities | 312 | E10 |" in table and "0.0735" in table  # the published E10 value beside ours
    gu2019.main(args)  # resume: nothing is re-run
    assert len(read_records(tmp_path / "gu2019_quick.jsonl")) == 2
    gu2019.main([*args[:-2], "--steps", "16", "--out", str(tmp_path)])  # other settings: new records
    assert len(read_records(tmp_path / "gu2019_quick.jsonl")) == 4
    # records written before --neighbour-weight/--init-scale/--batch-pairs existed count as their defaults
    path = tmp_path / "gu2019_quick.jsonl"
    old = [{k: v for k, v in r.items() if k not in gu2019.KEY_DEFAULTS} for r in read_records(path)]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    gu2019.main(args)
    assert len(read_records(path)) == 4
    gu2019.main([*args, "--init-scale", "0.5"])
    assert len(read_records(path)) == 6 and read_records(path)[-1]["init_scale"] == 0.5
