"""DRAM devices: organization, timings (device clock cycles), IDD currents, address mapping, presets.

The presets copy the JEDEC-derived configurations that DRAMsim3 ships (github.com/umd-memsys/DRAMsim3,
commit 29817593b3389f1337235d63cac515024ab8fd6e, configs/*.ini) and derive what DRAMsim3 derives from them
(src/configuration.cc): the rank count from the channel size (`CalculateSize`), the burst duration in clock
cycles from BL (`InitDRAMParams`: BL/2 for DDR, LPDDR and HBM), HBM's doubled column count, and the address
field positions from the bit-order string (`SetAddressMapping`). DRAMsim3 ships no LPDDR5 configuration;
`lpddr5-6400` is built from the JEDEC LPDDR5 standard (JESD209-5) values, each cited where it is set.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from accelsim.errors import InputError

PAGE_POLICIES = ("open", "closed")
REFRESH_POLICIES = ("rank_staggered", "rank_simultaneous")
MAPPING_FIELDS = ("ch", "ra", "bg", "ba", "ro", "co")


def _log2(value: int) -> int:
    """DRAMsim3's LogBase2 (common.cc): floor(log2(value)), 0 for 1."""
    return max(value.bit_length() - 1, 0)


def _check_range(owner: str, name: str, value: object, low: float, high: float | None = None) -> None:
    high_text = "inf" if high is None else f"{high:g}"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        raise InputError(f"{owner}.{name} = {value!r}: must be a number in [{low:g}, {high_text}]")


