"""Sweeps: points and keys, study specs, the results store, executors, resuming, the CLI and the DSE scenario."""

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import roofline_dse
from PIL import Image

from accelsim.cli import main as accelsim_main
from accelsim.cli import study as command
from accelsim.errors import InputError
from accelsim.study.executors import (
    DASK_MISSING,
    DaskExecutor,
    Executor,
    InProcessExecutor,
    ProcessPoolExecutor,
    make_executor,
)
from accelsim.study.points import Point, evaluate_point, result_of
from accelsim.study.spec import load_study, parse_study
from accelsim.study.store import ResultStore, encode, read_records
from accelsim.study.sweep import SweepInterrupted, results, run_sweep
from accelsim.trace import store as trace_store

SPEC = """
[study]
name = "small"
networks = ["mlp", "seed-gemms"]
accuracy = "parametric:0.9"
[study.compression]
FP32 = "baseline"
INT8 = "int8"
[grid]
"mac_array.lanes" = [16, 64]
"dram.bandwidth_bytes_per_s" = [2e8, 1e9]
[[points]]
network = "digits-mlp"
compression = "prune(0.5) -> int4"
overrides = { "dram.latency_ns" = 50.0 }
"""


def small_points():
    return list(parse_study(_toml(SPEC)).points)


def _toml(text):
    import tomllib

    return tomllib.loads(textwrap.dedent(text))


def _bad_point():
    """Builds (4 bytes is a valid capacity) but cannot be planned: no FP32 weight tile fits."""
    return Point("mlp", overrides=(("buffers.weight_bytes", 4),))


def _lines(path):
    return Path(path).read_bytes().split(b"\n")


# --- points and keys -----------------------------------------------------------------------------


def test_points_are_canonical_so_equal_points_share_a_key():
    a = Point("mlp", "prune(0.5)->INT8", overrides={"dram.bandwidth_bytes_per_s": 1_000_000_000, "mac_array.lanes": 32})
    b = Point("mlp", " prune( 0.5 ) -> int8 ", overrides=(("mac_array.lanes", 32), ("dram.bandwidth_bytes_per_s", 1e9)))
    assert a == b and a.key == b.key and len(a.key) == 16
    assert a.compression == "prune(0.5) -> int8" and a.configuration == "prune(0.5) -> int8"
    assert a.overrides == (("dram.bandwidth_bytes_per_s", 1e9), ("mac_array.lanes", 32))
    assert Point("mlp").compression == "baseline" and Point("mlp", "none").key == Point("mlp").key
    assert Point("mlp", configuration="other").key != Point("mlp").key
    assert Point.from_dict(json.loads(json.dumps(a.as_dict()))) == a


def test_a_key_is_the_same_in_another_process():
    point = Point("seed-gemms", "int8", "INT8", "seed-fixed", (("mac_array.lanes", 256),), "parametric:0.9125")
    code = (
        "from accelsim.study.points import Point; "
        "print(Point('seed-gemms', 'int8', 'INT8', 'seed-fixed', (('mac_array.lanes', 256),), 'parametric:0.9125').key)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == point.key


def test_a_point_builds_its_hardware_from_the_preset_and_the_overrides():
    point = Point(
        "mlp",
        overrides=(
            ("mac_array.lanes", 256),
            ("dram.bandwidth_bytes_per_s", 1e9),
            ("mac_array.pack", "fixed"),
            ("buffers.weight_bytes", 131072),
            ("dram.queue_depth", 4),
        ),
    )
    hw = point.accelerator()
    assert (hw.mac_array.lanes, hw.dram.bandwidth_bytes_per_s, hw.buffers.weight_bytes, hw.dram.queue_depth) == (
        256,
        1e9,
        131072,
        4,
    )
    assert hw.mac_array.pack.int8 == 1 and hw.dram.latency_ns == 100.0
    assert hw.name == point.hardware_name and hw.name.startswith("seed+buffers.weight_bytes=131072,")
    assert Point("mlp", overrides={"mac_array.pack.int8": 2}).accelerator().mac_array.pack.int8 == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Point("resnet19"), "network: unknown 'resnet19'; allowed:"),
        (lambda: Point("mlp", "int9"), "compression: compression step 'int9': unknown"),
        (lambda: Point("mlp", hardware="tpu"), "hardware: unknown preset 'tpu'"),
        (lambda: Point("mlp", overrides={"mac_array.lane": 4}), "'mac_array.lane': unknown hardware field; allowed in"),
        (lambda: Point("mlp", overrides={"mac_array.pack": "wide"}), "mac_array.pack: must be one of scalable, fixed"),
        (lambda: Point("mlp", accuracy="parametric:1.5"), 'accuracy: must be "none" or "parametric:<baseline'),
        (
            lambda: Point("mlp", overrides={"mac_array.lanes": 0}).validate(),
            "mac_array.lanes: must be an integer in [1, 16,777,216]",
        ),
    ],
)
def test_bad_points_are_one_line_errors_naming_the_field(make, message):
    with pytest.raises(InputError) as error:
        make()
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_point_evaluates_to_a_json_record_and_a_failure_to_its_error():
    record = evaluate_point(Point("mlp", "int8", accuracy="parametric:0.9"))
    assert record["error"] is None and json.loads(encode(record)) == record
    result = result_of(record)
    assert result.cycles > 0 and result.accuracy == pytest.approx(0.9 * 0.995) and result.mac_precision == "int8"
    assert result.as_dict() == record["result"]  # the rebuilt Result is the one that ran
    failed = evaluate_point(_bad_point())
    assert failed["result"] is None and result_of(failed) is None
    assert failed["error"].startswith("ConfigError: buffers.weight_bytes: too small for layer fc1")


