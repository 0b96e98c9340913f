"""The ``kluis`` command line (docs/cli.md). Thin: each command calls the pipeline or a reader.

Exit codes: 0 success, 2 usage, 3 bad input (nothing changed), 4 policy refusal, 1 internal error.
An unexpected exception is reported as a bug by its type only: its message could quote data.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from kansenkluis.config import Settings, get_settings
from kansenkluis.errors import ExitCode, KluisError, UsageError

app = typer.Typer(
    help="Kansenkluis: sealed Gelijke Kansen indicators with disclosure control.",
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
)
release_app = typer.Typer(help="List, show and export releases.", no_args_is_help=True)
audit_app = typer.Typer(help="Verify exported releases (auditors).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
keys_app = typer.Typer(help="Key management (sealed side).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(release_app, name="release")
app.add_typer(audit_app, name="audit")
app.add_typer(token_app, name="token")

out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    return get_settings()


def _progress(message: str) -> None:
    err.print(f"[dim]·[/dim] {message}")


@app.command()
def init() -> None:
    """Create KLUIS_HOME with fresh keys (refuses to overwrite existing keys)."""
    from kansenkluis.pipeline import init_home

    home = init_home(_settings())
    out.print(f"initialised {home}")


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the tables into")],
    scale: Annotated[str, typer.Option(help="small or national")] = "small",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or sav")] = "parquet",
    layout: Annotated[
        str, typer.Option(help="spec: one file per table; cbs: CBS remote-access .sav files")
    ] = "spec",
) -> None:
    """Write realistic synthetic microdata as input tables (or as CBS files)."""
    from kansenkluis.synth import generate

    summary = generate(out_dir, scale=scale, seed=seed, fmt=fmt, layout=layout)
    out.print(
        f"wrote {sum(summary.rows.values()):,} rows in {len(summary.rows)} tables to {out_dir}"
    )


@app.command()
def ingest(
    batch_dir: Annotated[Path, typer.Argument(help="folder with one file per input table")],
    quarantine: Annotated[
        bool, typer.Option("--quarantine", help="move bad rows to quarantine instead of failing")
    ] = False,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            help="memory for validating the batch, e.g. 8GB (default 4GB; it never spills)",
        ),
    ] = None,
    layout: Annotated[
        str, typer.Option(help="spec: one file per table; cbs: the CBS remote-access tables")
    ] = "spec",
    mapping: Annotated[
        Path | None,
        typer.Option(help="with --layout cbs: your own mapping file (see docs/cbs-layout.md)"),
    ] = None,
) -> None:
    """Validate a batch and take it into the sealed store (all or nothing)."""
    from kansenkluis.pipeline import ingest as do_ingest

    report = do_ingest(
        _settings(),
        batch_dir,
        quarantine=quarantine,
        progress=_progress,
        memory_limit=memory_limit,
        layout=layout,
        mapping=mapping,
    )
    out.print(f"ingested: data fingerprint {report.data_fingerprint}")
    for table, n in sorted(report.rows.items()):
        out.print(f"  {table:<18} {n:>10,} rows")
    for key, n in report.source.items():  # what the CBS layout left out, and its year
        out.print(f"  {key:<40} {n:>10}" if key.endswith("jaar") else f"  {key:<40} {n:>10,}")
    if report.quarantined:
        out.print("quarantined rows by rule:")
        for rule, n in sorted(report.quarantined.items()):
            out.print(f"  {rule:<40} {n:>8,}")


@app.command()
def run(
    year: Annotated[int, typer.Option("--year", help="reference school year T (2022 = 2022/23)")],
    policy: Annotated[Path | None, typer.Option(help="policy TOML (default: shipped)")] = None,
    epsilon: Annotated[
        float | None, typer.Option(help="differential privacy budget for this release")
    ] = None,
) -> None:
    """Compute, protect and store a release; prints the release id last."""
    from kansenkluis.pipeline import run as do_run

    release = do_run(_settings(), year, policy_path=policy, epsilon=epsilon, progress=_progress)
    counts: dict[str, int] = {}
    for cell in release.cells:
        counts[cell.status.value] = counts.get(cell.status.value, 0) + 1
    for status, n in sorted(counts.items()):
        err.print(f"  {status:<22} {n:>8,} cells")
    print(release.id)


@release_app.command("list")
def release_list() -> None:
    """List the releases in the release store."""
    from disclosure.store import ReleaseStore

    # plain tab-separated lines: readable, and never truncated for scripts and narrow terminals
    with ReleaseStore(_settings().release_db) as store:
        rows = store.list()
    print("id\tschooljaar\tcreated_at\tdata_fingerprint")
    for r in rows:
        print(f"{r['id']}\t{r['schooljaar']}\t{r['created_at']}\t{r['data_fingerprint']}")


@release_app.command("show")
def release_show(
    release_id: Annotated[str, typer.Argument()],
    utility: Annotated[
        bool, typer.Option("--utility", help="a table of what the release shows per indicator")
    ] = False,
) -> None:
    """Print a release's metadata (release.json) as JSON, or its utility as a table."""
    from disclosure.store import ReleaseStore
    from disclosure.utility import utility_table

    with ReleaseStore(_settings().release_db) as store:
        release = store.get(release_id)
    if not utility:
        print(json.dumps(release.metadata(), indent=2, ensure_ascii=False))
        return
    rows = utility_table(release.utility)
    table = Table(
        title=f"{release_id}: wijken per indicator (share of all wijken)",
        caption="own: the wijk's own figure; group: a published wijkgroep figure; withheld: "
        "neither. gemeenten: rows withheld, primary + secondary. outside: pupils outside any "
        "published wijk or wijkgroep figure (national denominator minus theirs).",
    )
    # nothing is cut short (afstroom/vmbo and afstroom/vwo would read alike): a long key folds
    table.add_column("indicator/breakdown", overflow="fold", min_width=20)
    for column in ("own", "group", "withheld", "gemeenten", "outside"):
        table.add_column(column, justify="right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@release_app.command("export")
def release_export(
    release_id: Annotated[str, typer.Argument()],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the export into")],
) -> None:
    """Write release.json, cells.csv, suppression_log.jsonl and release.pub."""
    from kansenkluis.pipeline import export

    export(_settings(), release_id, out_dir)
    out.print(f"exported {release_id} to {out_dir}")


@release_app.command("backup")
def release_backup(
    target: Annotated[Path, typer.Option("--out", help="backup file to create")],
) -> None:
    """A consistent copy of the release store (safe while the API runs)."""
    from kansenkluis.pipeline import backup_releases

    out.print(f"backed up the release store to {backup_releases(_settings(), target)}")


@release_app.command("restore")
def release_restore(source: Annotated[Path, typer.Argument(help="a backup file")]) -> None:
    """Replace the release store with a backup (stop the API and worker first)."""
    from kansenkluis.pipeline import restore_releases

    restore_releases(_settings(), source)
    out.print(f"restored the release store from {source}")


@audit_app.command("verify")
def audit_verify(
    export_dir: Annotated[Path, typer.Argument(help="a release export folder")],
    public_key: Annotated[
        Path | None, typer.Option(help="public key to trust (default: the export's release.pub)")
    ] = None,
) -> None:
    """Check the chain, the signature and every published cell against the policy."""
    from disclosure.verify import verify_export

    result = verify_export(export_dir, public_key)
    for failure in result.failures:
        err.print(f"[red]FAIL[/red] {failure}")
    summary = ", ".join(f"{k}={v}" for k, v in sorted(result.checked.items()))
    if result.ok:
        out.print(f"OK: {summary}")
        return
    err.print(f"{len(result.failures)} failure(s); {summary}")
    raise typer.Exit(code=int(ExitCode.BAD_INPUT))


@audit_app.command("open")
def audit_open(release_id: Annotated[str, typer.Argument()]) -> None:
    """SEALED SIDE ONLY: open the commitments of a release's log (rule and true count)."""
    from kansenkluis.pipeline import open_commitments

    table = Table("seq", "cell", "status", "rule", "count", title="sealed: do not export")
    for row in open_commitments(_settings(), release_id):
        table.add_row(*(str(row[k]) for k in ("seq", "cell", "status", "rule", "count")))
    out.print(table)


@keys_app.command("rotate-signing")
def keys_rotate_signing() -> None:
    """Rotate the release signing key; earlier exports still verify with their own release.pub."""
    from kansenkluis.pipeline import rotate_signing_key

    out.print(f"new signing key {rotate_signing_key(_settings())}")


@keys_app.command("rotate-data")
def keys_rotate_data() -> None:
    """Rotate the key-encryption and data keys of the sealed store (re-encrypts everything)."""
    from kansenkluis.pipeline import rotate_data_key

    rotate_data_key(_settings(), progress=_progress)
    out.print("sealed store re-encrypted under a new data key; the old keys are destroyed")


@app.command()
def factsheet(
    gemeentecode: Annotated[str, typer.Argument(help="GMgggg")],
    release_id: Annotated[str, typer.Option("--release", help="release id")],
    fmt: Annotated[str, typer.Option("--format", help="html or pdf")] = "html",
    out_file: Annotated[Path | None, typer.Option("--out", help="file to write")] = None,
) -> None:
    """Render the Dutch factsheet of a gemeente from a release."""
    from api.factsheet import load_history, load_release, render_factsheet
    from disclosure.store import ReleaseStore

    if fmt not in ("html", "pdf"):
        raise UsageError("BAD_FORMAT", "--format must be html or pdf", hint="--format html")
    with ReleaseStore(_settings().release_db) as store:
        # Only the cells this gemeente's factsheet reads (a national release has ~50,000).
        release = load_release(store, release_id, gemeentecode)
        # Earlier school years' releases in the store give the factsheet its trends.
        history = load_history(store, release, gemeentecode)
    data = render_factsheet(release, gemeentecode, fmt, history)  # type: ignore[arg-type]
    target = out_file or Path(f"factsheet-{gemeentecode}-{release_id}.{fmt}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    out.print(f"wrote {target}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Run the API (reads the release store only)."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        server_header=False,
        log_level="info",
    )


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="handle waiting requests, then stop")
    ] = False,
    interval: Annotated[float, typer.Option(help="seconds between polls")] = 10.0,
) -> None:
    """The sealed worker: answers approved aggregate requests with new releases."""
    from kansenkluis.pipeline import work

    work(_settings(), once=once, interval=interval, progress=_progress)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="regiocoordinator, outputchecker, auditor, operator")],
    person: Annotated[
        str,
        typer.Option(
            help="the person who holds it: one identity per person, the same on all their "
            "tokens (e.g. an e-mail address); compared case-insensitively"
        ),
    ],
    gemeente: Annotated[
        list[str] | None, typer.Option("--gemeente", help="GMgggg (regiocoordinator scope)")
    ] = None,
    name: Annotated[str, typer.Option(help="a label for the token")] = "",
    expires_in_days: Annotated[
        int, typer.Option("--expires-in-days", help="days until the token stops working")
    ] = 90,
) -> None:
    """Create an API token; prints it last (only its hash is stored)."""
    from api.auth import create_token

    token = create_token(
        _settings().release_db,
        role,
        tuple(gemeente or ()),
        name=name,
        person=person,
        expires_in_days=expires_in_days,
    )
    print(token)


