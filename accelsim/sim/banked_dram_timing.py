"""Command-to-command timing of a banked DRAM, as DRAMsim3 tabulates it (src/timing.cc).

After a command issues on one bank, every bank of the channel learns the earliest cycle at which each
command type may follow; the delay depends on where the target bank sits relative to the issuing one:
the same bank, another bank of the same bank group, another bank group of the same rank, another rank.
All-bank refresh applies to every bank of its rank. Delays are in device clock cycles.
"""

from __future__ import annotations

from accelsim.dram_devices import DramDevice

# Command kinds (indices into each bank's earliest-cycle vector).
READ, READ_P, WRITE, WRITE_P, ACT, PRE, REF = range(7)
KINDS = 7
KIND_NAMES = ("READ", "READ_P", "WRITE", "WRITE_P", "ACT", "PRE", "REF")
SAME_BANK, SAME_GROUP, OTHER_GROUP, OTHER_RANK = range(4)

Table = list[list[list[tuple[int, int]]]]  # [issued kind][relation] -> [(following kind, delay)]


def timing_table(d: DramDevice) -> Table:
    """DRAMsim3's Timing constructor: the (following kind, delay) pairs per issued kind and relation."""
    burst = d.burst_cycles
    rl, wl = d.read_latency_cycles, d.write_latency_cycles
    read_delay, write_delay = rl + burst, wl + burst
    one_group = d.bankgroups == 1  # bank groups disabled: the _L values fall back to _S (timing.cc)
    ccd_l = d.tccd_s_cycles if one_group else d.tccd_l_cycles
    rd_rd_l, rd_rd_s = max(burst, ccd_l), max(burst, d.tccd_s_cycles)
    rd_rd_o = burst + d.trtrs_cycles
    rd_wr = rl + burst - wl + d.trtrs_cycles
    rd_wr_o = read_delay + burst + d.trtrs_cycles - write_delay
    rd_pre = d.al_cycles + d.trtp_cycles
    rdp_act = d.al_cycles + burst + d.trtp_cycles + d.trp_cycles
    wr_rd_l = write_delay + (d.twtr_s_cycles if one_group else d.twtr_l_cycles)
    wr_rd_s = write_delay + d.twtr_s_cycles
    wr_rd_o = write_delay + burst + d.trtrs_cycles - read_delay
    wr_wr_l, wr_wr_s, wr_wr_o = rd_rd_l, rd_rd_s, burst
    wr_pre = wl + burst + d.twr_cycles
    rd_act, wr_act = rd_pre + d.trp_cycles, wr_pre + d.trp_cycles
    act_act_l = d.trrd_s_cycles if one_group else d.trrd_l_cycles
    act_rd, act_wr = d.trcd_cycles - d.al_cycles, d.trcdwr_cycles - d.al_cycles

    table: Table = [[[] for _ in range(4)] for _ in range(KINDS)]
    rw_after_read = {
        SAME_GROUP: [(READ, rd_rd_l), (WRITE, rd_wr), (READ_P, rd_rd_l), (WRITE_P, rd_wr)],
        OTHER_GROUP: [(READ, rd_rd_s), (WRITE, rd_wr), (READ_P, rd_rd_s), (WRITE_P, rd_wr)],
        OTHER_RANK: [(READ, rd_rd_o), (WRITE, rd_wr_o), (READ_P, rd_rd_o), (WRITE_P, rd_wr_o)],
    }
    rw_after_write = {
        SAME_GROUP: [(READ, wr_rd_l), (WRITE, wr_wr_l), (READ_P, wr_rd_l), (WRITE_P, wr_wr_l)],
        OTHER_GROUP: [(READ, wr_rd_s), (WRITE, wr_wr_s), (READ_P, wr_rd_s), (WRITE_P, wr_wr_s)],
        OTHER_RANK: [(READ, wr_rd_o), (WRITE, wr_wr_o), (READ_P, wr_rd_o), (WRITE_P, wr_wr_o)],
    }
    for kind, rw in (
        (READ, rw_after_read),
        (READ_P, rw_after_read),
        (WRITE, rw_after_write),
        (WRITE_P, rw_after_write),
    ):
        for rel, pairs in rw.items():
            table[kind][rel] = list(pairs)
    table[READ][SAME_BANK] = rw_after_read[SAME_GROUP] + [(PRE, rd_pre)]
    table[WRITE][SAME_BANK] = rw_after_write[SAME_GROUP] + [(PRE, wr_pre)]
    table[READ_P][SAME_BANK] = [(ACT, rdp_act), (REF, rd_act)]
    table[WRITE_P][SAME_BANK] = [(ACT, wr_act), (REF, wr_act)]
    table[ACT][SAME_BANK] = [
        (ACT, d.trc_cycles),
        (READ, act_rd),
        (WRITE, act_wr),
        (READ_P, act_rd),
        (WRITE_P, act_wr),
        (PRE, d.tras_cycles),
    ]
    table[ACT][SAME_GROUP] = [(ACT, act_act_l)]
    table[ACT][OTHER_GROUP] = [(ACT, d.trrd_s_cycles)]
    table[PRE][SAME_BANK] = [(ACT, d.trp_cycles), (REF, d.trp_cycles)]
    if d.tppd_cycles:  # DRAMsim3 applies tPPD to LPDDR4 and GDDR; the other presets have none
        table[PRE][SAME_GROUP] = [(PRE, d.tppd_cycles)]
        table[PRE][OTHER_GROUP] = [(PRE, d.tppd_cycles)]
    # All-bank refresh: every bank of the rank waits tRFC for ACT and the next REF (timing.cc same_rank).
    table[REF][SAME_BANK] = [(ACT, d.trfc_cycles), (REF, d.trfc_cycles)]
    return table
