"""A method and a layer kind added in one file each (tests/toy_transform.py, tests/toy_layer.py)
run end to end: pipeline text, compression, simulation, trace file, `accelsim trace info`."""

import importlib
import sys

import pytest
from toy_layer import Conv1d

from accelsim import hardware
from accelsim.cli import main
from accelsim.compress import Distill, LowRank, Quantize, StructuredPrune, pipeline
from accelsim.compress.accuracy import QUANTIZATION_RETENTION, ParametricAccuracy
from accelsim.compress.methods import registry
from accelsim.compress.spec import parse_pipeline
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace import store
from accelsim.workload.layers import Network
from accelsim.workload.provenance import steps_from_json


@pytest.fixture
def toy():
    """The toy method, registered for one test only (its name would otherwise stay in the
    registry's list of allowed steps)."""
    module = importlib.import_module("toy_transform")
    yield module
    registry.unregister("shave")
    sys.modules.pop("toy_transform", None)


def _toy_network():
    return Network(
        "toy-net",
        (
            Conv1d("c1", in_channels=4, out_channels=16, length=64, independent=True),
            Conv1d("c2", in_channels=16, out_channels=32, length=62),
            Conv1d("c3", in_channels=32, out_channels=8, length=60),
        ),
    )


def _widths(net):
    return [(layer.in_channels, layer.out_channels) for layer in net.layers]


def test_toy_method_and_layer_kind_end_to_end(toy, tmp_path, capsys):
    steps = parse_pipeline("shave(c=4) -> prune(0.5) -> int8")
    assert steps == (toy.Shave(4), StructuredPrune(0.5), Quantize("int8"))
    net = pipeline(*steps)(_toy_network())
    # c1: 16 - 4 = 12, halved to 6; c2: 32 - 4 = 28, halved to 14; c3 (the last) keeps 8.
    assert _widths(net) == [(4, 6), (6, 14), (14, 8)]
    assert net.macs == 62 * 12 * 6 + 60 * 18 * 14 + 58 * 42 * 8
    trace = simulate(net, hardware.seed())
    assert trace.integral("mac.macs") == net.macs
    assert [layer["kind"] for layer in trace.meta["layers"]] == ["conv1d"] * 3
    path = tmp_path / "toy.npz"
    store.save(trace, path)
    assert steps_from_json(store.load(path).meta["provenance"]) == net.provenance
    assert net.provenance[0].method == "shave" and net.provenance[0].params == (("channels", 4),)
    assert main(["trace", "info", str(path)]) == 0
    expected = (
        "provenance  shave(channels=4) -> prune(structured, ratio=0.5) -> quantize(weights=int8, activations=int8)"
    )
    assert expected in capsys.readouterr().out
    estimate = ParametricAccuracy(0.9).estimate(net, steps)
    assert estimate.value == pytest.approx(0.9 * 0.96 * (1 - 0.1 * 0.25) * QUANTIZATION_RETENTION[Precision.INT8])


def test_built_in_methods_handle_the_toy_layer_kind():
    net = _toy_network()
    assert _widths(Distill(0.5)(net)) == [(4, 8), (8, 16), (16, 8)]
    # The toy kind declares no low-rank factorization, so low rank leaves it as it is.
    assert LowRank(0.25)(net).layers == net.layers


def test_toy_method_errors_are_the_parser_s(toy):
    with pytest.raises(InputError, match=r"^compression step shave: channels must be a number \(got 'x'\)$"):
        parse_pipeline("shave(x)")
    with pytest.raises(InputError, match=r"^shave: channels must be an integer >= 1 \(got 0\)$"):
        parse_pipeline("shave(0)")
    with pytest.raises(
        InputError,
        match="unknown; allowed: quantize, prune, sparsify, nm, distill, lowrank, tucker, wq, w8a8, kv, lora, heads, mlp, speculative, fuse, shave, quant, fp32",
    ):
        parse_pipeline("shear(1)")


def test_registry_refuses_a_second_method_under_a_taken_name():
    class Impostor(StructuredPrune):
        pass

    with pytest.raises(ValueError, match="'prune' is already registered by StructuredPrune"):
        registry.register(Impostor)
    assert registry.lookup("prune") is StructuredPrune


def test_without_the_toy_its_name_is_unknown():
    with pytest.raises(InputError, match="compression step 'shave': unknown"):
        parse_pipeline("shave(1)")
