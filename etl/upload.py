"""An organization's own listing, uploaded: kept between the dry run and the apply, then checked
and loaded by the ETL pipeline itself (:func:`etl.pipeline.check_source`, :func:`check_and_load`).

An upload is a CSV in the listing format (``data/templates/``), a zip of an HSDS 3.0 data
package, or a package's files (``datapackage.json`` and its CSV files). It is its own source,
``upload-<organization id>``: the file is that organization's complete listing, so uploading the
same file again changes nothing and a listing left out of a later upload is removed. Every row
belongs to the organization; a row naming another one is rejected.

The uploaded bytes are kept under ``root/<token>/`` with who uploaded them, for which
organization and their SHA-256, so that applying re-runs the same pipeline on the same bytes
without trusting anything the browser sends back but the token.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from caremap.store import Store
from etl.hsds import DESCRIPTOR
from etl.load import SourceInfo
from etl.pipeline import (
    LOCK,
    Checked,
    LimitExceeded,
    Limits,
    Reference,
    check_and_load,
    check_source,
)
from etl.records import RejectedRow
from etl.reference import sync_reference_data

LISTING_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
REPORT_COLUMNS = ("file", "line", "field", "value", "reason")


class UploadError(ValueError):
    """The files cannot be an upload; ``code`` says why (``no_file``, ``file_type``,
    ``no_descriptor``), for a message in the reader's language."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Upload:
    """Uploaded files kept for a dry run and its apply."""

    token: str
    folder: Path
    user_id: int
    organization_id: str
    names: tuple[str, ...]
    digest: str
    created: float

    @property
    def path(self) -> Path:
        """What the pipeline reads: the one file, or the folder of a package's files."""
        files = self.folder / "files"
        return files if len(self.names) > 1 else files / self.names[0]


def source_info(organization_id: str, organization_name: str) -> SourceInfo:
    """The source an organization's uploads make."""
    return SourceInfo(
        name=f"upload-{organization_id}",
        title=f"{organization_name} (uploaded by the organization)",
        attribution=organization_name,
        organization_id=organization_id,
    )


def save_upload(root: Path, user_id: int, organization_id: str, files: dict[str, bytes]) -> Upload:
    """Keep ``files`` (name → bytes) under a new random token."""
    named = {_safe_name(name): data for name, data in files.items() if name}
    _check_kind(named)
    token = secrets.token_urlsafe(24)
    folder = root / token
    (folder / "files").mkdir(parents=True)
    for name, data in named.items():
        (folder / "files" / name).write_bytes(data)
    upload = Upload(
        token, folder, user_id, organization_id, tuple(sorted(named)), _digest(named), time.time()
    )
    meta = {
        "user_id": user_id,
        "organization_id": organization_id,
        "names": upload.names,
        "digest": upload.digest,
        "created": upload.created,
    }
    (folder / "upload.json").write_text(json.dumps(meta), encoding="utf-8")
    return upload


def open_upload(
    root: Path, token: str, user_id: int, organization_id: str, max_age: float
) -> Upload | None:
    """The upload with this token, if the same person made it for the same organization less
    than ``max_age`` seconds ago and its files are unchanged; else None."""
    folder = root / token
    if not TOKEN.fullmatch(token) or not (folder / "upload.json").is_file():
        return None
    meta = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    upload = Upload(
        token,
        folder,
        meta["user_id"],
        meta["organization_id"],
        tuple(meta["names"]),
        meta["digest"],
        meta["created"],
    )
    if (upload.user_id, upload.organization_id) != (user_id, organization_id):
        return None
    if time.time() - upload.created > max_age:
        discard(upload)
        return None
    files = {name: (folder / "files" / name).read_bytes() for name in upload.names}
    return upload if _digest(files) == upload.digest else None


def discard(upload: Upload) -> None:
    shutil.rmtree(upload.folder, ignore_errors=True)


def discard_expired(root: Path, max_age: float) -> None:
    """Remove uploads older than ``max_age`` seconds."""
    if not root.is_dir():
        return
    for meta in root.glob("*/upload.json"):
        if time.time() - meta.stat().st_mtime > max_age:
            shutil.rmtree(meta.parent, ignore_errors=True)


def check_upload(
    store: Store,
    reference: Reference,
    upload: Upload,
    organization_name: str,
    limits: Limits,
    max_unzipped: int | None = None,
) -> Checked:
    """The dry run: the pipeline up to, not including, the load. Raises
    :class:`~etl.pipeline.LimitExceeded`, or ValueError for a file that cannot be read."""
    _check_unzipped_size(upload, max_unzipped)
    info = source_info(upload.organization_id, organization_name)
    return check_source(store, reference, upload.path, info, limits, organization=organization_name)


def apply_upload(
    store: Store,
    reference: Reference,
    upload: Upload,
    organization_name: str,
    limits: Limits,
    max_unzipped: int | None = None,
) -> Checked:
    """The same dry run on the same bytes, then the load, in one transaction; never while an
    ETL run loads (the store's :data:`~etl.pipeline.LOCK`)."""
    _check_unzipped_size(upload, max_unzipped)
    info = source_info(upload.organization_id, organization_name)
    with store.exclusive(LOCK):
        sync_reference_data(store, reference.vocabulary, reference.boundaries)
        return check_and_load(
            store, reference, upload.path, info, limits, organization=organization_name
        )


def _check_unzipped_size(upload: Upload, max_unzipped: int | None) -> None:
    if max_unzipped is not None and _unzipped_size(upload.path) > max_unzipped:
        raise LimitExceeded("unzipped bytes", max_unzipped)


def report_rows(rejected: list[RejectedRow]) -> list[dict[str, str | int]]:
    """The row-level report: one dict per rejected row, with :data:`REPORT_COLUMNS`."""
    return [
        {"file": r.file, "line": r.line, "field": r.field, "value": r.value, "reason": r.reason}
        for r in rejected
    ]


def _safe_name(name: str) -> str:
    """The file's own name (no folders), with only safe characters."""
    return SAFE_NAME.sub("_", PurePath(name.replace("\\", "/")).name).lstrip(".") or "upload"


def _check_kind(files: dict[str, bytes]) -> None:
    if not files:
        raise UploadError("no_file")
    suffixes = {PurePath(name).suffix.lower() for name in files}
    if len(files) == 1:
        if not suffixes <= LISTING_SUFFIXES | {".zip"}:
            raise UploadError("file_type")
        return
    if DESCRIPTOR not in files:
        raise UploadError("no_descriptor")
    if not suffixes <= {".csv", ".json"}:
        raise UploadError("file_type")


def _digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _unzipped_size(path: Path) -> int:
    """The bytes a zip file holds once unpacked (0 for anything else)."""
    if path.suffix.lower() != ".zip" or not zipfile.is_zipfile(path):
        return 0
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())
