"""Throttles: how many sign-in failures, sign-ups, reset requests and suggestion calls one
account or one client address may make in a window of time.

Counters are fixed windows (``LOGIN_WINDOW_MINUTES`` and so on) shared by every worker and
server: in Redis when ``REDIS_URL`` is set, else in the database (``throttle_counter``, written
on a connection of its own so that a rolled-back request still counts). If Redis cannot be
reached the database stands in, so the limits hold while it is down. Keys are hashes: no
address or e-mail is stored in clear. The client address comes from ``net.client_address``
(a proxy's header only from ``TRUSTED_PROXIES``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, request

from . import net
from .extensions import db


@dataclass(frozen=True)
class Rule:
    limit_setting: str
    window_setting: str


RULES = {
    "login-account": Rule("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_WINDOW_MINUTES"),
    "login-address": Rule("LOGIN_LIMIT_PER_ADDRESS", "LOGIN_WINDOW_MINUTES"),
    "signup-address": Rule("SIGNUP_LIMIT_PER_ADDRESS", "SIGNUP_WINDOW_MINUTES"),
    "reset-account": Rule("RESET_LIMIT_PER_ACCOUNT", "RESET_WINDOW_MINUTES"),
    "reset-address": Rule("RESET_LIMIT_PER_ADDRESS", "RESET_WINDOW_MINUTES"),
    "suggest-account": Rule("SUGGEST_LIMIT_PER_ACCOUNT", "SUGGEST_WINDOW_MINUTES"),
    "suggest-address": Rule("SUGGEST_LIMIT_PER_ADDRESS", "SUGGEST_WINDOW_MINUTES"),
}


@dataclass(frozen=True)
class Window:
    key: str
    ends: float  # epoch seconds

    def retry_after(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.ends - (now if now is not None else time.time())))


def enabled() -> bool:
    return bool(current_app.config.get("THROTTLE_ENABLED", True))


def address() -> str:
    return net.client_address(request) or "unknown"


def _window(rule_name: str, ident: str, now: float | None = None) -> tuple[Window, int]:
    rule = RULES[rule_name]
    cfg = current_app.config
    seconds = max(1, int(cfg[rule.window_setting]) * 60)
    now = time.time() if now is None else now
    index = int(now // seconds)
    digest = hashlib.sha256(f"{cfg['SECRET_KEY']}|{rule_name}|{ident}".encode()).hexdigest()[:40]
    key = f"{rule_name}:{digest}:{index}"
    return Window(key, (index + 1) * seconds), int(cfg[rule.limit_setting])


# -- stores ---------------------------------------------------------------------------
class DatabaseStore:
    """Counters in ``throttle_counter``, each increment committed on its own connection."""

    name = "database"

    def _insert(self, conn):
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert

    def incr(self, window: Window) -> int:
        from .models import ThrottleCounter

        expires = dt.datetime.fromtimestamp(window.ends, dt.UTC)
        with db.engine.begin() as conn:
            insert = self._insert(conn)
            stmt = insert(ThrottleCounter).values(key=window.key, count=1, expires_at=expires)
            stmt = stmt.on_conflict_do_update(
                index_elements=[ThrottleCounter.key],
                set_={"count": ThrottleCounter.count + 1},
            ).returning(ThrottleCounter.count)
            count = conn.execute(stmt).scalar_one()
            if count == 1:  # a new window: forget the ones that are over
                conn.execute(
                    sa.delete(ThrottleCounter).where(
                        ThrottleCounter.expires_at < dt.datetime.now(dt.UTC)
                    )
                )
        return count

    def get(self, window: Window) -> int:
        from .models import ThrottleCounter

        with db.engine.connect() as conn:
            value = conn.execute(
                sa.select(ThrottleCounter.count).where(ThrottleCounter.key == window.key)
            ).scalar()
        return int(value or 0)

    def clear(self, window: Window) -> None:
        from .models import ThrottleCounter

        with db.engine.begin() as conn:
            conn.execute(sa.delete(ThrottleCounter).where(ThrottleCounter.key == window.key))

    def release(self, window: Window) -> None:
        from .models import ThrottleCounter

        with db.engine.begin() as conn:
            conn.execute(
                sa.update(ThrottleCounter)
                .where(ThrottleCounter.key == window.key, ThrottleCounter.count > 0)
                .values(count=ThrottleCounter.count - 1)
            )


class RedisStore:
    name = "redis"

    def __init__(self, url: str, prefix: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def _k(self, window: Window) -> str:
        return f"{self.prefix}:{window.key}"

    def incr(self, window: Window) -> int:
        pipe = self.client.pipeline()
        pipe.incr(self._k(window))
        pipe.expireat(self._k(window), math.ceil(window.ends) + 1)
        count, _ = pipe.execute()
        return int(count)

    def get(self, window: Window) -> int:
        return int(self.client.get(self._k(window)) or 0)

    def clear(self, window: Window) -> None:
        self.client.delete(self._k(window))

    def release(self, window: Window) -> None:
        self.client.eval(_RELEASE, 1, self._k(window))


#: Take one back from a counter, never below zero.
_RELEASE = (
    "local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if n > 0 then return redis.call('DECR', KEYS[1]) end return 0"
)


def store():
    """The app's store: Redis when REDIS_URL is set, the database otherwise."""
    app = current_app
    found = app.extensions.get("board_throttle")
    if found is None:
        url = app.config.get("REDIS_URL")
        found = (
            RedisStore(url, app.config.get("THROTTLE_PREFIX", "board:throttle"))
            if url
            else DatabaseStore()
        )
        app.extensions["board_throttle"] = found
    return found


