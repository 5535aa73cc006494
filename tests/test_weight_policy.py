"""Seed 001's per-layer policies reproduce its arithmetic intensities (scenarios/seed001/SOURCE.md)."""

import json
from pathlib import Path

import pytest

from accelsim.cli import main
from accelsim.compress.policy import WeightPolicy, load_weight_policy
from accelsim.errors import InputError
from accelsim.intensity import network_intensity
from accelsim.precision import Precision
from accelsim.workload.networks import network

SEED = Path(__file__).resolve().parents[1] / "scenarios" / "seed001"
BASELINES = json.loads((SEED / "baseline_comparison.json").read_text())
GREEDY = json.loads((SEED / "greedy_search_results.json").read_text())


def _network_row(capsys, *args):
    assert main(["ai", "--network", "resnet20", *args]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert row[0] == "network"
    return row


@pytest.mark.parametrize("name", ["int8", "int4"])
def test_uniform_baselines_equal_the_seed_to_the_byte(name, capsys):
    seed = BASELINES[name]
    net = load_weight_policy(SEED / f"uniform_{name}.json")(network("resnet20"))
    _, whole = network_intensity(net)
    assert (whole.flops, whole.bytes) == (seed["flops"], seed["bytes"])
    assert whole.flops_per_byte == seed["ai"]
    printed = _network_row(capsys, "--weight-policy", str(SEED / f"uniform_{name}.json"))[5]
    assert printed == f"{seed['ai']:.2f}" == {"int8": "42.30", "int4": "45.46"}[name]


def test_the_greedy_final_config_prints_the_seeds_figure(capsys):
    row = _network_row(capsys, "--weight-policy", str(SEED / "greedy_search_results.json"))
    assert row[5] == f"{GREEDY['final_ai']:.2f}" == "45.25"
    # The one difference: the seed's greedy script keeps the classifier's 10 biases at FP32.
    _, whole = network_intensity(load_weight_policy(SEED / "greedy_search_results.json")(network("resnet20")))
    assert round(whole.flops / GREEDY["final_ai"]) - whole.bytes == 10 * (4 - 1)


def test_policy_sets_weights_only_unless_asked_for_both():
    net = network("resnet20")
    weights_only = WeightPolicy.from_mapping({"conv1": 4, "linear": "int8"})(net)
    first, last = weights_only.layers[0], weights_only.layers[-1]
    assert (first.weight_precision, first.activation_precision) == (Precision.INT4, Precision.FP32)
    assert (last.name, last.weight_precision) == ("fc", Precision.INT8)
    assert weights_only.layers[1:-1] == net.layers[1:-1]
    both = WeightPolicy.from_mapping({"conv1": 4}, activations=True)(net)
    assert both.layers[0].activation_precision == Precision.INT4


def test_bad_policies_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(InputError, match="'conv9' is not a layer of resnet20; valid: conv1, "):
        WeightPolicy.from_mapping({"conv9": 8})(network("resnet20"))
    for text, message in [("{", "is not JSON"), ("[8]", "expected a JSON object"), ('{"conv1": 7}', "32, 16, 8, 4")]:
        path = tmp_path / "p.json"
        path.write_text(text)
        assert main(["ai", "--network", "resnet20", "--weight-policy", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
