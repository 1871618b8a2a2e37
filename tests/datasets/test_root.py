import pytest

from geomrep.datasets import data_root


def test_explicit_root(tmp_path):
    (tmp_path / "set").mkdir()
    assert data_root(tmp_path, "set") == tmp_path / "set"


def test_env_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMREP_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_missing_root_names_places(tmp_path):
    with pytest.raises(FileNotFoundError, match="GEOMREP_DATA"):
        data_root(tmp_path, "nope")
