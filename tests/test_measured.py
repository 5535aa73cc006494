"""Measured accuracy: the digits models trained with numpy and compressed for real."""

import subprocess
import sys

import numpy as np
import pytest

from accelsim.compress import Distill, LowRank, NMPrune, Quantize, StructuredPrune, UnstructuredPrune, pipeline
from accelsim.compress import numpy_model as nm
from accelsim.compress.measured import MeasuredAccuracy, MeasurementSettings, adapt
from accelsim.errors import InputError
from accelsim.workload.layers import Conv2d, Linear, Network
from accelsim.workload.networks import network
from accelsim.workload.vector import without_vector_layers

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    return MeasuredAccuracy("digits-cnn", cache_dir=tmp_path_factory.mktemp("cache"))


def _measure(provider, *steps):
    net = pipeline(*steps)(network(provider.baseline)) if steps else network(provider.baseline)
    return provider.estimate(net, steps).value


def test_the_baseline_learns_the_digits(cnn):
    estimate = cnn.estimate(network("digits-cnn"))
    assert estimate.kind == "measured" and "360 test images" in estimate.detail
    assert estimate.value >= 0.95  # documented: about 98%


def test_int8_changes_little_and_int4_more(cnn):
    base = cnn.trained()
    logits = nm.predict(base, cnn.data.test_x)
    errors = {}
    for precision in ("int8", "int4"):
        model = cnn.model_for((Quantize(precision),))
        errors[precision] = float(np.mean((nm.predict(model, cnn.data.test_x) - logits) ** 2))
    # Documented bounds: INT8 within one point of FP32, INT4 within five; INT4 moves the outputs
    # far more than INT8 (on 360 images one image is 0.28 points, so accuracy alone is coarse).
    fp32 = _measure(cnn)
    assert abs(_measure(cnn, Quantize("int8")) - fp32) <= 0.01
    assert abs(_measure(cnn, Quantize("int4")) - fp32) <= 0.05
    assert errors["int4"] > 20 * errors["int8"] > 0


def test_the_measured_model_is_the_simulated_network(cnn):
    steps = (StructuredPrune(0.5), UnstructuredPrune(0.5, "bitmask"), Quantize("int8"))
    model = cnn.model_for(steps)
    simulated = pipeline(*steps)(network("digits-cnn"))
    assert model.network == simulated
    for layer, p in zip(simulated.layers, model.params):
        expected = (layer.out_channels, layer.in_channels, 3, 3) if isinstance(layer, Conv2d) else None
        if expected:
            assert p.weight.shape == expected
        else:
            assert p.weight.shape == (layer.in_features, layer.out_features)
        assert int(np.count_nonzero(p.weight)) <= layer.nonzero_weights == int(p.mask.sum())
    with pytest.raises(InputError, match="is not what these steps produce"):
        cnn.estimate(network("digits-cnn"), steps)


def test_nm_masks_keep_n_of_every_m_along_the_reduction_axis(cnn):
    model = cnn.model_for((NMPrune(2, 4),))
    conv2 = model.params[1].mask.reshape(32, -1)  # [N, K], K ordered (C, kh, kw)
    assert np.all(conv2.reshape(32, -1, 4).sum(axis=2) == 2)
    fc1 = model.params[2].mask  # [K, N]
    assert np.all(fc1.reshape(128, 4, 64).sum(axis=1) == 2)


def test_structured_pruning_keeps_the_strongest_channels():
    net = Network(
        "two",
        (Linear("a", in_features=3, out_features=4, independent=True), Linear("b", in_features=4, out_features=2)),
    )
    w_a = np.array([[1, -5, 0.1, 2], [1, 5, 0.1, -2], [1, 5, 0.1, 2]], np.float32)  # column L1: 3, 15, 0.3, 6
    w_b = np.arange(8, dtype=np.float32).reshape(4, 2)
    model = nm.Model(net, [nm.Params(w_a, np.arange(4, dtype=np.float32)), nm.Params(w_b, None)])
    pruned = adapt(model, StructuredPrune(0.5)(net))
    assert np.array_equal(pruned.params[0].weight, w_a[:, [1, 3]]) and np.array_equal(pruned.params[0].bias, [1, 3])
    assert np.array_equal(pruned.params[1].weight, w_b[[1, 3]])


def test_low_rank_factors_are_the_truncated_svd():
    rng = np.random.default_rng(0)
    conv = Conv2d("c", in_channels=4, out_channels=6, in_height=5, in_width=5, padding=1, bias=True, independent=True)
    net = Network("one", (conv, Linear("f", in_features=6 * 25, out_features=3)))
    model = nm.init_model(net, rng)
    factored = LowRank(0.75)(net)  # conv: K = 36, N = 6, rank round(0.75 x 6) = 4 saves weights
    assert [layer.name for layer in factored.layers] == ["c.u", "c.v", "f.u", "f.v"]
    new = adapt(model, factored)
    u, v = new.params[0].weight.reshape(4, -1), new.params[1].weight.reshape(6, 4)
    w = model.params[0].weight.reshape(6, -1)
    singular = np.linalg.svd(w, compute_uv=False)
    # The rank-4 product is the best rank-4 approximation: its error is the dropped singular values.
    assert np.linalg.norm(v @ u - w) == pytest.approx(np.sqrt(np.sum(singular[4:] ** 2)), rel=1e-4)
    assert np.array_equal(new.params[1].bias, model.params[0].bias) and new.params[0].bias is None
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    assert nm.forward(new, x).shape == (2, 3)


def test_a_distilled_student_works(cnn):
    accuracy = _measure(cnn, Distill(0.25))
    assert accuracy > 0.85  # chance is 0.10


def test_measurements_are_deterministic(tmp_path):
    settings = MeasurementSettings(train_epochs=3, finetune_epochs=1)
    one = MeasuredAccuracy("digits-mlp", settings, cache_dir=tmp_path / "a")
    two = MeasuredAccuracy("digits-mlp", settings, cache_dir=tmp_path / "b")
    steps = (StructuredPrune(0.5), Quantize("int8"))
    assert _measure(one, *steps) == _measure(two, *steps)
    again = MeasuredAccuracy("digits-mlp", settings, cache_dir=tmp_path / "a")  # weights from the cache
    assert np.array_equal(again.trained().params[0].weight, one.trained().params[0].weight)


def test_unsupported_networks_and_settings_are_one_line_errors():
    with pytest.raises(InputError, match=r"measured accuracy: layer attention.query: tokens must be 1 \(got 128\)"):
        nm.check_supported(network("bert-base-layer"))
    with pytest.raises(InputError, match="measured accuracy: layer gemm0: a gemm is not supported; supported: conv2d"):
        nm.check_supported(network("seed-gemms"))
    with pytest.raises(InputError, match="measured accuracy: layer conv1.relu: a activation is not supported"):
        nm.check_supported(network("resnet20"))  # its ReLUs are layers of the vector unit
    with pytest.raises(InputError, match="only chains of layers"):
        nm.check_supported(without_vector_layers(network("resnet20")))
    with pytest.raises(InputError, match="student_init must be teacher or scratch"):
        MeasurementSettings(student_init="random")


def test_the_core_never_imports_scikit_learn_and_a_missing_extra_is_explained():
    code = (
        "import sys; import accelsim.cli, accelsim.study, accelsim.compress.measured; "
        "assert 'sklearn' not in sys.modules; "
        "sys.modules['sklearn'] = None; sys.modules['sklearn.datasets'] = None\n"
        "from accelsim.compress.measured import load_digits\n"
        "try:\n    load_digits()\nexcept Exception as e:\n    print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'accelsim[accuracy]'" in out
