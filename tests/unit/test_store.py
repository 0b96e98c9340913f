"""The sealed store: keys, pseudonyms, encryption at rest, fingerprints, atomic swaps, linkage."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kansenkluis.domain import INPUT_TABLES
from kansenkluis.errors import ExitCode, UsageError, UserError
from secure.keys import (
    PSEUDONYM_KEY_FILE,
    check_key_permissions,
    create_sealed_keys,
    kek_ids,
    load_pseudonym_secret,
)
from secure.link import open_linked
from secure.pseudonym import PSEUDONYM_HEX_CHARS, SqlPseudonymiser, pseudonymise
from secure.store import SealedStore
from tests.support.batches import tiny_tables
from tests.support.digests import tree_digest

REPO = Path(__file__).resolve().parents[2]


def generations(store: SealedStore) -> list[str]:
    return sorted(p.name for p in (store.sealed_dir / "generations").iterdir())


def staging(store: SealedStore) -> Path:
    return store.sealed_dir.with_name("sealed.staging")


@pytest.fixture
def store(sealed_home) -> SealedStore:
    return SealedStore(sealed_home.sealed_dir, sealed_home.keys_dir)


# --- keys ------------------------------------------------------------------------------------


def test_keys_are_private_to_their_owner(sealed_home):
    assert sealed_home.keys_dir.stat().st_mode & 0o777 == 0o700
    files = sorted(sealed_home.keys_dir.iterdir())
    assert [f.name for f in files][-1] == PSEUDONYM_KEY_FILE
    assert len(kek_ids(sealed_home.keys_dir)) == 1
    for f in files:
        assert f.stat().st_mode & 0o777 == 0o600
        assert len(f.read_bytes()) == 32
    check_key_permissions(sealed_home.keys_dir)


def test_existing_keys_are_never_overwritten(sealed_home):
    before = tree_digest(sealed_home.keys_dir)
    with pytest.raises(UsageError) as info:
        create_sealed_keys(sealed_home.keys_dir)
    assert info.value.code == "KLUIS_KEYS_EXIST"
    assert info.value.exit_code == ExitCode.USAGE
    assert tree_digest(sealed_home.keys_dir) == before


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        (lambda k: os.chmod(k / PSEUDONYM_KEY_FILE, 0o644), "KLUIS_KEYS_PERMISSIONS"),
        (lambda k: os.chmod(k, 0o750), "KLUIS_KEYS_PERMISSIONS"),
        (lambda k: (k / PSEUDONYM_KEY_FILE).unlink(), "KLUIS_KEYS_MISSING"),
        (lambda k: [p.unlink() for p in k.glob("kek-*.key")], "KLUIS_KEYS_MISSING"),
    ],
    ids=["key-file-readable", "folder-open", "no-pseudonym-key", "no-kek"],
)
def test_ingest_refuses_keys_that_are_missing_or_exposed(
    sealed_home, store, make_batch, spoil, code
):
    store.ingest(make_batch())
    before = tree_digest(sealed_home.sealed_dir)
    spoil(sealed_home.keys_dir)
    with pytest.raises(UserError) as info:
        check_key_permissions(sealed_home.keys_dir)
    assert info.value.code == code
    with pytest.raises(UserError) as info:
        store.ingest(make_batch(name="second"))
    assert info.value.code == code
    assert tree_digest(sealed_home.sealed_dir) == before


def test_missing_keys_folder(tmp_path):
    with pytest.raises(UserError) as info:
        check_key_permissions(tmp_path / "keys")
    assert info.value.code == "KLUIS_KEYS_MISSING"
    assert "kluis init" in info.value.hint


# --- pseudonyms ------------------------------------------------------------------------------


_DUCK = duckdb.connect()


@settings(max_examples=40, deadline=None)
@given(secret=st.binary(min_size=32, max_size=32), rin=st.text(min_size=1, max_size=40))
def test_sql_pseudonym_is_hmac_sha256(secret, rin):
    p = SqlPseudonymiser(secret)
    got = _DUCK.execute(
        f"SELECT {p.expression('$v::VARCHAR')}, {p.expression('NULL::VARCHAR')}",
        {**p.params, "v": rin},
    ).fetchone()
    assert got == (pseudonymise(secret, rin), None)
    assert len(got[0]) == PSEUDONYM_HEX_CHARS


def test_every_rin_is_replaced_by_its_keyed_pseudonym(sealed_home, store, make_batch):
    raw = tiny_tables()
    store.ingest(make_batch())
    secret = load_pseudonym_secret(sealed_home.keys_dir)

    def pseudo(v):
        return None if v is None or pd.isna(v) else pseudonymise(secret, v)

    for table in INPUT_TABLES:
        stored = store.read_table(table).to_pandas()
        for col in (c for c in INPUT_TABLES[table] if c.startswith("rin")):
            expect = sorted(map(str, (pseudo(v) for v in raw[table][col])))
            assert sorted(map(str, (None if pd.isna(v) else v for v in stored[col]))) == expect
    # linkage survives: the parents of child 1 are still persons with an education
    ko = store.read_table("kind_ouder").to_pandas().set_index("rin")
    assert ko.loc[pseudonymise(secret, "100000001"), "rin_ouder1"] == pseudonymise(
        secret, "200000001"
    )
    assert pd.isna(ko.loc[pseudonymise(secret, "100000003"), "rin_ouder2"])


def test_values_and_types_survive_the_round_trip(store, make_batch):
    store.ingest(make_batch(fmt="sav"))
    raw = tiny_tables()
    persoon = store.read_table("persoon")
    assert str(persoon.schema.field("geboortejaar").type) == "int32"
    assert sorted(persoon.column("geboortejaar").to_pylist()) == sorted(raw["persoon"].geboortejaar)
    examen = store.read_table("vo_examen")
    assert str(examen.schema.field("geslaagd").type) == "bool"
    assert examen.column("geslaagd").to_pylist() == [True]
    geo = store.read_table("geografie").to_pandas().sort_values("wijkcode")
    assert list(geo.columns) == list(INPUT_TABLES["geografie"])
    assert geo.wijknaam.tolist() == ["Centrum", "Oud-Zuid", "Centrum", "West"]


# --- fingerprint -----------------------------------------------------------------------------


def test_fingerprint_is_the_same_for_every_source_format(store, make_batch):
    prints = {fmt: store.ingest(make_batch(fmt=fmt, name=fmt)).data_fingerprint for fmt in
              ("csv", "parquet", "sav")}  # fmt: skip
    assert len(set(prints.values())) == 1
    assert store.current_fingerprint() == prints["sav"]


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_fingerprint_ignores_row_order_and_buren_order(store, make_batch, seed):
    plain = store.ingest(make_batch(name=f"plain{seed}")).data_fingerprint
    tables = {
        name: frame.sample(frac=1, random_state=seed).reset_index(drop=True)
        for name, frame in tiny_tables().items()
    }
    tables["geografie"].loc[0, "buren"] = " ; ".join(
        reversed(str(tables["geografie"].loc[0, "buren"]).split(";"))
    )
    assert store.ingest(make_batch(tables, name=f"shuffled{seed}")).data_fingerprint == plain


def test_fingerprint_changes_with_any_value(store, make_batch, batch_tables):
    before = store.ingest(make_batch(name="a")).data_fingerprint
    batch_tables["persoon"].loc[4, "geboortemaand"] = 9
    after = store.ingest(make_batch(batch_tables, name="b")).data_fingerprint
    assert before != after


# --- encryption at rest ----------------------------------------------------------------------


def test_nothing_is_readable_on_disk(sealed_home, store, make_batch):
    report = store.ingest(make_batch())
    secret = load_pseudonym_secret(sealed_home.keys_dir)
    raw = tiny_tables()
    needles = {b"PAR1", b"Centrum", b"Amsterdam", b"havo_vwo", b"01BB", b"WK0363", b"GM0014"}
    for value in raw["persoon"].rin:
        needles |= {value.encode(), pseudonymise(secret, value).encode()}
    needles.add(report.data_fingerprint.encode())
    for path in sealed_home.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [n for n in needles if n in data], path.name
            assert path.stat().st_mode & 0o777 == 0o600
        else:
            assert path.stat().st_mode & 0o777 == 0o700


def _current_dir(store: SealedStore) -> Path:
    return store.sealed_dir / "generations" / (store.sealed_dir / "CURRENT").read_text().strip()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda g: _flip(g / "persoon.enc", -5),
        lambda g: _flip(g / "persoon.enc", 30),
        lambda g: (g / "persoon.enc").write_bytes((g / "persoon.enc").read_bytes()[:-1]),
        lambda g: (g / "persoon.enc").write_bytes((g / "adres.enc").read_bytes()),
        lambda g: (g / "persoon.enc").write_bytes((g / "persoon.enc").read_bytes() + b"\0"),
    ],
    ids=["flip-tag", "flip-body", "truncate", "swap-table", "append"],
)
def test_tampering_is_detected(store, make_batch, tamper):
    store.ingest(make_batch())
    tamper(_current_dir(store))
    with pytest.raises(UserError) as info:
        store.read_table("persoon")
    assert info.value.code == "KLUIS_STORE_CORRUPT"


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_table_cannot_be_moved_between_generations(store, make_batch, batch_tables):
    store.ingest(make_batch(name="a"))
    old = (_current_dir(store) / "persoon.enc").read_bytes()
    batch_tables["persoon"].loc[0, "geboortemaand"] = 4
    store.ingest(make_batch(batch_tables, name="b"))
    (_current_dir(store) / "persoon.enc").write_bytes(old)
    with pytest.raises(UserError) as info:
        store.read_table("persoon")
    assert info.value.code == "KLUIS_STORE_CORRUPT"


def test_another_key_encryption_key_cannot_unwrap_the_data_key(sealed_home, store, make_batch):
    store.ingest(make_batch())
    (kek,) = sealed_home.keys_dir.glob("kek-*.key")
    kek.write_bytes(os.urandom(32))
    with pytest.raises(UserError) as info:
        store.read_table("persoon")
    assert info.value.code == "KLUIS_WRONG_KEY"


def test_reading_an_empty_store_or_an_unknown_table(store, make_batch):
    assert store.current_fingerprint() is None
    assert store.current_report() is None
    with pytest.raises(UserError) as info:
        store.read_table("persoon")
    assert info.value.code == "KLUIS_NO_DATA"
    store.ingest(make_batch())
    with pytest.raises(UserError) as info:
        store.read_table("leerlingen")
    assert info.value.code == "KLUIS_UNKNOWN_TABLE"


# --- generations and atomic swap -------------------------------------------------------------


def test_an_ingest_replaces_the_dataset_and_drops_the_old_generation(
    store, make_batch, batch_tables
):
    first = store.ingest(make_batch(name="a"))
    old = generations(store)
    batch_tables["persoon"].loc[1, "geboortemaand"] = 1
    second = store.ingest(make_batch(batch_tables, name="b"))
    assert first.data_fingerprint != second.data_fingerprint
    assert store.current_fingerprint() == second.data_fingerprint
    assert len(generations(store)) == 1 and generations(store) != old
    assert [p.name for p in staging(store).iterdir()] == ["WRITE.LOCK"]


def test_a_second_writer_is_turned_away(store, make_batch):
    store.ingest(make_batch(name="a"))
    before = tree_digest(store.sealed_dir)
    fd = os.open(staging(store) / "WRITE.LOCK", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(UserError) as info:
            store.ingest(make_batch(name="b"))
        assert info.value.code == "KLUIS_STORE_BUSY"
    finally:
        os.close(fd)
    assert tree_digest(store.sealed_dir) == before


KILL_SCRIPT = """
import sys, time
from pathlib import Path
import secure.store as store_module

