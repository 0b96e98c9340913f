"""Writing the input tables of the default layout: Parquet, CSV or SPSS ``.sav``, one file each.

(The CBS remote-access layout has its own writer, ``cbs.py``.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        # dictionary-encode the code columns only: a rin column has no repeats worth a dictionary
        codes = [name for name in table.column_names if not name.startswith("rin")]
        pq.write_table(table, path, use_dictionary=codes)
    elif fmt == "csv":
        pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    else:
        import pyreadstat  # slow to import; only needed for .sav

        frame = pd.DataFrame({name: _sav_column(table.column(name)) for name in table.column_names})
        pyreadstat.write_sav(frame, str(path))


def _sav_column(column: pa.ChunkedArray) -> pd.Series:
    """SPSS has numbers and strings only: booleans become 0/1, a missing string is empty.

    Strings stay plain Python objects: pyreadstat reads an Arrow-backed column far slower.
    """
    if pa.types.is_boolean(column.type):
        return pd.Series(column.to_numpy().astype(np.int8))
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pd.Series(column.fill_null("").to_pylist(), dtype=object)
    return pd.Series(column.to_numpy())
