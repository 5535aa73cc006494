"""Run-batched banked DRAM timing: a request's bursts placed as runs of row hits, in request order.

The engine's banked controller serves requests in the order the scheduler submits them (the stream
model of banked_dram.py reorders FR-FCFS across a trace; a tile stream is already in the order the
array needs it). A request is a contiguous byte range; it splits into runs, each a maximal sequence of
bursts to one (channel, bank, row). A run is placed in O(1) whatever its length, with the timing the
command-by-command rules give (DRAMsim3's timing table, banked_dram_timing.py):

- a miss precharges the bank's open row (at the earliest cycle tRAS, tRTP or tWR allow) and activates
  the new one (tRP, tRC, tRRD_S/L, and at most four ACTs per tFAW window of the rank); ACTs are issued
  as early as their bank allows, so they overlap the column commands of other banks (bank parallelism);
- its n column commands issue at c0, c0 + d, ..., c0 + (n - 1) d, where c0 is the first cycle the
  bank and channel allow and d the same-bank column-to-column delay (max(burst, tCCD_L)); every later
  constraint is set from the last command alone, since each delay is fixed per command pair, so the
  last command dominates the others;
- a read's data is on the bus from issue + RL to issue + RL + burst; a write's from issue + WL;
- refresh: rank r of each channel falls due at tREFI / ranks x (k ranks + r + 1) (DRAMsim3's staggered
  policy; every rank every tREFI with rank_simultaneous); once due, it closes the rank's open banks and
  issues REF before any later command of that rank, splitting a run of hits if it falls inside one;
- closed page: every column command auto-precharges (READ_P / WRITE_P), so each burst is its own run.

Command-bus slots are not modelled (DRAMsim3 issues one command per cycle; a run's column commands
leave d - 1 free slots between them on every preset). Row hits are counted as DRAMsim3 does: a column
command is a hit unless it is the first one after its row's ACT.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from accelsim.dram_devices import AddressMapping, DramControllerConfig, DramDevice
from accelsim.errors import InputError
from accelsim.sim.banked_dram_timing import (
    ACT,
    KINDS,
    OTHER_GROUP,
    OTHER_RANK,
    PRE,
    READ,
    READ_P,
    REF,
    SAME_BANK,
    SAME_GROUP,
    WRITE,
    WRITE_P,
    Table,
    timing_table,
)


@dataclass
class CommandCounts:
    """Commands issued, by kind; row hits of the column commands."""

    acts: int = 0
    pres: int = 0
    reads: int = 0
    writes: int = 0
    refs: int = 0
    row_hits: int = 0


@dataclass
class RunResult:
    """Where one request's runs landed, in device cycles (data spans the bus; done: data in place)."""

    first_data: int = 1 << 62
    last_data_end: int = 0
    last_command: int = 0
    done: int = 0
    bursts: int = 0
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # (first, last column cycle, hit?, n)


class _Channel:
    __slots__ = (
        "bank_e",
        "group_e",
        "rank_e",
        "prev",
        "open_banks",
        "open_row",
        "opened_at",
        "faw",
        "next_ref",
        "open_spans",
        "refs",
    )

    def __init__(self, banks: int, groups: int, ranks: int) -> None:
        # The earliest cycle each command kind may issue, kept at three levels: a bank's own
        # constraints, its bank group's and its rank's (a bank's is the largest of the three).
        self.bank_e = [[0] * KINDS for _ in range(banks)]
        self.group_e = [[0] * KINDS for _ in range(groups)]
        self.rank_e = [[0] * KINDS for _ in range(ranks)]
        self.open_row = [-1] * banks
        self.open_banks = [0] * ranks
        # the last run's column commands: (rank, bank group, kind, first cycle, spacing, count, snapshot)
        self.prev: tuple | None = None
        self.opened_at = [0] * banks
        self.faw: list[deque[int]] = [deque() for _ in range(ranks)]
        self.next_ref = [0] * ranks  # refreshes of each rank already issued
        self.open_spans: list[list[tuple[int, int]]] = [[] for _ in range(ranks)]  # (ACT, PRE) per rank
        self.refs: list[int] = []  # REF issue cycles


