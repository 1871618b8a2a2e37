"""EEG loaders against the raw .npz files and the facts stated in shared/data/*/README.md."""

import numpy as np
import pytest
import torch

from geomrep.datasets import (
    data_root,
    filterbank_covariances,
    load_mamem_ssvep2,
    load_ssvep_exo_covariances,
    load_ssvep_exo_epochs,
    mamem_ssvep2_split,
)
from tests._data import needs_data


@needs_data("mamem_ssvep2")
def test_mamem_shapes_split_and_class_counts():
    x, y, subj = load_mamem_ssvep2()
    assert x.shape == (11, 500, 8, 125) and x.dtype == torch.float32
    assert y.shape == (11, 500) and subj.tolist() == list(range(1, 12))
    # README: class counts per subject [100, 100, 120, 100, 80]
    for s in range(11):
        assert torch.bincount(y[s], minlength=5).tolist() == [100, 100, 120, 100, 80]
    x2, y2, s2 = load_mamem_ssvep2(subjects=[3, 1])
    assert s2.tolist() == [3, 1]
    torch.testing.assert_close(x2[1], x[0])
    with np.load(data_root(None, "mamem_ssvep2") / "mamem_ssvep2_gbwbn.npz") as z:
        np.testing.assert_array_equal(x2[0].numpy(), z["X"][2])
    parts = mamem_ssvep2_split(x2, y2)
    assert parts["train"].x.shape == (2, 300, 8, 125)
    torch.testing.assert_close(parts["test"].y, y2[:, 400:])
    torch.testing.assert_close(parts["val"].x, x2[:, 300:400])
    with pytest.raises(ValueError, match="subject"):
        load_mamem_ssvep2(subjects=[12])
    with pytest.raises(ValueError, match="500"):
        mamem_ssvep2_split(x2[:, :10], y2[:, :10])


@needs_data("ssvep_exo")
def test_ssvep_exo_covariances_and_epochs():
    d = load_ssvep_exo_covariances()
    assert d["covs"].shape == (1056, 24, 24) and d["covs"].dtype == torch.float64
    assert sorted(d["y"].unique().tolist()) == [0, 1, 2, 3]
    assert d["subject"].min() == 1 and d["subject"].max() == 12
    assert d["label_names"] == ["resting", "13Hz", "21Hz", "17Hz"]
    lam = torch.linalg.eigvalsh(d["covs"])
    assert bool((lam > 0).all())  # README: smallest eigenvalue 1.3e-11
    e = load_ssvep_exo_epochs(sessions=[30], tmin=2.0, tmax=5.0)
    assert e["x"].shape == (32, 8, 768)
    assert torch.bincount(e["y"]).tolist() == [8, 8, 8, 8]  # 8 trials per class and session
    assert e["subject"].unique().tolist() == [12]
    with pytest.raises(ValueError, match="tmin"):
        load_ssvep_exo_epochs(sessions=[0], tmin=3.0, tmax=2.0)
    with pytest.raises(ValueError, match="sessions"):
        load_ssvep_exo_epochs(sessions=[40])


def test_filterbank_covariances_separate_frequencies():
    """A 10 Hz sinusoid on channel 0 lands in the 10 Hz band block, not in the 6.66 Hz one."""
    fs, T = 125.0, 250
    t = np.arange(T) / fs
    rng = np.random.default_rng(0)
    x = 0.01 * rng.standard_normal((3, 2, T))
    x[:, 0] += np.sin(2 * np.pi * 10.0 * t)
    C = filterbank_covariances(x, fs=fs, freqs=(6.66, 10.0))
    assert C.shape == (3, 4, 4) and C.dtype == torch.float64
    torch.testing.assert_close(C, C.mT)
    assert bool((torch.linalg.eigvalsh(C) > 0).all())
    power = torch.diagonal(C, dim1=-2, dim2=-1)  # order: (band 6.66: ch0, ch1), (band 10: ch0, ch1)
    torch.testing.assert_close(power.sum(-1), torch.full((3,), 4.0 * (1 + 1e-3), dtype=torch.float64))
    assert bool((power[:, 2] > 20 * power[:, 0]).all())
    assert bool((power[:, 2] > 20 * power[:, 3]).all())
