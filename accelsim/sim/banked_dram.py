"""Banked DRAM timing model: per-channel FR-FCFS controllers over bank state machines.

Each channel has a read queue and a write buffer of transactions, and one command queue per bank.
Every cycle a controller may (in this order) accept one transaction, move one transaction into its
bank's command queue, and issue one command (HBM: a second one of the other class, row or column).
Commands are chosen as DRAMsim3 does (controller.cc, command_queue.cc): banks visited round-robin, the
oldest command whose next step (ACT, PRE or the column command) is ready wins, and a miss may close an
open row only when no waiting command hits it or the row has served `row_hit_cap` hits (FR-FCFS).
Writes wait in the write buffer until it is full, or holds more than `write_drain_low` with the command
queues empty, or the input is exhausted (or, with drain_when_idle, no read waits); then they drain. Refresh: every tREFI per rank (staggered
across ranks by default), open banks are precharged first, their queues pause until REF issues.

Time only advances to cycles where something can change (an arrival, a timing constraint expiring, a
refresh falling due), so cost grows with commands and requests, not with idle cycles. Each request of
the stream format is one burst, so there is no run of hits inside a request to batch.

Energy follows DRAMsim3 / Micron's power method (configuration.cc InitPowerParams), with cycles turned
into ns so the products of V, mA and ns are pJ: ACT = VDD (IDD0 tRC - IDD3N tRAS - IDD2N tRP), RD/WR =
VDD (IDD4R/W - IDD3N) burst, REF = VDD (IDD5AB - IDD3N) tRFC, background per rank per cycle VDD IDD3N
when a bank is open, VDD IDD2N otherwise; all times the devices per rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accelsim.dram_devices import AddressMapping, DramControllerConfig, DramDevice, command_energy
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
    timing_table,
)

NEVER = 1 << 62


class Transaction:
    """One burst-sized request; cycles filled in as it moves through the controller."""

    __slots__ = ("address", "is_write", "arrival", "accepted", "issued", "done", "rank", "bank", "row", "column")

    def __init__(self, address: int, is_write: bool, arrival: int) -> None:
        self.address = address
        self.is_write = is_write
        self.arrival = arrival
        self.accepted = -1
        self.issued = -1  # cycle of its column command
        self.done = -1  # cycle its data has left the bus (posted writes: the same)
        self.rank = self.bank = self.row = self.column = 0


class Command:
    __slots__ = ("kind", "bank", "rank", "row", "txn")

    def __init__(self, kind: int, bank: int, rank: int, row: int, txn: Transaction | None) -> None:
        self.kind = kind
        self.bank = bank
        self.rank = rank
        self.row = row
        self.txn = txn


@dataclass
class ChannelStats:
    """Counters of one channel; energies in pJ."""

    reads: int = 0
    writes: int = 0
    read_row_hits: int = 0
    write_row_hits: int = 0
    acts: int = 0
    pres: int = 0
    refs: int = 0
    active_cycles: list[int] = field(default_factory=list)  # per rank: some bank open
    idle_cycles: list[int] = field(default_factory=list)  # per rank: all banks closed


def bank_updates(d: DramDevice) -> list[list[list[tuple[int, int, int]]]]:
    """[kind][bank] -> [(target bank, following kind, delay)] over one channel's banks, flattened
    from the timing table."""
    table = timing_table(d)
    per_rank = d.banks
    updates = []
    for kind in range(KINDS):
        rows = []
        for src in range(d.ranks * d.banks):
            out = []
            for dst in range(d.ranks * d.banks):
                same_rank = src // per_rank == dst // per_rank
                if kind == REF:
                    rel = SAME_BANK if same_rank else -1
                elif src == dst:
                    rel = SAME_BANK
                elif not same_rank:
                    rel = OTHER_RANK
                elif (src % per_rank) // d.banks_per_group == (dst % per_rank) // d.banks_per_group:
                    rel = SAME_GROUP
                else:
                    rel = OTHER_GROUP
                if rel >= 0:
                    out.extend((dst, follow, delay) for follow, delay in table[kind][rel])
            rows.append(out)
        updates.append(rows)
    return updates


class ChannelController:
    """One channel: transaction queues, per-bank command queues, bank states and timing."""

    def __init__(self, device: DramDevice, config: DramControllerConfig, record: bool = False) -> None:
        self.d = device
        self.cfg = config
        self.nbanks = device.ranks * device.banks
        self.closed_page = config.page_policy == "closed"
        self.read_delay = device.read_latency_cycles + device.burst_cycles
        self.write_delay = device.write_latency_cycles + device.burst_cycles
        self.earliest = [[0] * KINDS for _ in range(self.nbanks)]
        self.open_row = [-1] * self.nbanks
        self.hits = [0] * self.nbanks
        self.queues: list[list[Command]] = [[] for _ in range(self.nbanks)]
        # A lower bound on the cycle at which each bank's queue could issue; timing constraints only ever
        # move later, so the bound holds until the bank's own state or queue changes (then reset to 0).
        self.bank_ready = [0] * self.nbanks
        self.queued = 0
        self.queue_idx = 0
        self.read_queue: list[Transaction] = []
        self.write_buffer: list[Transaction] = []
        self.pending_reads: dict[int, list[Transaction]] = {}
        self.pending_writes: dict[int, Transaction] = {}
        self.draining = 0
        self.flush = False
        self.faw: list[list[int]] = [[] for _ in range(device.ranks)]
        self.refresh_due: list[int] = []  # ranks waiting for refresh, oldest first
        self.refreshing_rank = -1
        self.open_banks = [0] * device.ranks
        self.rank_since = [0] * device.ranks
        self.stats = ChannelStats(active_cycles=[0] * device.ranks, idle_cycles=[0] * device.ranks)
        self.log: list[tuple[int, int, int, int]] | None = [] if record else None  # (cycle, kind, rank, bank)
        self.completed: list[Transaction] = []
        self._updates = self._build_updates()
        n = self.nbanks
        self._rotation = [[(start + k) % n for k in range(1, n + 1)] for start in range(n)]
        self._scan_blocked = False  # the last transaction scan moved nothing and nothing has freed a slot since
        self._scan_queue: list[Transaction] = []

    def _build_updates(self) -> list[list[list[tuple[int, int, int]]]]:
        return bank_updates(self.d)

    # ----- transactions -----
    def will_accept(self, is_write: bool) -> bool:
        queue = self.write_buffer if is_write else self.read_queue
        return len(queue) < self.cfg.trans_queue_depth

    def add(self, txn: Transaction, now: int) -> None:
        """Accept a transaction (will_accept must hold). Writes are posted; a read of a buffered write is served."""
        txn.accepted = now
        self._scan_blocked = False
        if txn.is_write:
            if txn.address in self.pending_writes:  # merged into the buffered write
                txn.issued = txn.done = now
                self.completed.append(txn)
                return
            self.pending_writes[txn.address] = txn
            self.write_buffer.append(txn)
            return
        if txn.address in self.pending_writes:
            txn.issued = txn.done = now
            self.completed.append(txn)
            return
        waiting = self.pending_reads.setdefault(txn.address, [])
        waiting.append(txn)
        if len(waiting) == 1:
            self.read_queue.append(txn)

    def _schedule_transaction(self) -> bool:
        """Move one transaction into its bank's command queue (controller.cc ScheduleTransaction)."""
        wb = self.write_buffer
        if self.draining == 0 and wb:
            idle = self.queued == 0
            full = len(wb) >= self.cfg.trans_queue_depth
            drain_idle = (self.flush or self.cfg.drain_when_idle) and idle and not self.read_queue
            if full or (len(wb) > self.cfg.write_drain_low and idle) or drain_idle:
                self.draining = len(wb)
        queue = wb if self.draining > 0 else self.read_queue
        if self._scan_blocked and queue is self._scan_queue:
            return False
        depth = self.cfg.cmd_queue_depth
        for i, txn in enumerate(queue):
            if len(self.queues[txn.bank]) >= depth:
                continue
            if txn.is_write:
                if txn.address in self.pending_reads:  # a read of this address must go first
                    self.draining = 0
                    return False
                self.draining -= 1
                kind = WRITE_P if self.closed_page else WRITE
            else:
                kind = READ_P if self.closed_page else READ
            self.queues[txn.bank].append(Command(kind, txn.bank, txn.rank, txn.row, txn))
            self.bank_ready[txn.bank] = 0
            self.queued += 1
            del queue[i]
            return True
        # every transaction waits on a full command queue: rescanning is pointless until one drains or
        # a transaction arrives
        self._scan_blocked, self._scan_queue = True, queue
        return False

    # ----- command selection -----
    def _required(self, cmd: Command) -> int:
        """The command the bank needs next for `cmd` (bankstate.cc GetReadyCommand)."""
        row = self.open_row[cmd.bank]
        if row < 0:
            return ACT
        return cmd.kind if row == cmd.row else PRE

    def _first_ready(self, queue: list[Command], now: int) -> Command | None:
        """The oldest issuable command's next step; if none, records when the bank could next issue."""
        earliest = self.earliest
        wake = NEVER
        for i, cmd in enumerate(queue):
            kind = self._required(cmd)
            t = earliest[cmd.bank][kind]
            if kind == ACT and len(self.faw[cmd.rank]) >= 4:
                t = max(t, self.faw[cmd.rank][0])
            if t > now:
                wake = min(wake, t)
                continue
            # timing-ready but held by arbitration: only an event on this bank can release it
            if kind == ACT:
                return Command(ACT, cmd.bank, cmd.rank, cmd.row, None)
            if kind == PRE:
                if not self._may_precharge(queue, i, cmd):
                    continue
                return Command(PRE, cmd.bank, cmd.rank, -1, None)
            if cmd.kind in (WRITE, WRITE_P) and self._read_before(queue, i, cmd):
                continue
            return cmd
        self.bank_ready[queue[0].bank] = wake
        return None

    def _may_precharge(self, queue: list[Command], i: int, cmd: Command) -> bool:
        """command_queue.cc ArbitratePrecharge: only the oldest command of the bank, and no hit waiting
        unless the open row has served row_hit_cap hits."""
        if i > 0:  # per-bank queues: an older command of this bank exists
            return False
        row = self.open_row[cmd.bank]
        pending_hit = any(c.row == row for c in queue)
        return not pending_hit or self.hits[cmd.bank] >= self.cfg.row_hit_cap

    @staticmethod
    def _read_before(queue: list[Command], i: int, cmd: Command) -> bool:
        addr = cmd.txn.address  # type: ignore[union-attr]
        return any(c.kind in (READ, READ_P) and c.txn.address == addr for c in queue[:i])  # type: ignore[union-attr]

    def _refresh_command(self, now: int) -> Command | None:
        """channel_state.cc GetReadyCommand for REF: precharge open banks, then refresh the rank."""
        rank = self.refresh_due[0]
        self.refreshing_rank = rank
        base = rank * self.d.banks
        all_ready = True
        for bank in range(base, base + self.d.banks):
            if self.open_row[bank] >= 0:
                if self.earliest[bank][PRE] <= now:
                    return Command(PRE, bank, rank, -1, None)
                all_ready = False
            elif self.earliest[bank][REF] > now:
                all_ready = False
        return Command(REF, base, rank, -1, None) if all_ready else None

    def _command_to_issue(self, now: int) -> Command | None:
        """Visit the banks round-robin from the one after the last visited; a full circle ends where it began."""
        skip_rank = self.refreshing_rank
        per_rank = self.d.banks
        queues, ready = self.queues, self.bank_ready
        for idx in self._rotation[self.queue_idx]:
            queue = queues[idx]
            if not queue or ready[idx] > now or idx // per_rank == skip_rank:
                continue
            cmd = self._first_ready(queue, now)
            if cmd is not None:
                self.queue_idx = idx
                return cmd
        return None

    # ----- issuing -----
    def _issue(self, cmd: Command, now: int) -> None:
        kind, bank, stats = cmd.kind, cmd.bank, self.stats
        self.bank_ready[bank] = 0
        if self.log is not None:
            self.log.append((now, kind, cmd.rank, bank))
        if kind <= WRITE_P:
            txn = cmd.txn
            self.queues[bank].remove(cmd)
            self.queued -= 1
            self._scan_blocked = False
            hit = self.hits[bank] != 0
            if kind <= READ_P:
                stats.reads += 1
                stats.read_row_hits += hit
                for t in self.pending_reads.pop(txn.address):  # type: ignore[union-attr]
                    t.issued, t.done = now, now + self.read_delay
                    self.completed.append(t)
            else:
                stats.writes += 1
                stats.write_row_hits += hit
                del self.pending_writes[txn.address]  # type: ignore[union-attr]
                txn.issued, txn.done = now, now + self.write_delay  # type: ignore[union-attr]
                self.completed.append(txn)  # type: ignore[arg-type]
            if kind in (READ, WRITE):
                self.hits[bank] += 1
            else:
                self._close(bank, now)
        elif kind == ACT:
            stats.acts += 1
            self._open(bank, cmd.row, now)
            window = self.faw[cmd.rank]
            if window and now >= window[0]:
                window.pop(0)
            window.append(now + self.d.tfaw_cycles)
        elif kind == PRE:
            stats.pres += 1
            self._close(bank, now)
        else:
            stats.refs += 1
            self.refresh_due.pop(0)
            self.refreshing_rank = -1
        earliest = self.earliest
        for dst, follow, delay in self._updates[kind][bank]:
            row = earliest[dst]
            if row[follow] < now + delay:
                row[follow] = now + delay

    def _open(self, bank: int, row: int, now: int) -> None:
        self.open_row[bank] = row
        self.hits[bank] = 0
        rank = bank // self.d.banks
        if self.open_banks[rank] == 0:
            self._account(rank, now, active=False)
        self.open_banks[rank] += 1

    def _close(self, bank: int, now: int) -> None:
        self.open_row[bank] = -1
        self.hits[bank] = 0
        rank = bank // self.d.banks
        self.open_banks[rank] -= 1
        if self.open_banks[rank] == 0:
            self._account(rank, now, active=True)

    def _account(self, rank: int, now: int, active: bool) -> None:
        """Background cycles: the state that ends now lasted [since, now]; DRAMsim3 samples after issue."""
        cycles = now - self.rank_since[rank]
        if active:
            self.stats.active_cycles[rank] += cycles
        else:
            self.stats.idle_cycles[rank] += cycles
        self.rank_since[rank] = now

    def finish_background(self, end: int) -> None:
        for rank in range(self.d.ranks):
            self._account(rank, end, active=self.open_banks[rank] > 0)

    # ----- one cycle -----
    def step(self, now: int) -> bool:
        """Schedule one transaction and issue up to one command (two on dual-command devices); True if any."""
        moved = self._schedule_transaction() if (self.read_queue or self.write_buffer) else False
        cmd = self._refresh_command(now) if self.refresh_due else None
        if cmd is None and self.queued:
            cmd = self._command_to_issue(now)
        if cmd is None:
            return moved
        self._issue(cmd, now)
        if self.d.dual_command and self.queued:
            second = self._command_to_issue(now)
            if second is not None and (second.kind <= WRITE_P) != (cmd.kind <= WRITE_P):
                self._issue(second, now)
        return True

    def idle(self) -> bool:
        return not (self.queued or self.read_queue or self.write_buffer or self.refresh_due)

    def next_change(self, now: int) -> int:
        """Earliest cycle after `now` at which a blocked command could become ready (NEVER if none).

        Valid after a step that issued nothing: that step visited every bank not under refresh."""
        best = NEVER
        for bank, queue in enumerate(self.queues):
            if queue:
                t = self.bank_ready[bank]
                if now < t < best:
                    best = t
        if self.refresh_due:
            earliest = self.earliest
            base = self.refresh_due[0] * self.d.banks
            for bank in range(base, base + self.d.banks):
                t = earliest[bank][PRE if self.open_row[bank] >= 0 else REF]
                if now < t < best:
                    best = t
        return best


