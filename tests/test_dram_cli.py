"""`accelsim dram stream`: the committed DRAMsim3 streams through the command, text and JSON."""

import json
from pathlib import Path

from accelsim.cli import main

STREAMS = Path(__file__).parent / "data" / "dramsim3"


def test_stream_json_names_bandwidth_and_row_hits(capsys):
    assert main(["dram", "stream", str(STREAMS / "seq_read.trace"), "--dram", "ddr4-3200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["requests"] == 4000 and result["row_hits"] + result["row_misses"] == 4000
    assert any("bandwidth" in key for key in result) and 0 < result["bandwidth_bytes_per_s"]


def test_stream_text_and_bad_input(capsys, tmp_path):
    assert main(["dram", "stream", str(STREAMS / "random_read.trace")]) == 0
    assert "row buffer" in capsys.readouterr().out
    assert main(["dram", "stream", str(STREAMS / "seq_read.trace"), "--dram", "ddr9"]) == 2
    assert "must be one of ddr4-3200" in capsys.readouterr().err
    bad = tmp_path / "bad.trace"
    bad.write_text("0x40 FETCH 0\n")
    assert main(["dram", "stream", str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
