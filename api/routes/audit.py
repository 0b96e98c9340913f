"""Auditor endpoints: the signed suppression log, a release export, and its verification.

The export and its verification are exactly ``kluis release export`` and ``kluis audit verify``
(``disclosure.export``, ``disclosure.verify``), run on a temporary folder.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from disclosure.export import export_release
from disclosure.release import Release
from disclosure.verify import verify_export

from ..deps import Auditor, Ctx
from ..schemas import ID_PATTERN, LogOut, VerifyOut

router = APIRouter(tags=["audit"])

ReleaseId = Annotated[str, Path(pattern=ID_PATTERN, description="a release id")]


@router.get("/releases/{release_id}/log", response_model=LogOut)
def suppression_log(caller: Auditor, ctx: Ctx, release_id: ReleaseId) -> LogOut:
    """The release's signed, hash-chained suppression log and the key that verifies it."""
    release = ctx.releases.view(release_id).release
    return LogOut(
        release_id=release.id,
        entries=[json.loads(line) for line in release.suppression_log if line.strip()],
        public_key_pem=release.public_key_pem,
    )


@router.get(
    "/releases/{release_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "release.json, cells.csv, suppression_log.jsonl, release.pub",
            "content": {"application/zip": {}},
        }
    },
)
def export(caller: Auditor, ctx: Ctx, release_id: ReleaseId) -> Response:
    """The release export as a zip: what `kluis release export` writes."""
    release = ctx.releases.view(release_id).release
    with tempfile.TemporaryDirectory(prefix="kluis-export-") as tmp:
        out_dir = FsPath(tmp) / release.id
        _export(release, out_dir)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
                zf.write(path, arcname=str(path.relative_to(out_dir)))
    return Response(
        buf.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="release-{release.id}.zip"'},
    )


@router.get("/releases/{release_id}/verify", response_model=VerifyOut)
def verify(caller: Auditor, ctx: Ctx, release_id: ReleaseId) -> VerifyOut:
    """Export the release and verify it: the log chain, its signature and the policy per cell."""
    release = ctx.releases.view(release_id).release
    with tempfile.TemporaryDirectory(prefix="kluis-verify-") as tmp:
        out_dir = FsPath(tmp) / "export"
        _export(release, out_dir)
        result = verify_export(out_dir)
    return VerifyOut(
        release_id=release.id,
        ok=bool(result.ok),
        failures=[str(f) for f in result.failures],
        checked=dict(result.checked),
    )


def _export(release: Release, out_dir: FsPath) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    export_release(release, out_dir)
