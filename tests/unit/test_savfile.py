"""The fast .sav writer of the synthetic CBS files: what it writes, pyreadstat reads back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyreadstat
import pytest

from kansenkluis.synth.savfile import write_sav


def test_text_numbers_long_names_and_labels_read_back(tmp_path: Path) -> None:
    path = tmp_path / "t.sav"
    columns = {
        "RINPERSOONS": np.array(["R", "O", "R"], dtype=object),
        "RINPERSOON": np.array([b"000000101", b"000000102", b"000000103"]),
        "WPOLEERJAAR": np.array([" 8", " 7", None], dtype=object),
        "OPLNIVSOI2021AGG4HBmetNIRWO": np.array(["3112", "----", ""], dtype=object),
        "GEWICHT": np.array([1.5, np.nan, -2.0]),
        "NAAM": np.array(["x" * 30, "", "y"], dtype=object),
    }
    labels = {"WPOLEERJAAR": {" 8": "groep 8"}, "GEWICHT": {"1.5": "anderhalf"}}
    write_sav(path, columns, labels)

    frame, meta = pyreadstat.read_sav(str(path))
    assert meta.column_names == list(columns)
    assert meta.number_rows == 3
    assert meta.variable_value_labels == {
        "WPOLEERJAAR": {" 8": "groep 8"},
        "GEWICHT": {1.5: "anderhalf"},
    }
    assert frame["RINPERSOON"].tolist() == ["000000101", "000000102", "000000103"]
    assert frame["WPOLEERJAAR"].tolist() == [" 8", " 7", ""]
    assert frame["OPLNIVSOI2021AGG4HBmetNIRWO"].tolist() == ["3112", "----", ""]
    assert frame["NAAM"].tolist() == ["x" * 30, "", "y"]
    assert frame["GEWICHT"].iloc[0] == 1.5 and np.isnan(frame["GEWICHT"].iloc[1])

    chunks = list(
        pyreadstat.read_file_in_chunks(
            pyreadstat.read_sav, str(path), chunksize=2, usecols=["RINPERSOON"]
        )
    )
    assert [len(c) for c, _ in chunks] == [2, 1]


def test_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rows"):
        write_sav(tmp_path / "a.sav", {"A": np.array([1.0]), "B": np.array([1.0, 2.0])})
    with pytest.raises(ValueError, match="short text"):
        write_sav(tmp_path / "b.sav", {"A": np.array(["x" * 9])}, {"A": {"x": "y"}})
