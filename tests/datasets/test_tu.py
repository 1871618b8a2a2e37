"""TU datasets read offline through PyG's TUDataset, without writing into the shared data folder."""

import pytest

from geomrep.datasets import data_root, load_tu_dataset
from tests._data import needs_data

needs_tu = needs_data("tudatasets", "MUTAG", "raw")


@needs_tu
def test_mutag_offline(tmp_path):
    ds = load_tu_dataset("MUTAG", cache_dir=tmp_path)
    assert len(ds) == 188 and ds.num_classes == 2 and ds.num_node_features == 7
    assert sum(g.num_nodes for g in ds) == 3371 and sum(g.num_edges for g in ds) == 7442
    assert ds[0].edge_attr.shape[1] == 4
    assert (tmp_path / "MUTAG" / "processed").is_dir()
    assert not (data_root(None, "tudatasets") / "MUTAG" / "processed").exists()
    again = load_tu_dataset("MUTAG", cache_dir=tmp_path)  # reuses the processed copy
    assert len(again) == 188


@needs_tu
def test_unknown_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="NCI1"):
        load_tu_dataset("NCI1", cache_dir=tmp_path)
