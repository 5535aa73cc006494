"""tinylm's numpy model: gradients checked against finite differences, shapes, parameter count."""

import numpy as np
import pytest

from accelsim.compress.tinylm import model as tm
from accelsim.workload.decoder import DECODERS

TINY = tm.TinyLMConfig(layers=2, width=8, heads=2, context=6, mlp_ratio=2)


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    params = tm.init_params(TINY, rng, dtype=np.float64)
    # Larger weights than the initialization, so every path carries a visible gradient.
    params = {k: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    batch = rng.integers(0, tm.VOCAB, (2, TINY.context + 1))
    _, grads = tm.loss_and_grads(params, batch, TINY.head_dim)
    checked = 0
    for name, value in params.items():
        flat = value.reshape(-1)
        for j in rng.choice(flat.size, size=min(6, flat.size), replace=False):
            if name == "wte":  # rows of bytes that occur, where the gradient is not zero
                j = int(batch[0, 0]) * TINY.width + j % TINY.width
            old = flat[j]
            flat[j] = old + 1e-5
            up = tm.cross_entropy(tm.forward(params, batch[:, :-1], TINY.head_dim)[0], batch[:, 1:])[0]
            flat[j] = old - 1e-5
            down = tm.cross_entropy(tm.forward(params, batch[:, :-1], TINY.head_dim)[0], batch[:, 1:])[0]
            flat[j] = old
            numeric = (up - down) / 2e-5
            assert grads[name].reshape(-1)[j] == pytest.approx(numeric, rel=1e-5, abs=1e-9), name
            checked += 1
    assert checked == sum(min(6, v.size) for v in params.values())


def test_causal_logits_do_not_see_the_future():
    params = tm.init_params(TINY, np.random.default_rng(1), dtype=np.float64)
    a = np.array([[1, 2, 3, 4, 5, 6]])
    b = np.array([[1, 2, 3, 9, 9, 9]])
    la, lb = (tm.forward(params, x, TINY.head_dim)[0] for x in (a, b))
    np.testing.assert_array_equal(la[:, :3], lb[:, :3])
    assert not np.allclose(la[:, 3], lb[:, 3])


def test_the_builtin_tinylm_is_the_numpy_model():
    config = tm.TinyLMConfig()
    params = tm.init_params(config, np.random.default_rng(0))
    assert DECODERS["tinylm"]() == config.decoder()
    assert DECODERS["tinylm"]().parameter_count == tm.parameter_count(params) == 842_496


def test_a_bad_shape_is_one_line():
    with pytest.raises(Exception, match="tinylm: heads must divide width"):
        tm.TinyLMConfig(width=10, heads=4)
