"""Sweep results as a tidy table: a pandas DataFrame or a Parquet file (the extra `accelsim[data]`).

One row per point, one column per grid dimension (network, preset, configuration and each
hardware field the sweep varies, by its dotted path) and one per figure, typed: integers stay
integers, a missing accuracy is null. The columns are `table.tidy_rows`', as in the CSV export.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim.errors import InputError
from accelsim.study.evaluate import Result
from accelsim.study.points import Point
from accelsim.study.table import tidy_rows

if TYPE_CHECKING:
    import pandas

DATA_MISSING = "tidy data needs the optional extra: pip install 'accelsim[data]'"


def require() -> None:
    """A one-line error, before any work, when the extra is not installed."""
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401 - pandas writes Parquet through it
    except ImportError:
        raise InputError(DATA_MISSING) from None


def results_dataframe(pairs: Sequence[tuple[Point, Result]]) -> pandas.DataFrame:
    """(point, result) pairs, as `accelsim.study.sweep.results` returns them, as a DataFrame."""
    require()
    import pandas as pd

    points = [point for point, _ in pairs]
    header, rows = tidy_rows([result for _, result in pairs], points)
    return pd.DataFrame.from_records(rows, columns=header)


def write_parquet(pairs: Sequence[tuple[Point, Result]], path: str | Path) -> Path:
    """`results_dataframe` as a Parquet file (through pyarrow)."""
    results_dataframe(pairs).to_parquet(path, index=False)
    return Path(path)