# --- study specs ---------------------------------------------------------------------------------


def test_a_spec_expands_networks_by_compressions_by_grid_in_the_order_written(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SPEC)
    study = load_study(path)
    assert study.name == "small" and len(study.points) == 2 * 2 * 2 * 2 + 1
    first = study.points[:4]
    assert [(p.network, p.configuration) for p in first] == [("mlp", "FP32")] * 4
    assert [dict(p.overrides) for p in first] == [
        {"mac_array.lanes": 16, "dram.bandwidth_bytes_per_s": 2e8},
        {"mac_array.lanes": 16, "dram.bandwidth_bytes_per_s": 1e9},
        {"mac_array.lanes": 64, "dram.bandwidth_bytes_per_s": 2e8},
        {"mac_array.lanes": 64, "dram.bandwidth_bytes_per_s": 1e9},
    ]
    assert study.points[4].configuration == "INT8" and study.points[8].network == "seed-gemms"
    extra = study.points[-1]
    assert (extra.network, extra.compression, extra.accuracy) == ("digits-mlp", "prune(0.5) -> int4", "parametric:0.9")
    listed = parse_study(
        _toml('[study]\nnetworks = ["mlp"]\ncompression = ["baseline", "int4"]\n[grid.mac_array]\nlanes = 8')
    )
    assert [(p.configuration, p.overrides) for p in listed.points] == [
        ("baseline", (("mac_array.lanes", 8),)),
        ("int4", (("mac_array.lanes", 8),)),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[study]\nnetworks = ["mlp", "resnet19"]', "study.networks[1]: network: unknown 'resnet19'"),
        (
            '[study]\nnetworks = ["mlp"]\n[grid]\n"mac_array.lanes" = [16, 0]',
            "grid.mac_array.lanes[1]: mac_array.lanes:",
        ),
        (
            '[study]\nnetworks = ["mlp"]\n[grid]\n"dram.speed" = [1]',
            "grid.dram.speed[0]: overrides: 'dram.speed': unknown",
        ),
        ('[study]\nnetworks = ["mlp"]\n[study.compression]\nX = "prune(2)"', "study.compression.X: compression:"),
        ('[study]\nnetworks = ["mlp"]\naccuracy = "measured"', "study.accuracy: accuracy: must be"),
        ('[study]\nnetworks = ["mlp"]\nhardwre = "seed"', "study.hardwre: unknown key; allowed: name, networks"),
        ('[sweep]\nnetworks = ["mlp"]', "sweep: unknown key; allowed: study, grid, points"),
        ("[study]\nname = 'x'", "study.networks: required"),
        ('[[points]]\ncompression = "int8"', "points[0].network: required"),
        (
            '[study]\nhardware = ["seed", "seed-fixed"]\n[[points]]\nnetwork = "mlp"',
            "points[0].hardware: required when",
        ),
        (
            '[[points]]\nnetwork = "mlp"\noverrides = { "dram.latency_ns" = -1.0 }',
            "points[0]: dram.latency_ns: must be a number >= 0",
        ),
        (
            '[study]\nnetworks = "mlp"\n[grid]\n"mac_array.lanes" = []',
            "grid.mac_array.lanes: must list at least one value",
        ),
    ],
)
def test_bad_specs_are_one_line_errors_naming_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_study(path)
    assert str(error.value).startswith(f"study spec {path}: ") and message in str(error.value)
    assert "\n" not in str(error.value)


