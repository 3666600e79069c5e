"""Settings, read from the environment when the app is created."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from . import net

PACKAGE_DIR = Path(__file__).resolve().parent
#: The checkout that holds the package (site-packages when it is installed from a wheel).
PROJECT_ROOT = PACKAGE_DIR.parent
#: An installed wheel carries templates/, static/, seed/ and migrations/ inside the package
#: (pyproject.toml maps them in); a checkout, editable install included, keeps them at its top.
INSTALLED = (PACKAGE_DIR / "templates").is_dir()
#: Where templates/, static/, seed/ and migrations/ are read from.
DATA_ROOT = PACKAGE_DIR if INSTALLED else PROJECT_ROOT
#: Never site-packages: an installed board keeps its instance folder under its environment's
#: prefix, as Flask does by default.
INSTANCE_DIR = (
    Path(sys.prefix) / "var" / "board-instance" if INSTALLED else PROJECT_ROOT / "instance"
)

#: Environments in which a missing SECRET_KEY is replaced by a random one.
LENIENT_ENVS = {"development", "demo", "testing"}


class ConfigError(RuntimeError):
    """The app cannot start with the given settings."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _off(value: str | None) -> bool:
    return (value or "").strip().lower() in {"0", "false", "no", "off"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


#: Values found in examples and tutorials; a key an attacker can guess signs any cookie.
EXAMPLE_SECRETS = {
    "dev", "development", "devkey", "dev-key", "secret", "secret-key", "secretkey", "secret_key",
    "changeme", "change-me", "change_me", "changethis", "change-this", "replace-me", "replaceme",
    "your-secret-key", "your_secret_key", "yoursecretkey", "mysecretkey", "my-secret-key",
    "test", "testing", "test-secret", "password", "default", "example", "from-the-environment",
    "super-secret", "supersecret", "not-a-secret", "insecure", "flask", "board",
}
MIN_SECRET_KEY = 32
# A shell command the error message shows, not a secret.
MAKE_SECRET = "python3 -c 'import secrets; print(secrets.token_hex(32))'"  # nosec B105


def check_secret_key(key: str) -> None:
    """Refuse a SECRET_KEY that is short, a known example, or made of few characters."""
    plain = key.strip().lower()
    if plain in EXAMPLE_SECRETS or any(plain.startswith(e + "-") for e in ("dev", "test")):
        problem = "is a well-known example value"
    elif len(key) < MIN_SECRET_KEY:
        problem = f"has {len(key)} characters; it needs at least {MIN_SECRET_KEY}"
    elif len(set(key)) < 8:
        problem = "repeats a few characters; it must be random"
    else:
        return
    raise ConfigError(
        f"SECRET_KEY {problem}. Make a random one and keep it (a new key signs everyone out): "
        f"export SECRET_KEY=$({MAKE_SECRET})"
    )


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'board.sqlite3'}"


