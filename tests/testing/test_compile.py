import pytest
import torch

from geomrep.testing import assert_compiles

_calls = {"n": 0}


def _stateful(x):
    _calls["n"] += 1
    return x * _calls["n"]  # compiled code bakes in the counter seen at trace time


def _breaks(x):
    y = x * 2
    if y.sum().item() > -1e9:  # data-dependent Python branch: a graph break
        y = y + 1
    return y


def test_module_compiles_and_matches():
    lin = torch.nn.Linear(3, 2)
    out = assert_compiles(lin, torch.randn(4, 3), backend="aot_eager")
    assert out.shape == (4, 2)


def test_mismatch_is_caught():
    with pytest.raises(AssertionError, match="differs from eager"):
        assert_compiles(_stateful, torch.ones(3), backend="eager")


def test_graph_breaks_are_counted():
    assert_compiles(_breaks, torch.randn(3), backend="eager", max_graph_breaks=1)
    with pytest.raises(AssertionError, match="graph breaks"):
        assert_compiles(_breaks, torch.randn(3), backend="eager", max_graph_breaks=0)


def test_inductor_backend():
    assert_compiles(lambda x: torch.sin(x) @ x.T, torch.randn(4, 4), backend="inductor")


class _CountsOnlyEagerly(torch.nn.Module):
    """Same output compiled or not, but the buffer update is skipped while compiling."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        if not torch.compiler.is_compiling():
            self.calls += 1
        return 2 * x


def test_lost_buffer_update_is_caught_and_module_left_unchanged():
    m = _CountsOnlyEagerly()
    with pytest.raises(AssertionError, match="buffer 'calls'"):
        assert_compiles(m, torch.ones(3), backend="eager")
    assert float(m.calls) == 0.0  # eager and compiled calls ran on copies


def test_buffer_updates_that_compile_correctly_pass():
    bn = torch.nn.BatchNorm1d(3)
    assert_compiles(bn, torch.randn(8, 3), backend="aot_eager")
    assert float(bn.num_batches_tracked) == 0.0