def energy_pj(device: DramDevice, stats: ChannelStats) -> dict[str, float]:
    """Energy by command class in pJ (DRAMsim3 InitPowerParams increments times tCK in ns)."""
    e = command_energy(device)
    return {
        "act": stats.acts * e.act_pj,
        "read": stats.reads * e.read_pj,
        "write": stats.writes * e.write_pj,
        "refresh": stats.refs * e.refresh_pj,
        "background": e.active_pj_per_cycle * sum(stats.active_cycles) + e.idle_pj_per_cycle * sum(stats.idle_cycles),
    }


class BankedDram:
    """All channels of a device behind one address mapping, advanced cycle by cycle by a driver."""

    def __init__(self, device: DramDevice, config: DramControllerConfig | None = None, record: bool = False) -> None:
        self.device = device
        self.config = config or DramControllerConfig()
        self.mapping = AddressMapping(device)
        self.channels = [ChannelController(device, self.config, record) for _ in range(device.channels)]
        ranks = device.ranks
        staggered = self.config.refresh_policy == "rank_staggered"
        self.refresh_interval = device.trefi_cycles // ranks if staggered else device.trefi_cycles
        self.next_refresh = self.refresh_interval
        self.refresh_rank = 0
        self.refresh_log: list[tuple[int, int]] = []  # (due cycle, rank)

    def route(self, txn: Transaction) -> ChannelController:
        ch, ra, bg, ba, ro, co = self.mapping.decode(txn.address)
        d = self.device
        txn.rank, txn.bank, txn.row, txn.column = ra, ra * d.banks + bg * d.banks_per_group + ba, ro, co
        return self.channels[ch]

    def _refresh_tick(self, now: int) -> bool:
        """refresh.cc: every interval the next rank (staggered) or every rank (simultaneous) falls due."""
        if now < self.next_refresh:
            return False
        self.next_refresh += self.refresh_interval
        if self.config.refresh_policy == "rank_staggered":
            ranks = [self.refresh_rank]
            self.refresh_rank = (self.refresh_rank + 1) % self.device.ranks
        else:
            ranks = list(range(self.device.ranks))
        for rank in ranks:
            self.refresh_log.append((now, rank))
            for ch in self.channels:
                ch.refresh_due.append(rank)
        return True

    def step(self, now: int) -> bool:
        changed = self._refresh_tick(now)
        for ch in self.channels:
            changed |= ch.step(now)
        return changed

    def next_change(self, now: int) -> int:
        return min([self.next_refresh] + [ch.next_change(now) for ch in self.channels])

    def idle(self) -> bool:
        return all(ch.idle() for ch in self.channels)
