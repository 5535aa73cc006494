"""The signal declarations: complete (a run records exactly the declared signals), read back
from files, and what the exports and the rest of the code take from them."""

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from accelsim.hardware import Accelerator, Buffers, Dram, MacArray
from accelsim.precision import Precision
from accelsim.sim import dram, engine, mac_array, vector_unit
from accelsim.sim.engine import simulate
from accelsim.trace import signals, store
from accelsim.trace.export import _GROUPS, TRANSFER_SIGNAL
from accelsim.trace.signals import SignalSpec
from accelsim.workload.layers import Conv2d, Gemm, Network
from accelsim.workload.vector import Activation

ROOT = Path(__file__).resolve().parent.parent
RECORDED = {spec.name for spec in signals.SIGNALS}


def _vector_hw() -> Accelerator:
    return Accelerator(
        mac_array=MacArray(lanes=16),
        buffers=Buffers(weight_bytes=4096, activation_bytes=4096, output_bytes=2048),
        dram=Dram(bandwidth_bytes_per_s=2e9, latency_ns=50.0, queue_depth=2),
    )


def _systolic_hw() -> Accelerator:
    return Accelerator(
        mac_array=MacArray(lanes=64, geometry="systolic", rows=8, cols=8, dataflow="ws"),
        buffers=Buffers(weight_bytes=4096, activation_bytes=4096, output_bytes=2048),
        dram=Dram(bandwidth_bytes_per_s=2e9, latency_ns=50.0, queue_depth=2),
    )


def _network() -> Network:
    layers = (
        Conv2d("conv", in_channels=8, out_channels=16, in_height=12, in_width=12, padding=1),
        Activation("relu", rows=16, row_length=12 * 12, channels_on_rows=True),  # records the vector unit
        Gemm("fc", m=4, k=16 * 12 * 12, n=10),
    )
    return Network("test", layers).with_precision(Precision.INT8, Precision.INT8)


@pytest.mark.parametrize("hw", [_vector_hw(), _systolic_hw()], ids=["vector", "systolic"])
def test_a_run_records_every_declared_signal_and_nothing_else(hw):
    trace = simulate(_network(), hw)
    assert list(trace.specs) == [spec.name for spec in signals.SIGNALS]
    assert tuple(trace.specs.values()) == signals.SIGNALS
    assert engine.SIGNAL_SPECS == signals.SIGNALS
    for name, spec in trace.specs.items():
        # Recorded for real: each signal changes at least once in a run of two multi-tile layers.
        assert len(trace.starts[name]) > 1, name
        if spec.is_state:
            assert int(np.max(trace.values[name])) < len(spec.states)


def test_declarations_are_consistent():
    names = [spec.name for spec in signals.DISPLAY_ORDER]
    assert len(names) == len(set(names))
    assert set(signals.SIGNALS) <= set(signals.DISPLAY_ORDER)
    extra = [signals.DRAM_TRANSFER, *signals.BANKED_DRAM_SIGNALS, *signals.GENERATION_SIGNALS]
    assert [s for s in signals.DISPLAY_ORDER if s not in signals.SIGNALS] == extra
    assert TRANSFER_SIGNAL == signals.DRAM_TRANSFER.name
    for spec in signals.DISPLAY_ORDER:
        assert spec.kind in signals.KINDS
        assert spec.unit and spec.description
        assert spec.group != signals.OTHER_GROUP, spec.name
    grouped = [name for _, members in _GROUPS for name in members]
    assert grouped == names
    assert [title for title, _ in _GROUPS] == ["MAC array", "Vector unit", "DRAM", "Buffers", "Schedule"]
    assert signals.MAC_STATE.states == tuple(s.name for s in signals.MacState)
    assert signals.DRAM_BUS.states == signals.BUS_STATES == ("IDLE", "READ", "WRITE")


