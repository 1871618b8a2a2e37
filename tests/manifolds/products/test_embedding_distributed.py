"""embed_graph across 2 gloo processes: identical embeddings on every rank; all pairs = the 1-process run."""

import networkx as nx
import pytest
import torch

from geomrep.manifolds.products import embed_graph
from geomrep.testing import run_distributed


def _embed(rank, world, full):
    kw = {} if full else {"full_pairs_max": 0, "batch_pairs": 512}
    emb = embed_graph(nx.karate_club_graph(), "H2xS2", steps=25, seed=1, distributed=True, **kw)
    return emb.points, emb.scale, emb.loss_history


@pytest.mark.parametrize("full", [True, False], ids=["all-pairs", "sampled"])
def test_ranks_agree_and_match_single_process(full):
    out = run_distributed(_embed, world_size=2, args=(full,))
    (p0, s0, h0), (p1, s1, h1) = out
    torch.testing.assert_close(p0, p1, rtol=0, atol=0)
    assert s0 == s1 and h0 == h1
    if full:  # the pair slices add up to the whole loss: same trajectory as one process (up to rounding)
        single = embed_graph(nx.karate_club_graph(), "H2xS2", steps=25, seed=1)
        torch.testing.assert_close(p0, single.points, rtol=1e-9, atol=1e-10)
        assert abs(h0[-1] - single.loss_history[-1]) < 1e-9


def test_distributed_needs_a_process_group():
    with pytest.raises(ValueError, match="process group"):
        embed_graph(nx.path_graph(4), "E2", steps=2, distributed=True)
