"""The self-contained HTML replay: exact data in the page, and a page that renders in Chromium."""

import base64
import json
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from accelsim import hardware
from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.replay.html import page_data, write_html
from accelsim.sim.engine import simulate
from accelsim.trace import store
from accelsim.workload.networks import network


@pytest.fixture(scope="module")
def trace():
    return simulate(network("seed-gemms").with_precision(hardware.Precision.INT8), hardware.preset("seed"))


def _decoded(entry, key):
    dtype = "<i4" if entry[f"{key}_type"] == "i4" else "<f8"
    return np.frombuffer(base64.b64decode(entry[key]), dtype=dtype)


def test_the_page_carries_every_interval_exactly(trace):
    lo, hi = 1000, trace.end_cycle - 5
    data = page_data(trace, lo, hi)
    assert [s["name"] for s in data["signals"]] == list(trace.specs)
    for entry in data["signals"]:
        starts, _, values = trace.intervals(entry["name"], lo, hi)
        assert np.array_equal(np.cumsum(_decoded(entry, "starts")), starts)
        assert np.array_equal(_decoded(entry, "values"), values)
    assert data["layers"] == [m["name"] for m in trace.meta["layers"]]


def test_the_file_loads_nothing_from_anywhere(trace, tmp_path):
    text = write_html(trace, tmp_path / "r.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    assert "</script" not in text.split('id="trace-data">', 1)[1].split("</script>", 1)[0]


def test_errors_are_one_line(trace, tmp_path, capsys, monkeypatch):
    store.save(trace, tmp_path / "t.npz")
    assert main(["replay", str(tmp_path / "t.npz"), "--html", str(tmp_path / "no" / "r.html")]) == 2
    assert main(["replay", str(tmp_path / "t.npz"), "--html", str(tmp_path / "r.htm")]) == 2
    assert "must end in .html" in capsys.readouterr().err
    monkeypatch.setattr("accelsim.replay.html.MAX_HTML_INTERVALS", 10)
    with pytest.raises(InputError, match="intervals in the window .* --cycles A:B"):
        write_html(trace, tmp_path / "big.html")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium(*args):
    with tempfile.TemporaryDirectory() as profile:
        command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_the_page_renders_and_its_controls_work_in_chromium(trace, tmp_path):
    page = write_html(trace, tmp_path / "r.html")
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", f"file://{page}#selftest")
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-status="rendered"' in body and "data-errors" not in body
    shown = json.loads(re.search(r"data-selftest=\"([^\"]*)\"", body).group(1).replace("&quot;", '"'))
    tile_starts = trace.starts["tile"]
    assert shown["cursor"] == tile_starts[1]  # next, next, previous tile
    assert shown["hi"] - shown["lo"] == trace.end_cycle // 2  # zoomed in by two at the cursor
    assert shown["tip"][0].startswith(f"cycle {tile_starts[1]:,}")
    layer = trace.expand("layer", tile_starts[1], tile_starts[1] + 1)[0]
    assert shown["tip"][1].endswith(trace.meta["layers"][layer]["name"])
    png = tmp_path / "r.png"
    _chromium("--window-size=1400,900", "--virtual-time-budget=3000", f"--screenshot={png}", f"file://{page}")
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000  # a drawn timeline, not a blank page
