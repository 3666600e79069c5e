"""The audit log: every staff action, with who, when, what, and the values before and after.

Services call ``record`` in the same transaction as the change, so an action and its entry
are written together or not at all. Entries are never edited or deleted.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from ..extensions import db
from ..models import AuditEntry, User


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a value (enums by value, dates as ISO text)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def snapshot(obj, *fields: str) -> dict:
    """Some fields of an object, as the log keeps them."""
    return {f: _plain(getattr(obj, f, None)) for f in fields}


def record(actor: User | None, action: str, obj=None, *, before: dict | None = None,
           after: dict | None = None) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else None,
        action=action,
        object_type=obj.__tablename__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    db.session.add(entry)
    return entry
