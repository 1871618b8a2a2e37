"""The cache-blocked grid product: against the dense Gaunt tensor, its hand-written backward against
finite differences, blocking and worker threads against one unblocked call."""

import threading

import pytest
import torch

from geomrep.equivariant.gaunt import blocked, gaunt_tensor
from geomrep.equivariant.gaunt.blocked import block_rows, blocked_grid_product, use_blocked


def _dense(x1, x2, l1, l2, l3):
    """Independent reference: contraction with the dense c·3j tensor (no grid, no FFT)."""
    g = gaunt_tensor(l1, l2, l3, dtype=x1.dtype)
    c = max(x1.shape[1], x2.shape[1])
    return torch.einsum("rci,rcj,ijk->rck", x1.expand(-1, c, -1), x2.expand(-1, c, -1), g)


@pytest.mark.parametrize("degrees", [(0, 0, 0), (1, 2, 3), (3, 2, 1), (2, 2, 6), (4, 3, 4)])
@pytest.mark.parametrize("channels", [(3, 3), (3, 1), (1, 3), (1, 1)])
def test_matches_dense_tensor(degrees, channels):
    l1, l2, l3 = degrees
    torch.manual_seed(0)
    x1 = torch.randn(7, channels[0], (l1 + 1) ** 2, dtype=torch.float64)
    x2 = torch.randn(7, channels[1], (l2 + 1) ** 2, dtype=torch.float64)
    y = blocked_grid_product(x1, x2, l1, l2, l3)
    assert y.shape == (7, max(channels), (l3 + 1) ** 2)
    torch.testing.assert_close(y, _dense(x1, x2, l1, l2, l3), atol=1e-12, rtol=0)