#: After Redis fails, the database stands in for this many seconds before Redis is tried
#: again (so that sign-ins do not each wait for a connection timeout).
RETRY_REDIS_AFTER = 30


def _run(method: str, window: Window):
    primary = store()
    if isinstance(primary, DatabaseStore):
        return getattr(primary, method)(window)
    if time.monotonic() < getattr(primary, "down_until", 0):
        return getattr(DatabaseStore(), method)(window)
    try:
        return getattr(primary, method)(window)
    except Exception as exc:  # Redis unreachable: the database keeps the limits
        primary.down_until = time.monotonic() + RETRY_REDIS_AFTER
        current_app.logger.warning("Throttle store %s failed (%s); using the database for %ds",
                                   primary.name, exc, RETRY_REDIS_AFTER)
        return getattr(DatabaseStore(), method)(window)


# -- what views call ------------------------------------------------------------------
def blocked(rule_name: str, ident: str) -> int | None:
    """Seconds to wait when ``ident`` has used up its limit in this window, else None.
    Counts nothing."""
    if not enabled() or not ident:
        return None
    window, limit = _window(rule_name, ident)
    if _run("get", window) >= limit:
        return window.retry_after()
    return None


def hit(rule_name: str, ident: str) -> int | None:
    """Count one attempt; seconds to wait if it goes over the limit, else None."""
    if not enabled() or not ident:
        return None
    window, limit = _window(rule_name, ident)
    if _run("incr", window) > limit:
        return window.retry_after()
    return None


def clear(rule_name: str, ident: str) -> None:
    if enabled() and ident:
        _run("clear", _window(rule_name, ident)[0])


def release(rule_name: str, ident: str) -> None:
    """Take back one attempt counted by :func:`hit` (it turned out not to count)."""
    if enabled() and ident:
        _run("release", _window(rule_name, ident)[0])


def first_wait(*waits: int | None) -> int | None:
    """The longest of several waits (None when nothing is over its limit)."""
    found = [w for w in waits if w]
    return max(found) if found else None


def retry_header(seconds: int) -> dict:
    return {"Retry-After": str(int(seconds))}


def wait_message(seconds: int) -> str:
    """'Too many attempts' with the wait, in the user's language."""
    from flask_babel import ngettext

    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many attempts. Please wait %(num)d minute and try again.",
        "Too many attempts. Please wait %(num)d minutes and try again.",
        minutes,
    )
