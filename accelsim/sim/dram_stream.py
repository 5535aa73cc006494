"""`dram stream`: replay a request trace in DRAMsim3's format on the banked DRAM model.

Trace format (DRAMsim3 src/common.cc operator>>): one `<hex address> <READ|WRITE> <cycle>` per line; each
line is one burst of the device's request size (bus width / 8 x burst length bytes). Requests enter in file
order, at most one per cycle by default, not before their cycle, and wait while their channel's queue is
full (as DRAMsim3's TraceBasedCPU). Latency counts from acceptance into the controller, as DRAMsim3's; a read ends
when its data has left the bus, a write when its data has been written (issue + CWL + burst).
Bandwidth is bytes over the time from the first request's cycle to the last data transfer's end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from accelsim.dram_devices import DramControllerConfig, DramDevice
from accelsim.errors import InputError
from accelsim.sim.banked_dram import BankedDram, ChannelStats, Transaction, energy_pj

WRITE_OPS = {"WRITE", "P_MEM_WR", "BOFF"}
READ_OPS = {"READ", "P_MEM_RD", "P_FETCH"}


def parse_trace(lines: Iterable[str]) -> list[Transaction]:
    """Transactions of a DRAMsim3 trace; blank lines and `#` comments skipped."""
    out = []
    for number, raw in enumerate(lines, 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 3:
            raise InputError(f"trace line {number}: {text!r}: must be '<hex address> <READ|WRITE> <cycle>'")
        addr_text, op, cycle_text = parts
        try:
            address = int(addr_text, 16)
            cycle = int(cycle_text)
        except ValueError:
            raise InputError(f"trace line {number}: {text!r}: address must be hex, cycle an integer") from None
        op = op.upper()
        if op not in WRITE_OPS and op not in READ_OPS:
            raise InputError(f"trace line {number}: operation {parts[1]!r}: must be READ or WRITE")
        if address < 0 or cycle < 0:
            raise InputError(f"trace line {number}: address and cycle must be in [0, inf]")
        out.append(Transaction(address, op in WRITE_OPS, cycle))
    return out


@dataclass(frozen=True)
class StreamResult:
    """What one stream did on one device; cycles are device clock cycles, energy in pJ."""

    device: str
    requests: int
    reads: int
    writes: int
    bytes: int
    first_cycle: int
    end_cycle: int
    tck_ns: float
    bandwidth_bytes_per_s: float
    peak_bandwidth_bytes_per_s: float
    avg_read_latency_cycles: float
    p99_read_latency_cycles: int
    avg_write_latency_cycles: float
    row_hits: int
    row_misses: int
    acts: int
    pres: int
    refs: int
    energy_pj: dict[str, float]

    @property
    def duration_cycles(self) -> int:
        return self.end_cycle - self.first_cycle

    @property
    def total_energy_pj(self) -> float:
        return sum(self.energy_pj.values())

    def to_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "requests": self.requests,
            "reads": self.reads,
            "writes": self.writes,
            "bytes": self.bytes,
            "duration_cycles": self.duration_cycles,
            "duration_ns": self.duration_cycles * self.tck_ns,
            "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
            "peak_bandwidth_bytes_per_s": self.peak_bandwidth_bytes_per_s,
            "avg_read_latency_cycles": self.avg_read_latency_cycles,
            "avg_read_latency_ns": self.avg_read_latency_cycles * self.tck_ns,
            "p99_read_latency_cycles": self.p99_read_latency_cycles,
            "p99_read_latency_ns": self.p99_read_latency_cycles * self.tck_ns,
            "avg_write_latency_cycles": self.avg_write_latency_cycles,
            "row_hits": self.row_hits,
            "row_misses": self.row_misses,
            "row_hit_rate": self.row_hits / max(self.row_hits + self.row_misses, 1),
            "act_commands": self.acts,
            "pre_commands": self.pres,
            "ref_commands": self.refs,
            "energy_pj": dict(self.energy_pj),
            "total_energy_pj": self.total_energy_pj,
        }


def format_stream(result: StreamResult) -> str:
    """Text report of one stream."""
    r = result
    hit_rate = r.row_hits / max(r.row_hits + r.row_misses, 1)
    energy = ", ".join(f"{k} {v / 1e3:.1f}" for k, v in r.energy_pj.items())
    lines = [
        f"device         {r.device}",
        f"requests       {r.requests} ({r.reads} reads, {r.writes} writes, {r.bytes} bytes)",
        f"duration       {r.duration_cycles} cycles ({r.duration_cycles * r.tck_ns / 1e3:.3f} us)",
        f"bandwidth      {r.bandwidth_bytes_per_s / 1e9:.3f} GB/s "
        f"({100 * r.bandwidth_bytes_per_s / r.peak_bandwidth_bytes_per_s:.1f}% of {r.peak_bandwidth_bytes_per_s / 1e9:.2f})",
        f"read latency   avg {r.avg_read_latency_cycles:.1f} cycles ({r.avg_read_latency_cycles * r.tck_ns:.1f} ns), "
        f"p99 {r.p99_read_latency_cycles} cycles ({r.p99_read_latency_cycles * r.tck_ns:.1f} ns)",
        f"write latency  avg {r.avg_write_latency_cycles:.1f} cycles",
        f"row buffer     {r.row_hits} hits, {r.row_misses} misses ({100 * hit_rate:.1f}% hits)",
        f"commands       {r.acts} ACT, {r.pres} PRE, {r.refs} REF",
        f"energy         {r.total_energy_pj / 1e3:.1f} nJ ({energy} nJ)",
    ]
    return "\n".join(lines)


def simulate(txns: list[Transaction], dram: BankedDram, requests_per_cycle: int = 1) -> int:
    """Drive `dram` with `txns` until every request completes; the last cycle simulated.

    Requests enter in order, up to `requests_per_cycle` a cycle (DRAMsim3's trace CPU: 1), none before its
    cycle; the first one whose channel queue is full holds back the rest."""
    if requests_per_cycle < 1:
        raise InputError(f"dram stream requests_per_cycle = {requests_per_cycle}: must be in [1, inf]")
    now, i, n = 0, 0, len(txns)
    progress, seen = 0, 0  # last cycle a request was accepted or completed (refresh alone keeps waking a model)
    if n:
        now = txns[0].arrival
        dram.next_refresh = max(dram.next_refresh, now - now % dram.refresh_interval + dram.refresh_interval)
    while True:
        changed = False
        for _ in range(requests_per_cycle):
            if i == n or txns[i].arrival > now:
                break
            txn = txns[i]
            channel = dram.route(txn)
            if not channel.will_accept(txn.is_write):
                break
            channel.add(txn, now)
            i += 1
            changed = True
            if i == n:
                for ch in dram.channels:
                    ch.flush = True
        changed |= dram.step(now)
        if i == n and dram.idle():
            return now
        count = i + sum(len(ch.completed) for ch in dram.channels)
        if count != seen:
            progress, seen = now, count
        if changed:
            now += 1
            continue
        waiting_upstream = i < n and txns[i].arrival > now
        if not waiting_upstream and now - progress > 8 * dram.device.trefi_cycles:
            raise RuntimeError(f"banked DRAM model stalled at cycle {now}")  # a bug, not an input error
        wake = dram.next_change(now)
        if waiting_upstream:
            wake = min(wake, txns[i].arrival)
        now = wake


def load_trace(source: str | Path | Iterable[str]) -> list[Transaction]:
    """Transactions of a trace file (path) or of its lines; at least one request."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"dram stream file {str(path)!r}: must be an existing file")
        with path.open() as fh:
            txns = parse_trace(fh)
    else:
        txns = parse_trace(source)
    if not txns:
        raise InputError("dram stream: the trace holds no requests (need at least 1)")
    return txns


def replay(
    txns: list[Transaction],
    device: DramDevice,
    config: DramControllerConfig | None = None,
    record: bool = False,
    requests_per_cycle: int = 1,
) -> tuple[StreamResult, BankedDram]:
    """Run fresh transactions on a new model of `device`; the model is returned for inspection (its logs)."""
    dram = BankedDram(device, config, record)
    simulate(txns, dram, requests_per_cycle)
    return summarize(txns, dram), dram


def run_stream(
    source: str | Path | Iterable[str],
    device: DramDevice,
    config: DramControllerConfig | None = None,
    requests_per_cycle: int = 1,
) -> StreamResult:
    """Replay a DRAMsim3-format trace (a path or its lines) on `device`.

    One request enters per cycle by default, as DRAMsim3's trace CPU: enough for one DDR channel, a quarter
    of what HBM2's eight channels can take; raise `requests_per_cycle` to feed wide devices."""
    return replay(load_trace(source), device, config, requests_per_cycle=requests_per_cycle)[0]


def summarize(txns: list[Transaction], dram: BankedDram) -> StreamResult:
    d = dram.device
    first = min(t.arrival for t in txns)
    end = max(t.done for t in txns)
    stats = ChannelStats(active_cycles=[0], idle_cycles=[0])
    energy: dict[str, float] = {}
    for ch in dram.channels:
        ch.finish_background(end)
        s = ch.stats
        for name in ("reads", "writes", "read_row_hits", "write_row_hits", "acts", "pres", "refs"):
            setattr(stats, name, getattr(stats, name) + getattr(s, name))
        for k, v in energy_pj(d, s).items():
            energy[k] = energy.get(k, 0.0) + v
    reads = sorted(t.done - t.accepted for t in txns if not t.is_write)
    writes = [t.done - t.accepted for t in txns if t.is_write]
    total = len(txns) * d.request_bytes
    hits = stats.read_row_hits + stats.write_row_hits
    return StreamResult(
        device=d.name,
        requests=len(txns),
        reads=len(reads),
        writes=len(writes),
        bytes=total,
        first_cycle=first,
        end_cycle=end,
        tck_ns=d.tck_ns,
        bandwidth_bytes_per_s=total / (max(end - first, 1) * d.tck_ns * 1e-9),
        peak_bandwidth_bytes_per_s=d.peak_bandwidth_bytes_per_s,
        avg_read_latency_cycles=sum(reads) / len(reads) if reads else 0.0,
        p99_read_latency_cycles=reads[max(math.ceil(0.99 * len(reads)) - 1, 0)] if reads else 0,
        avg_write_latency_cycles=sum(writes) / len(writes) if writes else 0.0,
        row_hits=hits,
        row_misses=stats.reads + stats.writes - hits,
        acts=stats.acts,
        pres=stats.pres,
        refs=stats.refs,
        energy_pj=energy,
    )
