"""The banked DRAM model inside the engine (dram.model = "banked"): bytes, bounds, latency, row
locality, refresh, energy, determinism; and the simple model exactly as before."""

import dataclasses
import hashlib
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from accelsim.dram_devices import PRESETS, command_energy
from accelsim.errors import InputError
from accelsim.hardware import Accelerator, Buffers, Dram, MacArray, from_dict, load_toml, save_toml, seed
from accelsim.metrics import dram_command_energy_pj, dram_commands, summarize
from accelsim.precision import Precision
from accelsim.sim.banked_dram import bank_updates
from accelsim.sim.banked_dram_timing import KINDS, REF
from accelsim.sim.dram_runs import RunResult, RunTimeline
from accelsim.sim.engine import schedule_network, simulate
from accelsim.trace import signals
from accelsim.workload.layers import Conv2d, Gemm, Network
from accelsim.workload.networks import network
from accelsim.workload.vector import without_vector_layers


def _banked(hw: Accelerator, device: str = "ddr4-3200", **dram) -> Accelerator:
    return hw.replace(dram=dataclasses.replace(hw.dram, model="banked", device=device, **dram))


def _small_hw() -> Accelerator:
    return Accelerator(
        mac_array=MacArray(lanes=16),
        buffers=Buffers(weight_bytes=4096, activation_bytes=4096, output_bytes=2048),
        dram=Dram(queue_depth=2),
    )


def _net() -> Network:
    layers = (
        Conv2d("conv", in_channels=8, out_channels=16, in_height=12, in_width=12, padding=1),
        Gemm("fc", m=4, k=16 * 12 * 12, n=10),
    )
    return Network("test", layers).with_precision(Precision.INT8, Precision.INT8)


def _digest(trace) -> str:
    h = hashlib.sha256()
    for name in trace.specs:
        if name.startswith("vector."):  # the vector unit came later (idle in a GEMM-only run)
            continue
        h.update(name.encode())
        h.update(np.asarray(trace.starts[name]).tobytes())
        h.update(np.asarray(trace.values[name]).tobytes())
    for key in sorted(trace.transfers):
        h.update(np.asarray(trace.transfers[key]).tobytes())
    return h.hexdigest()[:16]


def test_the_simple_model_is_unchanged():
    # Figures of resnet20 INT8 on the seed measured before the banked model existed (commit 23572ed),
    # on the GEMM view the built-in had then.
    trace = simulate(without_vector_layers(network("resnet20")).with_precision(Precision.INT8), seed())
    total = summarize(trace).total
    assert trace.end_cycle == 2_501_107
    assert total.energy.total_j == 0.00019095319020000004
    assert total.energy.dram_j == 0.00012026040000000002
    assert total.bus_busy_cycles == 2_466_880
    assert _digest(trace) == "b22b7443f6747a0e"
    assert list(trace.specs.values()) == list(signals.SIGNALS)
    assert dram_commands(trace) is None