def test_export_roles_come_from_the_declarations():
    counters = [s.name for s in signals.SIGNALS if s.is_counter]
    slices = [s.name for s in signals.SIGNALS if s.is_slice_track]
    assert counters == [
        "mac.busy_lanes",
        "vector.busy_lanes",
        "dram.queue",
        "buf.weight",
        "buf.activation",
        "buf.output",
    ]
    assert slices == ["mac.state", "vector.state"]
    assert signals.MAC_STATE.title == "MAC array"
    assert signals.VECTOR_STATE.title == "Vector unit"
    assert signals.LAYER.kind == signals.TILE.kind == signals.INDEX


def test_old_import_paths_still_work():
    from accelsim.metrics import layer_spans as metrics_layer_spans
    from accelsim.sim.mac_array import MacState
    from accelsim.trace.recorder import SignalSpec as RecorderSpec
    from accelsim.trace.trace import layer_spans

    assert MacState is signals.MacState
    assert dram.BUS_STATES is signals.BUS_STATES
    assert RecorderSpec is SignalSpec
    assert metrics_layer_spans is layer_spans
    assert mac_array.SIGNALS + vector_unit.SIGNALS + dram.SIGNALS == signals.SIGNALS[:8]


def test_the_file_format_readme_documents_every_signal():
    text = (ROOT / "traces" / "README.md").read_text()
    for spec in signals.SIGNALS:
        assert f"`{spec.name}`" in text, spec.name


def test_a_saved_trace_reads_back_the_declarations(tmp_path):
    trace = simulate(_network(), _vector_hw())
    store.save(trace, tmp_path / "t.npz")
    assert store.load(tmp_path / "t.npz").specs == trace.specs
    example = store.load(ROOT / "traces" / "seed-gemms-int8.npz")
    assert tuple(example.specs.values()) == signals.SIGNALS


def test_from_file_keeps_the_file_text_and_the_declared_roles():
    spec = signals.from_file("mac.macs", "MACs", "older text", ())
    assert spec == dataclasses.replace(signals.MAC_MACS, description="older text")
    assert not spec.is_counter
    unknown = signals.from_file("vec.busy", "lanes", "a unit of a newer build", ())
    assert (unknown.kind, unknown.group, unknown.is_counter) == (signals.COUNT, signals.OTHER_GROUP, True)
    state = signals.from_file("vec.state", "state", "newer", ("OFF", "ON"))
    assert state.is_slice_track and state.title == "vec.state" and state.label(1) == "ON" and state.label(7) == "7"
    # A declared name whose file says otherwise (a state stored as a number) keeps the file's word.
    assert signals.from_file("mac.state", "state", "x", ()).kind == signals.COUNT


def test_a_declaration_states_its_values_only_when_it_is_a_state():
    with pytest.raises(ValueError, match="kind"):
        SignalSpec("x", "u", "d", kind="colour")
    with pytest.raises(ValueError, match="states"):
        SignalSpec("x", "u", "d", kind=signals.STATE)
    with pytest.raises(ValueError, match="states"):
        SignalSpec("x", "u", "d", ("A",), kind=signals.COUNT)
    assert SignalSpec("x", "u", "d", ("A", "B")).kind == signals.STATE
    assert SignalSpec("x", "u", "d").kind == signals.COUNT


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] == "accelsim"}


def test_the_trace_package_imports_nothing_above_it():
    allowed = ("accelsim.errors", "accelsim.trace")
    for path in sorted((ROOT / "accelsim" / "trace").glob("*.py")):
        for name in _imports(path):
            assert name in allowed or name.startswith("accelsim.trace."), f"{path.name} imports {name}"


def test_the_simulator_names_signals_only_through_the_declarations():
    quoted = {f'"{spec.name}"' for spec in signals.DISPLAY_ORDER if "." in spec.name}
    for folder in ("sim", "trace"):
        for path in sorted((ROOT / "accelsim" / folder).glob("*.py")):
            if path.name == "signals.py":
                continue
            text = path.read_text()
            assert not [q for q in quoted if q in text], path.name