@pytest.mark.parametrize("channels", [(2, 2), (2, 1), (1, 2)])
def test_backward_and_double_backward_finite_differences(channels):
    torch.manual_seed(1)
    x1 = torch.randn(5, channels[0], 9, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(5, channels[1], 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: blocked_grid_product(a, b, 2, 3, 4), (x1, x2))
    assert torch.autograd.gradgradcheck(lambda a, b: blocked_grid_product(a, b, 2, 3, 4), (x1, x2))


def test_gradient_of_one_input_only():
    x1 = torch.randn(4, 1, 9, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(4, 1, 9, dtype=torch.float64)
    blocked_grid_product(x1, x2, 2, 2, 2).sum().backward()
    g = gaunt_tensor(2, 2, 2, dtype=torch.float64)
    assert x2.grad is None
    torch.testing.assert_close(x1.grad[:, 0], torch.einsum("rj,ijk->ri", x2[:, 0], g), atol=1e-12, rtol=0)


def test_many_blocks_and_worker_threads_agree_with_one_block(monkeypatch):
    torch.manual_seed(2)
    lmax = 3
    rows = 3 * block_rows(*_grid_shape(lmax), 2) + 5  # several blocks and a ragged last one
    x1 = torch.randn(rows, 2, 16, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(rows, 1, 16, dtype=torch.float64, requires_grad=True)
    w = torch.randn(rows, 2, 16, dtype=torch.float64)
    monkeypatch.setattr(blocked, "_PARALLEL_MIN_SAMPLES", 0)  # worker pool on at this small degree
    monkeypatch.setattr(blocked, "_PARALLEL_MIN_BLOCKS", 2)
    calls = []
    monkeypatch.setattr(blocked, "_pool", lambda n, pool=blocked._pool: calls.append(n) or pool(n))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        y = blocked_grid_product(x1, x2, lmax, lmax, lmax)
        g1, g2 = torch.autograd.grad((y * w).sum(), (x1, x2))
    finally:
        torch.set_num_threads(threads)
    assert calls == [2, 2]  # forward and backward ran on the workers
    monkeypatch.setattr(blocked, "_BLOCK_SAMPLES", 1 << 40)  # one block, no workers
    y_ref = blocked_grid_product(x1, x2, lmax, lmax, lmax)
    r1, r2 = torch.autograd.grad((y_ref * w).sum(), (x1, x2))
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(g1, r1, atol=1e-12, rtol=0)
    torch.testing.assert_close(g2, r2, atol=1e-12, rtol=0)
    torch.testing.assert_close(y, _dense(x1, x2, lmax, lmax, lmax), atol=1e-12, rtol=0)


def _grid_shape(lmax):
    grid, _, _ = blocked._tables(lmax, lmax, lmax, torch.float64, torch.device("cpu"))
    return grid.n_alpha, grid.n_beta


def test_concurrent_callers_get_their_own_results(monkeypatch):
    """Calls from several user threads share the worker pool without mixing blocks."""
    monkeypatch.setattr(blocked, "_PARALLEL_MIN_SAMPLES", 0)
    monkeypatch.setattr(blocked, "_PARALLEL_MIN_BLOCKS", 2)
    monkeypatch.setattr(blocked, "_BLOCK_SAMPLES", 1 << 12)  # several blocks per call
    torch.manual_seed(3)
    inputs = [(torch.randn(600, 1, 16), torch.randn(600, 1, 16)) for _ in range(4)]
    expected = [blocked_grid_product(a, b, 3, 3, 3) for a, b in inputs]
    results = [None] * 4

    def call(i):
        results[i] = blocked_grid_product(*inputs[i], 3, 3, 3)

    n_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        torch.set_num_threads(n_threads)
    for got, want in zip(results, expected, strict=True):
        torch.testing.assert_close(got, want, atol=0, rtol=0)


def test_empty_rows_keep_the_graph():
    x1 = torch.randn(0, 2, 9, requires_grad=True)
    y = blocked_grid_product(x1, torch.randn(0, 1, 9), 2, 2, 3)
    assert y.shape == (0, 2, 16)
    y.sum().backward()
    assert x1.grad.shape == x1.shape


def test_only_large_eager_cpu_problems_take_the_blocked_path(monkeypatch):
    x = torch.zeros(1)
    assert use_blocked(x, 32768, 24)  # L = 8: 32,768 rows × 325 samples
    assert not use_blocked(x, 2048, 24)  # fits in the L3 cache unblocked
    assert not use_blocked(torch.zeros(1, device="meta"), 32768, 24)
    monkeypatch.setattr(blocked, "ENABLED", False)
    assert not use_blocked(x, 32768, 24)


@pytest.mark.parametrize(
    ("irreps1", "irreps2", "irreps_out"),
    [
        ("4x0e+4x1o+4x2e", "1x0e+1x1o+1x2e", "4x0e+4x1o+4x2e+4x3o"),  # broadcast edge harmonics
        ("8x0e+4x1o+2x2e", "8x0e+4x1o+2x2e", "8x0e+4x1o+2x2e"),  # MACE-style mixed multiplicities
        ("3x0e+3x0o+3x1o+3x1e", "1x0e+1x1o", "3x0e+3x0o+3x1o+3x1e"),  # both parity classes
    ],
)
def test_modules_agree_with_the_unblocked_path(monkeypatch, irreps1, irreps2, irreps_out):
    """GauntTensorProduct and gaunt_product give the same values and gradients blocked and unblocked."""
    from geomrep.equivariant.gaunt import GauntTensorProduct, gaunt_product

    torch.manual_seed(4)
    tp = GauntTensorProduct(irreps1, irreps2, irreps_out).double()
    with torch.no_grad():
        tp.weight.normal_()
    x1 = torch.randn(300, tp.irreps_in1.dim, dtype=torch.float64, requires_grad=True)
    x2 = torch.randn(300, tp.irreps_in2.dim, dtype=torch.float64, requires_grad=True)
    a = torch.randn(300, 16, dtype=torch.float64, requires_grad=True)
    b = torch.randn(300, 9, dtype=torch.float64, requires_grad=True)

    def run():
        y = tp(x1, x2)
        z = gaunt_product(a, b, 3, 2, 4, backend="grid")
        w = torch.randn_like(y, generator=torch.Generator().manual_seed(0))
        loss = (y * w).sum() + (z * z).sum()
        return [y, z, *torch.autograd.grad(loss, (x1, x2, a, b, tp.weight))]

    monkeypatch.setattr(blocked, "ENABLED", False)
    reference = run()
    monkeypatch.setattr(blocked, "ENABLED", True)
    monkeypatch.setattr(blocked, "_MIN_TOTAL_SAMPLES", 0)
    monkeypatch.setattr(blocked, "_BLOCK_SAMPLES", 1 << 11)  # several blocks
    calls = []
    original = blocked._BlockedProduct.apply
    monkeypatch.setattr(blocked._BlockedProduct, "apply", lambda *a: calls.append(1) or original(*a))
    got = run()
    assert calls  # the blocked path did run
    for g, r in zip(got, reference, strict=True):
        torch.testing.assert_close(g, r, atol=1e-12, rtol=1e-12)


def _force_workers(monkeypatch):
    monkeypatch.setattr(blocked, "_PARALLEL_MIN_SAMPLES", 0)
    monkeypatch.setattr(blocked, "_PARALLEL_MIN_BLOCKS", 2)
    monkeypatch.setattr(blocked, "_BLOCK_SAMPLES", 1 << 12)  # several blocks per call


def test_worker_threads_under_inference_mode(monkeypatch):
    """The workers write the output blocks of an inference-mode call (an inference tensor)."""
    _force_workers(monkeypatch)
    x1, x2 = torch.randn(600, 2, 16), torch.randn(600, 1, 16)
    n_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.inference_mode():
            y = blocked_grid_product(x1, x2, 3, 3, 3)
    finally:
        torch.set_num_threads(n_threads)
    torch.testing.assert_close(y, _dense(x1, x2, 3, 3, 3), atol=1e-5, rtol=1e-5)


def test_worker_pool_leaves_the_thread_count_of_new_threads(monkeypatch):
    """The workers run single-threaded, and their ``torch.set_num_threads(1)`` does not become the count
    that threads started later get."""
    _force_workers(monkeypatch)
    monkeypatch.setattr(blocked, "_POOL", {})  # a fresh pool, created by this call

    def count_in_new_thread():
        counts = []
        t = threading.Thread(target=lambda: counts.append(torch.get_num_threads()))
        t.start()
        t.join()
        return counts[0]

    in_workers = []
    synthesis = blocked._synthesis

    def spy(*args):
        if threading.current_thread().name.startswith("geomrep-gaunt"):
            in_workers.append(torch.get_num_threads())
        return synthesis(*args)

    monkeypatch.setattr(blocked, "_synthesis", spy)
    n_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        blocked_grid_product(torch.randn(600, 1, 16), torch.randn(600, 1, 16), 3, 3, 3)
        assert in_workers and set(in_workers) == {1}  # the workers ran, single-threaded
        assert count_in_new_thread() == 2
    finally:
        torch.set_num_threads(n_threads)
        for pool in blocked._POOL.values():
            pool.shutdown()


def _child_product(queue):
    torch.set_num_threads(2)
    x = torch.ones(300, 1, 16, dtype=torch.float64)
    queue.put(blocked_grid_product(x, x, 3, 3, 3).sum().item())


def test_forked_child_with_the_pool_lock_held_does_not_hang(monkeypatch):
    """A child forked while the parent holds the pool lock (another thread creating the pool) gets a
    fresh lock and pool, and computes the same result."""
    import multiprocessing

    monkeypatch.setattr(blocked, "_PARALLEL_MIN_SAMPLES", 0)
    monkeypatch.setattr(blocked, "_PARALLEL_MIN_BLOCKS", 2)
    monkeypatch.setattr(blocked, "_BLOCK_SAMPLES", 1 << 12)
    x = torch.ones(300, 1, 16, dtype=torch.float64)
    n_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        expected = blocked_grid_product(x, x, 3, 3, 3).sum().item()  # creates the parent's pool
    finally:
        torch.set_num_threads(n_threads)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    with blocked._POOL_LOCK:
        child = ctx.Process(target=_child_product, args=(queue,))
        child.start()
    child.join(timeout=60)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung and child.exitcode == 0
    assert queue.get(timeout=5) == pytest.approx(expected, rel=1e-12)
