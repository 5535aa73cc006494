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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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


@dataclass(slots=True)
class RunResult:
    """Where one request's runs landed, in device cycles (data spans the bus; done: data in place)."""

    first_data: int = 1 << 62
    last_data_end: int = 0
    last_command: int = 0
    done: int = 0
    bursts: int = 0


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
        "faw_slot",
        "next_ref",
        "due",
        "open_spans",
        "refs",
        "index",
    )

    def __init__(self, index: int, banks: int, groups: int, ranks: int, due: list[int]) -> None:
        self.index = index
        # The earliest cycle each command kind may issue, kept at three levels: a bank's own
        # constraints, its bank group's and its rank's (a bank's is the largest of the three).
        self.bank_e = [[0] * KINDS for _ in range(banks)]
        self.group_e = [[0] * KINDS for _ in range(groups)]
        self.rank_e = [[0] * KINDS for _ in range(ranks)]
        self.open_row = [-1] * banks
        self.open_banks = [0] * ranks
        # the last run's column commands: (rank, bank group, kind, first cycle, count, snapshot)
        self.prev: tuple | None = None
        self.opened_at = [0] * banks
        # per rank, a ring of the last four ACTs' cycle + tFAW (0 before four); the slot of the oldest
        self.faw = [[0] * 4 for _ in range(ranks)]
        self.faw_slot = [0] * ranks
        self.next_ref = [0] * ranks  # refreshes of each rank already issued
        self.due = list(due)  # the cycle each rank's next refresh falls due
        # per rank, each closed row's ACT and PRE cycles, flat (ints only: nothing for the GC to track)
        self.open_spans: list[list[int]] = [[] for _ in range(ranks)]
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
        # open page never issues READ_P / WRITE_P, closed page never READ / WRITE: their earliest cycles
        # are never asked for
        queried = {ACT, PRE, REF} | ({READ_P, WRITE_P} if self.closed_page else {READ, WRITE})
        self.updates = [_compile_update(_pruned(level, queried)) for level in self.levels]
        # the delay from a column command to the next one of its kind on another bank group of the rank
        # (tCCD_S-bound) and on the same bank; the reorder window
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
            _Channel(c, device.ranks * device.banks, device.ranks * device.bankgroups, device.ranks, self.ref_offset)
            for c in range(device.channels)
        ]
        # per direction (read, write): the column command, ACT-to-column delay, data latency, same-bank
        # and other-group spacing, whether runs may interleave and the command's updates
        self._direction = {
            is_write: (
                kind,
                device.trcdwr_cycles if is_write else device.trcd_cycles,
                self.write_delay if is_write else self.read_delay,
                self.self_delay[kind],
                self.cross_delay[kind],
                # interleaving needs a run's same-bank spacing to leave room for another group's command
                not self.closed_page and self.self_delay[kind] >= 2 * self.cross_delay[kind],
                self.updates[kind],
            )
            for is_write, kind in (
                (False, READ_P if self.closed_page else READ),
                (True, WRITE_P if self.closed_page else WRITE),
            )
        }
        self.counts = CommandCounts()
        # every run's first and last column command cycles and whether it began with a row hit, flat
        self.row_spans: list[int] = []
        self.logs: list[list[tuple[int, int, int, int]]] | None = [[] for _ in self.channels] if record else None
        self.refresh_logs: list[list[tuple[int, int]]] = [[] for _ in self.channels]  # (due, rank)
        self.request_bytes = device.request_bytes
        shift_fields = self.mapping.positions
        # Bursts that share (channel, rank, bank, row) and differ in column only: an aligned block of
        # 2^column bits when the column field is the lowest, else one burst.
        co_pos, co_mask = shift_fields[5], self.mapping.masks[5]
        self.block_bursts = co_mask + 1 if co_pos == 0 else 1

    # ----- refresh -----
    def _refresh(self, ch: _Channel, rank: int) -> None:
        """Issue the due refresh of `rank`: precharge its open banks, then REF."""
        due = ch.due[rank]
        base = rank * self.banks_per_rank
        rank_e, logs, pre_update = ch.rank_e, self.logs, self.updates[PRE]
        if ch.open_banks[rank]:
            open_row, groups, bpg = ch.open_row, ch.group_e, self.bpg
            for bank in range(base, base + self.banks_per_rank):
                if open_row[bank] >= 0:
                    be, ge, re = ch.bank_e[bank], groups[bank // bpg], rank_e[rank]
                    at = be[PRE] if be[PRE] > due else due
                    at = ge[PRE] if ge[PRE] > at else at
                    at = re[PRE] if re[PRE] > at else at
                    self.counts.pres += 1
                    ch.open_spans[rank] += (ch.opened_at[bank], at)
                    open_row[bank] = -1
                    pre_update(be, ge, re, rank_e, rank, at)
                    if logs is not None:
                        logs[ch.index].append((at, PRE, rank, bank))
            ch.open_banks[rank] = 0
        at = max(due, rank_e[rank][REF])  # every delay to REF is kept at the rank level
        self.counts.refs += 1
        self.updates[REF](ch.bank_e[base], ch.group_e[base // self.bpg], rank_e[rank], rank_e, rank, at)
        if logs is not None:
            logs[ch.index].append((at, REF, rank, base))
        ch.refs.append(at)
        if logs is not None:
            self.refresh_logs[ch.index].append((due, rank))
        ch.next_ref[rank] += 1
        ch.due[rank] = self.ref_offset[rank] + ch.next_ref[rank] * self.ref_stride

    def _refresh_through(self, ch: _Channel, rank: int, cycle: int) -> None:
        """Issue every refresh of `rank` due at or before `cycle`. After the first, the rank's banks
        are closed and nothing else issues on it, so each REF lands on its due cycle once the last
        one's tRFC has passed (tRFC < tREFI): those are issued at once."""
        due, rank_e, stride = ch.due, ch.rank_e[rank], self.ref_stride
        self._refresh(ch, rank)
        if due[rank] > cycle:
            return
        if self.logs is not None or rank_e[REF] > due[rank]:
            while due[rank] <= cycle:
                self._refresh(ch, rank)
            return
        count = (cycle - due[rank]) // stride + 1
        last = due[rank] + (count - 1) * stride
        ch.refs.extend(range(due[rank], last + 1, stride))
        self.counts.refs += count
        base = rank * self.banks_per_rank
        # the last REF's constraints dominate the others'
        self.updates[REF](ch.bank_e[base], ch.group_e[base // self.bpg], rank_e, ch.rank_e, rank, last)
        ch.next_ref[rank] += count
        due[rank] = self.ref_offset[rank] + ch.next_ref[rank] * stride

    def refresh_until(self, cycle: int) -> None:
        """Issue every refresh due before `cycle` (the end of a run)."""
        for ch in self.channels:
            for rank in range(self.device.ranks):
                if ch.due[rank] < cycle:
                    self._refresh_through(ch, rank, cycle - 1)

    # ----- commands -----
    def earliest(self, ch: _Channel, bank: int, kind: int) -> int:
        """The first cycle `kind` may issue on `bank` under every constraint so far."""
        return max(
            ch.bank_e[bank][kind], ch.group_e[bank // self.bpg][kind], ch.rank_e[bank // self.banks_per_rank][kind]
        )

    def place(self, address: int, nbytes: int, is_write: bool, t: int, out: RunResult) -> None:
        """Place the bursts covering [address, address + nbytes) from device cycle t on: run by run,
        each run's PRE, ACT and column commands. This is the model's hot path, so each command's
        bookkeeping is written out where it issues and totals are kept in locals until the end;
        test_dram_engine checks every command it issues against the full timing table."""
        closed, logs, refresh, spans = self.closed_page, self.logs, self._refresh, self.row_spans
        kind, act_to_column, latency, d, s, interleaving, column_update = self._direction[is_write]
        burst, tfaw, window = self.burst, self.device.tfaw_cycles, self.window
        pre_update, act_update = self.updates[PRE], self.updates[ACT]
        first_data, data_end, last_command, bursts = out.first_data, out.last_data_end, out.last_command, out.bursts
        acts = pres = columns = hits = 0
        size, block = self.request_bytes, self.block_bursts
        index = address // size
        last = (address + nbytes - 1) // size
        shift = self.mapping.shift
        (p_ch, p_ra, p_bg, p_ba, p_ro, _), (m_ch, m_ra, m_bg, m_ba, m_ro, _) = (
            self.mapping.positions,
            self.mapping.masks,
        )
        banks_per_rank, bpg, channels = self.banks_per_rank, self.bpg, self.channels
        while index <= last:
            # a run: the bursts of one block (same channel, bank and row)
            # (max() and min() cost several times a comparison: this loop runs once per row switch)
            n = block - index % block
            n = last - index + 1 if last - index + 1 < n else n
            index += n
            a = ((index - n) * size) >> shift  # the mapping's decode, written out
            ch = channels[(a >> p_ch) & m_ch]
            rank = (a >> p_ra) & m_ra
            bank = rank * banks_per_rank + ((a >> p_bg) & m_bg) * bpg + ((a >> p_ba) & m_ba)
            row = (a >> p_ro) & m_ro
            group = bank // bpg
            be, ge, ranks_e = ch.bank_e[bank], ch.group_e[group], ch.rank_e
            re, faw, due, open_row = ranks_e[rank], ch.faw[rank], ch.due, ch.open_row
            if due[rank] <= t:  # every refresh due by now goes before any of the run's commands
                self._refresh_through(ch, rank, t)
            while n:
                hit = open_row[bank] == row
                if not hit:
                    if open_row[bank] >= 0:  # PRE
                        pre = be[PRE] if be[PRE] > t else t
                        pre = ge[PRE] if ge[PRE] > pre else pre
                        pre = re[PRE] if re[PRE] > pre else pre
                        if due[rank] <= pre:
                            refresh(ch, rank)
                            continue
                        pres += 1
                        ch.open_spans[rank] += (ch.opened_at[bank], pre)
                        open_row[bank] = -1
                        ch.open_banks[rank] -= 1
                        pre_update(be, ge, re, ranks_e, rank, pre)
                        if logs is not None:
                            logs[ch.index].append((pre, PRE, rank, bank))
                    act = be[ACT] if be[ACT] > t else t
                    act = ge[ACT] if ge[ACT] > act else act
                    act = re[ACT] if re[ACT] > act else act
                    slot = ch.faw_slot[rank]
                    if faw[slot] > act:  # at most four ACTs per tFAW window
                        act = faw[slot]
                    # a refresh due before the row's first column command goes first (no wasted ACT)
                    at = due[rank]
                    if at <= act + act_to_column or at <= be[kind] or at <= ge[kind] or at <= re[kind]:
                        refresh(ch, rank)
                        continue
                    acts += 1  # ACT
                    open_row[bank] = row
                    ch.open_banks[rank] += 1
                    ch.opened_at[bank] = act
                    faw[slot] = act + tfaw
                    ch.faw_slot[rank] = (slot + 1) & 3
                    act_update(be, ge, re, ranks_e, rank, act)
                    if logs is not None:
                        logs[ch.index].append((act, ACT, rank, bank))
                k = 0
                prev = ch.prev
                # Two runs at once: this run's first bursts may go between the previous run's last
                # ones, where its column commands leave the bus idle (same-bank spacing d at least
                # twice the other-group one s: `interleaving`). An FR-FCFS controller holds `window`
                # transactions in order: once the previous run has that many bursts left, this run's
                # enter as it issues, and the two alternate, each at its own bank's rate. The previous
                # run is the last one placed on the channel; it must be on this rank, of this kind, in
                # another bank group. This run meets its bank's and group's constraints (which that
                # run's column commands do not touch) and the rank's from before that run (snapshot).
                if interleaving and prev is not None and prev[0] == rank and prev[2] == kind and prev[1] != group:
                    _, _, _, p0, pn, snapshot = prev
                    ready = be[kind] if be[kind] > t else t
                    ready = ge[kind] if ge[kind] > ready else ready
                    ready = snapshot[kind] if snapshot[kind] > ready else ready
                    skip = -(-(ready - s - p0) // d)  # bursts of the previous run before this one's
                    held = pn - window if pn > window else 0  # bursts of it not yet in the window
                    skip = held if held > skip else skip
                    if skip < pn:
                        k = pn - skip if pn - skip < n else n
                        c0 = p0 + skip * d + s
                        if c0 + (k - 1) * d >= due[rank]:
                            k = 0
                interleaved = k > 0
                if interleaved:
                    ch.prev = None  # those gaps are taken
                else:
                    c0 = be[kind] if be[kind] > t else t
                    c0 = ge[kind] if ge[kind] > c0 else c0
                    c0 = re[kind] if re[kind] > c0 else c0
                    if due[rank] <= c0:
                        refresh(ch, rank)
                        continue
                    k = -(-(due[rank] - c0) // d)  # the bursts before the rank's refresh falls due
                    per_run = 1 if closed else n
                    k = per_run if per_run < k else k
                    if not closed:
                        ch.prev = (rank, group, kind, c0, k, list(re))  # the rank's constraints before
                c_last = c0 + (k - 1) * d
                if closed:  # READ_P / WRITE_P close the row
                    ch.open_spans[rank] += (ch.opened_at[bank], c_last)
                    open_row[bank] = -1
                    ch.open_banks[rank] -= 1
                column_update(be, ge, re, ranks_e, rank, c_last)
                # what the k column commands did: counts, and where the request's data lies
                columns += k
                hits += k if hit else k - 1
                if c0 + latency < first_data:
                    first_data = c0 + latency
                if c_last + latency + burst > data_end:
                    data_end = c_last + latency + burst
                if c_last > last_command:
                    last_command = c_last
                bursts += k
                spans += (c0, c_last, hit)
                if logs is not None:
                    logs[ch.index].extend((c0 + i * d, kind, rank, bank) for i in range(k))
                n -= k
                if n and not closed and not interleaved:  # the rank's refresh fell due inside the run
                    refresh(ch, rank)
        counts = self.counts
        counts.acts += acts
        counts.pres += pres
        counts.row_hits += hits
        if is_write:
            counts.writes += columns
        else:
            counts.reads += columns
        out.first_data, out.last_data_end, out.last_command, out.bursts = first_data, data_end, last_command, bursts
        out.done = max(out.done, data_end)

    # ----- background -----
    def active_spans(self, end: int) -> list[np.ndarray]:
        """Per rank (all channels), the union of the cycles in [0, end) with some bank open: merged
        (first, after) rows, in order."""
        out: list[np.ndarray] = []
        for ch in self.channels:
            for rank in range(self.device.ranks):
                base = rank * self.banks_per_rank
                still_open = [ch.opened_at[b] for b in range(base, base + self.banks_per_rank) if ch.open_row[b] >= 0]
                spans = np.array(ch.open_spans[rank] + [x for a in still_open for x in (a, end)], dtype=np.int64)
                out.append(_union(spans.reshape(-1, 2), end))
        return out


def _union(spans: np.ndarray, end: int) -> np.ndarray:
    """The union of (first, after) spans cut at `end`, as ordered disjoint rows (touching ones joined)."""
    first, after = spans[:, 0], np.minimum(spans[:, 1], end)
    keep = after > first
    first, after = first[keep], after[keep]
    order = np.lexsort((after, first))
    first, after = first[order], after[order]
    reach = np.maximum.accumulate(after)  # the furthest cycle covered so far
    starts = np.flatnonzero(np.concatenate(([True], first[1:] > reach[:-1])))
    ends = np.append(starts[1:] - 1, len(first) - 1)
    return np.stack([first[starts], reach[ends]], axis=1) if len(first) else np.zeros((0, 2), dtype=np.int64)


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


def _pruned(level: tuple[Level, Level, Level, Level], queried: set[int]) -> tuple[Level, Level, Level, Level]:
    """The updates that can change an answer: a bank's earliest cycle is the largest of its bank's,
    its group's and its rank's entries, so an entry at a level below one holding the same kind with
    at least its delay never decides it; nor does an entry for a kind never asked for."""
    at_bank, at_group, at_rank, at_others = level
    rank = {f: t for f, t in at_rank}
    group = {f: t for f, t in at_group}
    at_rank = [(f, t) for f, t in at_rank if f in queried]
    at_group = [(f, t) for f, t in at_group if f in queried and rank.get(f, t - 1) < t]
    at_bank = [(f, t) for f, t in at_bank if f in queried and max(rank.get(f, t - 1), group.get(f, t - 1)) < t]
    return at_bank, at_group, at_rank, [(f, t) for f, t in at_others if f in queried]


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