@pytest.mark.parametrize("device", list(PRESETS))
def test_banked_runs_conserve_bytes_and_respect_the_device_bandwidth(device):
    net, hw = _net(), _banked(_small_hw(), device)
    trace = simulate(net, hw)
    works = schedule_network(net, hw)
    t = trace.transfers
    for i, work in enumerate(works):
        mine = t["layer"] == i
        reads = int(t["payload_bytes"][mine & (t["kind"] != 2)].sum())
        writes = int(t["payload_bytes"][mine & (t["kind"] == 2)].sum())
        assert reads == sum(s.w_bytes + s.a_bytes for s in work.steps)
        assert writes == (0 if work.output_on_chip else sum(s.out_bytes for s in work.steps if s.out_last))
        assert (trace.meta["counters"][i]["dram_read_bytes"], trace.meta["counters"][i]["dram_write_bytes"]) == (
            reads,
            writes,
        )
    commands = dram_commands(trace)
    d = PRESETS[device]
    # Every burst the requests cover is one column command.
    assert int(t["bus_bytes"].sum()) == commands.columns * d.request_bytes
    assert np.all(t["bus_bytes"] >= t["payload_bytes"])
    assert np.all(t["done_cycle"] <= trace.end_cycle)
    # Never faster than every channel's data bus busy every cycle.
    bytes_per_cycle = hw.dram_bytes_per_cycle
    assert bytes_per_cycle == Fraction(d.channels * d.request_bytes) / (
        Fraction(str(d.tck_ns)) * d.burst_cycles / 10**9
    ) / Fraction(10**9)
    assert trace.end_cycle >= math.ceil(Fraction(int(t["bus_bytes"].sum())) / bytes_per_cycle)
    assert trace.end_cycle >= summarize(trace).total.bound.cycles
    assert list(trace.specs.values()) == [*signals.SIGNALS, *signals.BANKED_DRAM_SIGNALS]
    for name in trace.specs:
        starts = trace.starts[name]
        assert starts[0] == 0 and np.all(np.diff(starts) > 0) and starts[-1] < trace.end_cycle, name


@pytest.mark.parametrize(("device", "clock_hz"), [(d, c) for d in PRESETS for c in (1e9, 0.7e9)])
def test_an_isolated_read_takes_trcd_cl_and_one_burst(device, clock_hz):
    # One GEMM whose weights are one burst: the first request meets idle banks at cycle 0.
    d = PRESETS[device]
    net = Network("one", (Gemm("g", m=1, k=8, n=8),)).with_precision(Precision.INT8, Precision.INT8)
    hw = _banked(_small_hw().replace(clock_hz=clock_hz), device)
    first = {k: int(v[0]) for k, v in simulate(net, hw).transfers.items()}
    assert first["issue_cycle"] == 0 and first["bus_bytes"] == d.request_bytes
    device_cycles = d.trcd_cycles + d.cl_cycles + d.burst_cycles
    accel_period_ns = Fraction(10**9) / Fraction(clock_hz)
    assert first["done_cycle"] == math.ceil(device_cycles * Fraction(str(d.tck_ns)) / accel_period_ns)


def test_a_sequential_tensor_stream_hits_open_rows():
    # A large weight tensor streamed once: every row of 128 bursts costs one ACT, and so does
    # reopening a row a refresh closed (plus the input and output tensors' rows).
    net = Network("big", (Gemm("g", m=1, k=1024, n=1024),)).with_precision(Precision.INT8, Precision.INT8)
    hw = _banked(seed())
    commands = dram_commands(simulate(net, hw))
    assert commands.row_hit_rate > 0.98
    rows = math.ceil(1024 * 1024 / (PRESETS["ddr4-3200"].columns * 8))
    assert rows <= commands.acts <= rows + commands.refs + 4


def test_closed_page_and_row_major_layout_cost_row_locality():
    net = network("resnet20").with_precision(Precision.INT8)
    tiled = dram_commands(simulate(net, _banked(seed())))
    closed = dram_commands(simulate(net, _banked(seed(), page_policy="closed")))
    assert closed.row_hits == 0 and closed.acts == closed.columns
    row_major = dram_commands(simulate(net, _banked(seed(), layout="row-major")))
    # Tile rows narrower than a burst each cost a whole burst, and rows spread over more DRAM rows.
    assert row_major.columns > 2 * tiled.columns
    assert row_major.acts > tiled.acts


def test_refresh_falls_due_every_trefi_per_rank():
    net = network("resnet20").with_precision(Precision.INT8)
    hw = _banked(seed())
    trace = simulate(net, hw)
    d = PRESETS["ddr4-3200"]
    end_device = math.ceil(trace.end_cycle * Fraction(10**9) / Fraction(int(hw.clock_hz)) / Fraction(str(d.tck_ns)))
    interval = d.trefi_cycles // d.ranks
    refs = dram_commands(trace).refs
    assert end_device // interval - 1 <= refs <= end_device // interval + 1
    # The refresh signal holds one rank for tRFC after each REF.
    ranks_refreshing = trace.integral("dram.refresh")
    trfc_accel = d.trfc_cycles * d.tck_ns
    assert abs(ranks_refreshing - refs * trfc_accel) <= refs * 2


