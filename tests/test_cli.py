"""The `accelsim` command: output, JSON, trace files, and one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest

from accelsim import hardware
from accelsim.cli import main
from accelsim.trace import store


def test_run_prints_layers_and_totals(capsys):
    assert main(["run", "--network", "mlp", "--precision", "int8"]) == 0
    out = capsys.readouterr().out
    assert "network mlp on hardware seed" in out
    for name in ("fc1", "total", "energy", "inferences/J", "simulated/bound"):
        assert name in out


def test_run_json_and_trace_agree(tmp_path, capsys):
    trace_path = tmp_path / "mlp.npz"
    assert main(["run", "--network", "mlp", "--json", "--trace", str(trace_path), "--accuracy", "0.97"]) == 0
    summary = json.loads(capsys.readouterr().out)
    trace = store.load(trace_path)
    assert summary["total"]["cycles"] == trace.end_cycle
    assert summary["total"]["macs"] == trace.integral("mac.macs")
    assert summary["efficiency"]["accuracy"] == 0.97
    assert [layer["name"] for layer in summary["layers"]] == [m["name"] for m in trace.meta["layers"]]


def test_hardware_show_round_trips_through_hardware_file(tmp_path, capsys):
    path = tmp_path / "hw.toml"
    assert main(["hardware", "show", "seed", "--toml", "-o", str(path)]) == 0
    assert hardware.load_toml(path) == hardware.seed()
    text = path.read_text().replace("bandwidth_bytes_per_s = 200000000.0", "bandwidth_bytes_per_s = 2000000000.0")
    path.write_text(text)
    assert main(["run", "--network", "seed-gemms", "--hardware-file", str(path), "--json"]) == 0
    fast = json.loads(capsys.readouterr().out)["total"]["cycles"]
    assert main(["run", "--network", "seed-gemms", "--json"]) == 0
    slow = json.loads(capsys.readouterr().out)["total"]["cycles"]
    assert fast < slow


def test_networks_lists_builtins(capsys):
    assert main(["networks"]) == 0
    out = capsys.readouterr().out
    for name in ("seed-gemms", "resnet20", "resnet50", "mobilenet_v2", "bert-base-layer", "mlp", "270,906"):
        assert name in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--network", "nope"], "network: unknown 'nope'; allowed:"),
        (["run", "--network", "mlp", "--precision", "int3"], "invalid choice: 'int3'"),
        (["run", "--network", "mlp", "--hardware", "tpu"], "hardware: unknown preset 'tpu'"),
        (["run", "--network", "mlp", "--accuracy", "1.5"], "must be a fraction in [0, 1]"),
        (["run", "--network", "mlp", "--hardware-file", "/nonexistent.toml"], "hardware file /nonexistent.toml"),
        (["run", "--network", "mlp", "--trace", "/nonexistent/dir/t.npz"], "--trace: directory"),
        (["hardware", "show", "seed", "-o", "/nonexistent/dir/hw.toml"], "/nonexistent/dir/hw.toml: No such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "toml, message",
    [
        (
            "[dram]\nbandwidth_bytes_per_s = 0\n",
            "dram.bandwidth_bytes_per_s: must be a number > 1000 and <= 1e+15 (got 0)",
        ),
        ("[mac_array]\nlanes = -4\n", "mac_array.lanes: must be an integer in [1, 16,777,216] (got -4)"),
        ("[buffers]\nweight_bytes = 8\n", "buffers.weight_bytes: too small for layer"),
    ],
)
def test_invalid_hardware_file_from_the_shell(tmp_path, toml, message):
    path = tmp_path / "hw.toml"
    path.write_text(toml)
    result = subprocess.run(
        [sys.executable, "-m", "accelsim.cli", "run", "--network", "mlp", "--hardware-file", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_run_compresses_and_reports_the_pipeline(tmp_path, capsys):
    path = tmp_path / "student.npz"
    pipeline = "prune(0.5) -> int8 -> distill(0.5)"
    assert main(["run", "--network", "resnet20", "--compress", pipeline, "--trace", str(path)]) == 0
    out = capsys.readouterr().out
    steps = "prune(structured, ratio=0.5) -> quantize(weights=int8, activations=int8) -> distill(width=0.5)"
    assert f"compressed by {steps}" in out
    assert main(["run", "--network", "resnet20", "--compress", pipeline, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert " -> ".join(summary["provenance"]) == steps and summary["total"]["cycles"] == store.load(path).end_cycle


@pytest.mark.parametrize(
    "pipeline, message",
    [
        ("prune(2)", "prune: ratio must be in [0, 1) (got 2.0)"),
        ("shrink(0.5)", "compression step 'shrink': unknown"),
        ("distill(0.5, depth=0.5)", "distill: depth 0.5 needs residual blocks with identity shortcuts; mlp has none"),
    ],
)
def test_bad_compression_is_one_line(capsys, pipeline, message):
    assert main(["run", "--network", "mlp", "--compress", pipeline]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"accelsim: error: {message}") and err.count("\n") == 1