sealed, keys, batch, stage, marker = sys.argv[1:6]

def hook(reached):
    if reached == stage:
        Path(marker).write_text("ready")
        time.sleep(120)

store_module._stage_hook = hook
store_module.SealedStore(Path(sealed), Path(keys)).ingest(Path(batch))
"""


def _ingest_and_kill(store: SealedStore, batch: Path, stage: str, tmp: Path) -> None:
    marker = tmp / f"reached-{stage}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [store.sealed_dir, store.keys_dir, batch, stage, marker]
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, *map(str, args)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"ingest ended before {stage}: {proc.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, f"ingest never reached {stage}"
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no cleanup handlers run
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -9


@pytest.mark.parametrize("stage", ["table_written", "before_swap"])
def test_kill_9_during_an_ingest_leaves_the_previous_store_intact(
    store, make_batch, batch_tables, tmp_path, stage
):
    previous = store.ingest(make_batch(name="a"))
    persoon = store.read_table("persoon")
    before = tree_digest(store.sealed_dir)
    batch_tables["persoon"].loc[2, "geboortemaand"] = 2

    _ingest_and_kill(store, make_batch(batch_tables, name="b"), stage, tmp_path)

    after = tree_digest(store.sealed_dir)
    if stage == "table_written":  # still in staging, beside the sealed folder
        assert after == before
        assert len(tree_digest(staging(store))) > 1
    else:  # renamed into generations/, not yet current
        assert {k: v for k, v in after.items() if k in before} == before
        assert len(generations(store)) == 2
    assert store.current_fingerprint() == previous.data_fingerprint
    assert store.read_table("persoon").equals(persoon)
    # the next ingest sweeps the leftovers away
    store.ingest(make_batch(name="c"))
    assert len(generations(store)) == 1
    assert [p.name for p in staging(store).iterdir()] == ["WRITE.LOCK"]


def test_kill_9_right_after_the_swap_leaves_the_new_store_readable(
    store, make_batch, batch_tables, tmp_path
):
    store.ingest(make_batch(name="a"))
    batch_tables["persoon"].loc[2, "geboortemaand"] = 2
    expected = SealedStore(tmp_path / "elsewhere", store.keys_dir).ingest(
        make_batch(batch_tables, name="b")
    )
    _ingest_and_kill(store, make_batch(batch_tables, name="b2"), "after_swap", tmp_path)
    assert store.current_fingerprint() == expected.data_fingerprint
    assert store.read_table("persoon").num_rows == 10


# --- key rotation ----------------------------------------------------------------------------


def test_rotation_re_encrypts_under_new_keys_and_keeps_the_data(sealed_home, store, make_batch):
    report = store.ingest(make_batch())
    tables = {t: store.read_table(t) for t in INPUT_TABLES}
    old_kek = kek_ids(sealed_home.keys_dir)
    old_files = tree_digest(_current_dir(store))

    store.rotate_data_key()

    new_kek = kek_ids(sealed_home.keys_dir)
    assert len(new_kek) == 1 and new_kek != old_kek
    record = json.loads((_current_dir(store) / "datakey.json").read_text())
    assert record["kek_id"] == new_kek[0]
    assert len(generations(store)) == 1
    new_files = tree_digest(_current_dir(store))
    assert not set(old_files.values()) & set(new_files.values())  # every file re-encrypted
    assert store.current_report() == report
    for t in INPUT_TABLES:
        assert store.read_table(t).equals(tables[t])
    # the pseudonymisation secret is untouched: new batches still link to old pseudonyms
    assert store.ingest(make_batch(name="again")).data_fingerprint == report.data_fingerprint


def test_rotation_of_an_empty_store_replaces_the_kek(sealed_home, store):
    old = kek_ids(sealed_home.keys_dir)
    store.rotate_data_key()
    assert len(kek_ids(sealed_home.keys_dir)) == 1 and kek_ids(sealed_home.keys_dir) != old


# --- linkage ---------------------------------------------------------------------------------


def test_open_linked_gives_every_table_and_the_link_rates(store, make_batch):
    report = store.ingest(make_batch())
    with open_linked(store) as linked:
        con = linked.con
        for table, columns in INPUT_TABLES.items():
            described = con.execute(f"DESCRIBE {table}").fetchall()
            assert [d[0] for d in described] == list(columns)
        types = {d[0]: d[1] for d in con.execute("DESCRIBE vo_inschrijving").fetchall()}
        assert types == {
            "rin": "VARCHAR",
            "schooljaar": "INTEGER",
            "brin": "VARCHAR",
            "niveau": "VARCHAR",
            "leerjaar": "INTEGER",
        }
        # the pseudonym links tables: every vo pupil is a person
        orphans = con.execute(
            "SELECT count(*) FROM vo_inschrijving v ANTI JOIN persoon p USING (rin)"
        ).fetchone()
        assert orphans == (0,)
        assert linked.data_fingerprint == report.data_fingerprint
        assert sorted(linked.geography.gemeenten) == ["GM0014", "GM0363"]
        assert linked.geography.wijken["WK036300"].buren == ("WK036301",)
        assert linked.link_report == {
            "link_children": 4,
            "link_children_with_parent": 3,
            "link_children_with_parent_education": 3,
            "link_persons": 10,
            "link_persons_with_adres_2021": 4,
            "link_persons_with_adres_2022": 3,
            "link_persons_with_education": 4,
            "link_vo_pupils_2021": 3,
            "link_vo_pupils_2022": 3,
            "link_vo_pupils_with_adres_2021": 3,
            "link_vo_pupils_with_adres_2022": 2,
        }
        with pytest.raises(duckdb.Error):
            con.execute(f"COPY persoon TO '{store.sealed_dir.parent / 'leak.csv'}'")
    assert not (store.sealed_dir.parent / "leak.csv").exists()
    with pytest.raises(duckdb.Error):
        linked.con.execute("SELECT 1")


def test_a_corrupt_middle_segment_is_detected(store, make_batch, monkeypatch):
    # small segments, so that persoon.enc has many and the flipped byte sits in a middle one
    monkeypatch.setattr("secure.store.SEGMENT_BYTES", 256)
    store.ingest(make_batch())
    path = _current_dir(store) / "persoon.enc"
    size = path.stat().st_size
    assert size > 4 * 256, "the table should span several segments"
    _flip(path, size // 2)
    with pytest.raises(UserError) as info:
        store.read_table("persoon")
    assert info.value.code == "KLUIS_STORE_CORRUPT"


def test_the_linked_connection_cannot_spill_or_reach_files(store, make_batch, tmp_path):
    store.ingest(make_batch())
    with open_linked(store) as linked:
        with pytest.raises(duckdb.Error):
            linked.con.execute(f"SET temp_directory = '{tmp_path}'")
        with pytest.raises(duckdb.Error):
            linked.con.execute(f"COPY persoon TO '{tmp_path / 'leak.csv'}'")
    assert not (tmp_path / "leak.csv").exists()
