"""The directory at scale (a measurement, not a test: nothing here asserts a time).

    python -m tests.bench.directory sqlite:////tmp/directory-bench.sqlite3

Builds 10,000 organisations (mixed visibility, a segment and a district each), 100,000
capabilities with 8 index keys each (3 % also carrying the keys of the queries timed) and
20,000 credentials (30 % expired) straight into the tables, then times ``directory.find``
warm (the engine loaded): the median of five pages for each case. The database at the URL is
dropped and rebuilt."""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time

import sqlalchemy as sa

from board import create_app
from board.extensions import db
from board.models import (
    Capability,
    Credential,
    CredentialType,
    MatchKey,
    Organization,
    organization_segment,
)
from board.services import directory, search, seeding

QUERIES = ("signalling", "platform screen door", "盾构")
CASES = {
    "no query": directory.Filters(),
    "q=signalling": directory.Filters(q="signalling"),
    "q=盾构, valid CRCC": directory.Filters(q="盾构", credential="crcc"),
    "segment + district, by update": directory.Filters(segment="control", district="丰台区", sort="updated"),
}


def build(rng: random.Random) -> int:
    db.drop_all()
    db.create_all()
    seeding.load_taxonomy()
    qkeys: dict[str, float] = {}
    for q in QUERIES:
        qkeys.update(search.parse(q).keys)
    vocab = [f"t:word{i}" for i in range(5000)]
    segs = ["design", "construction", "equipment", "operation", "control"]
    districts = ["丰台区", "海淀区", "朝阳区", "大兴区", "房山区", "通州区", "昌平区", "顺义区"]
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    db.session.execute(sa.insert(Organization), [
        {"id": i, "name": f"机构{i:05d}", "kind": "enterprise", "is_illustrative": False,
         "profile_visibility": rng.choice(["public", "public", "members", "staff"]),
         "district": rng.choice(districts), "created_at": now,
         "profile_updated_at": now + dt.timedelta(minutes=i)} for i in range(1, 10001)])
    db.session.execute(sa.insert(organization_segment), [
        {"organization_id": i, "segment_code": rng.choice(segs)} for i in range(1, 10001)])
    caps, keys = [], []
    for c in range(1, 100001):
        caps.append({"id": c, "ref": f"C{c}", "title": f"能力{c}", "description": "", "keywords": "",
                     "organization_id": rng.randint(1, 10000), "segment_code": rng.choice(segs),
                     "is_illustrative": False, "created_at": now, "updated_at": now})
        ks = set(rng.sample(vocab, 8))
        if rng.random() < 0.03:
            ks |= set(rng.sample(sorted(qkeys), min(2, len(qkeys))))
        keys += [{"side": "c", "key": k, "record_id": c, "weight": rng.random()} for k in ks]
    db.session.execute(sa.insert(Capability), caps)
    for i in range(0, len(keys), 50000):
        db.session.execute(sa.insert(MatchKey), keys[i:i + 50000])
    db.session.execute(sa.insert(Credential), [
        {"organization_id": rng.randint(1, 10000), "type": rng.choice(list(CredentialType)),
         "valid_until": dt.date(2099, 1, 1) if rng.random() < .7 else dt.date(2020, 1, 1),
         "is_illustrative": False, "created_at": now, "updated_at": now} for _ in range(20000)])
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    return len(keys)


def main(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "BOARD_ENV": "testing",
                      "TESTING": True})
    with app.app_context(), app.test_request_context():
        rows = build(random.Random(1))
        print(f"10,000 organisations, 100,000 capabilities, {rows:,} index rows")
        for name, f in CASES.items():
            directory.find(None, f)  # warm: the engine and the database's pages
            times = []
            for page in (1, 1, 2, 3, 5):
                start = time.perf_counter()
                result = directory.find(None, f, page=page)
                times.append(time.perf_counter() - start)
            print(f"{name:32} {result.page.total:6} found   median {statistics.median(times) * 1000:5.0f} ms")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:////tmp/directory-bench.sqlite3")
