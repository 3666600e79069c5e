"""Reply attachments: PDF files checked by their content and kept under UPLOAD_DIR (outside
static/, never served directly) with a generated name.

Files follow the database transaction: a file stored during a transaction that is rolled
back (or never committed) is removed when it ends; a file given up (replaced or removed) is
deleted only once the transaction that stopped pointing to it has committed. So no row ever
points to a missing file.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..extensions import db
from .errors import Invalid

#: Markers of HTML or script near the start of a file: such a file is refused even if it
#: starts like a PDF (a browser sniffing it could run it).
_ACTIVE = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta)\b", re.I)
_HEAD = 1024  # bytes searched for those markers
_TAIL = 2048  # bytes searched for the end-of-file marker
_KEY = re.compile(r"^[0-9a-f]{32}\.pdf$")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


@dataclass(frozen=True)
class Stored:
    key: str
    name: str
    size: int


def max_bytes() -> int:
    return int(current_app.config["ATTACHMENT_MAX_BYTES"])


def max_mb() -> int:
    return max(1, max_bytes() // (1024 * 1024))


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def path_of(key: str) -> Path | None:
    """Where a stored file lives; None for anything that is not a key we generate."""
    if not key or not _KEY.match(key):
        return None
    return upload_dir() / key


def clean_name(name: str | None) -> str:
    """The uploader's file name, safe to show and to offer as the download name."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]  # no directories
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() != "pdf":
        stem, ext = name, "pdf"
    stem = stem.strip(" .")[:180] or "attachment"
    return f"{stem}.{ext.lower()}"


def _read_limited(stream, limit: int) -> bytes:
    """At most ``limit + 1`` bytes: enough to tell a file that is too large."""
    chunks, total = [], 0
    while total <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def check_pdf(data: bytes, field: str = "attachment") -> None:
    """Refuse anything that is not a PDF by its content, or is too large."""
    if len(data) > max_bytes():
        raise Invalid(_l("The file is larger than %(mb)d MB.", mb=max_mb()), field)
    if not data:
        raise Invalid(_l("The file is empty."), field)
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-_TAIL:] or _ACTIVE.search(data[:_HEAD]):
        raise Invalid(_l("Attach a PDF file: this file is not a PDF."), field)


def keep(folder: Path, data: bytes, suffix: str) -> str:
    """Write ``data`` whole (or not at all) into ``folder`` under a generated name; the file is
    removed again if the transaction does not commit. Returns the name."""
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16) + suffix
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, folder / key)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _pending()["new"].append(folder / key)
    return key


def store(file_storage, field: str = "attachment") -> Stored:
    """Check an uploaded file and keep it under a generated name (removed again if the
    transaction does not commit)."""
    data = _read_limited(file_storage.stream, max_bytes())
    check_pdf(data, field)
    key = keep(upload_dir(), data, ".pdf")
    return Stored(key=key, name=clean_name(getattr(file_storage, "filename", "")), size=len(data))


def discard(key: str | None) -> None:
    """Delete a stored file once the transaction that stops pointing to it commits."""
    path = path_of(key) if key else None
    if path is not None:
        _pending()["old"].append(path)


def _pending() -> dict:
    session = db.session()
    if not session.in_transaction():  # so that its end (commit or not) is seen
        session.begin()
    return session.info.setdefault("uploads", {"new": [], "old": []})


def _remove(paths) -> None:
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError:
            current_app.logger.warning("Could not remove the upload %s", path)


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction decides
    state = session.info.pop("uploads", None)
    if state:
        _remove(state["old"])


@sa.event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    state = session.info.pop("uploads", None)  # still there: the transaction did not commit
    if state:
        _remove(state["new"])
