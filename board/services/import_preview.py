"""Import from the browser: staff upload the file the ``import`` command reads, see what it
would create and update and every bad row, then confirm.

Between the preview and the confirmation the upload is kept under UPLOAD_DIR/imports with a
generated name (the token the confirmation form carries). Confirming claims the file by
renaming it, so two confirmations of one preview import it once; it is deleted once the
import is committed, and put back if the import fails. Files left by previews never
confirmed are removed after a day. A file of more than IMPORT_SYNC_MAX_ROWS rows is imported
by a background job (board/services/jobs.py), which removes it once its import is committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import audit, importing
from .errors import Invalid
from .records import clean_text

#: The most rows one browser import takes; larger files go through ``flask import``.
MAX_ROWS = 5000
SUFFIXES = (".csv", ".xlsx", ".json")
#: Hours an unconfirmed upload is kept.
KEEP_HOURS = 24
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}\.(?:csv|xlsx|json)$")


class PlanChanged(Exception):
    """The board changed between the preview and the confirmation: here is the new plan."""

    def __init__(self, plan: importing.Plan):
        super().__init__("the import plan changed")
        self.plan = plan


@dataclass(frozen=True)
class Staged:
    token: str  # the generated file name
    name: str  # the name the file had on the user's computer
    digest: str  # SHA-256 of its content


def folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "imports"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def display_name(filename: str | None) -> str:
    name = clean_text(Path((filename or "").replace("\\", "/")).name).strip()
    return name[:200] or "upload"


def stage(storage) -> Staged:
    """Keep an uploaded file (a werkzeug FileStorage) for its preview."""
    name = display_name(storage.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise Invalid(_l("Choose a .csv, .xlsx or .json file."), "file")
    where = folder()
    where.mkdir(parents=True, exist_ok=True)
    _remove_old(where)
    token = secrets.token_urlsafe(24) + suffix  # 32 characters
    path = where / token
    storage.save(path)
    return Staged(token, name, _digest(path))


def _remove_old(where: Path) -> None:
    limit = time.time() - KEEP_HOURS * 3600
    for p in where.iterdir():
        try:
            if p.is_file() and p.stat().st_mtime < limit:
                p.unlink()
        except OSError:
            pass  # another request removed it first


def path_of(token: str) -> Path:
    if not token or not _TOKEN.match(token):
        raise Invalid(_l("This preview is no longer valid: upload the file again."), "file")
    return folder() / token


def plan(token: str) -> importing.Plan:
    """What the staged file would do (raises importing.ImportFailed for an unreadable file)."""
    return importing.plan(path_of(token), MAX_ROWS)


def fingerprint(p: importing.Plan) -> str:
    """A short digest of what a plan would write."""
    return hashlib.sha256(json.dumps(p.fingerprint(), ensure_ascii=False).encode()).hexdigest()


def discard(token_or_path) -> None:
    path = token_or_path if isinstance(token_or_path, Path) else path_of(token_or_path)
    path.unlink(missing_ok=True)


def claim(token: str, digest: str) -> Path:
    """Take the staged file for one confirmation; a second confirmation finds it gone."""
    path = path_of(token)
    claimed = path.with_name(f"{path.stem}.{secrets.token_hex(4)}.claimed{path.suffix}")
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        raise Invalid(_l("The uploaded file is no longer here (it was imported already, or "
                         "the preview is more than a day old): upload it again."), "file") from None
    if _digest(claimed) != digest:
        claimed.unlink(missing_ok=True)
        raise Invalid(_l("The uploaded file changed after the preview: upload it again."), "file")
    return claimed


def release(claimed: Path, token: str) -> None:
    """Put a claimed file back (its import failed), so the preview can be confirmed again."""
    try:
        os.rename(claimed, path_of(token))
    except OSError:
        pass


def _checked(claimed: Path, expected: str) -> importing.Plan:
    p = importing.plan(claimed, MAX_ROWS)
    if p.bad:
        raise Invalid(_l("This file has bad rows: nothing was imported. Correct them and upload it again."), "file")
    if fingerprint(p) != expected:
        raise PlanChanged(p)
    return p


def _write(actor, p: importing.Plan, name: str) -> importing.ImportResult:
    result = importing.write(p.checked)
    audit.record(actor, "import", None, after={
        "file": name, "rows": len(p.rows), "created": result.created, "updated": result.updated,
        "demands": result.demands, "capabilities": result.capabilities,
        "new_organizations": len(p.new_organizations),
    })
    return result


def confirm(actor, claimed: Path, expected: str, name: str) -> importing.ImportResult:
    """Import a claimed file, exactly as previewed; raises PlanChanged if the board changed
    meanwhile and Invalid if the file has bad rows. Only flushes."""
    return _write(actor, _checked(claimed, expected), name)


def sync_max_rows() -> int:
    return int(current_app.config.get("IMPORT_SYNC_MAX_ROWS", 2000))


def confirm_or_queue(actor, claimed: Path, expected: str, name: str):
    """Like ``confirm`` for a file of at most IMPORT_SYNC_MAX_ROWS rows (returns its
    ImportResult); a larger one is queued as an ``import`` job (returned), which checks the
    plan again and imports it in one transaction. Only flushes."""
    p = _checked(claimed, expected)
    if len(p.rows) <= sync_max_rows():
        return _write(actor, p, name)
    from . import jobs

    return jobs.enqueue("import", {
        "path": str(claimed), "plan": expected, "name": name, "rows": len(p.rows),
        "actor_id": actor.id if actor is not None else None,
    }, user=actor)
