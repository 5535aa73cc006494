"""Typed provenance: one record per step, stored as JSON in the trace, read back equal; traces
written with text provenance still load and print the same."""

import json

import pytest

from accelsim import hardware
from accelsim.cli import main
from accelsim.compress import LowRank, NMPrune, Quantize, StructuredPrune, UnstructuredPrune, pipeline
from accelsim.metrics import summarize
from accelsim.metrics.report import format_summary
from accelsim.sim.engine import simulate
from accelsim.trace import store
from accelsim.workload.networks import network
from accelsim.workload.provenance import ProvenanceStep, provenance_text, steps_from_json

TEXT = "prune(structured, ratio=0.5) -> quantize(weights=int4, activations=int8 on fc2)"


def _student():
    return pipeline(StructuredPrune(0.5), Quantize("INT4", "int8", layers=("fc2",)))(network("mlp"))


def test_each_step_records_its_method_parameters_and_text():
    steps = _student().provenance
    assert steps == (
        ProvenanceStep("prune", (("ratio", 0.5),), "prune(structured, ratio=0.5)"),
        ProvenanceStep(
            "quantize",
            (("weights", "int4"), ("activations", "int8"), ("layers", ("fc2",))),
            "quantize(weights=int4, activations=int8 on fc2)",
        ),
    )
    assert provenance_text(steps) == TEXT
    assert steps[1].param("layers") == ("fc2",)


def test_steps_survive_json_and_the_trace_file(tmp_path):
    net = pipeline(NMPrune(1, 4), UnstructuredPrune(0.5, "csr", layers=("fc1",)), LowRank(0.5))(network("mlp"))
    for step in net.provenance:
        assert ProvenanceStep.from_json(json.loads(json.dumps(step.as_json()))) == step
    path = tmp_path / "t.npz"
    store.save(simulate(net, hardware.seed()), path)
    loaded = store.load(path).meta["provenance"]
    assert loaded == [step.as_json() for step in net.provenance]
    assert steps_from_json(loaded) == net.provenance


def test_trace_info_and_summary_print_the_steps_text(tmp_path, capsys):
    path = tmp_path / "t.npz"
    store.save(simulate(_student(), hardware.seed()), path)
    assert main(["trace", "info", str(path)]) == 0
    assert "provenance  " + TEXT in capsys.readouterr().out
    summary = summarize(store.load(path))
    assert summary.provenance == tuple(TEXT.split(" -> "))
    assert "compressed by " + TEXT in format_summary(summary)


def test_traces_with_text_provenance_still_load(tmp_path, capsys):
    trace = simulate(_student(), hardware.seed())
    trace.meta["provenance"] = TEXT.split(" -> ")  # as traces were written before typed steps
    path = tmp_path / "old.npz"
    store.save(trace, path)
    steps = steps_from_json(store.load(path).meta["provenance"])
    assert steps == (
        ProvenanceStep("", (), "prune(structured, ratio=0.5)"),
        ProvenanceStep("", (), TEXT.split(" -> ")[1]),
    )
    assert main(["trace", "info", str(path)]) == 0
    assert "provenance  " + TEXT in capsys.readouterr().out
    assert summarize(store.load(path)).provenance == tuple(TEXT.split(" -> "))


def test_parameters_must_be_plain_values():
    assert ProvenanceStep("x", {"a": [1, [2, 3]]}).params == (("a", (1, (2, 3))),)
    assert ProvenanceStep("x").text == str(ProvenanceStep("x")) == "x"
    with pytest.raises(TypeError, match="provenance: parameter a: object is not a plain value"):
        ProvenanceStep("x", (("a", object()),))