def test_banked_energy_is_a_function_of_the_command_counts():
    net = network("resnet20").with_precision(Precision.INT8)
    hw = _banked(seed(), "lpddr5-6400")
    trace = simulate(net, hw)
    summary = summarize(trace)
    commands = dram_commands(trace)
    by_command = dram_command_energy_pj(commands, hw)
    e = command_energy(PRESETS["lpddr5-6400"])
    assert by_command["act"] == commands.acts * e.act_pj
    assert by_command["read"] == commands.reads * e.read_pj
    assert by_command["refresh"] == commands.refs * e.refresh_pj
    assert summary.total.energy.dram_j == pytest.approx(sum(by_command.values()) * 1e-12, rel=1e-12)
    # The background covers every rank-cycle of the run once.
    d = PRESETS["lpddr5-6400"]
    end_device = commands.active_rank_cycles + commands.idle_rank_cycles
    assert end_device == pytest.approx(trace.end_cycle * 1.0 / d.tck_ns * d.ranks * d.channels, abs=2 * d.ranks)
    hit_rate = commands.row_hits / commands.columns
    assert 0.9 < hit_rate <= 1.0


def test_banked_runs_are_deterministic():
    net = network("resnet20").with_precision(Precision.INT8)
    hw = _banked(seed(), "hbm2")
    a, b = simulate(net, hw), simulate(net, hw)
    assert _digest(a) == _digest(b)
    assert a.meta["counters"] == b.meta["counters"]


def test_dram_fields_validate_and_round_trip(tmp_path):
    for field, value in (("model", "ramulator"), ("device", "ddr5"), ("page_policy", "adaptive"), ("layout", "zigzag")):
        with pytest.raises(InputError, match=f"dram.{field}"):
            from_dict({"dram": {field: value}})
    with pytest.raises(InputError, match="dram.address_mapping"):
        from_dict({"dram": {"model": "banked", "address_mapping": "rorororororo"}})
    hw = _banked(seed(), "hbm2", page_policy="closed", address_mapping="rochrababgco", layout="row-major")
    save_toml(hw, tmp_path / "hw.toml")
    assert load_toml(tmp_path / "hw.toml") == hw
    assert hw.dram.dram_device.address_mapping == "rochrababgco"


