"""Accuracy providers: labelled by how the number was obtained; bad tables are one-line errors."""

import pytest

from accelsim.compress import Distill, Quantize, StructuredPrune, pipeline
from accelsim.compress.accuracy import (
    QUANTIZATION_RETENTION,
    AccuracyEstimate,
    CallableAccuracy,
    ParametricAccuracy,
    TableAccuracy,
)
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.networks import network


def test_parametric_is_modelled_and_multiplies_retentions():
    steps = (StructuredPrune(0.5), Quantize("int8"), Distill(0.5))
    student = pipeline(*steps)(network("resnet20"))
    estimate = ParametricAccuracy(baseline=0.92).estimate(student, steps)
    expected = 0.92 * (1 - 0.1 * 0.25) * QUANTIZATION_RETENTION[Precision.INT8] * (1 - 0.12 * 0.5**1.5)
    assert estimate.value == pytest.approx(expected)
    assert estimate.kind == "modelled" and "modelled" in estimate.label()


def test_parametric_quantization_uses_the_narrower_operand():
    model = ParametricAccuracy(baseline=1.0)
    assert model.retention(Quantize("int8", "int4")) == QUANTIZATION_RETENTION[Precision.INT4]
    assert model.retention(Quantize("fp16")) == 1.0
    # More compression never raises the modelled accuracy.
    assert model.retention(StructuredPrune(0.75)) < model.retention(StructuredPrune(0.25)) < 1


def test_table_from_csv(tmp_path):
    path = tmp_path / "acc.csv"
    path.write_text("configuration,accuracy\nbaseline,91.9\nint8,0.915\n")
    table = TableAccuracy.from_csv(path)
    assert table.estimate(network("resnet20"), configuration="baseline").value == pytest.approx(0.919)
    estimate = table.estimate(network("resnet20"), configuration="int8")
    assert (estimate.value, estimate.kind) == (0.915, "table")
    with pytest.raises(InputError, match="no row for configuration 'int4'; rows: baseline, int8"):
        table.estimate(network("resnet20"), configuration="int4")
    path.write_text("configuration,accuracy\nbaseline,high\n")
    with pytest.raises(InputError, match="line 2: needs columns configuration,accuracy"):
        TableAccuracy.from_csv(path)


def test_callable_and_range_check():
    provider = CallableAccuracy(lambda net, steps: 0.5 if steps else 0.9, detail="my eval")
    assert provider.estimate(network("mlp")).value == 0.9
    assert provider.estimate(network("mlp"), (Quantize("int4"),)).label() == "0.5000 (measured, my eval)"
    with pytest.raises(InputError, match=r"accuracy: must be a fraction in \[0, 1\]"):
        AccuracyEstimate(1.5, "measured")
