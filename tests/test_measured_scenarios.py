"""The bit-width search and the scenarios of seeds 001-003 on small grids."""

import csv

import ai_aware_mixed_precision
import ptq_lab
import pytest
import stage_order

from accelsim import hardware
from accelsim.compress.accuracy import ParametricAccuracy
from accelsim.compress.measured import MeasuredAccuracy
from accelsim.intensity import network_intensity
from accelsim.precision import Precision
from accelsim.study.evaluate import simulated_summary
from accelsim.study.search import BitwidthSearch
from accelsim.workload.networks import network

pytest.importorskip("sklearn")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ACCELSIM_CACHE", str(tmp_path_factory.getbasetemp() / "accelsim-cache"))


def _intensity(net):
    return network_intensity(net)[1].flops_per_byte


def test_the_search_meets_its_floor_and_improves_each_round():
    provider = ParametricAccuracy(0.9125)
    search = BitwidthSearch(network("resnet20"), lambda n, steps: provider.estimate(n, steps).value)
    floor = 0.9125 - 0.01
    result = search.greedy("intensity", _intensity, floor)
    assert result.chosen.accuracy >= floor
    objectives = [p.objective for p in result.trajectory]
    assert objectives == sorted(objectives) and len(set(objectives)) == len(objectives)
    # Weights only: activations stay FP32, the low layers' weights are INT4, the rest INT8.
    low = set(result.chosen.low_layers("int4"))
    for layer in result.chosen.network.layers:
        assert layer.activation_precision is Precision.FP32
        assert layer.weight_precision is (Precision.INT4 if layer.name in low else Precision.INT8)
    # Greedy stops only when no single further move both meets the floor and improves.
    for name, precision in result.chosen.policy:
        if precision == "int8":
            policy = tuple((n, "int4" if n == name else p) for n, p in result.chosen.policy)
            point = search.point(policy, _intensity)
            assert point.accuracy < floor or point.objective <= result.chosen.objective
    # As seed 001 found: the heavy stage-3 layers go to 4 bits, the light stage-1 layers stay at 8.
    assert {f"layer3.{b}.conv{c}" for b in range(3) for c in (1, 2)} <= low
    assert not any(name.startswith("layer1.") for name in low)


def test_a_floor_nothing_meets_keeps_the_start():
    provider = ParametricAccuracy(0.9125)
    search = BitwidthSearch(network("mlp"), lambda n, steps: provider.estimate(n, steps).value, weights_only=False)
    result = search.greedy("energy", lambda n: 1 / simulated_summary(n, hardware.seed()).total.energy.total_j, 0.99)
    assert result.trajectory == (result.chosen,) and result.chosen.low_layers("int4") == ()


def test_measured_search_on_the_digits_cnn_meets_its_floor():
    provider = MeasuredAccuracy("digits-cnn")
    search = BitwidthSearch(network("digits-cnn"), lambda n, steps: provider.estimate(n, steps).value)
    floor = provider.estimate(network("digits-cnn")).value - 0.01
    result = search.greedy("intensity", _intensity, floor)
    assert result.chosen.accuracy >= floor and result.chosen.objective > _intensity(network("digits-cnn"))


def test_ai_aware_scenario_writes_policies_and_figures(tmp_path):
    out = tmp_path / "ai"
    assert ai_aware_mixed_precision.main(["--quick", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "policies.csv").open()))
    names = {row["policy_name"] for row in rows}
    assert {"FP32", "best intensity", "best inferences/J", "best latency", "uniform INT8", "uniform INT4"} <= names
    assert {row["accuracy_kind"] for row in rows} == {"measured"}
    assert (out / "pareto_digits-cnn_seed.png").stat().st_size > 10_000 and (out / "bitwidths.png").exists()
    assert "digits-cnn on seed, weights" in (out / "summary.md").read_text()


def test_stage_order_scenario_on_one_seed(tmp_path):
    out = tmp_path / "order"
    assert stage_order.main(["--quick", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "orders.csv").open()))
    assert len(rows) == 2 * 10  # two settings x (baseline, six orders, three single stages)
    six = [row for row in rows if "->" in row["pipeline"] and row["setting"].startswith("seed 002")]
    assert len({(row["weight_bytes"], row["cycles_seed"]) for row in six}) == 1  # cost does not depend on order
    assert "prune -> quantize -> distill" in (out / "summary.md").read_text()
    assert stage_order.main(["--seeds", "x", "--out", str(out)]) == 2


def test_ptq_lab_scenario(tmp_path):
    out = tmp_path / "lab"
    assert ptq_lab.main(["--quick", "--out", str(out)]) == 0
    rows = {row["case"]: row for row in csv.DictReader((out / "lab.csv").open())}
    base, static = rows["FP32 baseline"], rows["static INT8, 180 calibration images"]
    assert float(static["size_reduction_percent"]) == pytest.approx(75.0, abs=0.01)
    assert float(static["speedup"]) > 3 and abs(float(static["accuracy_change_points"])) <= 1.0
    assert float(base["output_error"]) == 0.0
    # More calibration images calibrate INT8 better (the output error falls).
    errors = [
        float(rows[f"static INT8, {n} calibration images"]["output_error"]) for n in ptq_lab.QUICK_CALIBRATION_SIZES
    ]
    assert errors[-1] < errors[0]