def check_full_table(timeline: RunTimeline, log: list[tuple[int, int, int, int]]) -> None:
    """One channel's commands against DRAMsim3's timing table applied bank by bank (bank_updates),
    in time order: each command issues no earlier than every command before it allows (an all-bank
    refresh waits for every bank of its rank), and the timeline's per-level bookkeeping (bank, bank
    group, rank) gives exactly the full table's earliest cycle.

    Commands are placed request by request, so a pair whose delay is negative may issue in the other
    order (WRITE then a READ of another rank: on DDR4-3200 the READ may go a cycle before the WRITE
    placed first, its data still after the write's): a command earlier than a previous one allows
    passes if the pair meets the table in the reverse order."""
    d = timeline.device
    full = bank_updates(d)
    banks, per_rank, bpg = d.ranks * d.banks, d.banks, d.banks_per_group
    delay = [[{(dst, f): t for dst, f, t in full[kind][bank]} for bank in range(banks)] for kind in range(KINDS)]
    flat = [
        [np.array(full[kind][bank], dtype=np.int64).reshape(-1, 3).T for bank in range(banks)] for kind in range(KINDS)
    ]
    longest = max(t for rows in full for row in rows for _, _, t in row)
    e = np.zeros((banks, KINDS), dtype=np.int64)
    bank_e = [[0] * KINDS for _ in range(banks)]
    group_e = [[0] * KINDS for _ in range(d.ranks * d.bankgroups)]
    rank_e = [[0] * KINDS for _ in range(d.ranks)]
    log = sorted(log)

    def targets(kind: int, rank: int, bank: int) -> range:
        return range(rank * per_rank, (rank + 1) * per_rank) if kind == REF else range(bank, bank + 1)

    def either_order(i: int) -> bool:
        """Every earlier command that holds log[i] back meets the table with the two swapped."""
        x, kind, rank, bank = log[i]
        for y, other, other_rank, other_bank in reversed(log[:i]):
            if y < x - longest:
                break
            if any(y + delay[other][other_bank].get((b, kind), -longest) > x for b in targets(kind, rank, bank)):
                reverse = max(
                    delay[kind][bank].get((b, other), -longest) for b in targets(other, other_rank, other_bank)
                )
                if x + reverse > y:
                    return False
        return True

    for i, (cycle, kind, rank, bank) in enumerate(log):
        allowed = max(int(e[b, kind]) for b in targets(kind, rank, bank))
        assert cycle >= allowed or either_order(i), (cycle, kind, bank, allowed)
        if kind != REF:
            level = max(bank_e[bank][kind], group_e[bank // bpg][kind], rank_e[rank][kind])
            assert level == allowed, (cycle, kind, bank, level, allowed)
        dst, follow, after = flat[kind][bank]
        np.maximum.at(e, (dst, follow), cycle + after)
        timeline.updates[kind](bank_e[bank], group_e[bank // bpg], rank_e[rank], rank_e, rank, cycle)


@pytest.mark.parametrize("device", list(PRESETS))
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_every_command_meets_the_full_timing_table(device, policy):
    d = PRESETS[device]
    rng = random.Random(7)
    timeline = RunTimeline(d, policy, record=True)
    t = 0
    for _ in range(150):
        address = rng.randrange(0, 1 << 24) * 64 if rng.random() < 0.5 else rng.randrange(0, 1 << 16) * 64
        nbytes = rng.choice([64, 200, 4096, 20000])
        t += rng.choice([0, 5, 50, 4000])
        timeline.place(address, nbytes, rng.random() < 0.3, t, RunResult())
    assert timeline.counts.refs > 0 and (timeline.counts.row_hits > 0) == (policy == "open")
    for log in timeline.logs:
        check_full_table(timeline, log)


@pytest.mark.parametrize("device", list(PRESETS))
@pytest.mark.parametrize("policy", ["open", "closed"])
def test_batched_runs_meet_every_timing_rule_command_by_command(device, policy):
    # Sequential tiles (long runs, interleaved bank groups), random tiles and writes, with refresh.
    from test_banked_dram import check_invariants

    d = PRESETS[device]
    rng = random.Random(11)
    timeline = RunTimeline(d, policy, record=True)
    t = 0
    cursor = 0
    end = 0
    for _ in range(400):
        if rng.random() < 0.6:
            address, cursor = cursor, cursor + 8192
        else:
            address = rng.randrange(0, 1 << 22) * 64
        result = RunResult()
        timeline.place(address, rng.choice([64, 4096, 8192, 30000]), rng.random() < 0.25, t, result)
        end = max(end, result.done)
        t = max(t, result.last_command) if rng.random() < 0.7 else t + rng.choice([1, 100, 5000])
    timeline.refresh_until(end)
    assert timeline.counts.refs > 0
    for log, refreshes in zip(timeline.logs, timeline.refresh_logs):
        check_invariants(d, sorted(log), refreshes, end)


def test_a_banked_trace_file_reads_back_to_the_same_summary_and_reports_its_hit_rate(tmp_path, capsys):
    from accelsim.cli import main
    from accelsim.trace import store

    trace = simulate(_net(), _banked(_small_hw(), "lpddr5-6400"))
    store.save(trace, tmp_path / "t.npz")
    loaded = store.load(tmp_path / "t.npz")
    assert summarize(loaded).as_dict() == summarize(trace).as_dict()
    assert loaded.specs == trace.specs
    commands = dram_commands(trace)
    assert main(["trace", "info", str(tmp_path / "t.npz")]) == 0
    out = capsys.readouterr().out
    assert f"row-buffer hit rate {100 * commands.row_hit_rate:.2f}%" in out
    assert "banked lpddr5-6400 (open page, tiled layout)" in out
    for fmt, suffix, shown in (("vcd", ".vcd", "row_name"), ("chrome", ".json", "dram.refresh")):
        assert (
            main(["trace", "export", str(tmp_path / "t.npz"), "--format", fmt, "-o", str(tmp_path / f"t{suffix}")]) == 0
        )
        text = (tmp_path / f"t{suffix}").read_text()
        assert shown in text and "MISS" in text, fmt


def _last_per_cycle(cycles, values):
    cycles, values = np.asarray(cycles), np.asarray(values)
    last = np.append(cycles[1:] != cycles[:-1], True)
    return cycles[last].tolist(), values[last].tolist()


@pytest.mark.parametrize("seed_", range(6))
def test_row_signal_changes_on_arrays_equal_the_run_by_run_loop(seed_):
    from accelsim.sim.banked_controller import _row_changes, row_changes

    rng = np.random.default_rng(seed_)
    n = 400
    # runs crowded together (overlaps, gaps) as interleaved runs and refreshes give; with odd seeds
    # no two share a first cycle (the array path), with even ones many do (the loop)
    first = rng.choice(3 * n, n, replace=False) if seed_ % 2 else rng.integers(0, 3 * n, n)
    after = first + rng.integers(1, 12, n)
    hit = rng.integers(0, 2, n)
    order = np.lexsort((hit, after, first))
    expected = _row_changes(first[order].tolist(), after[order].tolist(), hit[order].tolist())
    shuffled = rng.permutation(len(first))
    got = row_changes(first[shuffled], after[shuffled], hit[shuffled])
    assert _last_per_cycle(*got) == _last_per_cycle(*expected)
    empty = np.zeros(0, dtype=np.int64)
    assert [a.tolist() for a in row_changes(empty, empty, empty)] == [[0], [0]]


@pytest.mark.parametrize("device", ["ddr4-3200", "hbm2"])
def test_refreshes_of_an_idle_rank_issued_at_once_land_where_one_by_one_puts_them(device):
    # Requests with long gaps: many refreshes fall due on idle ranks between them. Recording
    # timelines issue refreshes one by one; the others in bulk.
    d = PRESETS[device]
    rng = random.Random(3)
    bulk, single = RunTimeline(d), RunTimeline(d, record=True)
    t = 0
    for _ in range(60):
        address, nbytes, is_write = rng.randrange(0, 1 << 22) * 64, rng.choice([64, 4096]), rng.random() < 0.3
        t += rng.choice([10, 5 * d.trefi_cycles, 17 * d.trefi_cycles])
        a, b = RunResult(), RunResult()
        bulk.place(address, nbytes, is_write, t, a)
        single.place(address, nbytes, is_write, t, b)
        assert a == b
    bulk.refresh_until(t + 9 * d.trefi_cycles)
    single.refresh_until(t + 9 * d.trefi_cycles)
    assert bulk.counts == single.counts and bulk.counts.refs > 60 * 5
    assert [ch.refs for ch in bulk.channels] == [ch.refs for ch in single.channels]
    assert bulk.row_spans == single.row_spans


@pytest.mark.parametrize("device", ["hbm2", "ddr4-3200"])
def test_requests_placed_ahead_overlap_across_banks_and_channels(device):
    # A weight stream of 16 KiB tiles: with one request of lookahead each tile waits for the last
    # column command of the one before; with eight per channel, the next tiles' ACTs (and on HBM2
    # their other channels) start early. Same bytes, fewer cycles, never above the peak.
    net = Network("big", (Gemm("g", m=1, k=2048, n=1024),)).with_precision(Precision.INT8, Precision.INT8)
    hw = seed().replace(mac_array=MacArray(lanes=1024))
    runs = [simulate(net, _banked(hw, device, channel_queue_depth=depth)) for depth in (1, 8)]
    assert [int(r.transfers["bus_bytes"].sum()) for r in runs] == [2_103_296] * 2
    assert runs[1].end_cycle < runs[0].end_cycle
    peak = _banked(hw, device).dram_bytes_per_cycle
    assert runs[1].end_cycle >= math.ceil(Fraction(2_103_296) / peak)
    with pytest.raises(InputError, match="dram.channel_queue_depth"):
        from_dict({"dram": {"channel_queue_depth": 0}})


def test_a_fused_residual_reads_its_own_producers_outputs():
    # fuse(elementwise) folds each residual add into the convolution before it: the add's other
    # input (the skip connection) is read into each output tile. Those reads come from the skip
    # producer's output region, in output-tile order; the convolution's own input from its operand's.
    from accelsim.compress.methods import Fuse
    from accelsim.sim.dram_placement import TensorPlacement

    net = Fuse("elementwise")(network("resnet20")).with_precision(Precision.INT8)
    hw = _banked(seed())
    works = schedule_network(net, hw)
    placement = TensorPlacement(net.layers, works)
    fused = [i for i, layer in enumerate(net.layers) if layer.epilogue_inputs]
    assert len(fused) >= 8

    def within(runs, regions):
        return all(any(b <= a and a + n <= b + size for r in regions for b, size in r.pieces) for a, n in runs)

    for li in fused:
        operand, skip = works[li].producers[:-1], works[li].producers[-1:]
        steps = [s for s in works[li].steps if s.e_bytes]
        reads = [placement.segments(1, li, s.index, s.e_bytes, epilogue=True) for s in steps]
        assert within([r for runs in reads for r in runs], [placement.outputs[j] for j in skip])
        assert sum(n for runs in reads for _, n in runs) == sum(s.e_bytes for s in steps)
        # tiles in order: the first at the start of the skip tensor, each after the one before
        assert reads[0][0][0] == placement.outputs[skip[0]].pieces[0][0]
        inputs = [placement.segments(1, li, s.index, s.a_bytes) for s in works[li].steps if s.a_bytes]
        assert within([r for runs in inputs for r in runs], [placement.outputs[j] for j in operand])
    trace = simulate(net, hw)
    assert trace.meta["counters"] == simulate(net, hw).meta["counters"]


def test_every_phase_of_a_generation_reads_one_kv_cache_region_per_cache():
    # The prefill and each decode step read block i's K (scores) and V (context) caches from one
    # region each, as large as the last step's read; other layers keep regions of their own.
    from accelsim.sim.dram_placement import TensorPlacement
    from accelsim.workload.decoder import DecoderConfig, decode_step
    from accelsim.workload.generation import generation

    tiny = DecoderConfig(
        "tiny", vocab_size=96, hidden_size=32, layers=2, heads=4, kv_heads=2, intermediate_size=64, context=64
    )
    net = generation(tiny, 8, 3).network.with_precision(Precision.INT8)
    hw = _banked(seed())
    works = schedule_network(net, hw)
    placement = TensorPlacement(net.layers, works)
    assert sorted(placement.caches) == [f"layers.{i}.attn.{p}" for i in range(2) for p in ("context", "scores")]
    for key, region in placement.caches.items():
        readers = [i for i, layer in enumerate(net.layers) if layer.name.endswith("/" + key)]
        assert len(readers) == 4  # prefill and three steps
        assert all(placement.weights[i] is region for i in readers)
        reads = [sum(s.w_bytes for s in works[i].steps if s.w_bytes) for i in readers]
        assert reads == sorted(reads) and region.size == max(
            placement._distinct_bytes(works[i].steps, True) for i in readers
        )
    others = [placement.weights[i].pieces for i, layer in enumerate(net.layers) if not getattr(layer, "keys_axis", "")]
    starts = [p[0][0] for p in others]
    assert len(set(starts)) == len(starts)
    # a single phase places exactly as before: one region per layer, in order
    step = decode_step(tiny, 8, 1).with_precision(Precision.INT8)
    single = TensorPlacement(step.layers, schedule_network(step, hw))
    bases = [r.pieces[0][0] for r in single.weights]
    assert bases == sorted(bases) and len(set(bases)) == len(bases)


@pytest.mark.parametrize("mlp", ["gelu", "swiglu"])
def test_new_k_and_v_are_written_where_the_next_step_reads_them(monkeypatch, mlp):
    # A generation on banked DDR4 with every placed transfer logged: each phase writes its tokens' K
    # and V (GPT-2: the K and V columns of c_attn; Llama: rotary.k and v_proj) into the cache at
    # their positions, and step k + 1 reads position P + k - 1 (step k's token) from exactly there.
    from accelsim.sim.dram_placement import TensorPlacement
    from accelsim.trace.trace import TRANSFER_KINDS, WRITE_KIND
    from accelsim.workload.decoder import DecoderConfig
    from accelsim.workload.generation import generation

    gpt = mlp == "gelu"
    tiny = DecoderConfig(
        "tiny", 96, 32, 1, 4, 2, 64, 64, mlp, "layernorm" if gpt else "rmsnorm", "learned" if gpt else "rotary"
    )
    prompt, steps, batch, head_dim, kv_heads = 8, 3, 2, 8, 2
    net = generation(tiny, prompt, steps, batch).network.with_precision(Precision.INT8)
    log: list[tuple[int, int, int, int, list[tuple[int, int]]]] = []
    original = TensorPlacement.segments

    def logged(self, kind, li, step, nbytes, epilogue=False):
        runs = original(self, kind, li, step, nbytes, epilogue)
        log.append((kind, li, step, nbytes, runs))
        return runs

    monkeypatch.setattr(TensorPlacement, "segments", logged)
    trace = simulate(net, _banked(seed()))
    assert all(sum(b for _, b in runs) == nbytes for _, _, _, nbytes, runs in log)  # bytes conserved
    assert sum(n for _, _, _, n, _ in log) == int(trace.transfers["payload_bytes"].sum())
    names = [layer.name for layer in net.layers]
    writer = {"scores": "attn.c_attn" if gpt else "rotary.k", "context": "attn.c_attn" if gpt else "self_attn.v_proj"}
    weight = TRANSFER_KINDS.index("weight")
    for product, source in writer.items():
        for k in range(1, steps):
            # step k's write of the product's cache: one run of head_dim bytes per sequence and head
            writes = [
                runs for kind, li, _, _, runs in log if kind == WRITE_KIND and names[li] == f"step{k}/layers.0.{source}"
            ]
            reads = [
                runs
                for kind, li, _, _, runs in log
                if kind == weight and names[li] == f"step{k + 1}/layers.0.attn.{product}"
            ]
            base, capacity = min(a for runs in reads for a, _ in runs), prompt + steps
            end = base + batch * kv_heads * capacity * head_dim  # the cache: (group, position, head_dim)
            written = sorted((a, b) for runs in writes for a, b in runs if base <= a < end)
            expected = [
                (base + ((s * kv_heads + h) * capacity + prompt + k - 1) * head_dim, head_dim)
                for s in range(batch)
                for h in range(kv_heads)
            ]
            assert written == expected
            covered = [(a, a + b) for runs in reads for a, b in runs]
            assert all(any(lo <= a and a + b <= hi for lo, hi in covered) for a, b in expected)