# --- the results store ---------------------------------------------------------------------------


def test_the_store_appends_whole_lines_and_floats_round_trip(tmp_path):
    record = evaluate_point(Point("seed-gemms", "int4"))
    with ResultStore(tmp_path / "r.jsonl") as store:
        store.append(record)
        assert record["key"] in store and store.done_keys() == {record["key"]}
    data = (tmp_path / "r.jsonl").read_bytes()
    assert data == encode(record) and data.endswith(b"\n") and data.count(b"\n") == 1
    assert read_records(tmp_path / "r.jsonl")[record["key"]] == record  # every float exactly


def test_the_store_drops_a_partial_last_line_and_rejects_a_malformed_one_elsewhere(tmp_path):
    path = tmp_path / "r.jsonl"
    a, b = (evaluate_point(Point("mlp", c)) for c in ("int8", "int4"))
    path.write_bytes(encode(a) + encode(b)[:-5] + b"\n")  # a last line cut short, then a newline
    with ResultStore(path) as store:
        assert store.done_keys() == {a["key"]} and store.dropped_bytes == len(encode(b)) - 4
    assert path.read_bytes() == encode(a)
    path.write_bytes(encode(a)[:30] + b"\n" + encode(b))
    with pytest.raises(InputError, match=r"r.jsonl: line 1: not a JSON record with a key; fix or delete it$"):
        ResultStore(path)
    with ResultStore(tmp_path / "s.jsonl"), pytest.raises(InputError, match="in use by another sweep"):
        ResultStore(tmp_path / "s.jsonl")


# --- sweeps ---------------------------------------------------------------------------------------


def _comparable(path):
    return {key: encode(record) for key, record in read_records(path).items()}


def test_every_executor_gives_byte_identical_records(tmp_path):
    points = small_points()
    run_sweep(points, tmp_path / "in.jsonl", InProcessExecutor(), progress=False)
    with ProcessPoolExecutor(2) as pool:
        summary = run_sweep(points, tmp_path / "pool.jsonl", pool, progress=False)
    assert (summary.total, summary.ran, summary.failed) == (17, 17, 0)
    reference = _comparable(tmp_path / "in.jsonl")
    assert len(reference) == 17 and _comparable(tmp_path / "pool.jsonl") == reference
    pytest.importorskip("distributed")
    with DaskExecutor("local:2", chunk_size=4) as cluster:  # chunks of 4 points per Dask task
        run_sweep(points, tmp_path / "dask.jsonl", cluster, progress=False)
    assert _comparable(tmp_path / "dask.jsonl") == reference


