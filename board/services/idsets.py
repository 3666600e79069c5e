"""A long list of ids in a query as one parameter, instead of one bound parameter per id:
the statement stays short, and compiling it costs the same for ten ids or ten thousand."""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..extensions import db


def among(column, ids: Iterable[int]):
    """``column IN ids``: a PostgreSQL array, or a JSON array read by SQLite's json_each."""
    ids = [int(i) for i in ids]
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, ids, type_=postgresql.ARRAY(sa.Integer),
                                              unique=True))
    each = sa.func.json_each(sa.bindparam(None, json.dumps(ids), unique=True)).table_valued("value")
    return column.in_(sa.select(each.c.value))
