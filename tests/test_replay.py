"""Replay: exact per-column aggregation, the cursor model, summary PNG, animation export, the view,
the `accelsim replay` command."""

import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from accelsim import hardware, replay
from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.metrics import layer_spans
from accelsim.precision import Precision
from accelsim.replay import exports, window
from accelsim.sim.engine import simulate
from accelsim.trace import store
from accelsim.trace.recorder import SignalSpec
from accelsim.trace.trace import TRANSFER_COLUMNS, Trace
from accelsim.workload.networks import network

SIGNALS = ("mac.busy_lanes", "mac.state", "dram.queue", "buf.activation", "buf.output")


@pytest.fixture(scope="module")
def trace():
    return simulate(network("resnet20").with_precision(Precision.INT8), hardware.seed())


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("replay") / "mlp.npz"
    store.save(simulate(network("mlp"), hardware.seed()), path)
    return path


def brute_force(trace, name, edges):
    """min / max / mean per column from per-cycle values; a zero-width column is its cycle."""
    rows = []
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist()):
        cycles = trace.expand(name, a, max(b, a + 1))
        rows.append((cycles.min(), cycles.max(), cycles.mean()))
    return np.array(rows).T


def random_windows(trace, count, seed):
    rng = np.random.default_rng(seed)
    # The whole run, more columns than cycles, and the last cycle alone.
    windows = [
        (0, trace.end_cycle, 700),
        (5_000, 5_300, 1000),
        (90_000, 90_007, 20),
        (trace.end_cycle - 1, trace.end_cycle, 3),
    ]
    for _ in range(count):
        length = int(rng.choice([1, 7, 300, 5_000, 200_000, trace.end_cycle // 2]))
        start = int(rng.integers(0, trace.end_cycle - length + 1))
        windows.append((start, start + length, int(rng.choice([1, 3, 97, 640]))))
    return windows


def test_aggregate_equals_brute_force(trace):
    for start, stop, columns in random_windows(trace, 10, seed=1):
        for name in SIGNALS:
            agg = replay.aggregate(trace, name, start, stop, columns)
            assert len(agg.edges) == columns + 1 and agg.edges[0] == start and agg.edges[-1] == stop
            assert np.all(np.diff(agg.edges) >= 0) and np.ptp(np.diff(agg.edges)) <= 1  # as even as can be
            low, high, mean = brute_force(trace, name, agg.edges)
            assert np.array_equal(agg.minimum, low) and np.array_equal(agg.maximum, high), (name, start, stop)
            assert np.allclose(agg.mean, mean, rtol=1e-12, atol=0), (name, start, stop)


def test_more_columns_than_cycles_gives_per_cycle_values(trace):
    agg = replay.aggregate(trace, "mac.busy_lanes", 16_000, 16_300, 300)
    exact = trace.expand("mac.busy_lanes", 16_000, 16_300)
    assert np.array_equal(agg.edges, np.arange(16_000, 16_301))
    assert np.array_equal(agg.minimum, exact) and np.array_equal(agg.maximum, exact) and np.array_equal(agg.mean, exact)
    wide = replay.aggregate(trace, "mac.busy_lanes", 16_000, 16_300, 1000)  # ~3.3 pixels per cycle
    assert np.array_equal(wide.mean, exact[wide.edges[:-1] - 16_000])


def test_state_fractions_are_exact_and_sum_to_one(trace):
    for start, stop, columns in random_windows(trace, 3, seed=2):
        fractions = replay.state_fractions(trace, start, stop, columns)
        assert fractions.states == trace.specs["mac.state"].states
        assert fractions.fractions.shape == (columns, len(fractions.states))
        assert np.allclose(fractions.fractions.sum(axis=1), 1.0)
        width = np.maximum(np.diff(fractions.edges), 1)
        for k, state in enumerate(fractions.states):
            per_cycle = [trace.expand("mac.state", a, a + w) for a, w in zip(fractions.edges[:-1], width)]
            expected = [np.mean(cycles == k) for cycles in per_cycle]
            assert np.allclose(fractions[state], expected)
    whole = replay.state_fractions(trace, 0, trace.end_cycle, 300)
    busy = trace.cycles_per_value("mac.state")[1]
    assert np.sum(whole["BUSY"] * np.diff(whole.edges)) == pytest.approx(busy)


def test_a_billion_cycles_aggregate_exactly():
    rng = np.random.default_rng(0)
    end = 10**9
    starts = np.concatenate([[0], np.unique(rng.integers(1, end, 4000))])
    values = rng.integers(0, 64, len(starts))
    spec = SignalSpec("mac.busy_lanes", "lanes", "test")
    huge = Trace(
        specs={spec.name: spec},
        starts={spec.name: starts},
        values={spec.name: values},
        end_cycle=end,
        transfers={c: np.zeros(0, np.int64) for c in TRANSFER_COLUMNS},
    )
    agg = replay.aggregate(huge, spec.name, 0, end, 1000)
    assert np.array_equal(agg.edges, np.arange(0, end + 1, end // 1000))
    for c in (0, 417, 999):
        a, b = int(agg.edges[c]), int(agg.edges[c + 1])
        s, e, v = huge.intervals(spec.name, a, b)
        assert agg.minimum[c] == v.min() and agg.maximum[c] == v.max()
        assert agg.mean[c] == pytest.approx(np.sum(v * (e - s)) / (b - a), rel=1e-12)
    # A window inside one interval: every column holds that interval's value.
    inside = replay.aggregate(huge, spec.name, int(starts[5]) + 1, int(starts[6]), 50)
    assert np.all(inside.minimum == values[5]) and np.all(inside.maximum == values[5])


def test_bad_windows_are_input_errors(trace):
    for start, stop, columns in ((0, 0, 10), (-1, 10, 10), (0, trace.end_cycle + 1, 10), (0, 10, 0)):
        with pytest.raises(InputError):
            replay.aggregate(trace, "mac.busy_lanes", start, stop, columns)


def test_summary_png(tmp_path, trace):
    png = replay.summary_png(trace, tmp_path / "summary.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        assert image.size == (1600, 1000)


def test_gif_export_has_every_frame(tmp_path, trace):
    gif = replay.export_animation(trace, tmp_path / "replay.gif", frames=5, fps=5, progress=False)
    with Image.open(gif) as image:
        assert image.n_frames == 5 and image.size == (1200, 800)
        assert image.info["duration"] == 200


def test_export_errors(tmp_path, trace, monkeypatch):
    monkeypatch.setattr(exports.shutil, "which", lambda _: None)
    with pytest.raises(InputError, match="mp4 export needs ffmpeg on the PATH"):
        replay.export_animation(trace, tmp_path / "replay.mp4", frames=2)
    with pytest.raises(InputError, match="'.avi'"):
        replay.export_animation(trace, tmp_path / "replay.avi", frames=2)
    with pytest.raises(InputError, match="frames"):
        replay.export_animation(trace, tmp_path / "replay.gif", frames=0)
    assert not list(tmp_path.iterdir())


def test_zooming_in_shows_exact_per_cycle_values(trace):
    view = replay.ReplayView(trace)
    view.follow_zoom()
    view.ax_buf.set_xlim(16_000, 16_300)  # as the toolbar does; the overview panels share x
    mean = view._steps.patches[("overview", "mean")]
    edges, values = mean.get_data().edges, mean.get_data().values
    assert np.array_equal(edges, np.arange(16_000, 16_301))
    assert np.array_equal(values, trace.expand("mac.busy_lanes", 16_000, 16_300))
    assert not view._steps.patches[("overview", "band")].get_visible()
    assert view.window == (16_000, 16_300) and view.ax_lanes.get_xlim() == (16_000, 16_300)
    assert "exact per cycle" in view.ax_lanes.get_title(loc="left")


def test_cursor_names_the_layer_and_state(trace):
    view = replay.ReplayView(trace, now_cycles=400)
    layer = 3
    start = layer_spans(trace)[layer][0]
    view.set_cursor(start + 10)
    text = view.status.get_text()
    assert trace.meta["layers"][layer]["name"] in text and f"cycle {start + 10:,}" in text
    state = trace.specs["mac.state"].states[replay.value_at(trace, "mac.state", start + 10)]
    assert state in text
    lo, hi = view.ax_now.get_xlim()
    assert hi - lo == 400 and lo <= start + 10 < hi  # exact per-cycle now panel around the cursor
    assert "exact per cycle" in view.ax_now.get_title(loc="left")


def test_player_plays_and_seeks_headless(trace):
    # The widgets need only a canvas; Agg's timer never fires, so ticks are driven by hand.
    view = replay.ReplayView(trace, controls=True)
    player = window.Player(view)
    player.seek.set_val(1_000_000)
    assert view.cycle == 1_000_000
    player._toggle()
    player._tick()
    assert player.playing and view.cycle > 1_000_000
    player._toggle()
    assert not player.playing


def test_model_follows_the_cursor(trace):
    model = replay.ReplayModel(trace, 1_000, 101_000)
    assert model.now_cycles == 2_000  # a fiftieth of the window
    assert model.clamp(0) == 1_000 and model.clamp(10**9) == 100_999
    assert model.now_window(1_200) == (1_000, 3_000)  # kept inside the window
    assert model.now_window(50_000) == (49_000, 51_000)
    assert model.now_window(100_999) == (99_000, 101_000)
    assert model.snap_window(-5.5, 10.2) == (0, 11) and model.snap_window(7.0, 7.0) == (7, 8)
    layer = 3
    cycle = layer_spans(trace)[layer][0] + 10
    first, second = model.status(cycle).splitlines()
    assert first.startswith(f"cycle {cycle:,} (") and trace.meta["layers"][layer]["name"] in first
    assert f"/{model.lanes} lanes busy" in second
    with pytest.raises(InputError):
        replay.ReplayModel(trace, 5, 5)


def _one_error_line(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.startswith("accelsim: error:") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_replay_command_exports(tmp_path, capsys, small_file):
    assert main(["replay", str(small_file), "--png", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        main(["replay", str(small_file), "--gif", str(tmp_path / "s.gif"), "--frames", "3", "--cycles", "0:500"]) == 0
    )
    with Image.open(tmp_path / "s.gif") as image:
        assert image.n_frames == 3
    assert capsys.readouterr().out.count("wrote ") == 2


def test_replay_command_bad_input_exits_2(tmp_path, capsys, small_file, monkeypatch):
    gif = str(tmp_path / "x.gif")
    assert main(["replay", str(tmp_path / "missing.npz"), "--png", str(tmp_path / "x.png")]) == 2
    _one_error_line(capsys, "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    assert main(["replay", str(tmp_path / "bad.npz"), "--png", str(tmp_path / "x.png")]) == 2
    _one_error_line(capsys)
    assert main(["replay", str(small_file), "--gif", gif, "--cycles", "9:3"]) == 2
    _one_error_line(capsys)
    assert main(["replay", str(small_file), "--gif", gif, "--cycles", "0:999999999"]) == 2
    _one_error_line(capsys)
    assert main(["replay", str(small_file), "--gif", str(tmp_path / "x.mp4")]) == 2
    _one_error_line(capsys, "must end in .gif")
    assert main(["replay", str(small_file), "--png", str(tmp_path / "no" / "x.png")]) == 2
    _one_error_line(capsys, "no directory")
    assert main(["replay", str(small_file), "--gif", gif, "--frames", "0"]) == 2
    _one_error_line(capsys, "--frames")
    assert main(["replay", str(small_file), "--gif", gif, "--fps", "0"]) == 2
    _one_error_line(capsys, "--fps")
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(small_file), "--gif", gif, "--frames", "many"])
    assert exit_.value.code == 2
    _one_error_line(capsys, "--frames")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.npz"]  # no partial output
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["replay", str(small_file)]) == 2
    _one_error_line(capsys, "--png", "--gif")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_mp4_export_with_ffmpeg(tmp_path, trace):
    path = replay.export_animation(trace, tmp_path / "replay.mp4", frames=2, fps=5, progress=False)
    if shutil.which("ffprobe") is None:
        assert path.stat().st_size > 0
        return
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "2"
