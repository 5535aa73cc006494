"""The pipeline grammar: keyword arguments, lists, nested calls, per-layer steps, one-line
errors for malformed text, and `canonical` round trips."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accelsim.compress.methods import Parameter, Quantize, StructuredPrune, Transform
from accelsim.compress.methods.nm import NMPrune
from accelsim.compress.methods.registry import register, unregister
from accelsim.compress.methods.sparsify import UnstructuredPrune
from accelsim.compress.spec import canonical, parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.workload.layers import Network
from accelsim.workload.networks import network


@dataclass(frozen=True)
class Draft(Transform):
    """A test method whose `model` takes a nested step or a word, and `names` a list."""

    model: object
    k: int = 4
    names: tuple[str, ...] = ()

    method = "draftstep"
    parameters = (
        Parameter("model", lambda v: v, structured=True),
        Parameter("k", int),
        Parameter("names", lambda v: v if isinstance(v, tuple) else (v,), structured=True),
    )

    def apply(self, net: Network) -> Network:
        return net

    def describe(self) -> str:
        return "draft"


@pytest.fixture
def draft_method():
    register(Draft)
    yield Draft
    unregister("draftstep")


@pytest.mark.parametrize(
    "text, steps",
    [
        ("quantize(w=int4, a=int8, layers=[conv1, conv2])", (Quantize("int4", "int8", ("conv1", "conv2")),)),
        ("quantize(int8, layers=conv1)", (Quantize("int8", None, ("conv1",)),)),
        ("quant(w=4, a=8, layers=[conv1])", (Quantize("int4", "int8", ("conv1",)),)),
        ("quant(16, 32)", (Quantize("fp16", "fp32"),)),
        ("prune(0.5, layers=[conv1])", (StructuredPrune(0.5, ("conv1",)),)),
        ("sparsify(0.5, csr, layers=[fc1])", (UnstructuredPrune(0.5, "csr", ("fc1",)),)),
        ("nm(2, 4, layers=[fc1, conv2]) -> int8", (NMPrune(2, 4, ("fc1", "conv2")), Quantize("int8"))),
    ],
)
def test_per_layer_texts(text, steps):
    assert parse_pipeline(text) == steps


def test_nested_calls_and_lists(draft_method):
    (step,) = parse_pipeline("draftstep(model=distill(0.25), k=3, names=[q, v])")
    assert step.model == parse_pipeline("distill(0.25)")[0]
    assert (step.k, step.names) == (3, ("q", "v"))
    (word,) = parse_pipeline("draftstep(gpt2)")
    assert word.model == "gpt2"
    (nested,) = parse_pipeline("draftstep(model=[int8, prune(0.5, layers=[c])])")
    assert nested.model == ("int8", StructuredPrune(0.5, ("c",)))  # a bare word stays a word


@pytest.mark.parametrize(
    "text, spelled",
    [
        ("baseline", "baseline"),
        ("", "baseline"),
        ("prune(0.5)->int8", "prune(0.5) -> int8"),
        ("Quantize( w = int4 ,a=int8,layers = [ conv1,conv2 ] )", "quantize(w=int4, a=int8, layers=[conv1, conv2])"),
        ("NM(1,4) -> FP16", "nm(1, 4) -> fp16"),
        ("draftstep(model=Distill(0.25), k=4, names=[q,v])", "draftstep(model=distill(0.25), k=4, names=[q, v])"),
    ],
)
def test_canonical_round_trips(draft_method, text, spelled):
    assert canonical(text) == spelled
    assert canonical(spelled) == spelled
    assert parse_pipeline(spelled) == parse_pipeline(text)


@pytest.mark.parametrize(
    "text, message",
    [
        ("prune(0.5", "compression pipeline 'prune(0.5': '(' at column 6 is never closed"),
        ("prune(0.5))", "compression pipeline 'prune(0.5))': unbalanced ')' at column 11"),
        (
            "quantize(int4, layers=[a)]",
            "compression pipeline 'quantize(int4, layers=[a)]': unbalanced ')' at column 25",
        ),
        (
            "quantize(int4, layers=[a,,b])",
            "compression step 'quantize(int4, layers=[a,,b])': empty list item at column 26",
        ),
        ("quantize(int4, layers=[a,])", "compression step 'quantize(int4, layers=[a,])': empty list item at column 26"),
        ("prune(0.5,)", "compression step 'prune(0.5,)': empty argument at column 11"),
        ("prune(0.5) x", "compression step 'prune(0.5) x': unexpected 'x' at column 12"),
        ("prune(ratio=)", "compression step 'prune(ratio=)': expected a value at column 13, found ')'"),
        ("prune(0.5, ratio=0.3)", "compression step prune: argument 'ratio' given twice"),
        ("prune([0.5])", "compression step prune: ratio takes one value (got [0.5])"),
        ("prune(distill(0.5))", "compression step prune: ratio takes one value (got distill(0.5))"),
        ("quantize(int4, layers=[])", "compression step quantize: layers: expected layer names, e.g. [conv1, fc]"),
        ("quantize(int8, layers=[c, c])", "compression step quantize: layers: a layer is named twice in c, c"),
        ("draftstep(model=nope(1))", "compression step 'nope': unknown; allowed: quantize"),
        ("prune(0.5) -> ", "compression step '': expected name or name(arguments)"),
        ("prune(0.5, [conv1])", "compression step prune: at most 1 arguments (ratio)"),
        (
            "quant(w=5)",
            "compression step quant: weights: unknown precision '5'; allowed: fp32, fp16, bf16, int8, int4, "
            "or bits 4, 8, 16, 32",
        ),
    ],
)
def test_malformed_texts_are_one_line_errors(draft_method, text, message):
    with pytest.raises(InputError) as err:
        parse_pipeline(text)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_per_layer_steps_touch_only_the_named_layers():
    net = network("digits-cnn")
    quantized = pipeline(*parse_pipeline("quantize(w=int4, a=int8, layers=[conv2])"))(net)
    assert [(layer.weight_precision.value, layer.activation_precision.value) for layer in quantized.layers] == [
        ("fp32", "fp32"),
        ("int4", "int8"),
        ("fp32", "fp32"),
        ("fp32", "fp32"),
    ]
    pruned = pipeline(*parse_pipeline("prune(0.5, layers=[conv1])"))(net)
    assert [layer.out_channels for layer in pruned.layers] == [
        net.layers[0].out_channels // 2,
        *(layer.out_channels for layer in net.layers[1:]),
    ]
    whole = pipeline(*parse_pipeline("prune(0.5)"))(net)
    assert pruned.macs > whole.macs
    assert pruned.provenance[-1].params == (("ratio", 0.5), ("layers", ("conv1",)))
    assert whole.provenance[-1].params == (("ratio", 0.5),)


@pytest.mark.parametrize(
    "text, message",
    [
        ("prune(0.5, layers=[conv9])", "prune: layers: 'conv9' is not a layer of digits-cnn"),
        ("prune(0.5, layers=[fc2])", "prune: layers: 'fc2' cannot lose output channels"),
        ("quantize(int8, layers=[nope])", "quantize: layers: 'nope' is not a layer of digits-cnn"),
    ],
)
def test_unknown_layer_names_are_one_line_errors(text, message):
    with pytest.raises(InputError) as err:
        pipeline(*parse_pipeline(text))(network("digits-cnn"))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_uniform_prune_keeps_its_repr():
    # The measured provider seeds fine-tuning from the repr: uniform steps must keep theirs.
    assert repr(StructuredPrune(0.5)) == "StructuredPrune(ratio=0.5)"
    assert repr(StructuredPrune(0.5, ("conv1",))) == "StructuredPrune(ratio=0.5, layers=('conv1',))"