def normalise_database_url(url: str) -> str:
    """Point plain postgres URLs at psycopg 3, the driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment plus ``overrides``."""
    overrides = dict(overrides or {})
    env = overrides.get("BOARD_ENV") or os.environ.get("BOARD_ENV") or "development"
    demo = overrides.get("BOARD_DEMO", _flag(os.environ.get("BOARD_DEMO")) or env == "demo")
    cfg: dict = {
        "BOARD_ENV": env,
        "BOARD_DEMO": bool(demo),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL") or default_database_url()
        ),
        # hide_parameters: an error's message never carries the values of a query (an
        # e-mail, a password hash) into the log.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(os.environ.get("SESSION_COOKIE_SECURE")),
        "MAX_CONTENT_LENGTH": 11 * 1024 * 1024,  # a 10 MB attachment and its form
        "BABEL_DEFAULT_LOCALE": "zh",
        #: The park's time zone: reply-by dates, rounds and "today" are dates there.
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("BOARD_TIMEZONE") or "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "BOARD_LANGUAGES": ("zh", "en"),
        "PAGE_SIZE": _int("BOARD_PAGE_SIZE", 20),
        "MATCH_TOP_K": _int("MATCH_TOP_K", 10),
        #: Demand analyses each worker keeps for scoring saved capabilities (about 20 kB each).
        "MATCH_RECENT_ANALYSES": _int("MATCH_RECENT_ANALYSES", 8000),
        "MATCH_THRESHOLD": _int("MATCH_THRESHOLD", 20),
        #: Strength bands (board/matching/bands.py): a match is weak below the floor or below
        #: MATCH_WEAK_SHARE % of its demand's best; strong from MATCH_STRONG when it also reaches
        #: MATCH_STRONG_SHARE % of the best; possible in between.
        "MATCH_REVIEW_FLOOR": _int("MATCH_REVIEW_FLOOR", 35),
        "MATCH_STRONG": _int("MATCH_STRONG", 60),
        "MATCH_WEAK_SHARE": _int("MATCH_WEAK_SHARE", 50),
        "MATCH_STRONG_SHARE": _int("MATCH_STRONG_SHARE", 75),
        "LEXICON_PATH": os.environ.get("LEXICON_PATH") or str(DATA_ROOT / "seed" / "lexicon.tsv"),
        "PASSWORD_HASH_METHOD": "scrypt",  # nosec B105  # the algorithm's name, not a password
        #: A session ends this long after sign-in, and after this long without a request.
        "SESSION_LIFETIME_HOURS": _int("SESSION_LIFETIME_HOURS", 12),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 30),
        #: A form's CSRF token is refused this many seconds after the page was served.
        "WTF_CSRF_TIME_LIMIT": _int("WTF_CSRF_TIME_LIMIT", 4 * 3600),
        #: Throttles (board/throttle.py): counters shared by every worker, in Redis when
        #: REDIS_URL is set, else in the database. Each limit counts within its window.
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "THROTTLE_ENABLED": not _off(os.environ.get("THROTTLE_ENABLED")),
        "LOGIN_LIMIT_PER_ACCOUNT": _int("LOGIN_LIMIT_PER_ACCOUNT", 5),
        "LOGIN_LIMIT_PER_ADDRESS": _int("LOGIN_LIMIT_PER_ADDRESS", 30),
        "LOGIN_WINDOW_MINUTES": _int("LOGIN_WINDOW_MINUTES", 15),
        "SIGNUP_LIMIT_PER_ADDRESS": _int("SIGNUP_LIMIT_PER_ADDRESS", 10),
        "SIGNUP_WINDOW_MINUTES": _int("SIGNUP_WINDOW_MINUTES", 60),
        "RESET_LIMIT_PER_ACCOUNT": _int("RESET_LIMIT_PER_ACCOUNT", 5),
        "RESET_LIMIT_PER_ADDRESS": _int("RESET_LIMIT_PER_ADDRESS", 20),
        "RESET_WINDOW_MINUTES": _int("RESET_WINDOW_MINUTES", 60),
        "SUGGEST_LIMIT_PER_ACCOUNT": _int("SUGGEST_LIMIT_PER_ACCOUNT", 60),
        "SUGGEST_LIMIT_PER_ADDRESS": _int("SUGGEST_LIMIT_PER_ADDRESS", 300),
        "SUGGEST_WINDOW_MINUTES": _int("SUGGEST_WINDOW_MINUTES", 1),
        #: Request bodies: form fields per request, bytes of form text held in memory, JSON
        #: nesting, and the longest query string.
        "MAX_FORM_PARTS": _int("MAX_FORM_PARTS", 500),
        "MAX_FORM_MEMORY_SIZE": _int("MAX_FORM_MEMORY_SIZE", 1024 * 1024),
        "MAX_JSON_BYTES": _int("MAX_JSON_BYTES", 64 * 1024),
        "MAX_JSON_DEPTH": _int("MAX_JSON_DEPTH", 20),
        "MAX_QUERY_STRING": _int("MAX_QUERY_STRING", 4096),
        # Mail: with no MAIL_SERVER, mail is kept in the outbox staff read (admin → mail).
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _flag(os.environ.get("MAIL_USE_TLS")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "board@localhost"),
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 5),
        #: The board's public address, for links in e-mails sent outside a request.
        "BOARD_URL": (os.environ.get("BOARD_URL") or "http://127.0.0.1:5000").rstrip("/"),
        #: Days a reply may wait for the company's answer before it is reminded.
        "REPLY_REMINDER_DAYS": _int("REPLY_REMINDER_DAYS", 5),
        #: Where uploaded files (reply attachments) are kept: outside static/, never served directly.
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or str(INSTANCE_DIR / "uploads"),
        "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
        #: Hours a password-reset link stays valid; an e-mail change link lasts EMAIL_CHANGE_HOURS.
        "PASSWORD_RESET_HOURS": _int("PASSWORD_RESET_HOURS", 2),
        "EMAIL_CHANGE_HOURS": _int("EMAIL_CHANGE_HOURS", 24),
        #: Hours the link that confirms a new account's address stays valid.
        "ADDRESS_CHECK_HOURS": _int("ADDRESS_CHECK_HOURS", 72),
        #: Proxies whose X-Forwarded-* headers are believed (see board/net.py); none by default.
        "TRUSTED_PROXIES": os.environ.get("TRUSTED_PROXIES", ""),
        #: Logs (board/logs.py): json, logfmt or text (default: json in production, else text).
        "LOG_FORMAT": os.environ.get("LOG_FORMAT") or None,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL") or None,
        #: /metrics (board/views/ops.py) answers these addresses or networks, and a request
        #: with ``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets a 404.
        "METRICS_ALLOW": os.environ.get("METRICS_ALLOW", ""),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        #: A browser import of more rows than this runs as a background job.
        "IMPORT_SYNC_MAX_ROWS": _int("IMPORT_SYNC_MAX_ROWS", 2000),
        #: Readiness fails when the oldest queued job has waited longer than this.
        "JOB_STALL_MINUTES": _int("JOB_STALL_MINUTES", 15),
    }
    cfg.update(overrides)
    if not cfg.get("SECRET_KEY"):
        if cfg["BOARD_ENV"] not in LENIENT_ENVS and not cfg.get("TESTING"):
            raise ConfigError(
                "SECRET_KEY is not set. Set it in the environment "
                "(for example: export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'))."
            )
        # Development only: sessions last as long as the process.
        cfg["SECRET_KEY"] = secrets.token_hex(32)
        cfg["SECRET_KEY_GENERATED"] = True  # flask check reports it
    if cfg["BOARD_ENV"] not in LENIENT_ENVS and not cfg.get("TESTING"):
        check_secret_key(cfg["SECRET_KEY"])
    if cfg["SESSION_COOKIE_SECURE"]:
        # Sent only over HTTPS, only to this host, for every path: a sibling domain or a
        # plain-HTTP page cannot plant a session cookie of its own.
        cfg.setdefault("SESSION_COOKIE_NAME", "__Host-session")
        cfg["SESSION_COOKIE_PATH"] = "/"
        cfg["SESSION_COOKIE_DOMAIN"] = None
    try:
        cfg["TRUSTED_PROXIES"] = net.parse_networks(cfg["TRUSTED_PROXIES"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        cfg["METRICS_ALLOW"] = net.parse_networks(cfg["METRICS_ALLOW"])
    except ValueError as exc:
        raise ConfigError(str(exc).replace("TRUSTED_PROXIES", "METRICS_ALLOW")) from exc
    from . import logs

    try:
        cfg["LOG_FORMAT"], cfg["LOG_LEVEL"] = logs.settings(cfg, cfg["BOARD_ENV"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(cfg["BABEL_DEFAULT_TIMEZONE"])
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(
            f"BOARD_TIMEZONE must name a time zone such as Asia/Shanghai, "
            f"got {cfg['BABEL_DEFAULT_TIMEZONE']!r}") from exc
    if not (0 <= cfg["MATCH_THRESHOLD"] <= 100):
        raise ConfigError("MATCH_THRESHOLD must be between 0 and 100")
    if cfg["MATCH_TOP_K"] < 1:
        raise ConfigError("MATCH_TOP_K must be at least 1")
    for name in ("MATCH_REVIEW_FLOOR", "MATCH_STRONG", "MATCH_WEAK_SHARE", "MATCH_STRONG_SHARE"):
        if not (0 <= cfg[name] <= 100):
            raise ConfigError(f"{name} must be between 0 and 100")
    if cfg["MATCH_REVIEW_FLOOR"] > cfg["MATCH_STRONG"]:
        raise ConfigError("MATCH_REVIEW_FLOOR must not be above MATCH_STRONG")
    return cfg
