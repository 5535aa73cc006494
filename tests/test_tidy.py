"""Tidy sweep results: one column per grid dimension in the CSV, the DataFrame and Parquet."""

import csv
import sys
from pathlib import Path

import pytest

from accelsim.cli import main as accelsim_main
from accelsim.errors import InputError
from accelsim.study import tidy
from accelsim.study.spec import Study, load_study

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

SPEC = """
[study]
name = "tidy"
networks = ["mlp"]
hardware = "seed"
accuracy = "parametric:0.9"
[study.compression]
FP32 = "baseline"
INT8 = "int8"
[grid]
"mac_array.lanes" = [16, 64]
"dram.bandwidth_bytes_per_s" = [2e8, 1e9]
[[points]]
network = "mlp"
compression = "int8"
overrides = { "dram.latency_ns" = 50.0 }
"""
ROOT = Path(__file__).resolve().parents[1]
GRID = ["dram.bandwidth_bytes_per_s", "mac_array.lanes", "dram.latency_ns"]


@pytest.fixture
def study(tmp_path, capsys):
    spec = tmp_path / "tidy.toml"
    spec.write_text(SPEC)
    argv = ["study", str(spec), "--in-process", "--no-progress", "--csv", str(tmp_path / "r.csv")]
    assert accelsim_main([*argv, "--parquet", str(tmp_path / "r.parquet")]) == 0
    assert f"wrote {tmp_path / 'r.parquet'} (9 results)" in capsys.readouterr().out
    return load_study(spec)


def test_every_export_has_one_column_per_grid_dimension(study, tmp_path):
    frame = study.to_dataframe()
    header = list(frame.columns)
    assert header[header.index("hardware") + 1 :][:5] == ["preset", *GRID, "pipeline"]
    assert len(frame) == 9 and set(frame["preset"]) == {"seed"}
    # A point that does not set a field has the preset's value there, not a gap.
    assert frame["mac_array.lanes"].tolist() == [16, 16, 64, 64] * 2 + [64]
    assert frame["dram.bandwidth_bytes_per_s"].tolist() == [2e8, 1e9] * 4 + [2e8]
    assert frame["dram.latency_ns"].tolist() == [100.0] * 8 + [50.0]
    assert str(frame["cycles"].dtype) == "int64" and str(frame["mac_array.lanes"].dtype) == "int64"
    assert frame["accuracy"].tolist() == pytest.approx([0.9] * 9, abs=0.01)
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert list(rows[0]) == header
    assert [int(r["mac_array.lanes"]) for r in rows] == frame["mac_array.lanes"].tolist()
    assert [int(r["cycles"]) for r in rows] == frame["cycles"].tolist()
    parquet = pd.read_parquet(tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(parquet, frame)


def test_duckdb_reads_the_parquet_as_the_readme_shows(study, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    query = f"""
        SELECT "mac_array.lanes" AS lanes, "dram.bandwidth_bytes_per_s" / 1e9 AS gbps, cycles
        FROM '{tmp_path / "r.parquet"}' WHERE configuration = 'INT8' AND "dram.latency_ns" = 100
        ORDER BY lanes, gbps"""
    rows = duckdb.sql(query).fetchall()
    frame = study.to_dataframe()
    expected = frame[(frame.configuration == "INT8") & (frame["dram.latency_ns"] == 100.0)]
    assert rows == [
        (lanes, gbps / 1e9, cycles)
        for lanes, gbps, cycles in sorted(
            zip(expected["mac_array.lanes"], expected["dram.bandwidth_bytes_per_s"], expected["cycles"])
        )
    ]
    assert len(rows) == 4 and rows[0][2] > rows[-1][2]  # more lanes and bandwidth, fewer cycles


def test_without_the_extra_the_error_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(InputError, match=r"^tidy data needs the optional extra: pip install 'accelsim\[data\]'$"):
        tidy.require()
    spec = tmp_path / "tidy.toml"
    spec.write_text(SPEC)
    assert accelsim_main(["study", str(spec), "--in-process", "--parquet", str(tmp_path / "r.parquet")]) == 2
    assert not (tmp_path / "tidy.jsonl").exists()  # refused before any point ran
    with pytest.raises(InputError, match="store: required"):
        Study("x", ()).to_dataframe()


def _readme_queries():
    """(SQL, table lines) of every ```sql block in the README and the Markdown table after it."""
    lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    out = []
    for i, line in enumerate(lines):
        if line == "```sql":
            end = lines.index("```", i + 1)
            table = []
            for row in lines[end + 2 :]:
                if not row.startswith("|"):
                    break
                table.append(row)
            out.append(("\n".join(lines[i + 1 : end]), table))
    return out


def test_the_readme_duckdb_queries_print_the_readme_tables(tmp_path, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.chdir(tmp_path)
    spec = ROOT / "scenarios" / "sweep.toml"
    argv = ["study", str(spec), "--out", "sweep.jsonl", "--parquet", "sweep.parquet", "--in-process", "--no-progress"]
    assert accelsim_main(argv) == 0
    assert accelsim_main(["run", "--network", "resnet50", "--precision", "int8", "--trace", "run.npz"]) == 0
    assert accelsim_main(["trace", "export", "run.npz", "--format", "parquet"]) == 0
    queries = _readme_queries()
    assert len(queries) == 3
    for sql, table in queries:
        result = duckdb.sql(sql)
        header = "| " + " | ".join(result.columns) + " |"
        rows = ["| " + " | ".join(str(value) for value in row) + " |" for row in result.fetchall()]
        assert table == [header, "|" + " --- |" * len(result.columns), *rows], sql
