"""Trace files through the command line: info, show, stats (equal to run's summary), errors."""

import json
import zipfile

import numpy as np
import pytest

from accelsim import hardware
from accelsim.cli import main
from accelsim.sim.engine import simulate
from accelsim.trace import store
from accelsim.workload.networks import network


def _run(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stats_from_the_file_equal_the_run_summary(tmp_path, capsys):
    path = tmp_path / "r20.npz"
    code, run_out, _ = _run(capsys, ["run", "--network", "resnet20", "--precision", "int8", "--trace", str(path)])
    assert code == 0
    code, stats_out, _ = _run(capsys, ["trace", "stats", str(path)])
    assert code == 0
    assert run_out.rstrip("\n").rsplit("\n", 1)[0] + "\n" == stats_out  # run adds one line naming the file
    _, run_json, _ = _run(capsys, ["run", "--network", "resnet20", "--precision", "int8", "--json"])
    _, stats_json, _ = _run(capsys, ["trace", "stats", str(path), "--json"])
    assert json.loads(run_json) == json.loads(stats_json)


def test_info_show_and_tile_stats(tmp_path, capsys):
    path = tmp_path / "mlp.npz"
    assert main(["run", "--network", "mlp", "--trace", str(path)]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, ["trace", "info", str(path)])
    assert code == 0 and "network     mlp" in out and "mac.state" in out and "bytes per interval" in out
    code, out, _ = _run(capsys, ["trace", "show", str(path), "--cycles", "100:110", "--signals", "mac.state,dram.bus"])
    lines = out.splitlines()
    assert code == 0 and len(lines) == 11 and lines[1].split()[0] == "100"
    trace = store.load(path)
    expected = [trace.specs["dram.bus"].states[v] for v in trace.expand("dram.bus", 100, 110)]
    assert [line.split()[2] for line in lines[1:]] == expected
    code, out, _ = _run(capsys, ["trace", "stats", str(path), "--by", "tile", "--json"])
    tiles = json.loads(out)
    assert sum(t["macs"] for t in tiles) == network("mlp").macs
    assert sum(t["cycles"] for t in tiles) == trace.end_cycle


@pytest.mark.parametrize(
    "argv, message",
    [
        (["trace", "show", "{f}", "--cycles", "5:2"], "--cycles: must satisfy 0 <= A < B <="),
        (["trace", "show", "{f}", "--cycles", "abc"], "--cycles: must be A:B with integers"),
        (["trace", "show", "{f}", "--signals", "mac.nope"], "--signals: unknown 'mac.nope'; allowed:"),
        (["trace", "info", "{missing}"], "no such file"),
    ],
)
def test_trace_command_errors(tmp_path, capsys, argv, message):
    path = tmp_path / "mlp.npz"
    store.save(simulate(network("mlp"), hardware.seed()), path)
    argv = [a.format(f=path, missing=tmp_path / "missing.npz") for a in argv]
    code, _, err = _run(capsys, argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_lazy_load_equals_eager_and_files_are_deterministic(tmp_path):
    trace = simulate(network("resnet20"), hardware.seed())
    one, two = tmp_path / "a.npz", tmp_path / "b.npz"
    store.save(trace, one)
    store.save(simulate(network("resnet20"), hardware.seed()), two)
    assert one.read_bytes() == two.read_bytes()
    lazy = store.load(one, lazy=True)
    assert isinstance(lazy.starts["mac.state"], np.memmap)
    for name in trace.specs:
        assert np.array_equal(lazy.expand(name, 1000, 90000), trace.expand(name, 1000, 90000))
    # Plain numpy reads the file too.
    with np.load(one, allow_pickle=False) as data:
        assert json.loads(str(data["meta"]))["schema"] == "accelsim-trace"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.npz"
    store.save(simulate(network("mlp"), hardware.seed()), path)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    meta = np.load(path, allow_pickle=False)["meta"]
    newer = json.loads(str(meta))
    newer["schema_version"] = store.SCHEMA_VERSION + 1
    arrays = {name[:-4]: np.load(path, allow_pickle=False)[name[:-4]] for name in members}
    arrays["meta"] = np.array(json.dumps(newer))
    np.savez(path, **arrays)
    with pytest.raises(store.TraceFileError, match="newer than this accelsim reads"):
        store.load(path)


def test_example_trace_is_current(tmp_path):
    # traces/seed-gemms-int8.npz must be what tools/example_trace.py writes today.
    from pathlib import Path

    from accelsim.precision import Precision

    example = Path(__file__).resolve().parent.parent / "traces" / "seed-gemms-int8.npz"
    fresh = tmp_path / "fresh.npz"
    store.save(simulate(network("seed-gemms").with_precision(Precision.INT8), hardware.seed()), fresh)
    assert example.read_bytes() == fresh.read_bytes(), "stale example: run python tools/example_trace.py"
