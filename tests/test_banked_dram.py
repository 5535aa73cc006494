"""Banked DRAM model: presets, address mapping, exact timing of simple cases and timing invariants."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import dram_streams  # tools/: the stream generator
import pytest

from accelsim.dram_devices import (
    DDR4_3200,
    HBM2,
    LPDDR4_2400,
    LPDDR5_6400,
    PRESETS,
    AddressMapping,
    DramControllerConfig,
    DramDevice,
    dram_device,
)
from accelsim.errors import InputError
from accelsim.sim.banked_dram_timing import ACT, PRE, READ, READ_P, REF, WRITE, WRITE_P
from accelsim.sim.dram_stream import format_stream, load_trace, parse_trace, replay, run_stream

DATA = Path(__file__).parent / "data" / "dramsim3"


def random_lines(n: int, seed: int, span: int, write_every: int = 3, gap: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.randrange(span // 64) * 64:x} {'WRITE' if i % write_every == write_every - 1 else 'READ'} {i * gap}"
        for i in range(n)
    ]


# ----- presets and mapping -----
def test_presets_carry_dramsim3_values_and_derived_organization() -> None:
    assert set(PRESETS) == {"ddr4-3200", "lpddr4-2400", "hbm2", "lpddr5-6400"}
    d = DDR4_3200
    assert (d.ranks, d.request_bytes, d.tck_ns, d.burst_cycles, d.devices_per_rank) == (2, 64, 0.63, 4, 8)
    assert (d.trcd_cycles, d.cl_cycles, d.tfaw_cycles, d.trefi_cycles, d.trfc_cycles, d.trc_cycles) == (
        22,
        22,
        34,
        12480,
        560,
        74,
    )
    assert d.capacity_bytes == 16 << 30
    assert (LPDDR4_2400.ranks, LPDDR4_2400.request_bytes, LPDDR4_2400.capacity_bytes) == (2, 128, 8 << 30)
    assert (HBM2.channels, HBM2.ranks, HBM2.columns, HBM2.request_bytes, HBM2.capacity_bytes) == (
        8,
        1,
        128,
        64,
        8 << 30,
    )
    assert (LPDDR5_6400.capacity_bytes, LPDDR5_6400.request_bytes) == (1 << 30, 64)
    assert dram_device("hbm2") is HBM2
    assert "DDR4_8Gb_x8_3200.ini" in DDR4_3200.source and "tCK 0.63" in DDR4_3200.source
    assert "LPDDR4_8Gb_x16_2400.ini" in LPDDR4_2400.source and "HBM2_8Gb_x128.ini" in HBM2.source
    assert "JESD209-5" in LPDDR5_6400.source and "DRAMPower" in LPDDR5_6400.source


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tras_cycles": 0}, "tras_cycles"),
        ({"banks_per_group": 3}, "banks_per_group"),
        ({"tck_ns": -1.0}, "tck_ns"),
        ({"idd4r_ma": -5.0}, "idd4r_ma"),
        ({"address_mapping": "rochrababgbg"}, "address_mapping"),
        ({"trefi_cycles": 100}, "trefi_cycles"),
    ],
)
def test_bad_device_fields_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(InputError, match=field) as err:
        replace(DDR4_3200, **change)
    assert "\n" not in str(err.value)


def test_bad_controller_and_preset_names() -> None:
    with pytest.raises(InputError, match="page_policy"):
        DramControllerConfig(page_policy="adaptive")
    with pytest.raises(InputError, match="cmd_queue_depth"):
        DramControllerConfig(cmd_queue_depth=0)
    with pytest.raises(InputError, match="ddr4-3200"):
        dram_device("ddr9")


def test_address_mapping_follows_dramsim3_bit_order() -> None:
    m = AddressMapping(DDR4_3200)  # rochrababgco: 6 offset bits, co 7, bg 2, ba 2, ra 1, ch 0, ro 16
    assert m.decode(0x40) == (0, 0, 0, 0, 0, 1)
    assert m.decode(0x2000) == (0, 0, 1, 0, 0, 0)
    assert m.decode(0x8000) == (0, 0, 0, 1, 0, 0)
    assert m.decode(0x20000) == (0, 1, 0, 0, 0, 0)
    assert m.decode(0x40000) == (0, 0, 0, 0, 1, 0)
    assert m.decode((5 << 18) | (1 << 17) | (3 << 15) | (2 << 13) | (9 << 6) | 0x3F) == (0, 1, 2, 3, 5, 9)
    h = AddressMapping(HBM2)  # rorabgbachco: co 5 bits, then 3 channel bits
    assert h.decode(0x800) == (1, 0, 0, 0, 0, 0)
    assert h.decode(0x4000) == (0, 0, 0, 1, 0, 0)


# ----- exact timing of simple cases -----
@pytest.mark.parametrize("device", list(PRESETS.values()), ids=list(PRESETS))
def test_isolated_read_takes_trcd_cl_burst(device: DramDevice) -> None:
    r = run_stream(["0x0 READ 0"], device)
    assert r.avg_read_latency_cycles == device.trcd_cycles + device.cl_cycles + device.burst_cycles
    assert (r.row_hits, r.row_misses, r.acts, r.pres) == (0, 1, 1, 0)
    w = run_stream(["0x0 WRITE 5"], device)
    assert w.avg_write_latency_cycles == device.trcdwr_cycles + device.cwl_cycles + device.burst_cycles


def test_second_read_to_open_row_is_a_hit_one_tccd_l_later() -> None:
    r = run_stream(["0x0 READ 0", "0x40 READ 0"], DDR4_3200)
    assert (r.row_hits, r.row_misses) == (1, 1)
    assert r.end_cycle == 22 + 8 + 22 + 4  # second RD one tCCD_L after the first


def test_isolated_read_energy_follows_idd_method() -> None:
    r = run_stream(["0x0 READ 0"], DDR4_3200)
    scale = 1.2 * 8 * 0.63  # VDD x devices per rank x tCK
    assert r.energy_pj["act"] == pytest.approx(scale * (57 * 74 - (52 * 52 + 37 * 22)))
    assert r.energy_pj["read"] == pytest.approx(scale * (168 - 52) * 4)
    # rank 0 has a bank open for all 48 cycles, rank 1 none
    assert r.energy_pj["background"] == pytest.approx(scale * (52 * 48 + 37 * 48))
    assert r.energy_pj["refresh"] == 0.0


def test_read_of_buffered_write_is_served_without_a_read_command() -> None:
    result, dram = replay(parse_trace(["0x1000 WRITE 0", "0x1000 READ 1"]), DDR4_3200, record=True)
    kinds = [k for _, k, _, _ in dram.channels[0].log]
    assert kinds == [ACT, WRITE]
    assert result.reads == 1 and result.writes == 1


def test_closed_page_precharges_every_access() -> None:
    lines = [f"{i * 64:x} READ {i}" for i in range(64)]
    cfg = DramControllerConfig(page_policy="closed")
    result, dram = replay(load_trace(lines), DDR4_3200, cfg, record=True)
    kinds = [k for _, k, _, _ in dram.channels[0].log]
    assert result.row_hits == 0 and result.acts == 64 and result.pres == 0
    assert kinds.count(READ_P) == 64 and READ not in kinds


# ----- invariants over random streams -----
def check_invariants(device: DramDevice, log: list[tuple[int, int, int, int]], refresh_log: list, end: int) -> None:
    d = device
    per_rank, bpg = d.banks, d.banks_per_group
    rl, wl, burst = d.read_latency_cycles, d.write_latency_cycles, d.burst_cycles
    acts_by_bank: dict[int, list[int]] = {}
    acts_by_rank: dict[int, list[tuple[int, int]]] = {}
    col_by_rank: dict[int, list[tuple[int, int, int]]] = {}
    last_act: dict[int, int] = {}
    last_pre: dict[int, int] = {}
    bus = []
    refs: dict[int, list[int]] = {}
    for cycle, kind, rank, bank in log:
        group = (bank % per_rank) // bpg
        if kind == ACT:
            acts_by_bank.setdefault(bank, []).append(cycle)
            acts_by_rank.setdefault(rank, []).append((cycle, group))
            if bank in last_pre:
                assert cycle - last_pre[bank] >= d.trp_cycles
            last_act[bank] = cycle
        elif kind == PRE:
            assert cycle - last_act[bank] >= d.tras_cycles
            last_pre[bank] = cycle
        elif kind == REF:
            refs.setdefault(rank, []).append(cycle)
        else:
            assert cycle - last_act[bank] >= (d.trcdwr_cycles if kind in (WRITE, WRITE_P) else d.trcd_cycles)
            col_by_rank.setdefault(rank, []).append((cycle, group, kind))
            start = cycle + (wl if kind in (WRITE, WRITE_P) else rl)
            bus.append((start, start + burst))
    for times in acts_by_bank.values():
        assert all(b - a >= d.trc_cycles for a, b in zip(times, times[1:], strict=False))
    for acts in acts_by_rank.values():
        cycles = [c for c, _ in acts]
        assert all(cycles[i + 4] - cycles[i] >= d.tfaw_cycles for i in range(len(cycles) - 4))
        for (a, ga), (b, gb) in zip(acts, acts[1:], strict=False):
            assert b - a >= (d.trrd_l_cycles if ga == gb else d.trrd_s_cycles)
    for cols in col_by_rank.values():
        for (a, ga, _), (b, gb, _) in zip(cols, cols[1:], strict=False):
            assert b - a >= (d.tccd_l_cycles if ga == gb else d.tccd_s_cycles)
    bus.sort()
    assert all(s2 >= e1 for (_, e1), (s2, _) in zip(bus, bus[1:], strict=False)), "data bus transfers overlap"
    # refresh: every due refresh issued, in order, within one row cycle plus write recovery of falling due
    due: dict[int, list[int]] = {}
    for cycle, rank in refresh_log:
        due.setdefault(rank, []).append(cycle)
    bound = d.trc_cycles + wl + burst + d.twr_cycles + d.trp_cycles
    for rank, times in due.items():
        issued = refs.get(rank, [])
        assert len([t for t in times if t + bound <= end]) <= len(issued) <= len(times)
        for t_due, t_ref in zip(times, issued, strict=False):
            assert 0 <= t_ref - t_due <= bound
        assert all(b - a >= d.trfc_cycles for a, b in zip(issued, issued[1:], strict=False))
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(g == d.trefi_cycles for g in gaps)  # each rank falls due every tREFI


@pytest.mark.parametrize(
    ("device", "config"),
    [
        (DDR4_3200, DramControllerConfig()),
        (DDR4_3200, DramControllerConfig(page_policy="closed", refresh_policy="rank_simultaneous")),
        (LPDDR4_2400, DramControllerConfig()),
        (HBM2, DramControllerConfig()),
        (LPDDR5_6400, DramControllerConfig()),
    ],
    ids=["ddr4", "ddr4-closed", "lpddr4", "hbm2", "lpddr5"],
)
def test_timing_invariants_on_random_streams(device: DramDevice, config: DramControllerConfig) -> None:
    span = min(device.capacity_bytes, 1 << 24)  # 16 MB: some row hits, many conflicts
    lines = random_lines(4000, seed=7, span=span)
    result, dram = replay(load_trace(lines), device, config, record=True)
    assert result.refs > 0
    for ch in dram.channels:
        check_invariants(device, ch.log, dram.refresh_log, result.end_cycle)
    # bytes and requests conserved; every request completes after it was accepted
    txns = load_trace(lines)
    res2, _ = replay(txns, device, config)
    assert res2.bytes == 4000 * device.request_bytes and res2.reads + res2.writes == 4000
    assert all(t.arrival <= t.accepted <= t.issued <= t.done for t in txns)
    assert res2 == result


@pytest.mark.parametrize(
    ("device", "mapping", "per_cycle"),
    [(DDR4_3200, "rorabachcobg", 1), (LPDDR4_2400, "rorabachcobg", 1), (HBM2, "rorabgbachco", 4)],
    ids=["ddr4", "lpddr4", "hbm2"],
)
def test_long_sequential_stream_reaches_bus_peak(device: DramDevice, mapping: str, per_cycle: int) -> None:
    # bank groups (HBM2: channels) in the low bits: consecutive bursts never wait on tCCD_L, so the data bus
    # is the bound, less refresh (each rank blocked tRFC of every tREFI; the stream dwells in one rank)
    device = replace(device, address_mapping=mapping)
    lines = [f"{i * device.request_bytes:x} READ {i // per_cycle}" for i in range(20000)]
    r = run_stream(lines, device, requests_per_cycle=per_cycle)
    peak = device.peak_bandwidth_bytes_per_s * (1 - device.trfc_cycles / device.trefi_cycles)
    assert 0.97 * peak <= r.bandwidth_bytes_per_s <= device.peak_bandwidth_bytes_per_s


# ----- the stream runner -----
def test_trace_errors_name_the_line() -> None:
    with pytest.raises(InputError, match="trace line 2"):
        parse_trace(["0x0 READ 0", "0x40 FETCH 1"])
    with pytest.raises(InputError, match="trace line 1"):
        parse_trace(["zz READ 0"])
    with pytest.raises(InputError, match="no requests"):
        run_stream(["# nothing"], DDR4_3200)
    with pytest.raises(InputError, match="existing file"):
        run_stream("/nonexistent/stream.trace", DDR4_3200)


def test_result_json_and_text() -> None:
    r = run_stream(DATA / "seq_read.trace", DDR4_3200)
    doc = r.to_json()
    assert any("bandwidth" in k for k in doc) and any("row_hits" in k for k in doc)
    json.dumps(doc)
    text = format_stream(r)
    assert "bandwidth" in text and "3966 hits" in text
    # exact figures of this stream (a regression pin; DRAMsim3 agrees on hits, ACTs and PREs)
    assert (r.row_hits, r.acts, r.pres, r.refs, r.end_cycle) == (3966, 34, 18, 3, 24166)


# ----- against DRAMsim3 -----
ORACLE_FILES = {
    "ddr4-3200": "ddr4_3200",
    "lpddr4-2400": "lpddr4_2400",
    "hbm2": "hbm2",
    "ddr4-3200-closed": "ddr4_3200_closepage",  # DRAMsim3's ini with row_buf_policy = CLOSE_PAGE
}
ORACLES = {name: json.loads((DATA / f"dramsim3_{file}.json").read_text()) for name, file in ORACLE_FILES.items()}
CASES = [(dev, stream) for dev, doc in ORACLES.items() for stream in sorted(doc["streams"])]


def test_committed_streams_are_the_generators_output() -> None:
    for name in dram_streams.STREAMS:
        expected = "\n".join(dram_streams.stream_lines(name, 4000, 13)) + "\n"
        assert (DATA / f"{name}.trace").read_text() == expected
    assert set(ORACLES["ddr4-3200"]["streams"]) == set(dram_streams.STREAMS)


@pytest.mark.parametrize(("dev", "stream"), CASES, ids=[f"{d}-{s}" for d, s in CASES])
def test_matches_dramsim3(dev: str, stream: str) -> None:
    """Bandwidth within 10% and row hits within 2% of the requests of DRAMsim3 on the same trace.

    Latency counts from acceptance in both; ours is about one cycle shorter: DRAMsim3 moves a request into
    its command queue one cycle and issues from it the next, ours does both in the cycle it accepts it."""
    ref = ORACLES[dev]["streams"][stream]
    d = dram_device(dev.removesuffix("-closed"))
    config = DramControllerConfig(page_policy="closed" if dev.endswith("-closed") else "open")
    r = run_stream(DATA / f"{stream}.trace", d, config)
    # DRAMsim3's bandwidth: its data commands over the cycle its last one issued plus a read's delay
    ref_cycles = ref["cycles_to_last_data_command"] - 1 + d.read_latency_cycles + d.burst_cycles
    ref_bw = ref["data_commands"] * d.request_bytes / (ref_cycles * d.tck_ns * 1e-9)
    assert abs(r.bandwidth_bytes_per_s / ref_bw - 1) <= 0.10
    ref_hits = ref["num_read_row_hits"] + ref["num_write_row_hits"]
    assert abs(r.row_hits - ref_hits) <= 0.02 * ref["requests"]
    assert r.requests == ref["requests"]
    # not a target of the issue, but a check on queueing: average read latency within 5%
    assert abs(r.avg_read_latency_cycles / ref["average_read_latency"] - 1) <= 0.05


# ----- driven from SimPy -----
def test_simpy_port_replays_a_stream_exactly_like_the_stream_runner() -> None:
    simpy = pytest.importorskip("simpy")
    from accelsim.sim.banked_dram_port import BankedDramPort

    lines = random_lines(1500, seed=3, span=1 << 22, gap=3)
    expected = load_trace(lines)
    replay(expected, DDR4_3200)
    env = simpy.Environment()
    port = BankedDramPort(env, DDR4_3200, accepts_per_cycle=1)
    events = [port.access(t.address, t.is_write, at=t.arrival) for t in load_trace(lines)]
    env.run(until=simpy.AllOf(env, events))
    got = [ev.value for ev in events]
    assert [(t.accepted, t.issued, t.done) for t in got] == [(t.accepted, t.issued, t.done) for t in expected]
    assert all(ev.value.done == t for ev, t in zip(events, [t.done for t in expected], strict=True))


def test_simpy_port_serves_requests_arriving_from_processes() -> None:
    simpy = pytest.importorskip("simpy")
    from accelsim.sim.banked_dram_port import BankedDramPort

    env = simpy.Environment()
    port = BankedDramPort(env, DDR4_3200)
    latencies: list[int] = []

    def reader(base: int, count: int, gap: int):  # noqa: ANN202 (a SimPy process)
        for i in range(count):
            start = env.now
            txn = yield port.access(base + i * 64, False)
            latencies.append(env.now - start)
            assert env.now == txn.done
            yield env.timeout(gap)

    env.process(reader(0, 50, 200))
    env.process(reader(1 << 30, 50, 0))
    env.run(until=40_000)
    assert len(latencies) == 100
    isolated = DDR4_3200.trcd_cycles + DDR4_3200.cl_cycles + DDR4_3200.burst_cycles
    assert min(latencies) >= DDR4_3200.cl_cycles + DDR4_3200.burst_cycles  # a row hit
    assert latencies[0] == isolated  # the very first read opens its row


def test_writes_wait_for_company_unless_drained_when_idle() -> None:
    lines = ["0x0 READ 0", "0x40 WRITE 10", "0x80 READ 100000"]
    held = run_stream(lines, DDR4_3200)  # DRAMsim3's policy: one write waits until the input ends
    assert held.avg_write_latency_cycles > 100000 - 10
    eager = run_stream(lines, DDR4_3200, DramControllerConfig(drain_when_idle=True))
    # the write follows the read's RD (cycle 22) into the open row: WR at 22 + RL + burst - WL + tRTRS = 33
    assert eager.avg_write_latency_cycles == 33 + 16 + 4 - 10
    assert held.refs == eager.refs == 100000 * 2 // 12480