def test_a_killed_sweep_resumes_skipping_what_is_done(tmp_path):
    points = small_points()
    whole = tmp_path / "whole.jsonl"
    run_sweep(points, whole, InProcessExecutor(), progress=False)
    lines = _lines(whole)
    killed = tmp_path / "killed.jsonl"
    killed.write_bytes(b"\n".join(lines[:6]) + b"\n" + lines[6][: len(lines[6]) // 2])  # died mid-write
    summary = run_sweep(points, killed, ProcessPoolExecutor(2), progress=False)
    assert (summary.skipped, summary.ran, summary.failed) == (6, 11, 0)
    assert summary.dropped_bytes == len(lines[6]) // 2 and "dropped a partial last line" in summary.describe()
    assert killed.read_bytes().endswith(b"\n") and all(json.loads(line) for line in _lines(killed)[:-1])
    assert _comparable(killed) == _comparable(whole)
    again = run_sweep(points, killed, InProcessExecutor(), progress=False)
    assert (again.skipped, again.ran) == (17, 0)


class Counting(InProcessExecutor):
    def __init__(self):
        self.calls = []

    def map_unordered(self, fn, items):
        for item in items:
            self.calls.append(item.key)
            yield fn(item)


def test_duplicate_points_run_once(tmp_path):
    point = Point("mlp", "int8", overrides={"dram.bandwidth_bytes_per_s": 1e9})
    same = Point("mlp", "int8", overrides={"dram.bandwidth_bytes_per_s": 1_000_000_000})
    other = Point("digits-mlp")
    executor = Counting()
    summary = run_sweep([point, same, other, point], tmp_path / "r.jsonl", executor, progress=False)
    assert (summary.total, summary.duplicates, summary.ran) == (2, 2, 2)
    assert executor.calls == [point.key, other.key] and len(_lines(tmp_path / "r.jsonl")) == 3
    assert "(2 duplicates run once)" in summary.describe()


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    points = [Point("mlp"), _bad_point(), Point("seed-gemms")]
    path = tmp_path / "r.jsonl"
    summary = run_sweep(points, path, ProcessPoolExecutor(2), progress=False)
    assert (summary.ran, summary.failed) == (3, 1)
    stored = read_records(path)[_bad_point().key]
    assert stored["result"] is None and stored["error"].startswith("ConfigError: buffers.weight_bytes: too small")
    assert f"failed: mlp / baseline / {_bad_point().hardware_name}: ConfigError:" in summary.describe()
    assert [p.network for p, _ in results(points, path)] == ["mlp", "seed-gemms"]
    later = run_sweep(points, path, InProcessExecutor(), progress=False)
    assert (later.skipped, later.ran, later.failed_before) == (3, 0, 1)
    retried = run_sweep(points, path, InProcessExecutor(), progress=False, retry_failed=True)
    assert (retried.skipped, retried.ran, retried.failed) == (2, 1, 1) and len(read_records(path)) == 3


def test_traces_are_written_only_when_asked(tmp_path):
    points = [Point("mlp", "int8"), Point("seed-gemms")]
    run_sweep(points, tmp_path / "a.jsonl", InProcessExecutor(), progress=False)
    assert not list(tmp_path.rglob("*.npz"))
    run_sweep(points, tmp_path / "b.jsonl", ProcessPoolExecutor(2), trace_dir=tmp_path / "traces", progress=False)
    assert sorted(p.name for p in (tmp_path / "traces").iterdir()) == sorted(f"{p.key}.npz" for p in points)
    for point, result in results(points, tmp_path / "b.jsonl"):
        assert trace_store.load(tmp_path / "traces" / f"{point.key}.npz").end_cycle == result.cycles
    assert _comparable(tmp_path / "a.jsonl") == _comparable(tmp_path / "b.jsonl")  # traces change no record


class Interrupted(Executor):
    """Two points finish, then Ctrl-C."""

    def __init__(self):
        self.closed_generator = False

    def map_unordered(self, fn, items):
        try:
            for i, item in enumerate(items):
                if i == 2:
                    raise KeyboardInterrupt
                yield fn(item)
        finally:
            self.closed_generator = True


def test_ctrl_c_keeps_what_finished(tmp_path):
    points = small_points()
    executor = Interrupted()
    with pytest.raises(SweepInterrupted) as stop:
        run_sweep(points, tmp_path / "r.jsonl", executor, progress=False)
    summary = stop.value.summary
    assert summary.interrupted and (summary.ran, summary.total) == (2, 17) and executor.closed_generator
    assert len(read_records(tmp_path / "r.jsonl")) == 2 and "15 points not run" in summary.describe()
    resumed = run_sweep(points, tmp_path / "r.jsonl", InProcessExecutor(), progress=False)
    assert (resumed.skipped, resumed.ran) == (2, 15)


# --- executors ------------------------------------------------------------------------------------


def test_executor_choices_and_their_errors(monkeypatch):
    assert isinstance(make_executor(in_process=True), InProcessExecutor)
    assert make_executor().workers >= 1 and make_executor(3).workers == 3
    with pytest.raises(InputError, match=r"^--workers: must be an integer >= 1 \(got 0\)$"):
        make_executor(0)
    with pytest.raises(InputError, match="at most one of --workers, --in-process, --dask"):
        make_executor(2, "local:2")
    with pytest.raises(
        InputError, match=r"^--dask: expected tcp://HOST:PORT or local:N with N >= 1 \(got 'local:0'\)$"
    ):
        DaskExecutor("local:0")
    monkeypatch.setitem(sys.modules, "distributed", None)  # the extra is not installed
    with pytest.raises(InputError) as error:
        make_executor(dask="tcp://127.0.0.1:8786")
    assert str(error.value) == DASK_MISSING == "Dask executor needs the optional extra: pip install 'accelsim[dask]'"


def test_the_process_pool_yields_every_result_through_a_bounded_window():
    with ProcessPoolExecutor(2, tasks_per_worker=1) as pool:
        out = sorted(pool.map_unordered(abs, range(-50, 0)))
    assert out == list(range(1, 51))


# --- the command ----------------------------------------------------------------------------------


def test_the_command_runs_a_spec_and_exports_it(tmp_path, capsys):
    spec = tmp_path / "small.toml"
    spec.write_text(SPEC)
    csv_path, md_path = tmp_path / "r.csv", tmp_path / "r.md"
    argv = ["study", str(spec), "--workers", "2", "--csv", str(csv_path), "--markdown", str(md_path), "--no-progress"]
    assert accelsim_main(argv) == 0
    out = capsys.readouterr().out
    assert "sweep: 17 points, 0 already done, 17 run now on process pool of 2 workers" in out
    assert f"results: {tmp_path / 'small.jsonl'}" in out and "wrote" in out
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 17 and {row["accuracy_kind"] for row in rows} == {"modelled"}
    text = md_path.read_text()
    assert (
        text.startswith("# small\n")
        and "### mlp on seed+dram.bandwidth_bytes_per_s=200000000,mac_array.lanes=16" in text
    )
    assert accelsim_main(["study", str(spec), "--in-process", "--no-progress"]) == 0
    assert "17 already done, 0 run now" in capsys.readouterr().out


def test_the_command_reports_bad_input_on_one_line(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('[study]\nnetworks = ["mlp"]\n[grid]\n"dram.bandwidth_bytes_per_s" = [0]\n')
    assert accelsim_main(["study", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"accelsim: error: study spec {spec}: grid.dram.bandwidth_bytes_per_s[0]: ")
    assert err.count("\n") == 1
    assert accelsim_main(["study", str(tmp_path / "missing.toml")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    spec.write_text(SPEC)
    assert accelsim_main(["study", str(spec), "--workers", "0"]) == 2
    assert capsys.readouterr().err == "accelsim: error: --workers: must be an integer >= 1 (got 0)\n"


def test_the_command_exits_130_on_ctrl_c(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "small.toml"
    spec.write_text(SPEC)
    monkeypatch.setattr(command, "make_executor", lambda *args, **kwargs: Interrupted())
    assert accelsim_main(["study", str(spec), "--no-progress"]) == 130
    captured = capsys.readouterr()
    assert "sweep interrupted: 17 points" in captured.out and captured.err == "accelsim: interrupted\n"
    assert len(read_records(tmp_path / "small.jsonl")) == 2


# --- the roofline DSE scenario --------------------------------------------------------------------


def test_roofline_dse_quick_writes_every_output_and_finds_the_crossover(tmp_path, capsys):
    out = tmp_path / "dse"
    assert roofline_dse.main(["--quick", "--out", str(out), "--in-process", "--no-progress"]) == 0
    assert "9 run now" in capsys.readouterr().out
    rows = list(csv.DictReader((out / "crossover.csv").open()))
    assert [(r["network"], r["precision"], r["lanes"]) for r in rows] == [
        ("resnet18", "INT8", "16"),
        ("resnet18", "INT8", "128"),
        ("resnet18", "INT8", "1024"),
    ]
    for row in rows:  # the interpolated flip of the bound is its closed form: memory cycles fall as 1 / bandwidth
        bound, analytical = float(row["bound_crossover_gbps"]), float(row["analytical_crossover_gbps"])
        assert bound == pytest.approx(analytical, rel=1e-3) and float(row["traffic_crossover_gbps"]) > bound
    ratios = [float(r["analytical_crossover_gbps"]) / int(r["lanes"]) for r in rows]
    assert np.allclose(ratios, ratios[0], rtol=0.01)  # twice the lanes, twice the bandwidth
    for name in ("latency_heatmap", "energy_heatmap", "roofline", "crossover"):
        with Image.open(out / f"{name}.png") as image:
            assert image.size[0] > 600 and image.size[1] > 400, name
    assert len(list(csv.DictReader((out / "results.csv").open()))) == 9
    assert roofline_dse.main(["--quick", "--out", str(out), "--in-process", "--no-progress"]) == 0
    assert "9 already done, 0 run now" in capsys.readouterr().out