class RunTimeline:
    """The banks of every channel of one device, placed run by run."""

    def __init__(
        self,
        device: DramDevice,
        page_policy: str = "open",
        refresh_policy: str = "rank_staggered",
        window: int = DramControllerConfig().trans_queue_depth,
        record: bool = False,
    ) -> None:
        """`record`: keep every command as (cycle, kind, rank, bank) per channel in `logs`, a run's
        column commands one by one (for tests: the batched runs expand to what they stand for)."""
        self.device = device
        self.mapping = AddressMapping(device)
        self.closed_page = page_policy == "closed"
        table = timing_table(device)
        self.levels = _levels(device, table)
        self.updates = [_compile_update(level) for level in self.levels]
        # same-bank delay from a column command to the next one of its kind
        # the same kind on another bank group of the rank (tCCD_S-bound); the reorder window
        self.cross_delay = [
            max((t for k, t in table[kind][OTHER_GROUP] if k == kind), default=0) for kind in range(KINDS)
        ]
        self.window = window
        self.self_delay = [max((t for k, t in table[kind][SAME_BANK] if k == kind), default=1) for kind in range(KINDS)]
        self.read_delay = device.read_latency_cycles
        self.write_delay = device.write_latency_cycles
        self.burst = device.burst_cycles
        self.banks_per_rank = device.banks
        simultaneous = refresh_policy == "rank_simultaneous"
        self.ref_stride = device.trefi_cycles if simultaneous else (device.trefi_cycles // device.ranks) * device.ranks
        self.ref_offset = [
            device.trefi_cycles if simultaneous else (device.trefi_cycles // device.ranks) * (r + 1)
            for r in range(device.ranks)
        ]
        self.bpg = device.banks_per_group
        self.channels = [
            _Channel(device.ranks * device.banks, device.ranks * device.bankgroups, device.ranks)
            for _ in range(device.channels)
        ]
        self.counts = CommandCounts()
        self.logs: list[list[tuple[int, int, int, int]]] | None = [[] for _ in self.channels] if record else None
        self.refresh_logs: list[list[tuple[int, int]]] = [[] for _ in self.channels]  # (due, rank)
        self.request_bytes = device.request_bytes
        shift_fields = self.mapping.positions
        # Bursts that share (channel, rank, bank, row) and differ in column only: an aligned block of
        # 2^column bits when the column field is the lowest, else one burst.
        co_pos, co_mask = shift_fields[5], self.mapping.masks[5]
        self.block_bursts = co_mask + 1 if co_pos == 0 else 1

    # ----- refresh -----
    def _due(self, ch: _Channel, rank: int) -> int:
        return self.ref_offset[rank] + ch.next_ref[rank] * self.ref_stride

    def _refresh(self, ch: _Channel, rank: int) -> None:
        """Issue the due refresh of `rank`: precharge its open banks, then REF."""
        due = self._due(ch, rank)
        base = rank * self.banks_per_rank
        if ch.open_banks[rank]:
            for bank in range(base, base + self.banks_per_rank):
                if ch.open_row[bank] >= 0:
                    self._issue(ch, PRE, bank, max(due, self.earliest(ch, bank, PRE)))
        at = max(due, ch.rank_e[rank][REF])  # every delay to REF is kept at the rank level
        self._issue(ch, REF, base, at)
        ch.refs.append(at)
        self.refresh_logs[self.channels.index(ch)].append((due, rank))
        ch.next_ref[rank] += 1

    def refresh_until(self, cycle: int) -> None:
        """Issue every refresh due before `cycle` (the end of a run)."""
        for ch in self.channels:
            for rank in range(self.device.ranks):
                while self._due(ch, rank) < cycle:
                    self._refresh(ch, rank)

    # ----- commands -----
    def _issue(self, ch: _Channel, kind: int, bank: int, at: int) -> None:
        rank = bank // self.banks_per_rank
        if self.logs is not None and kind in (ACT, PRE, REF):
            self.logs[self.channels.index(ch)].append((at, kind, rank, bank))
        if kind == ACT:
            self.counts.acts += 1
            ch.open_row[bank] = -2  # set by the caller
            ch.open_banks[rank] += 1
            ch.opened_at[bank] = at
            window = ch.faw[rank]
            window.append(at + self.device.tfaw_cycles)
            if len(window) > 4:
                window.popleft()
        elif kind == PRE or kind == READ_P or kind == WRITE_P:
            if kind == PRE:
                self.counts.pres += 1
            ch.open_spans[rank].append((ch.opened_at[bank], at))
            ch.open_row[bank] = -1
            ch.open_banks[rank] -= 1
        elif kind == REF:
            self.counts.refs += 1
        # Raise each following kind's earliest cycle at the bank, its group, its rank, the others.
        self.updates[kind](ch.bank_e[bank], ch.group_e[bank // self.bpg], ch.rank_e[rank], ch.rank_e, rank, at)

    def earliest(self, ch: _Channel, bank: int, kind: int) -> int:
        """The first cycle `kind` may issue on `bank` under every constraint so far."""
        return max(
            ch.bank_e[bank][kind], ch.group_e[bank // self.bpg][kind], ch.rank_e[bank // self.banks_per_rank][kind]
        )

    def place(self, address: int, nbytes: int, is_write: bool, t: int, out: RunResult) -> None:
        """Place the bursts covering [address, address + nbytes) from device cycle t on."""
        size, block = self.request_bytes, self.block_bursts
        burst = address // size
        last = (address + nbytes - 1) // size
        decode = self.mapping.decode
        while burst <= last:
            n = min(block - burst % block, last - burst + 1)
            ch, ra, bg, ba, ro, _ = decode(burst * size)
            bank = ra * self.banks_per_rank + bg * self.device.banks_per_group + ba
            self._place_run(self.channels[ch], ra, bank, ro, n, is_write, t, out)
            burst += n

    def _place_run(
        self, ch: _Channel, rank: int, bank: int, row: int, n: int, is_write: bool, t: int, out: RunResult
    ) -> None:
        closed = self.closed_page
        kind = (WRITE_P if closed else WRITE) if is_write else (READ_P if closed else READ)
        per_run = 1 if closed else n
        act_to_column = self.device.trcdwr_cycles if is_write else self.device.trcd_cycles
        latency = self.write_delay if is_write else self.read_delay
        burst, counts, group, faw = self.burst, self.counts, bank // self.bpg, ch.faw[rank]
        earliest = self.earliest  # a hook: tests check it against the full timing table
        offset, stride, next_ref = self.ref_offset[rank], self.ref_stride, ch.next_ref
        while n:
            hit = ch.open_row[bank] == row
            if not hit:
                if ch.open_row[bank] >= 0:
                    pre = max(t, earliest(ch, bank, PRE))
                    if offset + next_ref[rank] * stride <= pre:
                        self._refresh(ch, rank)
                        continue
                    self._issue(ch, PRE, bank, pre)
                act = max(t, earliest(ch, bank, ACT))
                if len(faw) == 4 and faw[0] > act:  # at most four ACTs per tFAW window
                    act = faw[0]
                # a refresh due before the row's first column command goes first (no wasted ACT)
                if offset + next_ref[rank] * stride <= max(act + act_to_column, earliest(ch, bank, kind)):
                    self._refresh(ch, rank)
                    continue
                self._issue(ch, ACT, bank, act)
                ch.open_row[bank] = row
            k = 0
            prev = ch.prev
            # (the previous run must be on this rank, of this kind, in another bank group)
            if prev is not None and not closed and prev[0] == rank and prev[2] == kind and prev[1] != group:
                k, c0, d = self._interleave(ch, rank, bank, kind, n, t)
            interleaved = k > 0
            if interleaved:  # the first k bursts go into the gaps of the previous run
                ch.prev = None  # those gaps are taken
            else:
                c0 = max(t, earliest(ch, bank, kind))
                due = offset + next_ref[rank] * stride
                if due <= c0:
                    self._refresh(ch, rank)
                    continue
                d = self.self_delay[kind]
                k = min(per_run, n, -(-(due - c0) // d))
                if not closed:
                    ch.prev = (rank, group, kind, c0, d, k, self._snapshot(ch, rank))
            c_last = c0 + (k - 1) * d
            self._issue(ch, kind, bank, c_last)
            # what the k column commands did: counts, and where the request's data lies
            counts.row_hits += k if hit else k - 1
            if is_write:
                counts.writes += k
            else:
                counts.reads += k
            if c0 + latency < out.first_data:
                out.first_data = c0 + latency
            end = c_last + latency + burst
            if end > out.last_data_end:
                out.last_data_end = end
            if c_last > out.last_command:
                out.last_command = c_last
            if end > out.done:
                out.done = end
            out.bursts += k
            out.spans.append((c0, c_last, int(hit), k))
            if self.logs is not None:
                self._log(ch, kind, bank, c0, d, k)
            n -= k
            if n and not closed and not interleaved:  # the rank's refresh fell due inside the run
                self._refresh(ch, rank)

    def _log(self, ch: _Channel, kind: int, bank: int, c0: int, d: int, k: int) -> None:
        if self.logs is not None:
            rank = bank // self.banks_per_rank
            self.logs[self.channels.index(ch)].extend((c0 + i * d, kind, rank, bank) for i in range(k))

    # ----- two runs at once -----
    def _snapshot(self, ch: _Channel, rank: int) -> list[int]:
        """The rank-level constraints before a run's column commands (what a run interleaved with
        it must still meet; its own bank's and bank group's constraints it does not touch)."""
        return list(ch.rank_e[rank])

    def _earliest_before(self, ch: _Channel, bank: int, kind: int, snapshot: list[int]) -> int:
        return max(ch.bank_e[bank][kind], ch.group_e[bank // self.bpg][kind], snapshot[kind])

    def _interleave(self, ch: _Channel, rank: int, bank: int, kind: int, n: int, t: int) -> tuple[int, int, int]:
        """How many of this run's first bursts fit between the previous run's last ones, where its
        column commands leave the bus idle (same-bank spacing d at least twice the other-group one s):
        (count, first command cycle, spacing), count 0 if none.

        An FR-FCFS controller holds `window` transactions in order: once the previous run has that
        many bursts left, this run's bursts enter as it issues, and the two alternate, each at its own
        bank's rate. The previous run here is the last one placed on the channel, in the same rank
        and direction but another bank group."""
        p_rank, p_group, p_kind, p0, d, pn, snapshot = ch.prev  # type: ignore[misc]
        if p_rank != rank or p_kind != kind or p_group == bank // self.bpg:
            return 0, 0, 0
        s = self.cross_delay[kind]
        if d < 2 * s:
            return 0, 0, 0
        ready = max(t, self._earliest_before(ch, bank, kind, snapshot))
        first = max(pn - min(self.window, pn), -(-(ready - s - p0) // d))
        if first >= pn:
            return 0, 0, 0
        k = min(n, pn - first)
        x0 = p0 + first * d + s
        if x0 + (k - 1) * d >= self._due(ch, rank):
            return 0, 0, 0
        return k, x0, d

    # ----- background -----
    def active_spans(self, end: int) -> list[list[tuple[int, int]]]:
        """Per rank (all channels), the union of the cycles in [0, end) with some bank open, merged."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(self.device.ranks * self.device.channels)]
        for c, ch in enumerate(self.channels):
            for rank in range(self.device.ranks):
                spans = list(ch.open_spans[rank])
                base = rank * self.banks_per_rank
                spans += [
                    (ch.opened_at[b], end) for b in range(base, base + self.banks_per_rank) if ch.open_row[b] >= 0
                ]
                spans.sort()
                merged: list[tuple[int, int]] = []
                for a, b in spans:
                    b = min(b, end)
                    if merged and a <= merged[-1][1]:
                        if b > merged[-1][1]:
                            merged[-1] = (merged[-1][0], b)
                    elif b > a:
                        merged.append((a, b))
                out[c * self.device.ranks + rank] = merged
        return out


Level = list[tuple[int, int]]


def _levels(device: DramDevice, table: Table) -> list[tuple[Level, Level, Level, Level]]:
    """Per issued kind, the (following kind, delay) pairs for its bank, its bank group, its rank and
    the other ranks. Exact because every other-group delay is at most the same-group one of its pair
    (tCCD_L >= tCCD_S, tWTR_L >= tWTR_S, tRRD_L >= tRRD_S), so a rank-level constraint never binds a bank
    of the issuing group harder than the timing table does; refresh binds its whole rank."""
    levels = []
    for kind in range(KINDS):
        if kind == REF:
            levels.append(([], [], list(table[REF][SAME_BANK]), []))
            continue
        same_group = dict(table[kind][SAME_GROUP])
        for follow, delay in table[kind][OTHER_GROUP]:
            if same_group.get(follow, -1) < delay:
                raise InputError(f"dram device {device.name!r}: an other-group delay exceeds its same-group one")
        # REF waits for every bank of its rank, so a delay to REF binds the whole rank.
        bank = [(f, d) for f, d in table[kind][SAME_BANK] if f != REF]
        rank = list(table[kind][OTHER_GROUP]) + [(f, d) for f, d in table[kind][SAME_BANK] if f == REF]
        levels.append((bank, list(table[kind][SAME_GROUP]), rank, list(table[kind][OTHER_RANK])))
    return levels


Update = Callable[[list[int], list[int], list[int], list[list[int]], int, int], None]


def _compile_update(level: tuple[Level, Level, Level, Level]) -> Update:
    """One issued kind's constraint updates as straight-line code: `update(bank_e, group_e, rank_e,
    all ranks' e, rank, at)` raises each following kind's earliest cycle to at + delay at every level.
    Looping over the (kind, delay) pairs per command was the banked model's largest cost."""
    at_bank, at_group, at_rank, at_others = level
    lines = ["def update(b, g, r, ranks, rank, at):"]
    for name, pairs in (("b", at_bank), ("g", at_group), ("r", at_rank)):
        for follow, delay in pairs:
            lines += [
                f"    if {name}[{int(follow)}] < at + {int(delay)}:",
                f"        {name}[{int(follow)}] = at + {int(delay)}",
            ]
    if at_others:
        lines += ["    for i, o in enumerate(ranks):", "        if i != rank:"]
        for follow, delay in at_others:
            lines += [
                f"            if o[{int(follow)}] < at + {int(delay)}:",
                f"                o[{int(follow)}] = at + {int(delay)}",
            ]
    lines.append("    return None")
    namespace: dict[str, Update] = {}
    exec("\n".join(lines), namespace)  # noqa: S102 (the source is built above from integers only)
    return namespace["update"]
