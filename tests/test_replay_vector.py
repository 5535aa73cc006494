"""The replay's vector-unit panel: exact busy cycles, busy share and operations in a window, busy
cycles per layer (per phase of a generation), and the summary PNG with and without the panel."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from accelsim import hardware, replay
from accelsim.metrics import layer_spans
from accelsim.metrics.generation import step_spans
from accelsim.precision import Precision
from accelsim.replay.vector import busy_cycles_before, has_vector_unit
from accelsim.sim.engine import simulate
from accelsim.study.llm import simulate_generation
from accelsim.trace.signals import MacState
from accelsim.trace.trace import Trace
from accelsim.workload.decoder import DecoderConfig
from accelsim.workload.networks import network
from accelsim.workload.vector import without_vector_layers

BUSY = int(MacState.BUSY)
TINY = DecoderConfig("tiny", 96, 32, 2, 4, 2, 64, 64)


@pytest.fixture(scope="module")
def trace():
    return simulate(network("resnet20").with_precision(Precision.INT8), hardware.seed())


def _busy(trace: Trace, start: int, stop: int) -> int:
    return int(np.count_nonzero(trace.expand("vector.state", start, stop) == BUSY))


def test_busy_cycles_before_counts_every_busy_cycle(trace):
    cycles = np.array([0, 1, 777, 50_000, trace.end_cycle // 2, trace.end_cycle - 1, trace.end_cycle])
    per_cycle = trace.expand("vector.state", 0, trace.end_cycle) == BUSY
    expected = [int(per_cycle[:t].sum()) for t in cycles]
    assert busy_cycles_before(trace, cycles).tolist() == expected


def test_vector_summary_of_a_window_is_exact(trace):
    lo, hi = 10_000, trace.end_cycle // 3
    summary = replay.vector_summary(trace, lo, hi)
    assert summary.cycles == hi - lo
    assert summary.busy_cycles == _busy(trace, lo, hi) > 0
    assert summary.busy_share == summary.busy_cycles / (hi - lo)
    assert summary.ops == int(trace.expand("vector.ops", lo, hi).sum()) > 0


def test_busy_cycles_per_layer_add_up_and_sit_on_vector_layers(trace):
    summary = replay.vector_summary(trace)
    spans = layer_spans(trace)
    assert summary.span_names == tuple(m["name"] for m in trace.meta["layers"])
    assert list(summary.span_busy_cycles) == [_busy(trace, a, b) for a, b in spans]
    assert sum(summary.span_busy_cycles) == summary.busy_cycles
    units = [m["unit"] for m in trace.meta["layers"]]
    # resnet20's convolutions have no epilogue: only its vector layers keep the unit busy
    assert all((n > 0) == (unit == "vector") for n, unit in zip(summary.span_busy_cycles, units))
    assert summary.ops == sum(m["vector_ops"] for m in trace.meta["layers"])


def test_a_generation_sums_per_phase():
    trace = simulate_generation(TINY, 8, 3, "edge-llm").trace
    summary = replay.vector_summary(trace)
    spans = step_spans(trace)
    assert summary.span_names[0] == "prefill" and len(summary.span_names) == 4
    assert list(summary.span_busy_cycles) == [_busy(trace, a, b) for _, a, b in spans]
    assert all(n > 0 for n in summary.span_busy_cycles)


def _without_vector_signals(trace: Trace) -> Trace:
    """A trace as written before the vector unit existed."""
    keep = [name for name in trace.specs if not name.startswith("vector.")]
    return Trace(
        specs={n: trace.specs[n] for n in keep},
        starts={n: trace.starts[n] for n in keep},
        values={n: trace.values[n] for n in keep},
        end_cycle=trace.end_cycle,
        transfers=trace.transfers,
        meta=trace.meta,
    )


def test_summary_png_with_and_without_the_vector_panel(tmp_path, trace):
    gemms = without_vector_layers(network("resnet20").with_precision(Precision.INT8))
    old = _without_vector_signals(simulate(gemms, hardware.seed()))
    assert has_vector_unit(trace) and not has_vector_unit(old)
    for name, t in (("with.png", trace), ("without.png", old)):
        png = replay.summary_png(t, tmp_path / name)
        with Image.open(png) as image:
            assert image.size == (1600, 1000)
