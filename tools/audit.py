"""Hostile input for every command: no traceback, no hang, every refusal one line.

    python tools/audit.py                 # every case (about a thousand)
    python tools/audit.py --sample 80     # a seeded sample, as the test suite runs it

Each case runs `accelsim.cli.main` in this process under a time limit and is classed: `ok` (exit
0), `refused` (exit 2 with exactly one `accelsim: error:` line on stderr), or a failure:
`traceback` (an exception escaped), `hang` (over the limit), `bad-refusal` (a refusal of more
than one line, or another exit status). Cases: every numeric field of a hardware file, every
numeric option, pipeline step arguments, trace windows, SCALE-Sim topology fields, weight
policies and DRAM request traces, each with values such as NaN, infinities, negatives, zero,
1e-10, 1e308, 2^62, 1e23, fractions and text.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import signal
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from accelsim import hardware
from accelsim.cli import main

HOSTILE_NUMBERS = ("nan", "inf", "-inf", "-1", "0", "1e-10", "1e308", str(2**62), "1e23", "0.5", "-0.0")
HOSTILE_TEXT = ("abc", "", "1:0", "-5:3", f"{10**20}:1", "3:2:1")
TOML_VALUES = ("nan", "inf", "-inf", "-1", "0", "1e-10", "1e308", str(2**62), "1e23", "0.5", '"x"', "true", "[1]")


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    case: Case
    kind: str  # ok, refused, traceback, hang, bad-refusal
    detail: str = ""


class Timeout(Exception):
    """The case ran past its time limit (raised inside it by `time_limit`)."""


def _alarm(_signum: int, _frame: object) -> None:
    raise Timeout


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise Timeout in the code run inside after `seconds` (main thread only: SIGALRM)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)


def run_case(case: Case, limit_s: int) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    try:
        with time_limit(limit_s), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(case.argv))
    except Timeout:
        return Outcome(case, "hang", f"over {limit_s} s")
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 - classing every escape is the point
        return Outcome(case, "traceback", f"{type(exc).__name__}: {exc}"[:200])
    lines = err.getvalue().splitlines()
    if status == 0:
        return Outcome(case, "ok")
    if status == 2 and len(lines) == 1 and lines[0].startswith("accelsim: error:"):
        return Outcome(case, "refused", lines[0][:200])
    return Outcome(case, "bad-refusal", f"exit {status}: {' | '.join(lines)[:200]}")


def _hardware_cases(folder: Path) -> Iterator[Case]:
    seed = tomllib.loads(hardware.to_toml(hardware.preset("seed")))

    def numeric_paths(table: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        for key, value in table.items():
            if isinstance(value, dict):
                yield from numeric_paths(value, (*prefix, key))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                yield (*prefix, key)

    for path in numeric_paths(seed):
        for value in TOML_VALUES:
            section = "".join(f"[{'.'.join(path[:-1])}]\n" if len(path) > 1 else "")
            text = f"{section}{path[-1]} = {value}\n"
            file = folder / f"hw_{'_'.join(path)}_{len(text)}_{abs(hash(value))}.toml"
            file.write_text(text)
            yield Case(
                f"hardware {'.'.join(path)} = {value}", ("run", "--network", "mlp", "--hardware-file", str(file))
            )


def _option_cases() -> Iterator[Case]:
    run = ("run", "--network", "mlp")
    for option in (
        "--accuracy",
        "--pue",
        "--die-area-mm2",
        "--lifetime-years",
        "--duty-cycle",
        "--grid-gco2e-per-kwh",
        "--process-node-nm",
        "--embodied-kgco2e",
    ):
        for value in HOSTILE_NUMBERS + HOSTILE_TEXT[:2]:
            yield Case(f"run {option} {value}", (*run, option, value))
    for step in ("prune", "sparsify", "distill", "lowrank", "quantize"):
        for value in HOSTILE_NUMBERS + HOSTILE_TEXT[:2]:
            yield Case(f"compress {step}({value})", (*run, "--compress", f"{step}({value})"))
    for value in HOSTILE_NUMBERS:
        yield Case(f"compress nm({value}, 4)", (*run, "--compress", f"nm({value}, 4)"))
        yield Case(f"compress distill(0.5, depth={value})", (*run, "--compress", f"distill(0.5, depth={value})"))


def _trace_cases(folder: Path) -> Iterator[Case]:
    trace = folder / "t.npz"
    with contextlib.redirect_stdout(io.StringIO()):
        main(["run", "--network", "seed-gemms", "--precision", "int8", "--trace", str(trace), "--json"])
    for value in HOSTILE_TEXT + HOSTILE_NUMBERS:
        yield Case(f"trace show --cycles {value}", ("trace", "show", str(trace), "--cycles", value))
        yield Case(
            f"trace export --cycles {value}",
            ("trace", "export", str(trace), "--format", "csv", "--cycles", value, "-o", str(folder / "x.csv")),
        )
        yield Case(
            f"replay --cycles {value}", ("replay", str(trace), "--png", str(folder / "x.png"), "--cycles", value)
        )
    for option in ("--frames", "--fps"):
        for value in HOSTILE_NUMBERS:
            yield Case(
                f"replay {option} {value}", ("replay", str(trace), "--gif", str(folder / "x.gif"), option, value)
            )


def _file_cases(folder: Path) -> Iterator[Case]:
    header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    good = ["a", "8", "8", "3", "3", "4", "8", "1"]
    for field in range(1, len(good)):
        for value in HOSTILE_NUMBERS + ("8.7", "x"):
            row = list(good)
            row[field] = value
            file = folder / f"topo_{field}_{abs(hash(value))}.csv"
            file.write_text(header + ", ".join(row) + ",\n")
            yield Case(f"topology field {field} = {value}", ("run", "--topology", str(file)))
    for value in ("8", "7", "-4", "1e308", '"int3"', "null", "[8]", "{}"):
        file = folder / f"policy_{abs(hash(value))}.json"
        file.write_text(f'{{"conv1": {value}}}')
        yield Case(f"weight policy conv1 = {value}", ("ai", "--network", "resnet20", "--weight-policy", str(file)))
    for line in (
        "0x40 READ 0",
        "0x40 READ -5",
        "zz READ 0",
        "0x40 FETCH 0",
        "0x40 READ 1e308",
        f"0x{2**80:x} READ 0",
        "",
    ):
        file = folder / f"dram_{abs(hash(line))}.trace"
        file.write_text(line + "\n")
        yield Case(f"dram stream {line!r}", ("dram", "stream", str(file)))


def cases(folder: Path) -> list[Case]:
    return [*_hardware_cases(folder), *_option_cases(), *_trace_cases(folder), *_file_cases(folder)]


def audit(sample: int | None = None, limit_s: int = 20, seed: int = 0) -> list[Outcome]:
    with tempfile.TemporaryDirectory() as tmp:
        chosen = cases(Path(tmp))
        if sample is not None and sample < len(chosen):
            chosen = random.Random(seed).sample(chosen, sample)
        return [run_case(case, limit_s) for case in chosen]


def main_audit(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, help="a seeded sample of this many cases")
    parser.add_argument("--limit-s", type=int, default=20, help="time limit of one case (default 20 s)")
    args = parser.parse_args(argv)
    outcomes = audit(args.sample, args.limit_s)
    counts = Counter(o.kind for o in outcomes)
    print(f"{len(outcomes)} cases: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
    for o in outcomes:
        if o.kind not in ("ok", "refused"):
            print(f"{o.kind:12s} {o.case.name}: {o.detail}")
    return 1 if any(o.kind not in ("ok", "refused") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main_audit())