@token_app.command("list")
def token_list() -> None:
    """List the tokens: id, role, person, expiry, revocation (never the token or its hash)."""
    from api.auth import list_tokens

    print("id\trole\tperson\tname\tgemeenten\tcreated_at\texpires_at\trevoked_at")
    for t in list_tokens(_settings().release_db):
        fields = (
            t["id"],
            t["role"],
            t["person"] or "(none: replace this token)",
            t["name"],
            ",".join(t["gemeenten"]),
            t["created_at"],
            t["expires_at"],
            t["revoked_at"] or "",
        )
        print("\t".join(fields))


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="small or national")] = "small",
    out_dir: Annotated[Path, typer.Option("--out", help="demo folder (recreated)")] = Path(
        "demo-out"
    ),
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    layout: Annotated[
        str, typer.Option(help="cbs: CBS remote-access files (as in the RA); spec: one per table")
    ] = "cbs",
) -> None:
    """Everything end to end on synthetic data in a fresh KLUIS_HOME inside --out."""
    from kansenkluis.demo import run_demo

    run_demo(out_dir, scale=scale, seed=seed, console=out, layout=layout)


def _click_exceptions(name: str) -> tuple[type[BaseException], ...]:
    """The click exception class of that name, from click and from typer's bundled copy."""
    found: list[type[BaseException]] = [getattr(click.exceptions, name)]
    try:
        from typer._click import exceptions as bundled  # typer >= 0.2x vendors click

        found.append(getattr(bundled, name))
    except (ImportError, AttributeError):  # pragma: no cover - depends on the typer build
        pass
    return tuple(found)


_USAGE_ERRORS = _click_exceptions("UsageError")
_ABORTS = _click_exceptions("Abort")


def main() -> None:
    try:
        rc = app(standalone_mode=False)
    except KluisError as e:
        err.print(f"[red]error[/red] {e.code}: {e.message}", highlight=False)
        if e.hint:
            err.print(f"  fix: {e.hint}", highlight=False)
        sys.exit(int(e.exit_code))
    except _USAGE_ERRORS as e:
        e.show()  # type: ignore[attr-defined]
        sys.exit(int(ExitCode.USAGE))
    except _ABORTS:
        sys.exit(int(ExitCode.INTERNAL))
    except Exception as e:  # noqa: BLE001 - last resort: report the type only, never the text
        err.print(
            f"internal error ({type(e).__name__}): this is a bug in Kansenkluis; "
            "the message is withheld because it could quote data. Set KLUIS_DEBUG=1 on the "
            "sealed machine to see it."
        )
        if os.environ.get("KLUIS_DEBUG") == "1":
            raise
        sys.exit(int(ExitCode.INTERNAL))
    sys.exit(int(rc or 0) if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
