"""Replay: exact per-column aggregation, summary PNG, animation export, command line."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from accelsim import hardware, replay
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace import store
from accelsim.trace.recorder import SignalSpec
from accelsim.trace.trace import TRANSFER_COLUMNS, Trace
from accelsim.workload.networks import network


@pytest.fixture(scope="module")
def trace():
    return simulate(network("resnet20").with_precision(Precision.INT8), hardware.seed())


@pytest.mark.parametrize("window, columns", [((0, None), 700), ((123_457, 128_000), 97), ((5_000, 5_300), 1000)])
def test_aggregate_equals_brute_force(trace, window, columns):
    start, stop = window[0], window[1] or trace.end_cycle
    for name in ("mac.busy_lanes", "dram.queue", "buf.activation", "mac.state"):
        agg = replay.aggregate(trace, name, start, stop, columns)
        per_cycle = trace.expand(name, start, stop)
        assert agg.edges[0] == start and agg.edges[-1] == stop and len(agg.edges) == min(columns, stop - start) + 1
        for c, (a, b) in enumerate(zip(agg.edges[:-1] - start, agg.edges[1:] - start)):
            chunk = per_cycle[a:b]
            assert agg.minimum[c] == chunk.min() and agg.maximum[c] == chunk.max(), (name, c)
            assert agg.mean[c] == pytest.approx(chunk.mean())


def test_state_fractions_sum_to_one(trace):
    edges, fractions = replay.state_fractions(trace, 0, trace.end_cycle, 300)
    assert np.allclose(sum(fractions.values()), 1.0)
    busy = trace.cycles_per_value("mac.state")[1]
    assert np.sum(fractions["BUSY"] * np.diff(edges)) == pytest.approx(busy)


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
    for c in (0, 417, 999):
        a, b = int(agg.edges[c]), int(agg.edges[c + 1])
        s, e, v = huge.intervals(spec.name, a, b)
        assert agg.minimum[c] == v.min() and agg.maximum[c] == v.max()
        assert agg.mean[c] == pytest.approx(np.sum(v * (e - s)) / (b - a))


def test_summary_png_and_gif(tmp_path, trace):
    png = replay.summary_png(trace, tmp_path / "summary.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as image:
        assert image.size[0] >= 1200 and image.size[1] >= 800
    gif = replay.export_animation(trace, tmp_path / "replay.gif", frames=4, fps=5, progress=False)
    with Image.open(gif) as image:
        assert image.n_frames == 4


def test_zooming_in_shows_exact_per_cycle_values(trace):
    view = replay.ReplayView(trace, columns=600)
    view.follow_zoom()
    view.axes[2].set_xlim(16_000, 16_300)  # as the toolbar does; axes share x
    mean_line = [line for line in view.axes[0].lines if line.get_label() == "per cycle"][0]
    assert np.array_equal(mean_line.get_xdata(), np.arange(16_000, 16_300))
    assert np.array_equal(mean_line.get_ydata(), trace.expand("mac.busy_lanes", 16_000, 16_300))
    assert view.axes[0].get_xlim() == (16_000, 16_300)


def test_export_errors(tmp_path, trace, monkeypatch):
    monkeypatch.setattr(replay.shutil, "which", lambda _: None)
    with pytest.raises(InputError, match="mp4 export needs ffmpeg on the PATH"):
        replay.export_animation(trace, tmp_path / "replay.mp4", frames=2)
    with pytest.raises(InputError, match="unsupported '.avi'"):
        replay.export_animation(trace, tmp_path / "replay.avi", frames=2)


def test_main_exports_and_reports_errors(tmp_path, capsys, monkeypatch):
    path = tmp_path / "mlp.npz"
    store.save(simulate(network("mlp"), hardware.seed()), path)
    assert replay.main([str(path), "--png", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").exists()
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    assert replay.main([str(tmp_path / "bad.npz"), "--png", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accelsim: error:") and err.count("\n") == 1
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert replay.main([str(path)]) == 2
    assert "no display" in capsys.readouterr().err


@pytest.mark.skipif(__import__("shutil").which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_mp4_export_with_ffmpeg(tmp_path, trace):
    import subprocess

    path = replay.export_animation(trace, tmp_path / "replay.mp4", frames=6, fps=5, progress=False)
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "h264,6"
