"""Study points, tables, figures and the compression-study scenario (seed 000)."""

import csv
import dataclasses
from pathlib import Path

import compression_study
import pytest
from PIL import Image
from seed000_model import seed_model, seed_table

from accelsim import hardware
from accelsim.compress.accuracy import ParametricAccuracy, TableAccuracy
from accelsim.errors import InputError
from accelsim.metrics import summarize
from accelsim.plots import pareto_front
from accelsim.sim.engine import simulate
from accelsim.study import Configuration, best, evaluate
from accelsim.study import table as tables
from accelsim.workload.networks import network

ROOT = Path(__file__).resolve().parents[1]


def test_a_point_is_its_simulation_and_its_accuracy():
    config = Configuration.parse("KD 50% + INT4", "distill(0.5) -> int4")
    point = evaluate(network("resnet20"), config, hardware.seed(), ParametricAccuracy(0.9125), keep_trace=True)
    summary = summarize(simulate(config.apply(network("resnet20")), hardware.seed()))
    r = point.result
    assert (r.cycles, r.macs, r.energy_j) == (summary.total.cycles, summary.total.macs, summary.total.energy.total_j)
    assert r.dram_bytes == summary.total.dram_read_bytes + summary.total.dram_write_bytes
    assert r.pipeline == "distill(width=0.5) -> quantize(weights=int4, activations=int4)"
    assert r.accuracy == pytest.approx(0.9125 * 0.96 * (1 - 0.12 * 0.5**1.5)) and r.accuracy_kind == "modelled"
    assert r.accuracy_per_j == pytest.approx(r.accuracy / r.energy_j)
    assert r.mac_precision == "int4" and r.weight_bytes == point.network.weight_bytes
    assert sum(r.state_cycles.values()) == r.cycles and point.trace is not None
    assert r.energy_j == pytest.approx(
        r.mac_energy_j + r.sram_energy_j + r.dram_energy_j + r.static_energy_j + r.vector_energy_j
    )
    assert r.vector_energy_j > 0  # ResNet-20's ReLUs, residual adds and pool


def test_a_point_without_a_provider_has_no_accuracy():
    r = evaluate(network("mlp"), Configuration("baseline"), hardware.seed()).result
    assert r.accuracy is None and r.accuracy_per_j is None and r.accuracy_kind == ""
    with pytest.raises(ValueError, match="no result has an accuracy"):
        best([r])


def _result(name, energy, accuracy, net="n", hw="h", cycles=100):
    base = evaluate(network("mlp"), Configuration("x"), hardware.seed()).result
    return dataclasses.replace(
        base,
        configuration=name,
        energy_j=energy,
        accuracy=accuracy,
        accuracy_kind="modelled",
        network=net,
        hardware=hw,
        cycles=cycles,
    )


def test_ranks_are_per_network_and_hardware_by_accuracy_per_joule():
    results = [
        _result("a", 1.0, 0.9),
        _result("b", 0.5, 0.8),  # 1.6 per J: first
        _result("c", 2.0, 0.9, hw="other"),
        _result("d", 1.0, 0.9, cycles=50),  # ties with a on accuracy/J, faster
    ]
    assert tables.ranks(results) == [3, 1, 1, 2]
    assert best(results).configuration == "b"


def test_pareto_front_keeps_only_undominated_points():
    results = [_result("a", 1.0, 0.9), _result("b", 2.0, 0.95), _result("c", 3.0, 0.93), _result("d", 0.5, 0.5)]
    assert [r.configuration for r in pareto_front(results)] == ["d", "a", "b"]


def test_tables(tmp_path):
    results = [_result("a", 1e-4, 0.9), _result("b", 2e-4, 0.95, net="m")]
    rows = list(csv.DictReader(tables.write_csv(results, tmp_path / "r.csv").open()))
    assert [row["configuration"] for row in rows] == ["a", "b"] and rows[0]["rank"] == "1"
    assert float(rows[0]["accuracy_per_j"]) == pytest.approx(9000) and "cycles_BUSY" in rows[0]
    text = tables.markdown(results)
    assert "### n on h" in text and "### m on h" in text and "| 1 | a |" in text and "90.00% (modelled)" in text


def test_seed_model_reproduces_the_published_score():
    rows = {r.name: r for r in seed_table()}
    assert round(rows["KD 50% + INT4"].score, 4) == 13.4875
    assert (rows["KD 50% + INT4"].cycles, rows["KD 50% + INT4"].macs, rows["KD 50% + INT4"].bytes) == (
        177_510,
        275_095,
        35_352,
    )
    assert [round(rows[n].score, 4) for n in ("Default FP16", "Quant INT8", "Quant INT4", "Prune 50% FP16")] == [
        0.4307,
        1.3861,
        3.977,
        3.1255,
    ]
    # Its pruning row inherits the distillation scale of the run before; alone it scores 0.5428.
    assert round(seed_model("Prune 50% FP16", "FP16", 0.5, None).score, 4) == 0.5428


def test_scenario_on_a_reduced_grid_writes_every_output_deterministically(tmp_path):
    args = ["--quick"]  # seed-gemms on seed and seed-fixed, seven configurations
    assert compression_study.main([*args, "--out", str(tmp_path / "one")]) == 0
    assert compression_study.main([*args, "--out", str(tmp_path / "two")]) == 0
    names = ["results.csv", "results.md", "summary.md"]
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    rows = list(csv.DictReader((tmp_path / "one" / "results.csv").open()))
    assert len(rows) == 14 and {row["accuracy_kind"] for row in rows} == {"modelled"}
    for figure in ("efficiency", "energy_vs_accuracy", "roofline", "energy_breakdown", "utilization", "stalls"):
        with Image.open(tmp_path / "one" / f"{figure}.png") as image:
            assert image.size[0] > 800 and image.size[1] > 400, figure
    summary = (tmp_path / "one" / "summary.md").read_text()
    assert (
        "**seed-gemms on seed**: KD 50% + INT4" in summary
        and "| KD 50% + INT4 | 177,510 | 35,352 | 0.500 | 13.4875 | 1 (1) |" in summary
    )


def test_scenario_uses_a_measured_accuracy_table(tmp_path):
    path = tmp_path / "acc.csv"
    path.write_text("configuration,accuracy\nFP32 baseline,91.5\nINT8,91.2\n")
    out = tmp_path / "out"
    args = ["--networks", "mlp", "--hardware", "seed", "--configs", "FP32 baseline,INT8", "--accuracy-table", str(path)]
    assert compression_study.main([*args, "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {row["accuracy_kind"] for row in rows} == {"table"} and float(rows[1]["accuracy"]) == pytest.approx(0.912)
    assert TableAccuracy.from_csv(path).accuracies == {"FP32 baseline": 0.915, "INT8": 0.912}


def test_scenario_bad_input_is_one_line(tmp_path, capsys):
    assert compression_study.main(["--configs", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("compression_study: error: --configs: unknown 'nope'") and err.count("\n") == 1
    with pytest.raises(InputError, match="network: unknown"):
        compression_study.run(["nope"], ["seed"], compression_study.configurations(["INT8"]), progress=False)


def test_readme_shows_what_the_full_study_produces(tmp_path):
    """The README's ranking and seed comparison are this run's output, not typed by hand."""
    out = tmp_path / "study"
    assert compression_study.main(["--out", str(out)]) == 0
    assert tables.block(ROOT / "README.md", compression_study.README_BLOCK) == (out / "summary.md").read_text().strip()
