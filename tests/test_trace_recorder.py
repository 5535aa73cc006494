"""The recorder's int64 arrays against the list-of-ints recorder they replaced, and the trace's
chunked reductions against the direct formulas."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.trace import trace as trace_module
from accelsim.trace.recorder import Recorder, SignalRecorder, TableRecorder
from accelsim.trace.signals import SignalSpec
from accelsim.trace.trace import Trace

SPEC = SignalSpec("x", "u", "test signal")


class ListRecorder:
    """The recorder as it was, on Python lists: the reference semantics."""

    def __init__(self, initial: int = 0) -> None:
        self.starts, self.values = [0], [initial]

    def set(self, cycle: int, value: int) -> None:
        starts, values = self.starts, self.values
        last = starts[-1]
        if cycle == last:
            values[-1] = value
            if len(values) > 1 and values[-2] == value:
                starts.pop()
                values.pop()
        elif cycle > last:
            if values[-1] != value:
                starts.append(cycle)
                values.append(value)
        else:
            raise ValueError(cycle)

    def extend(self, cycles, values) -> None:
        for c, v in zip(cycles, values):
            self.set(int(c), int(v))


# An operation: ("set", gap, value), or ("extend", first gap, later gaps, values). Gaps from the
# last cycle may be 0 (a same-cycle overwrite); inside an extend they are >= 1 (cycles strictly
# increase).
values_st = st.integers(-3, 3)
set_op = st.tuples(st.just("set"), st.integers(0, 3), values_st)
extend_op = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        st.just("extend"),
        st.integers(0, 3),
        st.lists(st.integers(1, 3), min_size=n - 1, max_size=n - 1),
        st.lists(values_st, min_size=n, max_size=n),
    )
)


@settings(max_examples=300, deadline=None)
@given(initial=values_st, ops=st.lists(st.one_of(set_op, extend_op), max_size=60))
def test_array_recorder_equals_the_list_recorder(initial, ops):
    new, old = SignalRecorder(SPEC, initial), ListRecorder(initial)
    cycle = 0
    for op in ops:
        if op[0] == "set":
            cycle += op[1]
            new.set(cycle, op[2])
            old.set(cycle, op[2])
        else:
            cycles = np.cumsum([cycle + op[1], *op[2]]).astype(np.int64)
            new.extend(cycles, np.array(op[3], dtype=np.int64))
            old.extend(cycles, op[3])
            cycle = int(cycles[-1])
        assert new.starts.tolist() == old.starts
        assert new.values.tolist() == old.values
        assert new.current == old.values[-1]
    new.extend(np.array([], dtype=np.int64), np.array([], dtype=np.int64))  # nothing to add
    starts, values = new.finish()
    assert (starts.dtype, values.dtype) == (np.int64, np.int64)
    assert starts.tolist() == old.starts and values.tolist() == old.values
    assert new.finish()[0] is starts  # finishing twice changes nothing


def test_growth_past_the_first_allocation_keeps_every_interval():
    rec = SignalRecorder(SPEC)
    expected = [(0, 0)]
    for i in range(1, 1000):
        rec.set(3 * i, i % 7 + 1 if i % 7 else 100 + i)
        expected.append((3 * i, i % 7 + 1 if i % 7 else 100 + i))
    rec.extend(np.arange(3000, 5000, dtype=np.int64), np.arange(2000, dtype=np.int64))
    expected += list(zip(range(3000, 5000), range(2000)))
    starts, values = rec.finish()
    assert list(zip(starts.tolist(), values.tolist())) == expected
    assert len(starts) == len(expected)  # trimmed to the intervals


def test_a_change_before_the_last_is_refused_and_recording_ends_at_finish():
    rec = SignalRecorder(SPEC)
    rec.set(5, 1)
    with pytest.raises(ValueError, match="before 5"):
        rec.set(4, 2)
    starts, values = rec.finish()
    with pytest.raises(ValueError, match="recording is over"):
        rec.set(9, 3)
    with pytest.raises(ValueError, match="recording is over"):
        rec.extend(np.array([10, 11]), np.array([1, 2]))
    assert rec.starts.tolist() == starts.tolist() == [0, 5]
    assert rec.values.tolist() == values.tolist() == [0, 1]


def test_recorder_arrays_finish_every_signal():
    recorder = Recorder((SPEC, SignalSpec("y", "u", "other")))
    recorder["x"].set(2, 5)
    arrays = recorder.arrays()
    assert {k: (s.tolist(), v.tolist()) for k, (s, v) in arrays.items()} == {"x": ([0, 2], [0, 5]), "y": ([0], [0])}


def test_table_recorder_keeps_rows_in_order():
    table = TableRecorder(("a", "b", "c"))
    rows = [(i, 2 * i, -i) for i in range(300)]
    for row in rows:
        table.append(row)
    assert len(table) == 300
    assert table.rows.tolist() == [list(r) for r in rows]
    columns = table.as_columns()
    assert list(columns) == ["a", "b", "c"]
    assert columns["b"].tolist() == [2 * i for i in range(300)]
    assert TableRecorder(("a",)).rows.shape == (0, 1)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    values=st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=40),
    dtype=st.sampled_from([np.int64, np.uint32]),
)
def test_chunked_reductions_equal_the_direct_formulas(data, values, dtype, monkeypatch_chunk):
    gaps = data.draw(st.lists(st.integers(1, 2**20), min_size=len(values), max_size=len(values)))
    starts = np.concatenate(([0], np.cumsum(gaps[:-1]))).astype(np.int64)
    end = int(starts[-1]) + gaps[-1]
    lo = data.draw(st.integers(0, end))
    hi = data.draw(st.integers(lo, end))
    trace = Trace({"x": SPEC}, {"x": starts.astype(dtype)}, {"x": np.array(values, dtype=dtype)}, end, {})
    s, e, v = (a.astype(object) for a in trace.intervals("x", lo, hi))  # exact Python ints
    assert trace.integral("x", lo, hi) == int(sum(v * (e - s)))
    per_value: dict[int, int] = {}
    for value, n in zip(v, e - s):
        per_value[int(value)] = per_value.get(int(value), 0) + int(n)
    assert trace.cycles_per_value("x", lo, hi) == per_value


@pytest.fixture(scope="module")
def monkeypatch_chunk():
    """Chunks of three intervals, so short traces cross chunk boundaries."""
    saved = trace_module._CHUNK
    trace_module._CHUNK = 3
    yield
    trace_module._CHUNK = saved