def _check_power_of_two(owner: str, name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1 or value & (value - 1):
        raise InputError(f"{owner}.{name} = {value!r}: must be a power of two in [1, inf]")


@dataclass(frozen=True)
class DramDevice:
    """One DRAM configuration: organization per channel, timings in cycles of tck_ns, IDD currents in mA.

    `columns` counts physical columns of device_width bits (DRAMsim3's convention: HBM's .ini value is
    doubled, configuration.cc InitDRAMParams). `burst_cycles` is the data-bus time of one burst.
    `trcd_cycles` is ACT to READ; `trcdwr_cycles` ACT to WRITE (they differ only for HBM: tRCDRD/tRCDWR).
    `source` cites the file and values every field comes from.
    """

    name: str
    protocol: str
    channels: int
    ranks: int
    bankgroups: int
    banks_per_group: int
    rows: int
    columns: int
    device_width_bits: int
    bus_width_bits: int
    burst_length: int
    burst_cycles: int
    tck_ns: float
    cl_cycles: int
    cwl_cycles: int
    al_cycles: int
    trcd_cycles: int
    trcdwr_cycles: int
    trp_cycles: int
    tras_cycles: int
    trfc_cycles: int
    trefi_cycles: int
    trrd_s_cycles: int
    trrd_l_cycles: int
    twtr_s_cycles: int
    twtr_l_cycles: int
    tfaw_cycles: int
    twr_cycles: int
    trtp_cycles: int
    tccd_s_cycles: int
    tccd_l_cycles: int
    trtrs_cycles: int
    tcke_cycles: int
    txp_cycles: int
    tppd_cycles: int
    vdd_v: float
    idd0_ma: float
    idd2p_ma: float
    idd2n_ma: float
    idd3p_ma: float
    idd3n_ma: float
    idd4r_ma: float
    idd4w_ma: float
    idd5ab_ma: float
    idd6x_ma: float
    address_mapping: str = "rochrababgco"
    dual_command: bool = False
    source: str = ""  # where every value comes from

    def __post_init__(self) -> None:
        owner = f"dram device {self.name!r}"
        for name in ("channels", "ranks", "bankgroups", "banks_per_group", "rows", "columns", "device_width_bits"):
            _check_power_of_two(owner, name, getattr(self, name))
        for name in ("bus_width_bits", "burst_length"):
            _check_power_of_two(owner, name, getattr(self, name))
        if self.bus_width_bits % self.device_width_bits:
            raise InputError(f"{owner}.bus_width_bits = {self.bus_width_bits}: must be a multiple of device_width_bits")
        if self.columns < self.burst_length:
            raise InputError(f"{owner}.columns = {self.columns}: must be in [burst_length={self.burst_length}, inf]")
        _check_range(owner, "tck_ns", self.tck_ns, 1e-3, 100.0)
        for f in fields(self):
            if f.name.endswith("_cycles"):
                low = 0 if f.name in ("al_cycles", "tppd_cycles", "trtrs_cycles") else 1
                _check_range(owner, f.name, getattr(self, f.name), low, 1_000_000)
                if not isinstance(getattr(self, f.name), int):
                    raise InputError(f"{owner}.{f.name} = {getattr(self, f.name)!r}: must be an integer cycle count")
            if f.name.endswith("_ma"):
                _check_range(owner, f.name, getattr(self, f.name), 0.0, 10_000.0)
        _check_range(owner, "vdd_v", self.vdd_v, 0.1, 5.0)
        if self.idd0_ma * self.trc_cycles < self.idd3n_ma * self.tras_cycles + self.idd2n_ma * self.trp_cycles:
            raise InputError(
                f"{owner}.idd0_ma = {self.idd0_ma}: ACT energy would be negative (IDD0*tRC < IDD3N*tRAS+IDD2N*tRP)"
            )
        if self.tras_cycles < self.trcd_cycles:
            raise InputError(f"{owner}.tras_cycles = {self.tras_cycles}: must be in [tRCD={self.trcd_cycles}, inf]")
        if self.trefi_cycles <= self.trfc_cycles:
            raise InputError(f"{owner}.trefi_cycles = {self.trefi_cycles}: must exceed tRFC={self.trfc_cycles}")
        AddressMapping(self)  # validates the bit-order string

    @property
    def banks(self) -> int:
        return self.bankgroups * self.banks_per_group

    @property
    def devices_per_rank(self) -> int:
        return self.bus_width_bits // self.device_width_bits

    @property
    def request_bytes(self) -> int:
        """Bytes one burst moves (DRAMsim3 request_size_bytes = bus_width / 8 * BL)."""
        return self.bus_width_bits // 8 * self.burst_length

    @property
    def trc_cycles(self) -> int:
        return self.tras_cycles + self.trp_cycles

    @property
    def read_latency_cycles(self) -> int:
        """RL = AL + CL."""
        return self.al_cycles + self.cl_cycles

    @property
    def write_latency_cycles(self) -> int:
        """WL = AL + CWL."""
        return self.al_cycles + self.cwl_cycles

    @property
    def capacity_bytes(self) -> int:
        per_rank = self.banks * self.rows * self.columns * self.device_width_bits // 8 * self.devices_per_rank
        return per_rank * self.ranks * self.channels

    @property
    def peak_bandwidth_bytes_per_s(self) -> float:
        """Every channel's data bus busy every cycle: request_bytes per burst_cycles."""
        return self.channels * self.request_bytes / (self.burst_cycles * self.tck_ns * 1e-9)


def ranks_for_channel_size(
    channel_size_mb: int, columns: int, rows: int, banks: int, device_width_bits: int, bus_width_bits: int
) -> int:
    """DRAMsim3's CalculateSize (configuration.cc): ranks = channel_size / megabytes per rank (at least 1)."""
    page_bytes = columns * device_width_bits // 8
    megs_per_bank = page_bytes * (rows // 1024) // 1024
    megs_per_rank = megs_per_bank * banks * (bus_width_bits // device_width_bits)
    return max(channel_size_mb // megs_per_rank, 1)


class AddressMapping:
    """DRAMsim3's address mapping (configuration.cc SetAddressMapping / AddressMapping).

    The byte address drops log2(request_bytes) bits; the 12-character string names six 2-character fields
    from most to least significant (e.g. `rochrababgco`: row, channel, rank, bank, bank group, column); each
    field takes log2 of its count, the column field log2(columns) - log2(BL) bits.
    """

    __slots__ = ("shift", "positions", "masks")

    def __init__(self, device: DramDevice) -> None:
        order = device.address_mapping
        tokens = [order[i : i + 2] for i in range(0, len(order), 2)]
        if len(order) != 12 or sorted(tokens) != sorted(MAPPING_FIELDS):
            raise InputError(
                f"dram device {device.name!r}.address_mapping = {order!r}: must name each of ch ra bg ba ro co once"
            )
        widths = {
            "ch": _log2(device.channels),
            "ra": _log2(device.ranks),
            "bg": _log2(device.bankgroups),
            "ba": _log2(device.banks_per_group),
            "ro": _log2(device.rows),
            "co": _log2(device.columns) - _log2(device.burst_length),
        }
        self.shift = _log2(device.request_bytes)
        positions: dict[str, int] = {}
        pos = 0
        for token in reversed(tokens):
            positions[token] = pos
            pos += widths[token]
        self.positions = tuple(positions[f] for f in MAPPING_FIELDS)
        self.masks = tuple((1 << widths[f]) - 1 for f in MAPPING_FIELDS)

    def decode(self, address: int) -> tuple[int, int, int, int, int, int]:
        """(channel, rank, bankgroup, bank, row, column) of a byte address."""
        a = address >> self.shift
        p, m = self.positions, self.masks
        return (
            (a >> p[0]) & m[0],
            (a >> p[1]) & m[1],
            (a >> p[2]) & m[2],
            (a >> p[3]) & m[3],
            (a >> p[4]) & m[4],
            (a >> p[5]) & m[5],
        )


@dataclass(frozen=True)
class DramControllerConfig:
    """Controller policy, defaults as DRAMsim3's configs (cmd_queue_size 8, trans_queue_size 32, PER_BANK).

    `write_drain_low` is the write-buffer occupancy above which writes drain when the command queues are
    empty (DRAMsim3 controller.cc ScheduleTransaction hard-codes 8); a full buffer always drains.
    `drain_when_idle` also drains writes whenever no read waits (DRAMsim3 does not: a few writes can wait
    there until more arrive or the input ends). `row_hit_cap` is how many hits an open row may serve before a waiting miss may close it
    (command_queue.cc ArbitratePrecharge: 4).
    """

    page_policy: str = "open"
    refresh_policy: str = "rank_staggered"
    cmd_queue_depth: int = 8
    trans_queue_depth: int = 32
    write_drain_low: int = 8
    drain_when_idle: bool = False
    row_hit_cap: int = 4

    def __post_init__(self) -> None:
        if self.page_policy not in PAGE_POLICIES:
            raise InputError(f"dram.page_policy = {self.page_policy!r}: must be one of {', '.join(PAGE_POLICIES)}")
        if self.refresh_policy not in REFRESH_POLICIES:
            raise InputError(
                f"dram.refresh_policy = {self.refresh_policy!r}: must be one of {', '.join(REFRESH_POLICIES)}"
            )
        _check_range("dram", "cmd_queue_depth", self.cmd_queue_depth, 1, 1024)
        _check_range("dram", "trans_queue_depth", self.trans_queue_depth, 1, 65536)
        _check_range("dram", "write_drain_low", self.write_drain_low, 0, self.trans_queue_depth)
        _check_range("dram", "row_hit_cap", self.row_hit_cap, 1, 1_000_000)


DDR4_3200 = DramDevice(
    name="ddr4-3200",
    protocol="DDR4",
    channels=1,
    ranks=ranks_for_channel_size(16384, 1024, 65536, 16, 8, 64),
    bankgroups=4,
    banks_per_group=4,
    rows=65536,
    columns=1024,
    device_width_bits=8,
    bus_width_bits=64,
    burst_length=8,
    burst_cycles=4,
    tck_ns=0.63,
    cl_cycles=22,
    cwl_cycles=16,
    al_cycles=0,
    trcd_cycles=22,
    trcdwr_cycles=22,
    trp_cycles=22,
    tras_cycles=52,
    trfc_cycles=560,
    trefi_cycles=12480,
    trrd_s_cycles=4,
    trrd_l_cycles=8,
    twtr_s_cycles=4,
    twtr_l_cycles=12,
    tfaw_cycles=34,
    twr_cycles=24,
    trtp_cycles=12,
    tccd_s_cycles=4,
    tccd_l_cycles=8,
    trtrs_cycles=1,
    tcke_cycles=8,
    txp_cycles=10,
    tppd_cycles=0,
    vdd_v=1.2,
    idd0_ma=57,
    idd2p_ma=25,
    idd2n_ma=37,
    idd3p_ma=43,
    idd3n_ma=52,
    idd4r_ma=168,
    idd4w_ma=150,
    idd5ab_ma=250,
    idd6x_ma=30,
    address_mapping="rochrababgco",
    source=(
        "DDR4_8Gb_x8_3200.ini (DRAMsim3 configs/): bankgroups 4, banks_per_group 4, rows 65536, columns 1024, "
        "device_width 8, BL 8; tCK 0.63 (the .ini rounds DDR4-3200's 0.625 ns), AL 0, CL 22, CWL 16, tRCD 22, tRP "
        "22, tRAS 52, tRFC 560, tREFI 12480, tRRD_S 4, tRRD_L 8, tWTR_S 4, tWTR_L 12, tFAW 34, tWR 24, tRTP 12, "
        "tCCD_S 4, tCCD_L 8, tCKE 8, tXP 10, tRTRS 1; VDD 1.2, IDD0 57, IDD2P 25, IDD2N 37, IDD3P 43, IDD3N 52, "
        "IDD4W 150, IDD4R 168, IDD5AB 250, IDD6x 30; channel_size 16384 MB, channels 1, bus_width 64, "
        "address_mapping rochrababgco. Ranks: 1 KB pages * 64 K rows * 16 banks * 8 devices = 8192 MB per rank, "
        "so the 16384 MB channel holds 2 ranks."
    ),
)

LPDDR4_2400 = DramDevice(
    name="lpddr4-2400",
    protocol="LPDDR4",
    channels=1,
    ranks=ranks_for_channel_size(8192, 1024, 65536, 8, 16, 64),
    bankgroups=2,
    banks_per_group=4,
    rows=65536,
    columns=1024,
    device_width_bits=16,
    bus_width_bits=64,
    burst_length=16,
    burst_cycles=8,
    tck_ns=0.83,
    cl_cycles=17,
    cwl_cycles=14,
    al_cycles=0,
    trcd_cycles=15,
    trcdwr_cycles=15,
    trp_cycles=15,
    tras_cycles=32,
    trfc_cycles=392,
    trefi_cycles=8660,
    trrd_s_cycles=8,
    trrd_l_cycles=8,
    twtr_s_cycles=8,
    twtr_l_cycles=16,
    tfaw_cycles=32,
    twr_cycles=30,
    trtp_cycles=12,
    tccd_s_cycles=4,
    tccd_l_cycles=6,
    trtrs_cycles=1,
    tcke_cycles=6,
    txp_cycles=6,
    tppd_cycles=2,
    vdd_v=1.2,
    idd0_ma=80,
    idd2p_ma=25,
    idd2n_ma=34,
    idd3p_ma=41,
    idd3n_ma=47,
    idd4r_ma=243,
    idd4w_ma=228,
    idd5ab_ma=280,
    idd6x_ma=30,
    address_mapping="rochrababgco",
    source=(
        "LPDDR4_8Gb_x16_2400.ini (DRAMsim3 configs/): bankgroups 2, banks_per_group 4, rows 65536, columns 1024, "
        "device_width 16, BL 16; tCK 0.83, CL 17, CWL 14, tRCD 15, tRP 15, tRAS 32, tRFC 392, tREFI 8660, tRRD_S "
        "8, tRRD_L 8, tWTR_S 8, tWTR_L 16, tFAW 32, tWR 30, tRTP 12, tCCD_S 4, tCCD_L 6, tCKE 6, tXP 6, tRTRS 1, "
        "tPPD 2; VDD 1.2, IDD0 80, IDD2P 25, IDD2N 34, IDD3P 41, IDD3N 47, IDD4W 228, IDD4R 243, IDD5AB 280, "
        "IDD6x 30; channel_size 8192 MB, channels 1, bus_width 64, rochrababgco. Ranks: 2 KB pages * 64 K rows * "
        "8 banks * 4 devices = 4096 MB per rank, so 2 ranks."
    ),
)

HBM2 = DramDevice(
    name="hbm2",
    protocol="HBM2",
    channels=8,
    ranks=ranks_for_channel_size(1024, 128, 32768, 16, 128, 128),
    bankgroups=4,
    banks_per_group=4,
    rows=32768,
    columns=128,
    device_width_bits=128,
    bus_width_bits=128,
    burst_length=4,
    burst_cycles=2,
    tck_ns=1.0,
    cl_cycles=14,
    cwl_cycles=4,
    al_cycles=0,
    trcd_cycles=14,
    trcdwr_cycles=14,
    trp_cycles=14,
    tras_cycles=34,
    trfc_cycles=260,
    trefi_cycles=3900,
    trrd_s_cycles=4,
    trrd_l_cycles=6,
    twtr_s_cycles=6,
    twtr_l_cycles=8,
    tfaw_cycles=30,
    twr_cycles=16,
    trtp_cycles=5,
    tccd_s_cycles=1,
    tccd_l_cycles=2,
    trtrs_cycles=2,
    tcke_cycles=8,
    txp_cycles=8,
    tppd_cycles=0,
    vdd_v=1.2,
    idd0_ma=65,
    idd2p_ma=28,
    idd2n_ma=40,
    idd3p_ma=40,
    idd3n_ma=55,
    idd4r_ma=390,
    idd4w_ma=500,
    idd5ab_ma=250,
    idd6x_ma=31,
    address_mapping="rorabgbachco",
    dual_command=True,
    source=(
        "HBM2_8Gb_x128.ini (DRAMsim3 configs/; its protocol line reads HBM): bankgroups 4, banks_per_group 4, "
        "rows 32768, columns 64 (doubled to 128 physical columns for HBM), device_width 128, BL 4; tCK 1, CL 14, "
        "CWL 4, tRCDRD 14, tRCDWR 14, tRP 14, tRAS 34, tRFC 260, tREFI 3900, tRRD_S 4, tRRD_L 6, tWTR_S 6, tWTR_L "
        "8, tFAW 30, tWR 16, tCCD_S 1, tCCD_L 2, tCKE 8, tXP 8; the .ini names tRTP_L/tRTP_S, which DRAMsim3 does "
        "not read, so its defaults apply: tRTP 5, tRTRS 2, AL 0 (configuration.cc InitTimingParams); VDD 1.2, "
        "IDD0 65, IDD2P 28, IDD2N 40, IDD3P 40, IDD3N 55, IDD4W 500, IDD4R 390, IDD5AB 250, IDD6x 31; "
        "channel_size 1024 MB, channels 8, bus_width 128, rorabgbachco, dual command issue (hbm_dual_cmd defaults "
        "on for HBM). Ranks: 2 KB pages * 32 K rows * 16 banks * 1 device = 1024 MB per rank, so 1 rank."
    ),
)

LPDDR5_6400 = DramDevice(
    name="lpddr5-6400",
    protocol="LPDDR5",
    channels=1,
    ranks=1,
    bankgroups=4,
    banks_per_group=4,
    rows=32768,
    columns=1024,
    device_width_bits=16,
    bus_width_bits=16,
    burst_length=32,
    burst_cycles=4,
    tck_ns=1.25,
    cl_cycles=20,
    cwl_cycles=11,
    al_cycles=0,
    trcd_cycles=15,
    trcdwr_cycles=15,
    trp_cycles=15,
    tras_cycles=34,
    trfc_cycles=168,
    trefi_cycles=3125,
    trrd_s_cycles=4,
    trrd_l_cycles=4,
    twtr_s_cycles=5,
    twtr_l_cycles=10,
    tfaw_cycles=16,
    twr_cycles=28,
    trtp_cycles=4,
    tccd_s_cycles=4,
    tccd_l_cycles=8,
    trtrs_cycles=2,
    tcke_cycles=6,
    txp_cycles=6,
    tppd_cycles=2,
    vdd_v=1.2,
    idd0_ma=56.25,
    idd2p_ma=17,
    idd2n_ma=33.75,
    idd3p_ma=22.5,
    idd3n_ma=35,
    idd4r_ma=157.5,
    idd4w_ma=135,
    idd5ab_ma=118,
    idd6x_ma=20.25,
    address_mapping="rochrababgco",
    source=(
        "LPDDR5-6400 (no DRAMsim3 configuration exists). Timings are JEDEC JESD209-5 values at CK = 800 MHz (tCK "
        "1.25 ns, WCK:CK 4:1, 6400 MT/s per pin), in cycles as transcribed by Ramulator 2.0's LPDDR5_6400 timing "
        "preset (github.com/CMU-SAFARI/ramulator2 src/dram/impl/LPDDR5.cpp, commit 0b89cad): nBL16 4 (taken as "
        "the burst time of one 64-byte burst on the x16 channel), CL 20, CWL 11, tRCD 15 (18 ns), tRPpb 15 (18 "
        "ns), tRAS 34 (42 ns), tWR 28 (34 ns), tRTP 4, tCCD 4, tRRD 4 (5 ns), tWTR_S 5, tWTR_L 10, tFAW 16 (20 "
        "ns), tPPD 2, tRTRS 2 (its nCS rank switch), and from its 8 Gb density tables tRFCab 210 ns -> 168 cycles "
        "and tREFI 3906 ns -> 3125 cycles. Our assumptions, not transcribed: tCCD_S = nCCD = 4 and tCCD_L = 8 "
        "(twice tCCD_S, bank-group mode), tRRD_L = tRRD_S = 4 (one tRRD), tCKE = tXP = 6 (7.5 ns; the model has "
        "no power-down, so they are unused). Organization (Ramulator LPDDR5_8Gb_x16): 4 bank groups x 4 banks, "
        "32768 rows, 1024 columns, x16, 1 rank, 1 channel; BL32 moves 64 bytes per burst. Currents: JEDEC "
        "publishes no IDD values; these are DRAMPower's LPDDR5 memspec (github.com/tukl-msd/DRAMPower "
        "tests/tests_drampower/resources/lpddr5.json, commit 0d76441): VDD 1.2, IDD0 56.25, IDD2P 17, IDD2N "
        "33.75, IDD3P 22.5, IDD3N 35, IDD4R 157.5, IDD4W 135, IDD5 118, IDD6 20.25. Treat LPDDR5 energy as "
        "indicative."
    ),
)

PRESETS: dict[str, DramDevice] = {d.name: d for d in (DDR4_3200, LPDDR4_2400, HBM2, LPDDR5_6400)}


def dram_device(name: str) -> DramDevice:
    """The preset called `name`; one-line InputError listing the presets otherwise."""
    if name not in PRESETS:
        raise InputError(f"dram device = {name!r}: must be one of {', '.join(PRESETS)}")
    return PRESETS[name]


@dataclass(frozen=True)
class CommandEnergy:
    """Energy per command and per rank-cycle of background, in pJ (Micron's power method as DRAMsim3's
    configuration.cc InitPowerParams computes it, cycles turned into ns so V x mA x ns gives pJ):
    ACT = VDD (IDD0 tRC - IDD3N tRAS - IDD2N tRP), RD/WR = VDD (IDD4R/W - IDD3N) burst,
    REF = VDD (IDD5AB - IDD3N) tRFC, background per rank-cycle VDD IDD3N with a bank open (active),
    VDD IDD2N with all closed (idle); each times the devices of a rank. PRE costs nothing of its own:
    its current is inside the ACT term (IDD0 over a whole tRC)."""

    act_pj: float
    pre_pj: float
    read_pj: float
    write_pj: float
    refresh_pj: float
    active_pj_per_cycle: float
    idle_pj_per_cycle: float


def command_energy(d: DramDevice) -> CommandEnergy:
    scale = d.vdd_v * d.devices_per_rank * d.tck_ns
    return CommandEnergy(
        act_pj=scale * (d.idd0_ma * d.trc_cycles - (d.idd3n_ma * d.tras_cycles + d.idd2n_ma * d.trp_cycles)),
        pre_pj=0.0,
        read_pj=scale * (d.idd4r_ma - d.idd3n_ma) * d.burst_cycles,
        write_pj=scale * (d.idd4w_ma - d.idd3n_ma) * d.burst_cycles,
        refresh_pj=scale * (d.idd5ab_ma - d.idd3n_ma) * d.trfc_cycles,
        active_pj_per_cycle=scale * d.idd3n_ma,
        idle_pj_per_cycle=scale * d.idd2n_ma,
    )
