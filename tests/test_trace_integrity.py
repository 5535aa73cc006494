"""Trace files carry a digest: any flipped byte is refused in one line, never a traceback or a
silently different answer; metadata nesting is bounded; version 2 files still load."""

import json
import random
import zipfile

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.metrics import summarize
from accelsim.trace import store
from accelsim.trace.store import TraceFileError

EXAMPLE = "traces/seed-gemms-int8.npz"


@pytest.fixture(scope="module")
def original():
    data = open(EXAMPLE, "rb").read()
    return data, summarize(store.load(EXAMPLE)).as_dict()


@pytest.mark.parametrize("lazy", [False, True])
def test_flipped_bytes_are_refused_or_harmless(original, tmp_path, lazy):
    data, expected = original
    rng = random.Random(0)
    path = tmp_path / "flipped.npz"
    for offset in sorted(rng.sample(range(len(data)), 250)):
        damaged = bytearray(data)
        damaged[offset] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        try:
            trace = store.load(path, lazy=lazy)
        except TraceFileError as exc:
            assert "\n" not in str(exc)
            continue
        # Loaded: the flip hit bytes no reader uses (a zip timestamp, say); the figures must not move.
        assert summarize(trace).as_dict() == expected, f"offset {offset}"


def test_a_changed_value_inside_a_signal_is_caught_by_the_digest(tmp_path, capsys):
    with np.load(EXAMPLE, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files}
    members["signal/mac.busy_lanes/values"] = members["signal/mac.busy_lanes/values"].copy()
    members["signal/mac.busy_lanes/values"][3] += 1  # a well-formed file whose content changed
    path = tmp_path / "edited.npz"
    np.savez(path, **members)
    with pytest.raises(TraceFileError, match="trace file is corrupted"):
        store.load(path, lazy=True)
    assert main(["trace", "stats", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_deeply_nested_metadata_is_refused(tmp_path):
    with np.load(EXAMPLE, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files}
    meta = json.loads(str(members["meta"]))
    for depth, message in ((40, "nested deeper than 32"), (5000, "corrupted")):  # past ours, past Python's
        meta["network"]["description"] = "DEEP"
        members["meta"] = np.array(json.dumps(meta).replace('"DEEP"', "[" * depth + "0" + "]" * depth))
        path = tmp_path / "deep.npz"
        np.savez(path, **members)
        with pytest.raises(TraceFileError, match=message):
            store.load(path)


def test_version_2_files_without_a_digest_still_load(tmp_path):
    with np.load(EXAMPLE, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files if name != "digest"}
    meta = json.loads(str(members["meta"]))
    meta["schema_version"] = 2
    members["meta"] = np.array(json.dumps(meta))
    path = tmp_path / "v2.npz"
    np.savez(path, **members)
    assert store.load(path).end_cycle == store.load(EXAMPLE).end_cycle
    assert "digest.npy" in zipfile.ZipFile(EXAMPLE).namelist()
